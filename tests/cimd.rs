//! Automatic client registration from Client ID Metadata Documents
//! (draft-ietf-oauth-client-id-metadata-document), through the authorization endpoint, with a
//! fetcher that answers from canned responses.

use std::sync::Arc;

use portcullis::client::{Badge, ClientType, Flow, Registration};
use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
use portcullis::store::memory::MemoryFetcher;
use portcullis::store::{FetchError, HttpMethod, HttpResponse};
use portcullis::users::MemoryUserDirectory;
use portcullis::{
    AuthorizationServer, Authorize, ManualClock, Params, Scope, ServerSettings, Timestamp,
};

const ID: &str = "https://mcp.example.com/oauth/client.json";
const REDIRECT: &str = "http://127.0.0.1:33418/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

struct Env {
    server: AuthorizationServer,
    fetcher: Arc<MemoryFetcher>,
    clock: ManualClock,
}

fn document(name: &str, redirect: &str, cache_control: &str) -> Result<HttpResponse, FetchError> {
    Ok(HttpResponse {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Cache-Control".into(), cache_control.into()),
        ],
        body: serde_json::to_vec(&serde_json::json!({
            "client_id": ID,
            "client_name": name,
            "client_uri": "https://mcp.example.com/",
            "redirect_uris": [redirect],
            "software_id": "example-mcp",
            "software_version": "1.4.0",
            "tos_uri": "https://mcp.example.com/terms",
            "policy_uri": "https://mcp.example.com/privacy",
            "contacts": ["ops@mcp.example.com"],
        }))
        .unwrap(),
    })
}

fn env_with(configure: impl FnOnce(&mut ServerSettings)) -> Env {
    let mut settings = ServerSettings::new("https://auth.example.com").unwrap();
    settings.cimd_enabled = true;
    settings.cimd.scopes = vec!["read".into(), "write".into()];
    configure(&mut settings);
    let users = MemoryUserDirectory::default();
    users
        .insert(
            "alice",
            "alice-password",
            Scope::parse("read write").unwrap(),
        )
        .unwrap();
    let fetcher = Arc::new(MemoryFetcher::default());
    fetcher.route(
        HttpMethod::Get,
        ID,
        document("Example MCP client", REDIRECT, "max-age=60"),
    );
    let clock = ManualClock::new(Timestamp(1_800_000_000));
    let server = AuthorizationServer::builder(settings, Arc::new(users))
        .fetcher(fetcher.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    Env {
        server,
        fetcher,
        clock,
    }
}

fn env() -> Env {
    env_with(|_| {})
}

fn query(client_id: &str, redirect: &str) -> String {
    let verifier = CodeVerifier::parse(VERIFIER).unwrap();
    let challenge = CodeChallenge::from_verifier(&verifier, PkceMethod::S256);
    let pairs = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("scope", "read"),
        ("state", "xyz"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn authorize(e: &Env, client_id: &str, user: Option<&str>) -> Authorize {
    e.server
        .authorize(&Params::parse(&query(client_id, REDIRECT)), user)
        .await
}

/// Alice's authorization request for `client_id` ends at the consent page (so the client is
/// registered and its redirect URI trusted).
async fn asks_consent(e: &Env, client_id: &str) {
    let outcome = authorize(e, client_id, Some("alice")).await;
    assert!(
        matches!(outcome, Authorize::Consent(_)),
        "expected consent, got {outcome:?}"
    );
}

fn refused(outcome: &Authorize) -> String {
    match outcome {
        Authorize::Refused(e) => e.description.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_registers_itself_and_completes_code_with_pkce() {
    let e = env();
    let Authorize::Consent(ask) = authorize(&e, ID, Some("alice")).await else {
        panic!("an auto-registered client always asks for consent")
    };
    assert_eq!(ask.client_name, "Example MCP client");
    assert_eq!(ask.auto_registered_by.as_deref(), Some("mcp.example.com"));

    let client = e
        .server
        .clients()
        .get(&portcullis::ClientId::new(ID).unwrap())
        .await
        .unwrap();
    assert_eq!(client.registration(), Registration::Cimd);
    assert!(client.has_badge(Badge::AutoRegistered));
    assert_eq!(client.client_type(), ClientType::Public);
    assert_eq!(
        client.flows().iter().collect::<Vec<_>>(),
        [Flow::AuthorizationCode]
    );
    assert!(client.settings().require_pkce && client.settings().require_consent);
    assert_eq!(client.settings().redirect_uris, [REDIRECT]);
    let app = client.application().unwrap();
    assert_eq!(app.name.as_deref(), Some("Example MCP client"));
    assert_eq!(app.version.as_deref(), Some("1.4.0"));
    assert_eq!(app.software_id.as_deref(), Some("example-mcp"));
    assert_eq!(
        app.tos_uri.as_deref(),
        Some("https://mcp.example.com/terms")
    );
    assert_eq!(
        app.policy_uri.as_deref(),
        Some("https://mcp.example.com/privacy")
    );
    assert_eq!(app.contacts, ["ops@mcp.example.com"]);

    let q = query(ID, REDIRECT);
    let params = Params::parse(&q);
    let Authorize::Redirect(location) = e
        .server
        .authorize_with_consent(&params, "alice", true)
        .await
    else {
        panic!("approved")
    };
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", ID),
            ("code_verifier", VERIFIER),
        ])
        .finish();
    let r = e.server.token(None, &Params::parse(&body)).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(e.fetcher.requests().len(), 1, "fetched once");
}

#[tokio::test]
async fn an_anonymous_request_fetches_and_writes_nothing() {
    let e = env();
    let Authorize::Login(prompt) = authorize(&e, ID, None).await else {
        panic!("log in first")
    };
    assert_eq!(prompt.client_name, "mcp.example.com");
    assert!(e.fetcher.requests().is_empty());
    assert!(
        e.server
            .clients()
            .get(&portcullis::ClientId::new(ID).unwrap())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn with_registration_off_a_url_is_just_an_unknown_client() {
    let e = env_with(|s| s.cimd_enabled = false);
    let why = refused(&authorize(&e, ID, Some("alice")).await);
    assert!(why.contains("no client"), "{why}");
    assert!(e.fetcher.requests().is_empty(), "nothing fetched");
    assert_eq!(
        e.server.metadata()["client_id_metadata_document_supported"],
        false
    );
}

#[tokio::test]
async fn the_switch_works_at_run_time_and_registered_clients_keep_working() {
    let e = env();
    assert_eq!(
        e.server.metadata()["client_id_metadata_document_supported"],
        true
    );
    asks_consent(&e, ID).await;
    e.server.set_cimd_enabled(false);
    assert_eq!(
        e.server.metadata()["client_id_metadata_document_supported"],
        false
    );
    // Registered while on: keeps working as stored, and nothing is fetched again.
    e.clock.advance(3600);
    asks_consent(&e, ID).await;
    assert_eq!(e.fetcher.requests().len(), 1);
    // A new one is an unknown client.
    let other = "https://other.example.com/client.json";
    assert!(refused(&authorize(&e, other, Some("alice")).await).contains("no client"));
    e.server.set_cimd_enabled(true);
    asks_consent(&e, ID).await;
    assert_eq!(
        e.fetcher.requests().len(),
        2,
        "on again: the expired document refetched"
    );
}

#[tokio::test]
async fn a_client_id_breaking_a_rule_is_refused_before_any_fetch() {
    let e = env();
    for (client_id, rule) in [
        ("https://mcp.example.com/", "path"),
        ("https://mcp.example.com/c#x", "fragment"),
        ("https://u@mcp.example.com/c", "username"),
        ("https://mcp.example.com/a/../c", "`.`"),
        ("https://10.1.2.3/c", "IP address"),
        ("http://mcp.example.com/c", "https"),
        ("https://MCP.example.com/c", "as a URL parser writes it"),
    ] {
        let why = refused(&authorize(&e, client_id, Some("alice")).await);
        assert!(
            why.starts_with("client_id: ") && why.contains(rule),
            "{client_id}: {why}"
        );
    }
    assert!(e.fetcher.requests().is_empty());
}

#[tokio::test]
async fn block_and_allow_lists_decide_before_any_fetch() {
    let blocked = env_with(|s| s.cimd.block = vec!["*.example.com".into()]);
    let why = refused(&authorize(&blocked, ID, Some("alice")).await);
    assert!(
        why.contains("does not register clients from `mcp.example.com`"),
        "{why}"
    );
    assert!(blocked.fetcher.requests().is_empty());

    let allowed = env_with(|s| s.cimd.allow = vec!["https://mcp.example.com/oauth/".into()]);
    asks_consent(&allowed, ID).await;
    let elsewhere = "https://mcp.example.com/other/client.json";
    assert!(
        refused(&authorize(&allowed, elsewhere, Some("alice")).await).contains("does not register")
    );
    assert_eq!(allowed.fetcher.requests().len(), 1);
}

#[tokio::test]
async fn a_bad_fetch_or_document_registers_nothing() {
    let e = env();
    let cases: Vec<(Result<HttpResponse, FetchError>, &str)> = vec![
        (Err(FetchError::Deadline(ID.into())), "deadline"),
        (
            Ok(HttpResponse {
                status: 302,
                headers: vec![("Location".into(), "https://evil.example/c.json".into())],
                body: Vec::new(),
            }),
            "redirect",
        ),
        (
            Ok(HttpResponse {
                status: 200,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: b"{}".to_vec(),
            }),
            "application/json",
        ),
        (
            Ok(HttpResponse {
                status: 200,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: serde_json::to_vec(&serde_json::json!({
                    "client_id": ID,
                    "redirect_uris": [REDIRECT],
                    "token_endpoint_auth_method": "client_secret_basic",
                }))
                .unwrap(),
            }),
            "token_endpoint_auth_method",
        ),
    ];
    for (answer, rule) in cases {
        e.fetcher.route(HttpMethod::Get, ID, answer);
        let why = refused(&authorize(&e, ID, Some("alice")).await);
        assert!(why.contains(rule), "{rule}: {why}");
        assert!(
            e.server
                .clients()
                .get(&portcullis::ClientId::new(ID).unwrap())
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn a_changed_document_refreshes_the_client_and_a_deleted_one_comes_back() {
    let e = env();
    asks_consent(&e, ID).await;
    let moved = "http://127.0.0.1:40000/new-callback";
    e.fetcher.route(
        HttpMethod::Get,
        ID,
        document("Renamed", moved, "max-age=60"),
    );
    // Within the cache lifetime the old document stands.
    e.clock.advance(59);
    asks_consent(&e, ID).await;
    e.clock.advance(1);
    let why = refused(&authorize(&e, ID, Some("alice")).await);
    assert!(
        why.contains("redirect_uri"),
        "the old redirect URI is gone: {why}"
    );
    let id = portcullis::ClientId::new(ID).unwrap();
    let client = e.server.clients().get(&id).await.unwrap();
    assert_eq!(client.name(), "Renamed");
    assert_eq!(client.settings().redirect_uris, [moved]);

    e.server
        .clients()
        .delete(std::slice::from_ref(&id))
        .await
        .unwrap();
    let r = e
        .server
        .authorize(&Params::parse(&query(ID, moved)), Some("alice"))
        .await;
    assert!(
        matches!(r, Authorize::Consent(_)),
        "registered again: {r:?}"
    );
}

#[tokio::test]
async fn an_auto_registered_home_url_is_no_resource() {
    let e = env();
    asks_consent(&e, ID).await;
    let mut q = query(ID, REDIRECT);
    q.push_str("&resource=https%3A%2F%2Fmcp.example.com%2F");
    let r = e.server.authorize(&Params::parse(&q), Some("alice")).await;
    let Authorize::Redirect(location) = r else {
        panic!("an error redirect after login: {r:?}")
    };
    assert!(location.contains("error=invalid_target"), "{location}");
}

#[tokio::test]
async fn an_auto_registered_client_always_asks_for_consent() {
    let e = env();
    asks_consent(&e, ID).await;
    let id = portcullis::ClientId::new(ID).unwrap();
    let mut settings = e
        .server
        .clients()
        .get(&id)
        .await
        .unwrap()
        .settings()
        .clone();
    settings.require_consent = false;
    e.server
        .clients()
        .update_settings(&id, settings)
        .await
        .unwrap();
    let q = query(ID, REDIRECT);
    let params = Params::parse(&q);
    assert!(matches!(
        e.server
            .authorize_with_consent(&params, "alice", true)
            .await,
        Authorize::Redirect(_)
    ));
    // Consent given and remembered, and the setting off: still asked, for a client that
    // registered itself (and whose redirect URI is a loopback one anyone on the device can
    // claim, RFC 8252 §8.6).
    asks_consent(&e, ID).await;
}

#[tokio::test]
async fn what_came_from_the_document_is_read_only_for_administrators() {
    let e = env();
    asks_consent(&e, ID).await;
    let id = portcullis::ClientId::new(ID).unwrap();
    let stored = e
        .server
        .clients()
        .get(&id)
        .await
        .unwrap()
        .settings()
        .clone();
    for (field, change) in [
        (
            "name",
            Box::new(|s: &mut portcullis::client::ClientSettings| s.name = "Mine".into())
                as Box<dyn Fn(&mut portcullis::client::ClientSettings)>,
        ),
        (
            "home_url",
            Box::new(|s| s.home_url = Some("https://evil.example/".into())),
        ),
        (
            "icon",
            Box::new(|s| s.icon = Some("https://evil.example/i.png".into())),
        ),
        (
            "redirect_uris",
            Box::new(|s| s.redirect_uris.push("https://evil.example/cb".into())),
        ),
    ] {
        let mut settings = stored.clone();
        change(&mut settings);
        let err = e
            .server
            .clients()
            .update_settings(&id, settings)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    // Local settings are the administrator's.
    let mut settings = stored.clone();
    settings.description = "Seen in the wild".into();
    settings.scopes = vec!["read".into()];
    e.server
        .clients()
        .update_settings(&id, settings)
        .await
        .unwrap();
    let client = e.server.clients().get(&id).await.unwrap();
    assert_eq!(client.settings().description, "Seen in the wild");
    assert_eq!(client.settings().scopes, ["read"]);
    // A changed document replaces its own fields and nothing else.
    e.fetcher.route(
        HttpMethod::Get,
        ID,
        document("Renamed", REDIRECT, "max-age=60"),
    );
    e.clock.advance(60);
    asks_consent(&e, ID).await;
    let client = e.server.clients().get(&id).await.unwrap();
    assert_eq!(client.name(), "Renamed");
    assert_eq!(
        client.application().and_then(|a| a.name.as_deref()),
        Some("Renamed"),
        "the application facts are refreshed too"
    );
    assert_eq!(client.settings().description, "Seen in the wild");
    assert_eq!(client.settings().scopes, ["read"]);
}

// ------------------------------------------------------------------ private_key_jwt (RFC 7523)

const KEY_ID: &str = "https://keys.example.com/oauth/client.json";
const ES256_PEM: &[u8] = include_bytes!("data/es256-test-key.pem");
const ED25519_PEM: &[u8] = include_bytes!("data/ed25519-test-key.pem");
const ISSUER: &str = "https://auth.example.com";

/// A document that publishes the ES256 test key's public half.
fn keyed_document() -> Result<HttpResponse, FetchError> {
    let jwk = portcullis::token::JwtSigner::es256_pem("k1", ES256_PEM)
        .unwrap()
        .public_jwk()
        .cloned()
        .unwrap();
    Ok(HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: serde_json::to_vec(&serde_json::json!({
            "client_id": KEY_ID,
            "client_name": "Keyed client",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [jwk]},
        }))
        .unwrap(),
    })
}

fn assertion(
    e: &Env,
    edit: impl FnOnce(&mut serde_json::Value, &mut jsonwebtoken::Header),
) -> String {
    let now = e.clock_now();
    let mut claims = serde_json::json!({
        "iss": KEY_ID,
        "sub": KEY_ID,
        "aud": format!("{ISSUER}/token"),
        "iat": now,
        "exp": now + 60,
        "jti": format!("jti-{now}-{}", rand_suffix()),
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("k1".into());
    edit(&mut claims, &mut header);
    let key = match header.alg {
        jsonwebtoken::Algorithm::HS256 => jsonwebtoken::EncodingKey::from_secret(&[7; 32]),
        jsonwebtoken::Algorithm::EdDSA => {
            jsonwebtoken::EncodingKey::from_ed_pem(ED25519_PEM).unwrap()
        }
        _ => jsonwebtoken::EncodingKey::from_ec_pem(ES256_PEM).unwrap(),
    };
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

impl Env {
    fn clock_now(&self) -> u64 {
        use portcullis::Clock as _;
        self.clock.now().0
    }

    /// A code for the keyed client, through consent.
    async fn keyed_code(&self) -> String {
        let q = query(KEY_ID, REDIRECT);
        let params = Params::parse(&q);
        let Authorize::Redirect(location) = self
            .server
            .authorize_with_consent(&params, "alice", true)
            .await
        else {
            panic!("approved")
        };
        url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    }

    async fn redeem(&self, code: &str, auth: &[(&str, &str)]) -> portcullis::EndpointResponse {
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        pairs.extend_from_slice(auth);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.server.token(None, &Params::parse(&body)).await
    }
}

fn keyed_env() -> Env {
    let e = env();
    e.fetcher.route(HttpMethod::Get, KEY_ID, keyed_document());
    e
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[tokio::test]
async fn a_client_publishing_keys_authenticates_with_a_signed_assertion() {
    let e = keyed_env();
    let metadata = e.server.metadata();
    assert!(
        metadata["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "private_key_jwt")
    );
    assert!(
        metadata["token_endpoint_auth_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "ES256")
    );
    asks_consent(&e, KEY_ID).await;
    let id = portcullis::ClientId::new(KEY_ID).unwrap();
    let client = e.server.clients().get(&id).await.unwrap();
    assert_eq!(client.client_type(), ClientType::Confidential);

    let code = e.keyed_code().await;
    let signed = assertion(&e, |_, _| {});
    let r = e
        .redeem(
            &code,
            &[
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &signed),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    // The same assertion again is a replay.
    let code = e.keyed_code().await;
    let again = e
        .redeem(
            &code,
            &[
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &signed),
            ],
        )
        .await;
    assert_eq!(again.status(), 401, "{}", again.body());
    assert!(again.body().contains("used already"), "{}", again.body());
}

#[tokio::test]
async fn bad_assertions_are_refused_with_their_reason() {
    let e = keyed_env();
    asks_consent(&e, KEY_ID).await;
    type Edit = Box<dyn FnOnce(&mut serde_json::Value, &mut jsonwebtoken::Header)>;
    let cases: Vec<(&str, Edit, u16, &str)> = vec![
        (
            "another audience",
            Box::new(|c, _| c["aud"] = "https://other.example/token".into()),
            401,
            "audience",
        ),
        (
            "expired",
            Box::new(|c, _| c["exp"] = (c["iat"].as_u64().unwrap() - 1).into()),
            401,
            "expired",
        ),
        (
            "too long-lived",
            Box::new(|c, _| c["exp"] = (c["iat"].as_u64().unwrap() + 3600).into()),
            401,
            "more than",
        ),
        (
            "not yet valid",
            Box::new(|c, _| c["nbf"] = (c["iat"].as_u64().unwrap() + 30).into()),
            401,
            "not yet valid",
        ),
        (
            "issued in the future",
            Box::new(|c, _| c["iat"] = (c["iat"].as_u64().unwrap() + 120).into()),
            401,
            "not yet valid",
        ),
        (
            "another issuer",
            Box::new(|c, _| c["iss"] = "https://evil.example/c.json".into()),
            401,
            "issuer",
        ),
        (
            "no jti",
            Box::new(|c, _| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            401,
            "jti",
        ),
        (
            "an HMAC signature",
            Box::new(|_, h| h.alg = jsonwebtoken::Algorithm::HS256),
            401,
            "asymmetric",
        ),
        (
            "another key",
            Box::new(|_, h| {
                h.alg = jsonwebtoken::Algorithm::EdDSA;
            }),
            401,
            "signature",
        ),
        (
            "another client",
            Box::new(|c, _| {
                c["sub"] = ID.into();
                c["iss"] = ID.into();
            }),
            401,
            "failed",
        ),
    ];
    for (what, edit, status, reason) in cases {
        let code = e.keyed_code().await;
        let signed = assertion(&e, edit);
        let r = e
            .redeem(
                &code,
                &[
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", &signed),
                ],
            )
            .await;
        assert_eq!(r.status(), status, "{what}: {}", r.body());
        assert!(r.body().contains(reason), "{what}: {}", r.body());
    }
    // Without an assertion: `none` would let anyone act as the client.
    let code = e.keyed_code().await;
    let r = e.redeem(&code, &[("client_id", KEY_ID)]).await;
    assert_eq!(r.status(), 401, "{}", r.body());
    // The wrong type, and an assertion beside a secret.
    let code = e.keyed_code().await;
    let signed = assertion(&e, |_, _| {});
    let r = e
        .redeem(
            &code,
            &[
                ("client_assertion_type", "urn:x"),
                ("client_assertion", &signed),
            ],
        )
        .await;
    assert_eq!(r.status(), 400, "{}", r.body());
    let r = e
        .redeem(
            &code,
            &[
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &signed),
                ("client_secret", "x"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400, "{}", r.body());
}

#[tokio::test]
async fn an_unlisted_redirect_uri_is_refused_and_held_for_review_as_for_any_client() {
    let e = env();
    asks_consent(&e, ID).await;
    let elsewhere = "https://mcp.example.com/not-in-the-document";
    let r = e
        .server
        .authorize(&Params::parse(&query(ID, elsewhere)), Some("alice"))
        .await;
    let why = refused(&r);
    assert!(why.contains("redirect_uri"), "never redirected: {why}");
    let client = e
        .server
        .clients()
        .get(&portcullis::ClientId::new(ID).unwrap())
        .await
        .unwrap();
    assert_eq!(client.untrusted_redirect_uris(), [elsewhere]);
    // An administrator reviews it but cannot trust it: only the document can.
    let err = e
        .server
        .clients()
        .trust_redirect_uri(client.id(), elsewhere)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("metadata document"), "{err}");
    let client = e.server.clients().get(client.id()).await.unwrap();
    assert_eq!(client.settings().redirect_uris, [REDIRECT]);
}

#[tokio::test]
async fn keys_may_come_from_a_jwks_uri() {
    const JWKS: &str = "https://keys.example.com/jwks.json";
    let e = env();
    let jwk = portcullis::token::JwtSigner::es256_pem("k1", ES256_PEM)
        .unwrap()
        .public_jwk()
        .cloned()
        .unwrap();
    e.fetcher.route(
        HttpMethod::Get,
        KEY_ID,
        Ok(HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(&serde_json::json!({
                "client_id": KEY_ID,
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks_uri": JWKS,
            }))
            .unwrap(),
        }),
    );
    let keys = |status: u16| {
        Ok(HttpResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(&serde_json::json!({"keys": [jwk.clone()]})).unwrap(),
        })
    };
    e.fetcher.route(HttpMethod::Get, JWKS, keys(200));
    asks_consent(&e, KEY_ID).await;
    let code = e.keyed_code().await;
    let signed = assertion(&e, |_, _| {});
    let auth = [
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", signed.as_str()),
    ];
    let r = e.redeem(&code, &auth).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert!(
        e.fetcher.requests().iter().any(|r| r.url.as_str() == JWKS),
        "the keys were fetched"
    );

    e.fetcher.route(HttpMethod::Get, JWKS, keys(404));
    let code = e.keyed_code().await;
    let signed = assertion(&e, |_, _| {});
    let auth = [
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", signed.as_str()),
    ];
    let r = e.redeem(&code, &auth).await;
    assert_eq!(r.status(), 401, "{}", r.body());
    assert!(r.body().contains("jwks_uri"), "{}", r.body());
}
