//! A login through a generic OAuth 2.0 module: the redirect, the callback, the token request,
//! the profile, and the quirks of real providers.

use std::time::Duration;

use base64::Engine as _;
use portcullis::federation::{Confirm, CredentialsIn, EmailVerification, LoginError};
use portcullis::pkce::{CodeChallenge, PkceMethod};
use portcullis::store::{FetchError, HttpMethod, HttpResponse};
use serde_json::json;

use crate::common::*;

fn query_of(url: &url::Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn form_of(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn starting_a_login_gives_the_provider_url_with_state_pkce_and_scopes() {
    let fx = fx();
    let id = enabled(&fx, "idp", oauth2()).await;
    let start = fx.fed.start_login(&id).await.unwrap();
    let url = &start.authorization_url;
    assert!(
        url.as_str()
            .starts_with("https://idp.example.com/authorize?tenant=t1&"),
        "{url}"
    );
    let q = query_of(url);
    assert_eq!(get(&q, "response_type"), Some("code"));
    assert_eq!(get(&q, "client_id"), Some("host-at-idp"));
    assert_eq!(
        get(&q, "redirect_uri"),
        Some("https://host.example.com/login/idp/callback")
    );
    assert_eq!(get(&q, "scope"), Some("profile email"));
    assert_eq!(get(&q, "code_challenge_method"), Some("S256"));
    assert_eq!(get(&q, "nonce"), None, "no nonce outside OpenID Connect");
    let state = get(&q, "state").unwrap();
    assert_eq!(state.len(), 43, "256 random bits");
    let again = fx.fed.start_login(&id).await.unwrap();
    assert_ne!(state_of(&again.authorization_url), state);
    // The session keeps the secrets; its Debug shows none of them.
    let shown = format!("{:?}", start.pending);
    assert!(!shown.contains(state), "{shown}");
}

#[tokio::test]
async fn a_login_maps_the_profile_and_sends_the_verifier_and_redirect_uri() {
    let fx = fx();
    let id = enabled(&fx, "idp", oauth2()).await;
    token_ok(&fx);
    route_json(&fx, HttpMethod::Get, USER_INFO, 200, alice());
    let start = fx.fed.start_login(&id).await.unwrap();
    let state = state_of(&start.authorization_url);
    let login = fx
        .fed
        .complete_login(
            &start.pending.module,
            &start.pending,
            &format!("code=the-code&state={state}"),
        )
        .await
        .unwrap();
    let p = &login.profile;
    assert_eq!(p.module, id);
    assert_eq!(p.user_id, "4242");
    assert_eq!(p.username.as_deref(), Some("alice"));
    assert_eq!(p.full_name.as_deref(), Some("Alice Liddell"));
    assert_eq!(p.email.as_deref(), Some("alice@example.com"));
    assert_eq!(p.email_verification, EmailVerification::Verified);
    assert_eq!(
        p.avatar_url.as_deref(),
        Some("https://img.example.com/a.png")
    );
    assert_eq!(p.groups, ["idp-devs", "idp-staff"]);
    assert_eq!(login.tokens.access_token.secret(), "provider-at");
    assert_eq!(login.tokens.expires_at.unwrap().0, NOW + 3600);

    let requests = fx.fetcher.requests();
    let token = &requests[0];
    assert_eq!(token.url.as_str(), TOKEN);
    let form = form_of(&token.body);
    assert_eq!(get(&form, "grant_type"), Some("authorization_code"));
    assert_eq!(get(&form, "code"), Some("the-code"));
    assert_eq!(
        get(&form, "redirect_uri"),
        Some("https://host.example.com/login/idp/callback")
    );
    // The verifier matches the challenge the authorization URL carried.
    let verifier = get(&form, "code_verifier").unwrap();
    let challenge = get(&query_of(&start.authorization_url), "code_challenge")
        .unwrap()
        .to_owned();
    let expected = CodeChallenge::parse(&challenge, Some("S256")).unwrap();
    assert!(expected.verify_str(verifier));
    assert_eq!(expected.method(), PkceMethod::S256);
    let info = &requests[1];
    assert_eq!(info.url.as_str(), USER_INFO);
    assert!(
        info.headers
            .contains(&("Authorization".into(), "Bearer provider-at".into()))
    );
    // The provider's tokens never show in Debug.
    assert!(!format!("{login:?}").contains("provider-at"));
}

#[tokio::test]
async fn credentials_go_in_basic_auth_form_encoded_or_in_the_body_as_configured() {
    let fx = fx();
    let id = enabled(&fx, "idp", oauth2()).await;
    login_as(&fx, &id, alice()).await.unwrap();
    let token = fx.fetcher.requests()[0].clone();
    let basic = token
        .headers
        .iter()
        .find(|(n, _)| n == "Authorization")
        .map(|(_, v)| v.clone())
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.strip_prefix("Basic ").unwrap())
        .unwrap();
    // RFC 6749 §2.3.1: the secret "s3cret&=+" is form-encoded before base64.
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "host-at-idp:s3cret%26%3D%2B"
    );
    assert_eq!(get(&form_of(&token.body), "client_secret"), None);

    let fx = fx_with(|s| s.credentials = CredentialsIn::Body).await;
    login_as(&fx.0, &fx.1, alice()).await.unwrap();
    let token = fx.0.fetcher.requests()[0].clone();
    assert!(token.headers.iter().all(|(n, _)| n != "Authorization"));
    // Without a secret, Basic has nothing to send: the client ID goes in the body.
    let fx2 =
        fx_with(|s| s.client_secret = portcullis::federation::ProviderSecret::default()).await;
    login_as(&fx2.0, &fx2.1, alice()).await.unwrap();
    let token2 = fx2.0.fetcher.requests()[0].clone();
    assert!(token2.headers.iter().all(|(n, _)| n != "Authorization"));
    assert_eq!(
        get(&form_of(&token2.body), "client_id"),
        Some("host-at-idp")
    );
    let form = form_of(&token.body);
    assert_eq!(get(&form, "client_id"), Some("host-at-idp"));
    assert_eq!(get(&form, "client_secret"), Some("s3cret&=+"));
}

#[tokio::test]
async fn every_provider_call_carries_the_modules_timeouts() {
    let (fx, id) = fx_with(|s| {
        s.connect_timeout = Duration::from_millis(1200);
        s.read_timeout = Duration::from_millis(3400);
    })
    .await;
    login_as(&fx, &id, alice()).await.unwrap();
    let requests = fx.fetcher.requests();
    assert_eq!(requests.len(), 2);
    for r in requests {
        assert_eq!(r.connect_timeout, Duration::from_millis(1200));
        assert_eq!(r.read_timeout, Duration::from_millis(3400));
    }
}

#[tokio::test]
async fn a_disabled_module_starts_no_login_and_completes_none_in_flight() {
    let fx = fx();
    let id = enabled(&fx, "idp", oauth2()).await;
    let _other = enabled(&fx, "other", oauth2()).await;
    token_ok(&fx);
    route_json(&fx, HttpMethod::Get, USER_INFO, 200, alice());
    let start = fx.fed.start_login(&id).await.unwrap();
    fx.fed
        .modules()
        .disable("root", &id, Confirm::No)
        .await
        .unwrap();
    assert_eq!(
        fx.fed.start_login(&id).await.unwrap_err(),
        LoginError::ModuleDisabled
    );
    let r = callback(&fx, &start, "").await;
    assert_eq!(r.unwrap_err(), LoginError::ModuleDisabled);
    assert!(fx.fetcher.requests().is_empty(), "no call to the provider");
}

#[tokio::test]
async fn the_callback_is_checked_before_anything_is_sent() {
    let fx = fx();
    let id = enabled(&fx, "idp", oauth2()).await;
    let start = fx.fed.start_login(&id).await.unwrap();
    let state = state_of(&start.authorization_url);
    let cases: Vec<(String, LoginError)> = vec![
        ("code=c&state=forged".into(), LoginError::StateMismatch),
        ("code=c".into(), LoginError::StateMismatch),
        (
            format!("code=c&state={state}&state={state}"),
            LoginError::RepeatedParameter("state"),
        ),
        (
            format!("code=c&code=d&state={state}"),
            LoginError::RepeatedParameter("code"),
        ),
        // An error on a forged callback is still a forged callback.
        (
            "error=access_denied&state=forged".into(),
            LoginError::StateMismatch,
        ),
        (
            format!("error=access_denied&state={state}"),
            LoginError::AccessDenied,
        ),
        (
            format!("error=server_error&error_description=down&state={state}"),
            LoginError::Provider {
                error: "server_error".into(),
                description: Some("down".into()),
            },
        ),
        (format!("state={state}"), LoginError::MissingCode),
        (format!("code=&state={state}"), LoginError::MissingCode),
    ];
    for (query, expected) in cases {
        let r = fx
            .fed
            .complete_login(&start.pending.module, &start.pending, &query)
            .await;
        assert_eq!(r.unwrap_err(), expected, "{query}");
    }
    // A callback that arrives at another module's redirect URI is someone else's (a mix-up).
    let other = enabled(&fx, "other", oauth2()).await;
    let r = fx
        .fed
        .complete_login(&other, &start.pending, &format!("code=c&state={state}"))
        .await;
    assert_eq!(r.unwrap_err(), LoginError::WrongCallback);
    assert!(fx.fetcher.requests().is_empty());
}

#[tokio::test]
async fn a_login_older_than_ten_minutes_is_refused() {
    let fx = fx();
    let id = enabled(&fx, "idp", oauth2()).await;
    let start = fx.fed.start_login(&id).await.unwrap();
    fx.clock.advance(601);
    let r = callback(&fx, &start, "").await;
    assert_eq!(r.unwrap_err(), LoginError::Expired);
}

#[tokio::test]
async fn a_callback_naming_another_issuer_is_refused() {
    let (fx, id) = fx_with(|s| s.endpoints.issuer = Some(IDP.into())).await;
    token_ok(&fx);
    let start = fx.fed.start_login(&id).await.unwrap();
    let r = callback(&fx, &start, "&iss=https%3A%2F%2Fevil.example").await;
    assert_eq!(r.unwrap_err(), LoginError::IssuerMismatch);
    // Two `iss` values, the right one first, are refused rather than half-read.
    let two = "&iss=https%3A%2F%2Fidp.example.com&iss=https%3A%2F%2Fevil.example";
    let r = callback(&fx, &start, two).await;
    assert_eq!(r.unwrap_err(), LoginError::RepeatedParameter("iss"));
    // A provider that always names itself must name itself this time too.
    let (fx, id) = fx_with(|s| {
        s.endpoints.issuer = Some(IDP.into());
        s.endpoints.iss_required = true;
    })
    .await;
    let start = fx.fed.start_login(&id).await.unwrap();
    let state = state_of(&start.authorization_url);
    let r = fx
        .fed
        .complete_login(&id, &start.pending, &format!("code=c&state={state}"))
        .await;
    assert_eq!(r.unwrap_err(), LoginError::IssuerMismatch);
}

#[tokio::test]
async fn provider_answers_that_are_errors_or_quirks() {
    let fx = fx();
    let id = enabled(&fx, "idp", oauth2()).await;
    route_json(&fx, HttpMethod::Get, USER_INFO, 200, alice());
    let run = |fx: &Fx| {
        let fx_fed = fx.fed.clone();
        let id = id.clone();
        async move {
            let start = fx_fed.start_login(&id).await.unwrap();
            let state = state_of(&start.authorization_url);
            fx_fed
                .complete_login(
                    &start.pending.module,
                    &start.pending,
                    &format!("code=c&state={state}"),
                )
                .await
        }
    };
    // GitHub answers a bad code with status 200 and an error in the body.
    route_json(
        &fx,
        HttpMethod::Post,
        TOKEN,
        200,
        json!({"error": "bad_verification_code", "error_description": "The code is wrong."}),
    );
    assert_eq!(
        run(&fx).await.unwrap_err(),
        LoginError::Provider {
            error: "bad_verification_code".into(),
            description: Some("The code is wrong.".into())
        }
    );
    route_json(
        &fx,
        HttpMethod::Post,
        TOKEN,
        400,
        json!({"error": "invalid_grant"}),
    );
    assert!(matches!(
        run(&fx).await.unwrap_err(),
        LoginError::Provider { error, .. } if error == "invalid_grant"
    ));
    fx.fetcher.route(
        HttpMethod::Post,
        TOKEN,
        Ok(HttpResponse {
            status: 200,
            headers: vec![],
            body: b"access_token=x&token_type=bearer".to_vec(),
        }),
    );
    assert!(matches!(
        run(&fx).await.unwrap_err(),
        LoginError::BadResponse {
            endpoint: "token",
            ..
        }
    ));
    route_json(
        &fx,
        HttpMethod::Post,
        TOKEN,
        200,
        json!({"token_type": "bearer"}),
    );
    assert!(matches!(
        run(&fx).await.unwrap_err(),
        LoginError::BadResponse { endpoint: "token", problem } if problem.contains("access_token")
    ));
    route_json(
        &fx,
        HttpMethod::Post,
        TOKEN,
        200,
        json!({"access_token": "x", "token_type": "mac"}),
    );
    assert!(matches!(
        run(&fx).await.unwrap_err(),
        LoginError::BadResponse { endpoint: "token", problem } if problem.contains("token_type")
    ));
    fx.fetcher.route(
        HttpMethod::Post,
        TOKEN,
        Err(FetchError::ReadTimeout("idp".into())),
    );
    assert_eq!(
        run(&fx).await.unwrap_err(),
        LoginError::Timeout { endpoint: "token" }
    );
    fx.fetcher.route(
        HttpMethod::Post,
        TOKEN,
        Err(FetchError::Connect("refused".into())),
    );
    assert_eq!(
        run(&fx).await.unwrap_err(),
        LoginError::Unreachable { endpoint: "token" }
    );
    // `expires_in` as a string, and a lowercase token type, are accepted.
    route_json(
        &fx,
        HttpMethod::Post,
        TOKEN,
        200,
        json!({"access_token": "x", "token_type": "bearer", "expires_in": "7200"}),
    );
    assert_eq!(
        run(&fx).await.unwrap().tokens.expires_at.unwrap().0,
        NOW + 7200
    );
    // The user-info endpoint failing, or answering garbage.
    fx.fetcher.route(
        HttpMethod::Get,
        USER_INFO,
        Err(FetchError::Deadline("idp".into())),
    );
    assert_eq!(
        run(&fx).await.unwrap_err(),
        LoginError::Timeout {
            endpoint: "user_info"
        }
    );
    fx.fetcher.route(
        HttpMethod::Get,
        USER_INFO,
        Ok(HttpResponse {
            status: 200,
            headers: vec![],
            body: b"<html>".to_vec(),
        }),
    );
    assert!(matches!(
        run(&fx).await.unwrap_err(),
        LoginError::BadResponse {
            endpoint: "user_info",
            ..
        }
    ));
    route_json(&fx, HttpMethod::Get, USER_INFO, 401, json!({}));
    assert!(matches!(
        run(&fx).await.unwrap_err(),
        LoginError::BadResponse { endpoint: "user_info", problem } if problem.contains("401")
    ));
}

#[tokio::test]
async fn user_ids_are_kept_exactly_and_a_missing_one_refuses_the_login() {
    let fx = fx();
    let id = enabled(&fx, "idp", oauth2()).await;
    let cases = [
        (
            json!({"id": 18446744073709551615u64}),
            Ok("18446744073709551615"),
        ),
        (json!({"id": -7}), Ok("-7")),
        (json!({"id": "{c0ffee-uuid}"}), Ok("{c0ffee-uuid}")),
        (json!({"id": 1.5e20}), Err(())),
        (json!({"id": null, "login": "alice"}), Err(())),
        (json!({"login": "alice"}), Err(())),
        (json!({"id": {"nested": 1}}), Err(())),
    ];
    for (profile, expected) in cases {
        let r = login_as(&fx, &id, profile.clone()).await;
        match expected {
            Ok(id) => assert_eq!(r.unwrap().profile.user_id, id, "{profile}"),
            Err(()) => assert!(matches!(r, Err(LoginError::UserId(_))), "{profile}: {r:?}"),
        }
    }
}

#[tokio::test]
async fn email_verification_is_the_providers_word_and_auto_verification_only_fills_silence() {
    use EmailVerification::*;
    let cases = [
        (json!(true), false, Verified),
        (json!("true"), false, Verified),
        (json!(false), false, Unverified),
        (json!("false"), false, Unverified),
        (json!(false), true, Unverified),
        (json!("false"), true, Unverified),
        (json!(null), false, Unknown),
        (json!(null), true, AutoVerified),
    ];
    for (said, auto, expected) in cases {
        let (fx, id) = fx_with(|s| s.email_auto_verify = auto).await;
        let mut profile = alice();
        profile["email_verified"] = said.clone();
        let p = login_as(&fx, &id, profile).await.unwrap().profile;
        assert_eq!(p.email_verification, expected, "said {said}, auto {auto}");
    }
}

#[tokio::test]
async fn an_emails_endpoint_gives_the_primary_confirmed_address() {
    let (fx, id) = fx_with(|s| s.endpoints.email = Some(url(EMAILS))).await;
    // Bitbucket's /2.0/user/emails.
    route_json(
        &fx,
        HttpMethod::Get,
        EMAILS,
        200,
        json!({"pagelen": 10, "page": 1, "size": 3, "values": [
            {"is_primary": false, "is_confirmed": true, "type": "email", "email": "old@example.com"},
            {"is_primary": true, "is_confirmed": true, "type": "email", "email": "alice@work.example"},
            {"is_primary": false, "is_confirmed": false, "type": "email", "email": "x@example.com"}
        ]}),
    );
    let mut profile = alice();
    profile.as_object_mut().unwrap().remove("email");
    profile.as_object_mut().unwrap().remove("email_verified");
    let p = login_as(&fx, &id, profile.clone()).await.unwrap().profile;
    assert_eq!(p.email.as_deref(), Some("alice@work.example"));
    assert_eq!(p.email_verification, EmailVerification::Verified);
    // A primary address that is not confirmed comes back unverified.
    route_json(
        &fx,
        HttpMethod::Get,
        EMAILS,
        200,
        json!([{"email": "new@example.com", "primary": true, "verified": false, "visibility": null}]),
    );
    let p = login_as(&fx, &id, profile).await.unwrap().profile;
    assert_eq!(p.email.as_deref(), Some("new@example.com"));
    assert_eq!(p.email_verification, EmailVerification::Unverified);
}

#[tokio::test]
async fn the_image_url_pattern_fills_the_picture_id_encoded() {
    let (fx, id) = fx_with(|s| {
        s.mapping.avatar = Some("picture/id".parse().unwrap());
        s.mapping.image_url_pattern = Some("https://img.example.com/u/<picture-id>.png".into());
    })
    .await;
    let mut profile = alice();
    profile["picture"] = json!({"id": "a/../b?c"});
    let p = login_as(&fx, &id, profile).await.unwrap().profile;
    assert_eq!(
        p.avatar_url.as_deref(),
        Some("https://img.example.com/u/a%2F..%2Fb%3Fc.png")
    );
}

#[tokio::test]
async fn an_avatar_endpoint_is_read_as_a_raster_image_within_the_cap() {
    let (fx, id) = fx_with(|s| s.endpoints.avatar = Some(url(AVATAR))).await;
    let image = |content_type: &str, len: usize| {
        Ok(HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: vec![0x89; len],
        })
    };
    fx.fetcher
        .route(HttpMethod::Get, AVATAR, image("image/png", 2048));
    let login = login_as(&fx, &id, alice()).await.unwrap();
    let img = login.profile.avatar_image.clone().unwrap();
    assert_eq!(img.content_type, "image/png");
    assert_eq!(img.bytes.len(), 2048);
    // The image reaches the account, refreshed with the rest on every login.
    let current = fx.fed.modules().get(&id).await.unwrap();
    let (revision, mut s) = (current.revision, current.settings);
    s.user_creation = true;
    fx.fed
        .modules()
        .update("root", &id, revision, s)
        .await
        .unwrap();
    let account = fx.fed.sign_in(&login, &fx.accounts).await.unwrap().unwrap();
    assert_eq!(
        fx.accounts
            .get(&account)
            .unwrap()
            .avatar_image
            .unwrap()
            .bytes
            .len(),
        2048
    );
    // Script-capable or non-image types, and oversized images, are dropped; the login goes on.
    for refused in [
        image("image/svg+xml", 10),
        image("text/html", 10),
        image("image/png", portcullis::federation::MAX_AVATAR_BYTES + 1),
    ] {
        fx.fetcher.route(HttpMethod::Get, AVATAR, refused);
        let p = login_as(&fx, &id, alice()).await.unwrap().profile;
        assert!(p.avatar_image.is_none());
    }
}

#[tokio::test]
async fn an_avatar_url_is_a_web_url_or_nothing() {
    let fx = fx();
    let id = enabled(&fx, "idp", oauth2()).await;
    for (value, kept) in [
        ("https://img.example.com/a.png", true),
        ("HTTP://img.example.com/a.png", true),
        ("javascript:alert(1)", false),
        ("data:image/svg+xml,<svg onload=alert(1)>", false),
        ("//img.example.com/a.png", false),
    ] {
        let mut profile = alice();
        profile["avatar_url"] = json!(value);
        let p = login_as(&fx, &id, profile).await.unwrap().profile;
        assert_eq!(p.avatar_url.is_some(), kept, "{value}");
    }
}
