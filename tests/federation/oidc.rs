//! OpenID Connect modules: the nonce, the ID token's checks, discovery.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis::federation::{LoginError, MappingText, ModuleSettings, ModuleType, discover};
use portcullis::store::HttpMethod;
use serde_json::{Value, json};

use crate::common::*;

const ES256_PEM: &[u8] = include_bytes!("../data/es256-test-key.pem");

fn oidc() -> ModuleSettings {
    let mut s = oauth2();
    s.module_type = ModuleType::OpenIdConnect;
    s.endpoints.issuer = Some(IDP.into());
    s.endpoints.jwks = Some(url(JWKS));
    s.scopes = ModuleSettings::parse_scopes("openid profile email");
    s.mapping = MappingText {
        user_id: Some("sub".into()),
        username: Some("preferred_username".into()),
        full_name: Some("name".into()),
        email: Some("email".into()),
        email_verified: Some("email_verified".into()),
        ..MappingText::default()
    }
    .parse()
    .unwrap();
    s
}

fn publish_keys(fx: &Fx) {
    let signer = portcullis::token::JwtSigner::es256_pem("k1", ES256_PEM).unwrap();
    let jwk = serde_json::to_value(signer.public_jwk().unwrap()).unwrap();
    route_json(fx, HttpMethod::Get, JWKS, 200, json!({"keys": [jwk]}));
}

fn sign(claims: &Value, alg: Algorithm) -> String {
    let mut header = Header::new(alg);
    header.kid = Some("k1".into());
    let key = match alg {
        Algorithm::HS256 => EncodingKey::from_secret(b"s3cret&=+"),
        _ => EncodingKey::from_ec_pem(ES256_PEM).unwrap(),
    };
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn claims(nonce: &str) -> Value {
    json!({
        "iss": IDP, "aud": "host-at-idp", "sub": "user-1", "nonce": nonce,
        "iat": NOW, "exp": NOW + 300,
        "preferred_username": "alice", "email": "alice@example.com", "email_verified": true
    })
}

/// A login whose token response carries the ID token `make` builds from the login's nonce.
async fn login_with(
    fx: &Fx,
    make: impl FnOnce(&str) -> String,
    user_info: Value,
) -> Result<portcullis::federation::FederatedLogin, LoginError> {
    let id = portcullis::federation::ModuleId::new("oidc").unwrap();
    let start = fx.fed.start_login(&id).await?;
    let nonce = start
        .authorization_url
        .query_pairs()
        .find(|(k, _)| k == "nonce")
        .map(|(_, v)| v.into_owned())
        .expect("an OpenID Connect login sends a nonce");
    route_json(
        fx,
        HttpMethod::Post,
        TOKEN,
        200,
        json!({"access_token": "at", "token_type": "Bearer", "id_token": make(&nonce)}),
    );
    route_json(fx, HttpMethod::Get, USER_INFO, 200, user_info);
    let state = state_of(&start.authorization_url);
    fx.fed
        .complete_login(
            &start.pending.module,
            &start.pending,
            &format!("code=c&state={state}"),
        )
        .await
}

async fn oidc_fx() -> Fx {
    let fx = fx();
    enabled(&fx, "oidc", oidc()).await;
    publish_keys(&fx);
    fx
}

#[tokio::test]
async fn a_valid_id_token_and_user_info_make_the_profile() {
    let fx = oidc_fx().await;
    let login = login_with(
        &fx,
        |n| sign(&claims(n), Algorithm::ES256),
        json!({"sub": "user-1", "name": "Alice Liddell"}),
    )
    .await
    .unwrap();
    let p = login.profile;
    assert_eq!(p.user_id, "user-1");
    assert_eq!(p.username.as_deref(), Some("alice"), "from the ID token");
    assert_eq!(
        p.full_name.as_deref(),
        Some("Alice Liddell"),
        "from user info"
    );
    assert!(p.email_verification.is_verified());
}

#[tokio::test]
async fn an_id_token_failing_a_check_refuses_the_login() {
    type Make = Box<dyn Fn(&str) -> String>;
    let with = |change: fn(&mut Value)| -> Make {
        Box::new(move |n| {
            let mut c = claims(n);
            change(&mut c);
            sign(&c, Algorithm::ES256)
        })
    };
    let cases: Vec<(&str, Make)> = vec![
        (
            "nonce",
            Box::new(|_| sign(&claims("another-login"), Algorithm::ES256)),
        ),
        (
            "nonce",
            with(|c| {
                c.as_object_mut().unwrap().remove("nonce");
            }),
        ),
        ("signature", with(|c| c["aud"] = json!("someone-else"))),
        (
            "signature",
            with(|c| c["iss"] = json!("https://evil.example")),
        ),
        ("expired", with(|c| c["exp"] = json!(NOW - 61))),
        ("future", with(|c| c["iat"] = json!(NOW + 3600))),
        (
            "exp",
            with(|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        (
            "azp",
            with(|c| {
                c["aud"] = json!(["host-at-idp", "other"]);
                c["azp"] = json!("other");
            }),
        ),
        (
            "asymmetric",
            Box::new(|n| sign(&claims(n), Algorithm::HS256)),
        ),
        ("not a JWT", Box::new(|_| "garbage".into())),
        // A token the provider signed for some other purpose, without an audience or issuer.
        (
            "signature",
            with(|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
        ),
        (
            "signature",
            with(|c| {
                c.as_object_mut().unwrap().remove("iss");
            }),
        ),
        (
            "iss",
            with(|c| c["iss"] = json!([IDP, "https://evil.example"])),
        ),
        (
            "signature",
            Box::new(|n| {
                // A token signed by a key the provider does not publish.
                let key = EncodingKey::from_ed_pem(include_bytes!("../data/ed25519-test-key.pem"))
                    .unwrap();
                let mut header = Header::new(Algorithm::EdDSA);
                header.kid = Some("k1".into());
                jsonwebtoken::encode(&header, &claims(n), &key).unwrap()
            }),
        ),
    ];
    for (expected, make) in cases {
        let fx = oidc_fx().await;
        let r = login_with(&fx, make, json!({"sub": "user-1"})).await;
        match r {
            Err(LoginError::IdToken(why)) => assert!(why.contains(expected), "{expected}: {why}"),
            other => panic!("{expected}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_token_response_without_an_id_token_or_user_info_about_someone_else_is_refused() {
    let fx = oidc_fx().await;
    let r = login_with(&fx, |_| String::new(), json!({"sub": "user-1"})).await;
    assert!(matches!(
        r,
        Err(LoginError::IdToken(_)) | Err(LoginError::BadResponse { .. })
    ));
    let fx = oidc_fx().await;
    let r = login_with(
        &fx,
        |n| sign(&claims(n), Algorithm::ES256),
        json!({"sub": "user-2", "name": "Mallory"}),
    )
    .await;
    assert!(
        matches!(&r, Err(LoginError::BadResponse { endpoint: "user_info", problem }) if problem.contains("sub")),
        "{r:?}"
    );
}

#[tokio::test]
async fn discovery_reads_the_providers_configuration() {
    let fx = fx();
    route_json(
        &fx,
        HttpMethod::Get,
        "https://idp.example.com/.well-known/openid-configuration",
        200,
        json!({
            "issuer": IDP,
            "authorization_endpoint": "https://idp.example.com/authorize",
            "token_endpoint": TOKEN,
            "userinfo_endpoint": USER_INFO,
            "jwks_uri": JWKS,
            "end_session_endpoint": "https://idp.example.com/logout",
            "authorization_response_iss_parameter_supported": true
        }),
    );
    let e = discover(&*fx.fetcher, IDP).await.unwrap();
    assert!(
        e.iss_required,
        "RFC 9207 §2.4: the metadata says every response names the issuer"
    );
    assert_eq!(e.token.as_str(), TOKEN);
    assert_eq!(e.jwks.unwrap().as_str(), JWKS);
    assert_eq!(e.logout.unwrap().as_str(), "https://idp.example.com/logout");
    assert_eq!(e.issuer.as_deref(), Some(IDP));
    // A document naming another issuer is refused (Discovery §4.3).
    route_json(
        &fx,
        HttpMethod::Get,
        "https://other.example.com/.well-known/openid-configuration",
        200,
        json!({"issuer": IDP, "authorization_endpoint": "https://x/a", "token_endpoint": "https://x/t", "jwks_uri": "https://x/j"}),
    );
    assert!(
        discover(&*fx.fetcher, "https://other.example.com")
            .await
            .is_err()
    );
    // A provider that lists its PKCE methods without S256 cannot serve a login.
    route_json(
        &fx,
        HttpMethod::Get,
        "https://plain.example.com/.well-known/openid-configuration",
        200,
        json!({"issuer": "https://plain.example.com", "authorization_endpoint": "https://x/a",
               "token_endpoint": "https://x/t", "jwks_uri": "https://x/j",
               "code_challenge_methods_supported": ["plain"]}),
    );
    let e = discover(&*fx.fetcher, "https://plain.example.com").await;
    assert!(format!("{e:?}").contains("S256"), "{e:?}");
}

#[tokio::test]
async fn an_oauth2_module_that_knows_the_keys_checks_an_id_token_it_is_sent() {
    let fx = fx();
    let mut s = oauth2();
    s.endpoints.issuer = Some(IDP.into());
    s.endpoints.jwks = Some(url(JWKS));
    let id = enabled(&fx, "plain", s).await;
    publish_keys(&fx);
    let mut forged = claims("no-nonce-in-oauth2");
    forged["aud"] = json!("someone-else");
    route_json(
        &fx,
        HttpMethod::Post,
        TOKEN,
        200,
        json!({"access_token": "at", "token_type": "Bearer",
               "id_token": sign(&forged, Algorithm::ES256)}),
    );
    route_json(&fx, HttpMethod::Get, USER_INFO, 200, alice());
    let start = fx.fed.start_login(&id).await.unwrap();
    let r = callback(&fx, &start, "").await;
    assert!(matches!(r, Err(LoginError::IdToken(_))), "{r:?}");
}

#[tokio::test]
async fn user_info_without_a_sub_is_not_merged_into_an_id_tokens_claims() {
    let fx = oidc_fx().await;
    let r = login_with(
        &fx,
        |n| sign(&claims(n), Algorithm::ES256),
        json!({"name": "Mallory", "email": "mallory@example.com"}),
    )
    .await;
    assert!(
        matches!(&r, Err(LoginError::BadResponse { endpoint: "user_info", problem }) if problem.contains("sub")),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_login_started_without_a_nonce_cannot_complete_as_openid_connect() {
    let fx = fx();
    let mut s = oidc();
    s.module_type = ModuleType::OAuth2;
    let id = enabled(&fx, "oidc", s).await;
    publish_keys(&fx);
    let start = fx.fed.start_login(&id).await.unwrap();
    // The administrator switches the module to OpenID Connect while the user is away.
    let current = fx.fed.modules().get(&id).await.unwrap();
    let (revision, mut s) = (current.revision, current.settings);
    s.module_type = ModuleType::OpenIdConnect;
    fx.fed
        .modules()
        .update("root", &id, revision, s)
        .await
        .unwrap();
    route_json(
        &fx,
        HttpMethod::Post,
        TOKEN,
        200,
        json!({"access_token": "at", "token_type": "Bearer",
               "id_token": sign(&claims("whatever"), Algorithm::ES256)}),
    );
    let state = state_of(&start.authorization_url);
    let r = fx
        .fed
        .complete_login(&id, &start.pending, &format!("code=c&state={state}"))
        .await;
    assert!(
        matches!(&r, Err(LoginError::IdToken(why)) if why.contains("nonce")),
        "{r:?}"
    );
}

#[tokio::test]
async fn the_providers_keys_are_read_once_per_five_minutes_or_when_a_new_key_appears() {
    let fx = oidc_fx().await;
    let jwks_reads = |fx: &Fx| {
        fx.fetcher
            .requests()
            .iter()
            .filter(|r| r.url.as_str() == JWKS)
            .count()
    };
    let good = |n: &str| sign(&claims(n), Algorithm::ES256);
    let info = || json!({"sub": "user-1"});
    login_with(&fx, good, info()).await.unwrap();
    login_with(&fx, good, info()).await.unwrap();
    assert_eq!(
        jwks_reads(&fx),
        1,
        "the second login uses the cached key set"
    );
    // A token naming a key the cached set lacks: the provider may have rotated; read again.
    let rotated = |n: &str| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k2".into());
        let key = EncodingKey::from_ec_pem(ES256_PEM).unwrap();
        jsonwebtoken::encode(&header, &claims(n), &key).unwrap()
    };
    assert!(login_with(&fx, rotated, info()).await.is_err());
    assert_eq!(jwks_reads(&fx), 2);
    // Five minutes on, the set is read again.
    fx.clock.advance(301);
    let later = |n: &str| {
        let mut c = claims(n);
        c["iat"] = json!(NOW + 301);
        c["exp"] = json!(NOW + 600);
        sign(&c, Algorithm::ES256)
    };
    login_with(&fx, later, info()).await.unwrap();
    assert_eq!(jwks_reads(&fx), 3);
}
