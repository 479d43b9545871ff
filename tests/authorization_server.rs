//! The authorization server through its public API, endpoint by endpoint, with a controlled
//! clock. Each test reads as the rule it checks.

use std::collections::HashMap;
use std::sync::Arc;

use base64::prelude::{BASE64_STANDARD, Engine as _};
use portcullis::client::{ClientSettings, ClientType, Flow, NewClient, SecretChange};
use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
use portcullis::server::{ExtensionGrant, GrantContext, GrantDecision};
use portcullis::store::{ConsentOwner, GrantId, Take, TokenHash};
use portcullis::token::{JwtSigner, TokenFormat};
use portcullis::users::MemoryUserDirectory;
use portcullis::{
    AuthorizationServer, Authorize, ClientId, EndpointResponse, ManualClock, OAuthClient,
    OAuthError, Params, Scope, ServerSettings, Timestamp,
};
use serde_json::Value;

/// The stores the suite's servers use: the built-in ones here. `tests/host_stores.rs` includes
/// this file as a module and gives its own `with_stores`, so the suite runs again over stores
/// the host provides.
#[allow(dead_code)]
fn with_stores(
    builder: portcullis::server::AuthorizationServerBuilder,
) -> portcullis::server::AuthorizationServerBuilder {
    builder
}

const ISSUER: &str = "https://auth.example.com";
/// The default audience; the confidential client serves it (it is one of its base URLs), so it
/// may introspect and exchange tokens addressed there.
const API: &str = "https://api.example.com/";
const CONF_SECRET: &str = "conf-secret+with:odd%chars-0123456789abcdef";

/// The user directory of the suite's servers: the memory one, which can be told to fail its
/// next call, as a host's database might.
#[derive(Default)]
struct FlakyUsers {
    inner: MemoryUserDirectory,
    fail_next: std::sync::atomic::AtomicBool,
}

impl FlakyUsers {
    fn fail_once(&self) {
        self.fail_next
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), portcullis::store::StoreError> {
        if self
            .fail_next
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(portcullis::store::StoreError::Backend(
                "directory down".into(),
            ));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl portcullis::users::UserDirectory for FlakyUsers {
    async fn permitted_scopes(&self, user: &str) -> Result<Scope, portcullis::store::StoreError> {
        self.check()?;
        self.inner.permitted_scopes(user).await
    }
    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<String>, portcullis::store::StoreError> {
        self.check()?;
        self.inner.verify_password(username, password).await
    }
}

/// Every security event the server reported.
#[derive(Default)]
struct Recorded(std::sync::Mutex<Vec<portcullis::events::SecurityEvent>>);

impl portcullis::events::SecurityEvents for Recorded {
    fn report(&self, event: &portcullis::events::SecurityEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Recorded {
    fn take(&self) -> Vec<portcullis::events::SecurityEvent> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

struct Env {
    server: AuthorizationServer,
    users: Arc<FlakyUsers>,
    events: Arc<Recorded>,
    clock: ManualClock,
    public: OAuthClient,
    conf: OAuthClient,
}

fn flows(f: &[Flow]) -> portcullis::client::Flows {
    f.iter().copied().collect()
}

async fn env_with(tweak: impl FnOnce(&mut ServerSettings)) -> Env {
    let mut settings = ServerSettings::new(ISSUER).unwrap();
    settings.resources = vec![API.into()];
    settings.default_resource = Some(API.into());
    // The suite's clients use every flow; the switches have their own test.
    settings.implicit_grant = true;
    settings.password_grant = true;
    tweak(&mut settings);
    let users = Arc::new(FlakyUsers::default());
    users
        .inner
        .insert(
            "alice",
            "alice-password",
            Scope::parse("read write").unwrap(),
        )
        .unwrap();
    users
        .inner
        .insert("bob", "bob-password", Scope::parse("read").unwrap())
        .unwrap();
    let clock = ManualClock::new(Timestamp(1_800_000_000));
    let events = Arc::new(Recorded::default());
    let server = crate::with_stores(AuthorizationServer::builder(settings, users.clone()))
        .security_events(events.clone())
        .clock(Arc::new(clock.clone()))
        .extension_grant(Arc::new(DemoGrant))
        .build()
        .unwrap();
    let public = server
        .clients()
        .create(NewClient::manual(
            ClientType::Public,
            ClientSettings {
                name: "Public app".into(),
                home_url: Some("https://app.example.com/".into()),
                redirect_uris: vec![
                    "https://app.example.com/cb".into(),
                    "http://127.0.0.1/cb".into(),
                ],
                flows: flows(&[Flow::AuthorizationCode, Flow::Implicit]),
                scopes: vec!["read".into(), "write".into(), "admin".into()],
                ..ClientSettings::default()
            },
        ))
        .await
        .unwrap()
        .client;
    let conf = server
        .clients()
        .create_with_secret(
            NewClient::manual(
                ClientType::Confidential,
                ClientSettings {
                    name: "Confidential app".into(),
                    home_url: Some("https://conf.example.com/".into()),
                    base_urls: vec![API.into()],
                    redirect_uris: vec!["https://conf.example.com/cb".into()],
                    flows: flows(&[
                        Flow::AuthorizationCode,
                        Flow::ClientCredentials,
                        Flow::ResourceOwner,
                    ]),
                    require_consent: true,
                    scopes: vec!["read".into(), "write".into()],
                    // The resource server of the default audience, allowed to exchange tokens.
                    resource_server: true,
                    extension_grants: vec![
                        portcullis::server::TOKEN_EXCHANGE.into(),
                        "urn:example:grant:demo".into(),
                    ],
                    ..ClientSettings::default()
                },
            ),
            SecretChange::KeyIn {
                secret: CONF_SECRET.into(),
                confirmation: CONF_SECRET.into(),
            },
        )
        .await
        .unwrap();
    Env {
        server,
        users,
        events,
        clock,
        public,
        conf,
    }
}

async fn env() -> Env {
    env_with(|_| {}).await
}

fn params<'a>(pairs: &[(&'a str, &'a str)]) -> Params<'a> {
    pairs.iter().copied().collect()
}

/// The query (or fragment) parameters of a redirect.
fn redirect_params(location: &str) -> HashMap<String, String> {
    let part = location
        .split_once('#')
        .map(|(_, f)| f)
        .or_else(|| location.split_once('?').map(|(_, q)| q))
        .unwrap_or("");
    url::form_urlencoded::parse(part.as_bytes())
        .into_owned()
        .collect()
}

fn redirected(outcome: Authorize) -> (String, HashMap<String, String>) {
    match outcome {
        Authorize::Redirect(location) => {
            let p = redirect_params(&location);
            (location, p)
        }
        other => panic!("expected a redirect, got {other:?}"),
    }
}

fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        BASE64_STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

fn error_of(r: &EndpointResponse) -> String {
    r.json()["error"].as_str().unwrap_or("").to_owned()
}

struct Pkce {
    verifier: CodeVerifier,
    challenge: CodeChallenge,
}

fn pkce() -> Pkce {
    let verifier = CodeVerifier::generate().unwrap();
    let challenge = CodeChallenge::from_verifier(&verifier, PkceMethod::S256);
    Pkce {
        verifier,
        challenge,
    }
}

impl Env {
    async fn public_code(&self, user: &str, scope: Option<&str>, pkce: &Pkce) -> String {
        let mut p = vec![
            ("response_type", "code"),
            ("client_id", self.public.id().as_str()),
            ("redirect_uri", "https://app.example.com/cb"),
            ("state", "xyz"),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        if let Some(s) = scope {
            p.push(("scope", s));
        }
        let (_, q) = redirected(self.server.authorize(&params(&p), Some(user)).await);
        q.get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code: {q:?}"))
    }

    async fn redeem_public(&self, code: &str, verifier: &str) -> EndpointResponse {
        self.server
            .token(
                None,
                &params(&[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", "https://app.example.com/cb"),
                    ("client_id", self.public.id().as_str()),
                    ("code_verifier", verifier),
                ]),
            )
            .await
    }

    async fn public_tokens(&self, user: &str) -> Value {
        let p = pkce();
        let code = self.public_code(user, None, &p).await;
        let r = self.redeem_public(&code, p.verifier.secret()).await;
        assert_eq!(r.status(), 200, "{}", r.body());
        r.json()
    }

    async fn conf_post(&self, extra: &[(&str, &str)]) -> EndpointResponse {
        let mut p = vec![
            ("client_id", self.conf.id().as_str()),
            ("client_secret", CONF_SECRET),
        ];
        p.extend_from_slice(extra);
        self.server.token(None, &params(&p)).await
    }

    async fn introspect(&self, token: &str) -> Value {
        let r = self
            .server
            .introspect(
                Some(&basic(self.conf.id().as_str(), CONF_SECRET)),
                &params(&[("token", token)]),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.body());
        r.json()
    }
}

struct DemoGrant;

#[async_trait::async_trait]
impl ExtensionGrant for DemoGrant {
    fn grant_type(&self) -> &str {
        "urn:example:grant:demo"
    }
    async fn grant(
        &self,
        ctx: &GrantContext<'_>,
        _client: &OAuthClient,
        params: &Params<'_>,
    ) -> Result<GrantDecision, OAuthError> {
        let user = params.required("user")?;
        // `lifetime=N`: tokens, a refresh token among them, that end N seconds from now.
        let lifetime = params.one("lifetime")?.map(|n| n.parse::<u64>().unwrap());
        Ok(GrantDecision {
            subject: Some(user.to_owned()),
            scope: Scope::parse("read write").unwrap(),
            refresh_token: lifetime.is_some(),
            not_after: lifetime.map(|n| ctx.now.plus_seconds(n)),
            ..GrantDecision::default()
        })
    }
}

// ---------------------------------------------------------------- authorization endpoint

#[tokio::test]
async fn unknown_or_missing_client_is_refused_without_redirect() {
    let e = env().await;
    for p in [
        params(&[
            ("response_type", "code"),
            ("redirect_uri", "https://app.example.com/cb"),
        ]),
        params(&[
            ("response_type", "code"),
            ("client_id", "nope"),
            ("redirect_uri", "https://app.example.com/cb"),
        ]),
    ] {
        match e.server.authorize(&p, Some("alice")).await {
            Authorize::Refused(err) => {
                assert!(err.description.starts_with("client_id:"), "{err:?}")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn untrusted_redirect_is_refused_and_recorded_for_review() {
    let e = env().await;
    let p = params(&[
        ("response_type", "code"),
        ("client_id", e.public.id().as_str()),
        ("redirect_uri", "https://evil.example/cb"),
    ]);
    let Authorize::Refused(err) = e.server.authorize(&p, Some("alice")).await else {
        panic!()
    };
    assert!(err.description.starts_with("redirect_uri:"), "{err:?}");
    let client = e.server.clients().get(e.public.id()).await.unwrap();
    assert_eq!(
        client.untrusted_redirect_uris(),
        ["https://evil.example/cb"]
    );
}

#[tokio::test]
async fn without_a_user_the_host_is_asked_to_log_in() {
    let e = env().await;
    let p = pkce();
    let q = params(&[
        ("response_type", "code"),
        ("client_id", e.public.id().as_str()),
        ("redirect_uri", "https://app.example.com/cb"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    match e.server.authorize(&q, None).await {
        Authorize::Login(l) => assert_eq!(l.client_name, "Public app"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn code_redirect_carries_code_state_and_the_exact_issuer() {
    let e = env().await;
    let p = pkce();
    let q = params(&[
        ("response_type", "code"),
        ("client_id", e.public.id().as_str()),
        ("redirect_uri", "https://app.example.com/cb"),
        ("state", "s t&ate"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let (location, q) = redirected(e.server.authorize(&q, Some("alice")).await);
    assert!(
        location.starts_with("https://app.example.com/cb?code="),
        "{location}"
    );
    assert_eq!(q["state"], "s t&ate");
    assert_eq!(q["iss"], ISSUER);
    assert_eq!(q["code"].len(), 43);
}

#[tokio::test]
async fn errors_after_the_redirect_is_trusted_are_redirected_with_state_and_iss() {
    let e = env().await;
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut p = vec![
            ("client_id", e.public.id().as_str().to_owned()),
            ("redirect_uri", "https://app.example.com/cb".to_owned()),
            ("state", "st".to_owned()),
        ];
        p.extend(extra.iter().map(|(a, b)| (*a, b.to_string())));
        Params::new(p.into_iter().map(|(a, b)| (a.to_owned(), b)).collect())
    };
    let challenge = pkce().challenge.as_str().to_owned();
    let cases: Vec<(Params, &str, &str)> = vec![
        (
            base(&[("response_type", "id_token")]),
            "unsupported_response_type",
            "response_type:",
        ),
        (base(&[]), "invalid_request", "response_type: is required"),
        (
            base(&[("response_type", "code")]),
            "invalid_request",
            "code_challenge: is required",
        ),
        (
            base(&[
                ("response_type", "code"),
                ("scope", "read"),
                ("scope", "write"),
            ]),
            "invalid_request",
            "scope: must not be repeated",
        ),
        (
            base(&[("response_type", "code"), ("request", "eyJ...")]),
            "invalid_request",
            "request:",
        ),
        (
            base(&[("response_type", "code"), ("request_uri", "urn:x")]),
            "invalid_request",
            "request_uri:",
        ),
        (
            base(&[("response_type", "code"), ("scope", "bad\"scope")]),
            "invalid_scope",
            "scope:",
        ),
        (
            base(&[("response_type", "code"), ("scope", "unknown")]),
            "invalid_scope",
            "scope:",
        ),
        (
            base(&[("response_type", "code"), ("code_challenge_method", "S256")]),
            "invalid_request",
            "code_challenge_method:",
        ),
    ];
    for (p, code, desc) in cases {
        let (location, q) = redirected(e.server.authorize(&p, Some("alice")).await);
        assert!(
            location.starts_with("https://app.example.com/cb?"),
            "{location}"
        );
        assert_eq!(q["error"], code, "{q:?}");
        assert!(q["error_description"].starts_with(desc), "{q:?}");
        assert_eq!(q["state"], "st");
        assert_eq!(q["iss"], ISSUER);
    }
    // With a valid challenge the same request succeeds: the failures above were the rules.
    let mut ok: Vec<(String, String)> = base(&[("response_type", "code")])
        .pairs()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    ok.push(("code_challenge".into(), challenge));
    ok.push(("code_challenge_method".into(), "S256".into()));
    let (_, q) = redirected(e.server.authorize(&Params::from(ok), Some("alice")).await);
    assert!(q.contains_key("code"));
}

#[tokio::test]
async fn repeated_parameters_follow_rfc_6749_section_3_1() {
    let e = env().await;
    let id = e.public.id().as_str().to_owned();
    let challenge = pkce().challenge.as_str().to_owned();
    let request = |extra: &[(&str, &str)]| {
        let p: Vec<(String, String)> = [
            ("response_type", "code"),
            ("client_id", id.as_str()),
            ("redirect_uri", "https://app.example.com/cb"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .chain(extra)
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        Params::new(p)
    };

    // A repeated client or redirect URI is never redirected to.
    for name in ["client_id", "redirect_uri"] {
        let value = if name == "client_id" {
            id.as_str()
        } else {
            "https://app.example.com/cb"
        };
        match e
            .server
            .authorize(&request(&[(name, value)]), Some("alice"))
            .await
        {
            Authorize::Refused(err) => assert_eq!(
                err.description,
                format!("{name}: must not be repeated (RFC 6749 section 3.1)")
            ),
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
    }

    // Any other repeat is redirected; the first name repeated is the one reported, and a
    // repeated `state` is not echoed, as it has no single value.
    let (_, q) = redirected(
        e.server
            .authorize(
                &request(&[
                    ("nonce", "a"),
                    ("scope", "read"),
                    ("nonce", "b"),
                    ("scope", "x"),
                ]),
                Some("alice"),
            )
            .await,
    );
    assert_eq!(
        q["error_description"],
        "nonce: must not be repeated (RFC 6749 section 3.1)"
    );
    let (_, q) = redirected(
        e.server
            .authorize(&request(&[("state", "a"), ("state", "b")]), Some("alice"))
            .await,
    );
    assert_eq!(
        q["error_description"],
        "state: must not be repeated (RFC 6749 section 3.1)"
    );
    assert!(!q.contains_key("state"));

    // An empty value counts as absent, so repeating it is no repeat.
    let (_, q) = redirected(
        e.server
            .authorize(
                &request(&[("nonce", ""), ("nonce", ""), ("state", "s")]),
                Some("alice"),
            )
            .await,
    );
    assert!(q.contains_key("code"), "{q:?}");
    assert_eq!(q["state"], "s");
}

#[tokio::test]
async fn plain_pkce_is_refused_unless_enabled() {
    for (allowed, expect_code) in [(false, false), (true, true)] {
        let e = env_with(|s| s.allow_plain_pkce = allowed).await;
        let verifier = "a".repeat(43);
        let q = params(&[
            ("response_type", "code"),
            ("client_id", e.public.id().as_str()),
            ("redirect_uri", "https://app.example.com/cb"),
            ("code_challenge", &verifier),
            ("code_challenge_method", "plain"),
        ]);
        let (_, q) = redirected(e.server.authorize(&q, Some("alice")).await);
        assert_eq!(q.contains_key("code"), expect_code, "{q:?}");
        let methods = e.server.metadata()["code_challenge_methods_supported"].clone();
        assert_eq!(
            methods.as_array().unwrap().len(),
            if allowed { 2 } else { 1 }
        );
    }
}

#[tokio::test]
async fn inactive_clients_and_disabled_flows_are_unauthorized() {
    let e = env().await;
    let mut settings = e.public.settings().clone();
    settings.flows = portcullis::client::Flows::NONE;
    e.server
        .clients()
        .update_settings(e.public.id(), settings)
        .await
        .unwrap();
    let p = pkce();
    let q = params(&[
        ("response_type", "code"),
        ("client_id", e.public.id().as_str()),
        ("redirect_uri", "https://app.example.com/cb"),
        ("code_challenge", p.challenge.as_str()),
    ]);
    let (_, r) = redirected(e.server.authorize(&q, Some("alice")).await);
    assert_eq!(r["error"], "unauthorized_client");
    assert!(r["error_description"].contains("inactive"));

    // The confidential client has no implicit flow.
    let q = params(&[
        ("response_type", "token"),
        ("client_id", e.conf.id().as_str()),
        ("redirect_uri", "https://conf.example.com/cb"),
    ]);
    let (location, r) = redirected(e.server.authorize(&q, Some("alice")).await);
    assert!(
        location.contains('#'),
        "implicit errors go in the fragment: {location}"
    );
    assert_eq!(r["error"], "unauthorized_client");
}

#[tokio::test]
async fn implicit_returns_the_token_in_the_fragment() {
    let e = env().await;
    let q = params(&[
        ("response_type", "token"),
        ("client_id", e.public.id().as_str()),
        ("redirect_uri", "https://app.example.com/cb"),
        ("scope", "read"),
        ("state", "st"),
    ]);
    let (location, r) = redirected(e.server.authorize(&q, Some("alice")).await);
    assert!(
        location.starts_with("https://app.example.com/cb#access_token="),
        "{location}"
    );
    assert_eq!(r["token_type"], "Bearer");
    assert_eq!(r["state"], "st");
    assert_eq!(r["iss"], ISSUER);
    assert!(!r.contains_key("refresh_token"));
    assert!(
        !r.contains_key("scope"),
        "scope equals the request, so it is omitted"
    );
    assert_eq!(e.introspect(&r["access_token"]).await["active"], true);
}

#[tokio::test]
async fn consent_is_asked_remembered_listed_and_revocable() {
    let e = env().await;
    let q = params(&[
        ("response_type", "code"),
        ("client_id", e.conf.id().as_str()),
        ("redirect_uri", "https://conf.example.com/cb"),
        ("scope", "read"),
        ("state", "st"),
    ]);
    match e.server.authorize(&q, Some("alice")).await {
        Authorize::Consent(c) => {
            assert_eq!(c.client_name, "Confidential app");
            assert_eq!(c.home_url.as_deref(), Some("https://conf.example.com/"));
            assert_eq!(c.scopes.to_string(), "read");
        }
        other => panic!("{other:?}"),
    }
    let (_, r) = redirected(e.server.authorize_with_consent(&q, "alice", false).await);
    assert_eq!(r["error"], "access_denied");
    let (_, r) = redirected(e.server.authorize_with_consent(&q, "alice", true).await);
    assert!(r.contains_key("code"));
    // Remembered: no second prompt for the same scopes.
    let (_, r) = redirected(e.server.authorize(&q, Some("alice")).await);
    assert!(r.contains_key("code"));
    // More scopes than approved: asked again.
    let wider = params(&[
        ("response_type", "code"),
        ("client_id", e.conf.id().as_str()),
        ("redirect_uri", "https://conf.example.com/cb"),
        ("scope", "read write"),
    ]);
    assert!(matches!(
        e.server.authorize(&wider, Some("alice")).await,
        Authorize::Consent(_)
    ));

    let listed = e
        .server
        .consents(&ConsentOwner::User("alice".into()))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        e.server
            .revoke_consents(&ConsentOwner::Client(e.conf.id().clone()))
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        e.server.authorize(&q, Some("alice")).await,
        Authorize::Consent(_)
    ));
}

#[tokio::test]
async fn consent_is_never_reused_for_a_public_client_on_a_loopback_redirect() {
    let e = env().await;
    let mut s = e.public.settings().clone();
    s.require_consent = true;
    e.server
        .clients()
        .update_settings(e.public.id(), s)
        .await
        .unwrap();
    let p = pkce();
    let q = params(&[
        ("response_type", "code"),
        ("client_id", e.public.id().as_str()),
        ("redirect_uri", "http://127.0.0.1:5123/cb"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let (location, _) = redirected(e.server.authorize_with_consent(&q, "alice", true).await);
    assert!(location.starts_with("http://127.0.0.1:5123/cb?code="));
    // RFC 8252 §8.6: asked again although the consent is stored.
    assert!(matches!(
        e.server.authorize(&q, Some("alice")).await,
        Authorize::Consent(_)
    ));
    // The same client on its https redirect does reuse it.
    let web = params(&[
        ("response_type", "code"),
        ("client_id", e.public.id().as_str()),
        ("redirect_uri", "https://app.example.com/cb"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    assert!(matches!(
        e.server.authorize(&web, Some("alice")).await,
        Authorize::Redirect(_)
    ));
}

// ---------------------------------------------------------------- code grant

#[tokio::test]
async fn code_plus_pkce_gives_access_and_refresh_tokens() {
    let e = env().await;
    let tokens = e.public_tokens("alice").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    // Absent scope = client's scopes ∩ alice's permissions: never "admin".
    assert_eq!(tokens["scope"], "read write");
    let info = e.introspect(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["sub"], "alice");
    assert_eq!(info["client_id"], e.public.id().as_str());
    assert_eq!(info["aud"][0], API);
}

#[tokio::test]
async fn a_wrong_verifier_fails() {
    let e = env().await;
    let p = pkce();
    let code = e.public_code("alice", None, &p).await;
    let r = e.redeem_public(&code, &"x".repeat(43)).await;
    assert_eq!((r.status(), error_of(&r).as_str()), (400, "invalid_grant"));
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .starts_with("code_verifier:")
    );
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_its_tokens() {
    let e = env().await;
    let p = pkce();
    let code = e.public_code("alice", None, &p).await;
    let first = e.redeem_public(&code, p.verifier.secret()).await;
    assert_eq!(first.status(), 200);
    let access = first.json()["access_token"].as_str().unwrap().to_owned();
    let refresh = first.json()["refresh_token"].as_str().unwrap().to_owned();
    let again = e.redeem_public(&code, p.verifier.secret()).await;
    assert_eq!(error_of(&again), "invalid_grant");
    assert_eq!(e.introspect(&access).await["active"], false);
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", e.public.id().as_str()),
            ]),
        )
        .await;
    assert_eq!(error_of(&r), "invalid_grant");
}

#[tokio::test]
async fn an_expired_code_fails() {
    let e = env().await;
    let p = pkce();
    let code = e.public_code("alice", None, &p).await;
    e.clock.advance(61);
    let r = e.redeem_public(&code, p.verifier.secret()).await;
    assert_eq!(error_of(&r), "invalid_grant");
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn a_verifier_for_a_code_without_challenge_is_a_downgrade() {
    let e = env().await;
    let q = params(&[
        ("response_type", "code"),
        ("client_id", e.conf.id().as_str()),
        ("redirect_uri", "https://conf.example.com/cb"),
    ]);
    let (_, r) = redirected(e.server.authorize_with_consent(&q, "alice", true).await);
    let code = r["code"].clone();
    let resp = e
        .conf_post(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://conf.example.com/cb"),
            ("code_verifier", &"v".repeat(43)),
        ])
        .await;
    assert_eq!(error_of(&resp), "invalid_grant");
    assert!(
        resp.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("downgrade")
    );
}

#[tokio::test]
async fn the_redirect_uri_must_be_repeated_exactly() {
    let e = env().await;
    let p = pkce();
    let code = e.public_code("alice", None, &p).await;
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example.com/cb/"),
                ("client_id", e.public.id().as_str()),
                ("code_verifier", p.verifier.secret()),
            ]),
        )
        .await;
    assert_eq!(error_of(&r), "invalid_grant");
}

#[tokio::test]
async fn another_clients_code_is_refused_and_not_burned() {
    let e = env().await;
    let p = pkce();
    let code = e.public_code("alice", None, &p).await;
    let r = e
        .conf_post(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", p.verifier.secret()),
        ])
        .await;
    assert_eq!(error_of(&r), "invalid_grant");
    assert_eq!(
        e.redeem_public(&code, p.verifier.secret()).await.status(),
        200
    );
}

// ---------------------------------------------------------------- client authentication

#[tokio::test]
async fn basic_credentials_are_form_decoded() {
    let e = env().await;
    let r = e
        .server
        .token(
            Some(&basic(e.conf.id().as_str(), CONF_SECRET)),
            &params(&[("grant_type", "client_credentials")]),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
}

#[tokio::test]
async fn wrong_secrets_get_401_with_a_basic_challenge() {
    let e = env().await;
    let r = e
        .server
        .token(
            Some(&basic(e.conf.id().as_str(), "wrong")),
            &params(&[("grant_type", "client_credentials")]),
        )
        .await;
    assert_eq!((r.status(), error_of(&r).as_str()), (401, "invalid_client"));
    assert!(
        r.header("WWW-Authenticate")
            .unwrap()
            .starts_with("Basic realm=")
    );
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "client_credentials"),
                ("client_id", e.conf.id().as_str()),
                ("client_secret", "wrong"),
            ]),
        )
        .await;
    assert_eq!((r.status(), error_of(&r).as_str()), (401, "invalid_client"));
    // Unknown client: the same answer.
    let r = e
        .server
        .token(
            Some(&basic("nobody", "x")),
            &params(&[("grant_type", "client_credentials")]),
        )
        .await;
    assert_eq!((r.status(), error_of(&r).as_str()), (401, "invalid_client"));
    // A confidential client must authenticate.
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "client_credentials"),
                ("client_id", e.conf.id().as_str()),
            ]),
        )
        .await;
    assert_eq!(error_of(&r), "invalid_client");
}

#[tokio::test]
async fn two_authentication_methods_at_once_are_refused() {
    let e = env().await;
    let r = e
        .server
        .token(
            Some(&basic(e.conf.id().as_str(), CONF_SECRET)),
            &params(&[
                ("grant_type", "client_credentials"),
                ("client_secret", CONF_SECRET),
            ]),
        )
        .await;
    assert_eq!(
        (r.status(), error_of(&r).as_str()),
        (400, "invalid_request")
    );
}

#[tokio::test]
async fn token_responses_are_not_cached() {
    let e = env().await;
    let r = e.conf_post(&[("grant_type", "client_credentials")]).await;
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(r.header("Pragma"), Some("no-cache"));
    let r = e.conf_post(&[("grant_type", "nope")]).await;
    assert_eq!(error_of(&r), "unsupported_grant_type");
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(
        r.header("WWW-Authenticate"),
        None,
        "only a 401 carries a challenge"
    );
}

// ---------------------------------------------------------------- other grants

#[tokio::test]
async fn client_credentials_tokens_are_the_clients_own() {
    let e = env().await;
    let r = e
        .conf_post(&[("grant_type", "client_credentials"), ("scope", "read")])
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.json().get("refresh_token").is_none());
    assert!(r.json().get("scope").is_none(), "same as requested");
    let info = e
        .introspect(r.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["sub"], e.conf.id().as_str());
    assert!(info.get("username").is_none());

    // A public client cannot, and neither can one without the flow.
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "client_credentials"),
                ("client_id", e.public.id().as_str()),
            ]),
        )
        .await;
    assert_eq!(error_of(&r), "unauthorized_client");
}

#[tokio::test]
async fn a_flow_the_client_has_not_enabled_is_unauthorized_client() {
    let e = env().await;
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "password"),
                ("client_id", e.public.id().as_str()),
                ("username", "alice"),
                ("password", "alice-password"),
            ]),
        )
        .await;
    assert_eq!(error_of(&r), "unauthorized_client");
}

#[tokio::test]
async fn password_grant_checks_the_password_and_throttles_per_user() {
    let e = env().await;
    let ok = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice-password"),
    ];
    let r = e.conf_post(&ok).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert!(r.json().get("refresh_token").is_some());
    for _ in 0..5 {
        let r = e
            .conf_post(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "guess"),
            ])
            .await;
        assert_eq!(error_of(&r), "invalid_grant");
    }
    // Locked: even the right password fails, with a reason naming the rule.
    let r = e.conf_post(&ok).await;
    assert_eq!(error_of(&r), "invalid_grant");
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("too many failed attempts")
    );
    // Other users are not affected.
    let r = e
        .conf_post(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "bob-password"),
        ])
        .await;
    assert_eq!(r.status(), 200);
    e.clock.advance(301);
    assert_eq!(e.conf_post(&ok).await.status(), 200);
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_family() {
    let e = env().await;
    let first = e.public_tokens("alice").await;
    let refresh = |rt: &str| {
        let rt = rt.to_owned();
        let id = e.public.id().as_str().to_owned();
        let server = &e.server;
        async move {
            server
                .token(
                    None,
                    &params(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &rt),
                        ("client_id", &id),
                    ]),
                )
                .await
        }
    };
    let rt1 = first["refresh_token"].as_str().unwrap();
    let second = refresh(rt1).await;
    assert_eq!(second.status(), 200);
    let second_json = second.json();
    assert!(
        second_json.get("scope").is_none(),
        "unchanged from the original grant, so omitted (RFC 6749 section 5.1)"
    );
    let rt2 = second_json["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    let access2 = second_json["access_token"].as_str().unwrap();
    assert_eq!(e.introspect(access2).await["active"], true);

    let replay = refresh(rt1).await;
    assert_eq!(error_of(&replay), "invalid_grant");
    assert_eq!(
        e.introspect(access2).await["active"],
        false,
        "family revoked"
    );
    assert_eq!(error_of(&refresh(rt2).await), "invalid_grant");
}

#[tokio::test]
async fn refresh_may_narrow_scope_but_never_widen_it() {
    let e = env().await;
    let first = e.public_tokens("alice").await;
    let rt = first["refresh_token"].as_str().unwrap();
    let id = e.public.id().as_str();
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", id),
                ("scope", "read admin"),
            ]),
        )
        .await;
    assert_eq!(error_of(&r), "invalid_scope");
    // The refused request did not use the token up.
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", id),
                ("scope", "read"),
            ]),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert!(r.json().get("scope").is_none());
    let info = e
        .introspect(r.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["scope"], "read");
}

#[tokio::test]
async fn the_reuse_interval_returns_the_same_successor_then_expires() {
    let e = env_with(|s| s.refresh_reuse_interval = 10).await;
    let first = e
        .conf_post(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .await
        .json();
    let rt = first["refresh_token"].as_str().unwrap();
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", rt)];
    let a = e.conf_post(&refresh).await;
    e.clock.advance(5);
    let b = e.conf_post(&refresh).await;
    assert_eq!(
        a.body(),
        b.body(),
        "a concurrent refresh within the interval gets the same successor"
    );
    e.clock.advance(6);
    let c = e.conf_post(&refresh).await;
    assert_eq!(error_of(&c), "invalid_grant");
    assert_eq!(
        e.introspect(a.json()["access_token"].as_str().unwrap())
            .await["active"],
        false
    );
}

#[tokio::test]
async fn the_reuse_interval_is_ignored_for_public_clients() {
    // A public client's thief has everything the client has: the second presentation of a
    // rotated-out token must revoke the family (RFC 9700 §4.14.2), interval or not.
    let e = env_with(|s| s.refresh_reuse_interval = 10).await;
    let first = e.public_tokens("alice").await;
    let rt = first["refresh_token"].as_str().unwrap();
    let req = params(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", e.public.id().as_str()),
    ]);
    let a = e.server.token(None, &req).await;
    assert_eq!(a.status(), 200, "{}", a.body());
    e.clock.advance(1);
    let b = e.server.token(None, &req).await;
    assert_eq!(error_of(&b), "invalid_grant");
    let successor = a.json()["access_token"].as_str().unwrap().to_owned();
    assert!(
        e.server
            .validate_access_token(&successor, API)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn scope_never_exceeds_the_users_permissions() {
    let e = env().await;
    let p = pkce();
    // bob holds only "read".
    let q = params(&[
        ("response_type", "code"),
        ("client_id", e.public.id().as_str()),
        ("redirect_uri", "https://app.example.com/cb"),
        ("scope", "write admin"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let (_, r) = redirected(e.server.authorize(&q, Some("bob")).await);
    assert_eq!(r["error"], "invalid_scope");
    let code = e.public_code("bob", Some("read write"), &p).await;
    let tokens = e.redeem_public(&code, p.verifier.secret()).await;
    assert_eq!(tokens.json()["scope"], "read");
}

#[tokio::test]
async fn token_exchange_issues_a_narrower_token_for_the_same_user() {
    let e = env().await;
    let user_tokens = e.public_tokens("alice").await;
    let r = e
        .conf_post(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            (
                "subject_token",
                user_tokens["access_token"].as_str().unwrap(),
            ),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            ("scope", "read"),
            ("resource", "https://api.example.com/"),
        ])
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(
        r.json()["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let info = e
        .introspect(r.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (info["sub"].as_str(), info["scope"].as_str()),
        (Some("alice"), Some("read"))
    );
    assert_eq!(info["aud"][0], "https://api.example.com/");
    let bad = e
        .conf_post(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", "not-a-token"),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
        ])
        .await;
    assert_eq!(error_of(&bad), "invalid_request", "RFC 8693 section 2.2.2");
}

/// A confidential client that neither holds a token nor serves its audience.
async fn stranger(e: &Env) -> (String, &'static str) {
    const SECRET: &str = "stranger-secret-0123456789abcdef0123456";
    let c = e
        .server
        .clients()
        .create_with_secret(
            NewClient::manual(
                ClientType::Confidential,
                ClientSettings {
                    name: "Stranger".into(),
                    home_url: Some("https://stranger.example.com/".into()),
                    flows: flows(&[Flow::ClientCredentials]),
                    scopes: vec!["read".into(), "write".into()],
                    extension_grants: vec![portcullis::server::TOKEN_EXCHANGE.into()],
                    ..ClientSettings::default()
                },
            ),
            SecretChange::KeyIn {
                secret: SECRET.into(),
                confirmation: SECRET.into(),
            },
        )
        .await
        .unwrap();
    (c.id().as_str().to_owned(), SECRET)
}

#[tokio::test]
async fn only_the_holder_or_the_audience_may_exchange_or_introspect_a_token() {
    let e = env().await;
    let t = e.public_tokens("alice").await;
    let access = t["access_token"].as_str().unwrap();
    let (id, secret) = stranger(&e).await;
    let r = e
        .server
        .token(
            Some(&basic(&id, secret)),
            &params(&[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token", access),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:access_token",
                ),
            ]),
        )
        .await;
    assert_eq!(
        error_of(&r),
        "invalid_request",
        "an unacceptable subject token (RFC 8693 section 2.2.2)"
    );
    let r = e
        .server
        .introspect(Some(&basic(&id, secret)), &params(&[("token", access)]))
        .await;
    assert_eq!(
        r.json(),
        serde_json::json!({"active": false}),
        "RFC 7662 section 2.2"
    );
    // The audience's own client sees it.
    assert_eq!(e.introspect(access).await["active"], true);
}

#[tokio::test]
async fn refresh_follows_the_clients_current_scopes_and_flows() {
    let e = env().await;
    let first = e.public_tokens("alice").await;
    let rt = first["refresh_token"].as_str().unwrap();
    let mut s = e.public.settings().clone();
    s.scopes = vec!["read".into()];
    e.server
        .clients()
        .update_settings(e.public.id(), s.clone())
        .await
        .unwrap();
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", e.public.id().as_str()),
            ]),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(r.json()["scope"], "read", "write was taken from the client");
    let rt2 = r.json()["refresh_token"].as_str().unwrap().to_owned();
    s.flows = flows(&[Flow::Implicit]);
    e.server
        .clients()
        .update_settings(e.public.id(), s)
        .await
        .unwrap();
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt2),
                ("client_id", e.public.id().as_str()),
            ]),
        )
        .await;
    assert_eq!(error_of(&r), "unauthorized_client");
}

#[tokio::test]
async fn a_resource_at_the_token_endpoint_may_only_narrow() {
    let e = env().await;
    let p = pkce();
    let code = e.public_code("alice", None, &p).await;
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example.com/cb"),
                ("client_id", e.public.id().as_str()),
                ("code_verifier", p.verifier.secret()),
                ("resource", "https://app.example.com/"),
            ]),
        )
        .await;
    assert_eq!(error_of(&r), "invalid_target");
    // Refused before use: the code still works.
    assert_eq!(
        e.redeem_public(&code, p.verifier.secret()).await.status(),
        200
    );
}

#[tokio::test]
async fn a_response_mode_other_than_the_default_is_refused() {
    let e = env().await;
    let p = pkce();
    let q = params(&[
        ("response_type", "code"),
        ("client_id", e.public.id().as_str()),
        ("redirect_uri", "https://app.example.com/cb"),
        ("response_mode", "fragment"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let (_, r) = redirected(e.server.authorize(&q, Some("alice")).await);
    assert_eq!(r["error"], "invalid_request");
    assert!(r["error_description"].starts_with("response_mode:"));
}

#[tokio::test]
async fn consent_is_never_reused_for_a_public_client_on_a_private_use_redirect() {
    let e = env().await;
    let mut s = e.public.settings().clone();
    s.require_consent = true;
    s.redirect_uris.push("com.example.app:/cb".into());
    e.server
        .clients()
        .update_settings(e.public.id(), s)
        .await
        .unwrap();
    let p = pkce();
    let q = params(&[
        ("response_type", "code"),
        ("client_id", e.public.id().as_str()),
        ("redirect_uri", "com.example.app:/cb"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let (location, _) = redirected(e.server.authorize_with_consent(&q, "alice", true).await);
    assert!(location.starts_with("com.example.app:/cb?code="));
    assert!(matches!(
        e.server.authorize(&q, Some("alice")).await,
        Authorize::Consent(_)
    ));
}

#[tokio::test]
async fn extension_grant_types_must_be_unique_absolute_uris() {
    let build = |b: portcullis::server::AuthorizationServerBuilder| b.build();
    let s = || ServerSettings::new(ISSUER).unwrap();
    let users = || Arc::new(MemoryUserDirectory::default());
    assert!(
        build(
            AuthorizationServer::builder(s(), users())
                .extension_grant(Arc::new(portcullis::server::TokenExchange))
        )
        .is_err()
    );
    assert!(
        build(
            AuthorizationServer::builder(s(), users())
                .without_extension_grants()
                .extension_grant(Arc::new(portcullis::server::TokenExchange))
        )
        .is_ok()
    );
    let server =
        build(AuthorizationServer::builder(s(), users()).without_extension_grants()).unwrap();
    assert!(
        !server.metadata()["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == portcullis::server::TOKEN_EXCHANGE)
    );
}

#[tokio::test]
async fn an_extension_grant_is_dispatched_and_narrowed() {
    let e = env().await;
    let r = e
        .conf_post(&[("grant_type", "urn:example:grant:demo"), ("user", "bob")])
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let info = e
        .introspect(r.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["scope"], "read", "bob holds only read");
    assert!(
        e.server.metadata()["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == "urn:example:grant:demo")
    );
}

// ---------------------------------------------------------------- audiences

#[tokio::test]
async fn resources_must_be_known_and_bind_the_token() {
    let e = env().await;
    let r = e
        .conf_post(&[
            ("grant_type", "client_credentials"),
            ("resource", "https://elsewhere.example/"),
        ])
        .await;
    assert_eq!(error_of(&r), "invalid_target");
    // A registered client's home URL is a valid audience; only a client marked as the
    // resource server there is validated as its resource server.
    let r = e
        .conf_post(&[
            ("grant_type", "client_credentials"),
            ("resource", "https://app.example.com/"),
        ])
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let json = r.json();
    let token = json["access_token"].as_str().unwrap();
    assert!(
        e.server
            .validate_access_token_for_client(token, e.public.id())
            .await
            .is_err(),
        "the public client is not marked as a resource server"
    );
    let mut marked = e.public.settings().clone();
    marked.resource_server = true;
    e.server
        .clients()
        .update_settings(e.public.id(), marked)
        .await
        .unwrap();
    assert!(
        e.server
            .validate_access_token_for_client(token, e.public.id())
            .await
            .is_ok()
    );
    assert!(
        e.server
            .validate_access_token_for_client(token, e.conf.id())
            .await
            .is_err()
    );
    assert!(
        e.server
            .validate_access_token(token, "https://app.example.com")
            .await
            .is_ok()
    );
    let err = e
        .server
        .validate_access_token(token, "https://api.example.com/")
        .await
        .unwrap_err();
    assert_eq!(err.code.as_str(), "invalid_token");
    e.clock.advance(3600);
    assert!(
        e.server
            .validate_access_token(token, "https://app.example.com/")
            .await
            .is_err()
    );
}

// ---------------------------------------------------------------- introspection, revocation

#[tokio::test]
async fn introspection_needs_a_confidential_client_and_hides_unknown_tokens() {
    let e = env().await;
    let r = e
        .server
        .introspect(
            None,
            &params(&[("token", "x"), ("client_id", e.public.id().as_str())]),
        )
        .await;
    assert_eq!((r.status(), error_of(&r).as_str()), (401, "invalid_client"));
    assert_eq!(
        e.introspect("unknown").await,
        serde_json::json!({"active": false})
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_access_tokens() {
    let e = env().await;
    let t = e.public_tokens("alice").await;
    let r = e
        .server
        .revoke(
            None,
            &params(&[
                ("token", t["refresh_token"].as_str().unwrap()),
                ("client_id", e.public.id().as_str()),
            ]),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("WWW-Authenticate"), None);
    assert_eq!(
        e.introspect(t["access_token"].as_str().unwrap()).await["active"],
        false
    );
}

#[tokio::test]
async fn another_clients_revocation_is_a_silent_no_op() {
    let e = env().await;
    let t = e.public_tokens("alice").await;
    let access = t["access_token"].as_str().unwrap();
    let r = e
        .server
        .revoke(
            Some(&basic(e.conf.id().as_str(), CONF_SECRET)),
            &params(&[("token", access)]),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(e.introspect(access).await["active"], true);
    let r = e
        .server
        .revoke(
            None,
            &params(&[("token", access), ("client_id", e.public.id().as_str())]),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(e.introspect(access).await["active"], false);
}

// ---------------------------------------------------------------- administration

#[tokio::test]
async fn deleting_a_client_revokes_its_tokens_and_consents() {
    let e = env().await;
    let t = e.public_tokens("alice").await;
    let q = params(&[
        ("response_type", "code"),
        ("client_id", e.conf.id().as_str()),
        ("redirect_uri", "https://conf.example.com/cb"),
        ("scope", "read"),
    ]);
    e.server.authorize_with_consent(&q, "alice", true).await;
    e.server
        .delete_clients(&[e.public.id().clone(), e.conf.id().clone()])
        .await
        .unwrap();
    let access = t["access_token"].as_str().unwrap();
    assert!(e.server.validate_access_token(access, API).await.is_err());
    assert!(
        e.server
            .consents(&ConsentOwner::User("alice".into()))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn expired_records_are_purged() {
    let e = env().await;
    e.public_tokens("alice").await;
    assert_eq!(e.server.purge_expired().await.unwrap(), 0);
    e.clock.advance(3601);
    // The used code and the access token are past their time; the refresh token is not.
    assert_eq!(e.server.purge_expired().await.unwrap(), 2);
}

#[tokio::test]
async fn metadata_describes_the_server() {
    let e = env().await;
    let m = e.server.metadata();
    assert_eq!(m["issuer"], ISSUER);
    assert_eq!(m["token_endpoint"], "https://auth.example.com/token");
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert_eq!(m["client_id_metadata_document_supported"], false);
    assert_eq!(
        m["response_types_supported"],
        serde_json::json!(["code", "token"])
    );
    for method in ["client_secret_basic", "client_secret_post", "none"] {
        assert!(
            m["token_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == method)
        );
    }
    assert!(m.get("jwks_uri").is_none(), "opaque tokens publish no keys");
}

// ---------------------------------------------------------------- JWT access tokens

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Vec<String>,
    client_id: String,
    scope: String,
    exp: u64,
    iat: u64,
    jti: String,
    gty: Option<String>,
}

#[tokio::test]
async fn jwt_access_tokens_follow_rfc_9068_and_publish_their_key() {
    let pem = include_bytes!("data/es256-test-key.pem");
    let signer = JwtSigner::es256_pem("key-1", pem).unwrap();
    let e = env_with(|s| s.token_format = TokenFormat::Jwt(Box::new(signer))).await;
    let t = e.public_tokens("alice").await;
    let token = t["access_token"].as_str().unwrap();

    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.kid.as_deref(), Some("key-1"));
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(e.server.jwks()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find("key-1").unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[API]);
    v.validate_exp = false; // the test clock is not the wall clock
    let claims = jsonwebtoken::decode::<Claims>(token, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(
        (claims.iss.as_str(), claims.sub.as_str()),
        (ISSUER, "alice")
    );
    assert_eq!(claims.aud, [API]);
    assert_eq!(claims.client_id, e.public.id().as_str());
    assert_eq!(claims.scope, "read write");
    assert_eq!(claims.exp - claims.iat, 3600);
    assert!(!claims.jti.is_empty());
    assert_eq!(
        e.server.metadata()["jwks_uri"],
        "https://auth.example.com/jwks.json"
    );
    assert_eq!(claims.gty, None, "a user's token");
    // Introspection and revocation work the same for JWTs.
    assert_eq!(e.introspect(token).await["active"], true);

    // RFC 9068 §5: the client's own token says so.
    let own = e
        .conf_post(&[("grant_type", "client_credentials")])
        .await
        .json();
    let own = own["access_token"].as_str().unwrap();
    let claims = jsonwebtoken::decode::<Claims>(own, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(claims.sub, e.conf.id().as_str());
    assert_eq!(claims.gty.as_deref(), Some("client_credentials"));
}

#[test]
fn every_supported_jwt_algorithm_loads_and_hmac_publishes_nothing() {
    assert!(
        JwtSigner::rs256_pem("r", include_bytes!("data/rs256-test-key.pem"))
            .unwrap()
            .public_jwk()
            .is_some()
    );
    assert!(
        JwtSigner::eddsa_pem("e", include_bytes!("data/ed25519-test-key.pem"))
            .unwrap()
            .public_jwk()
            .is_some()
    );
    let hs = JwtSigner::hs256("h", &[7u8; 32]).unwrap();
    assert!(hs.public_jwk().is_none());
    assert_eq!(
        portcullis::token::jwks(&TokenFormat::Jwt(Box::new(hs))),
        serde_json::json!({"keys": []})
    );
    assert_eq!(
        JwtSigner::hs256("h", b"short").unwrap_err().field,
        "signing_key"
    );
    assert!(JwtSigner::es256_pem("x", b"not a pem").is_err());
    let _ = ClientId::new("x");
}

#[tokio::test]
async fn a_repeated_token_request_parameter_is_invalid_request_and_burns_nothing() {
    let e = env().await;
    let p = pkce();
    let code = e.public_code("alice", None, &p).await;
    let id = e.public.id().as_str().to_owned();
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://app.example.com/cb"),
        ("client_id", id.as_str()),
        ("code_verifier", p.verifier.secret()),
    ];
    // RFC 6749 §3.2: parameters must not be included more than once.
    for name in [
        "grant_type",
        "code",
        "redirect_uri",
        "code_verifier",
        "client_id",
    ] {
        let again = base.iter().find(|(n, _)| *n == name).unwrap().1;
        let mut pairs = base.to_vec();
        pairs.push((name, again));
        let r = e.server.token(None, &params(&pairs)).await;
        assert_eq!(r.status(), 400, "{name}: {}", r.body());
        assert_eq!(error_of(&r), "invalid_request", "{name}");
        assert_eq!(
            r.json()["error_description"],
            format!("{name}: must not be repeated (RFC 6749 section 3.1)")
        );
    }
    // An empty value counts as absent, so an empty client_secret is no secret at all; and
    // none of the refused requests above used the code up.
    let mut pairs = base.to_vec();
    pairs.push(("client_secret", ""));
    pairs.push(("scope", ""));
    let r = e.server.token(None, &params(&pairs)).await;
    assert_eq!(r.status(), 200, "{}", r.body());
}

// ---------------------------------------------------------------- before login (RFC 9700 §4.11.2)

/// An authorization request of the public client to its registered URI, plus `extra`.
fn public_request(e: &Env, extra: &[(&'static str, &'static str)]) -> Params<'static> {
    let mut p = vec![
        ("client_id".to_owned(), e.public.id().as_str().to_owned()),
        (
            "redirect_uri".to_owned(),
            "https://app.example.com/cb".to_owned(),
        ),
        ("state".to_owned(), "st".to_owned()),
    ];
    p.extend(extra.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    Params::new(p)
}

#[tokio::test]
async fn an_anonymous_request_is_sent_to_log_in_whatever_else_is_wrong_with_it() {
    let e = env().await;
    let cases: [&[(&str, &str)]; 6] = [
        &[("response_type", "code"), ("scope", "no-such-scope")],
        &[("response_type", "id_token")],
        &[],
        &[("response_type", "code")], // no PKCE for a public client
        &[
            ("response_type", "code"),
            ("code_challenge", "short"),
            ("code_challenge_method", "S256"),
        ],
        &[
            ("response_type", "code"),
            ("resource", "https://unknown.example/"),
        ],
    ];
    for extra in cases {
        let p = public_request(&e, extra);
        match e.server.authorize(&p, None).await {
            Authorize::Login(l) => assert_eq!(&l.client_id, e.public.id()),
            other => panic!("{extra:?}: no redirect before login, got {other:?}"),
        }
        // After login the same request is redirected with its error.
        let (location, q) = redirected(e.server.authorize(&p, Some("alice")).await);
        assert!(location.starts_with("https://app.example.com/cb?"));
        assert!(q.contains_key("error"), "{extra:?}: {q:?}");
    }
}

#[tokio::test]
async fn an_anonymous_request_records_no_untrusted_redirect_uri() {
    let e = env().await;
    let p = params(&[
        ("response_type", "code"),
        ("client_id", e.public.id().as_str()),
        ("redirect_uri", "https://evil.example/cb"),
    ]);
    assert!(matches!(
        e.server.authorize(&p, None).await,
        Authorize::Refused(_)
    ));
    let client = e.server.clients().get(e.public.id()).await.unwrap();
    assert!(
        client.untrusted_redirect_uris().is_empty(),
        "nothing written"
    );
    assert_eq!(client.revision(), e.public.revision());

    // A logged-in user's attempt is recorded once; a second attempt writes nothing.
    e.server.authorize(&p, Some("alice")).await;
    let once = e.server.clients().get(e.public.id()).await.unwrap();
    assert_eq!(once.untrusted_redirect_uris(), ["https://evil.example/cb"]);
    e.server.authorize(&p, Some("alice")).await;
    let twice = e.server.clients().get(e.public.id()).await.unwrap();
    assert_eq!(twice.revision(), once.revision(), "no revision bump");
}

#[tokio::test]
async fn at_most_ten_distinct_resources_per_request_at_both_endpoints() {
    let e = env().await;
    let many: Vec<String> = (0..11).map(|i| format!("https://r{i}.example/")).collect();
    let mut pairs = vec![("grant_type", "client_credentials")];
    pairs.extend(many.iter().map(|r| ("resource", r.as_str())));
    let r = e.conf_post(&pairs).await;
    assert_eq!(error_of(&r), "invalid_target");
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("at most 10")
    );

    // Repeats of one value are one value.
    let mut pairs = vec![("grant_type", "client_credentials")];
    pairs.extend(std::iter::repeat_n(("resource", API), 50));
    let r = e.conf_post(&pairs).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(
        e.introspect(r.json()["access_token"].as_str().unwrap())
            .await["aud"],
        serde_json::json!([API])
    );

    let p = pkce();
    let mut q = vec![
        ("response_type".to_owned(), "code".to_owned()),
        ("client_id".to_owned(), e.public.id().as_str().to_owned()),
        (
            "redirect_uri".to_owned(),
            "https://app.example.com/cb".to_owned(),
        ),
        ("code_challenge".to_owned(), p.challenge.as_str().to_owned()),
        ("code_challenge_method".to_owned(), "S256".to_owned()),
    ];
    q.extend(many.iter().map(|r| ("resource".to_owned(), r.clone())));
    let (_, q) = redirected(e.server.authorize(&Params::new(q), Some("alice")).await);
    assert_eq!(q["error"], "invalid_target");
}

#[tokio::test]
async fn echoed_input_is_cut_to_a_documented_length() {
    let e = env().await;
    let long = "x".repeat(5000);
    let r = e.conf_post(&[("grant_type", long.as_str())]).await;
    assert_eq!(error_of(&r), "unsupported_grant_type");
    let description = r.json()["error_description"].as_str().unwrap().to_owned();
    assert!(
        description.len() < portcullis::server::MAX_ECHO_CHARS + 60,
        "{} characters",
        description.len()
    );
    assert!(description.contains(&format!(
        "{}...",
        "x".repeat(portcullis::server::MAX_ECHO_CHARS)
    )));

    let resource = format!("https://{}.example/", "y".repeat(200));
    let r = e
        .conf_post(&[
            ("grant_type", "client_credentials"),
            ("resource", &resource),
        ])
        .await;
    assert_eq!(error_of(&r), "invalid_target");
    assert!(r.json()["error_description"].as_str().unwrap().len() < 140);
}

#[path = "common/host.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
mod counting;

#[tokio::test]
async fn resources_are_looked_up_once_and_listed_uris_are_not_written_again() {
    let store = Arc::new(counting::CountingClients::default());
    let mut settings = ServerSettings::new(ISSUER).unwrap();
    settings.resources = vec![API.into()];
    let users = MemoryUserDirectory::default();
    users
        .insert("alice", "pw", Scope::parse("read").unwrap())
        .unwrap();
    let server = AuthorizationServer::builder(settings, Arc::new(users))
        .clients(store.clone())
        .build()
        .unwrap();
    let site = |i: usize| format!("https://site{i}.example/");
    let mut ids = Vec::new();
    for i in 0..3 {
        let created = server
            .clients()
            .create(NewClient::manual(
                ClientType::Confidential,
                ClientSettings {
                    name: format!("Site {i}"),
                    home_url: Some(site(i)),
                    redirect_uris: vec![format!("{}cb", site(i))],
                    flows: flows(&[Flow::ClientCredentials, Flow::AuthorizationCode]),
                    scopes: vec!["read".into()],
                    ..ClientSettings::default()
                },
            ))
            .await
            .unwrap();
        ids.push((created.client, created.secret.unwrap()));
    }
    let (client, secret) = &ids[0];
    let (s1, s2) = (site(1), site(2));
    let form = params(&[
        ("grant_type", "client_credentials"),
        ("client_id", client.id().as_str()),
        ("client_secret", secret.expose_secret()),
        ("resource", &s1),
        ("resource", &s2),
        ("resource", &s1),
        ("resource", API),
    ]);
    let r = server.token(None, &form).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(store.lookups(), 1, "one store call for every resource");

    let writes = store.writes();
    let q = params(&[
        ("response_type", "code"),
        ("client_id", client.id().as_str()),
        ("redirect_uri", "https://evil.example/cb"),
    ]);
    server.authorize(&q, Some("alice")).await;
    assert_eq!(store.writes(), writes + 1, "the first attempt is recorded");
    server.authorize(&q, Some("alice")).await;
    assert_eq!(
        store.writes(),
        writes + 1,
        "a listed URI is not written again"
    );
}

// ---------------------------------------------------------------- grant integrity on refresh

impl Env {
    async fn conf_password_tokens(&self, extra: &[(&str, &str)]) -> Value {
        let mut p = vec![
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
        ];
        p.extend_from_slice(extra);
        let r = self.conf_post(&p).await;
        assert_eq!(r.status(), 200, "{}", r.body());
        r.json()
    }

    /// The confidential client exchanges `subject_token` (an access token), with `extra`.
    async fn conf_exchange(&self, subject_token: &str, extra: &[(&str, &str)]) -> EndpointResponse {
        let mut p = vec![
            ("grant_type", EXCHANGE),
            ("subject_token", subject_token),
            ("subject_token_type", ACCESS_TYPE),
        ];
        p.extend_from_slice(extra);
        self.conf_post(&p).await
    }

    async fn conf_refresh(&self, refresh_token: &str, extra: &[(&str, &str)]) -> EndpointResponse {
        let mut p = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        p.extend_from_slice(extra);
        self.conf_post(&p).await
    }
}

#[tokio::test]
async fn a_directory_failure_on_refresh_leaves_the_refresh_token_usable() {
    let e = env().await;
    let t = e.public_tokens("alice").await;
    let rt = t["refresh_token"].as_str().unwrap();
    let req = params(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", e.public.id().as_str()),
    ]);
    e.users.fail_once();
    let failed = e.server.token(None, &req).await;
    assert_eq!(
        (failed.status(), error_of(&failed).as_str()),
        (500, "server_error")
    );
    // The retry is not a replay: it succeeds, and the family lives on.
    let retried = e.server.token(None, &req).await;
    assert_eq!(retried.status(), 200, "{}", retried.body());
    let access = retried.json()["access_token"].as_str().unwrap().to_owned();
    assert!(e.server.validate_access_token(&access, API).await.is_ok());
}

#[tokio::test]
async fn narrowing_on_refresh_narrows_the_access_token_only() {
    let e = env().await;
    let first = e
        .conf_password_tokens(&[("resource", API), ("resource", "https://app.example.com/")])
        .await;
    let r = e
        .conf_refresh(
            first["refresh_token"].as_str().unwrap(),
            &[("scope", "read"), ("resource", API)],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let narrowed = r.json();
    let access = e
        .introspect(narrowed["access_token"].as_str().unwrap())
        .await;
    assert_eq!(access["scope"], "read");
    assert_eq!(access["aud"], serde_json::json!([API]));
    // RFC 6749 §6: the new refresh token is the grant's, identical in scope and audience.
    let refresh = e
        .introspect(narrowed["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refresh["scope"], "read write");
    assert_eq!(
        refresh["aud"],
        serde_json::json!([API, "https://app.example.com/"])
    );
    let again = e
        .conf_refresh(narrowed["refresh_token"].as_str().unwrap(), &[])
        .await;
    assert_eq!(again.status(), 200, "{}", again.body());
    assert_eq!(
        e.introspect(again.json()["access_token"].as_str().unwrap())
            .await["scope"],
        "read write",
        "a later refresh may ask for the whole grant again"
    );
}

#[tokio::test]
async fn a_refresh_family_ends_at_its_absolute_lifetime() {
    let e = env_with(|s| {
        s.refresh_token_lifetime = 80;
        s.refresh_family_lifetime = 100;
    })
    .await;
    let first = e.conf_password_tokens(&[]).await;
    e.clock.advance(70);
    let r = e
        .conf_refresh(first["refresh_token"].as_str().unwrap(), &[])
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let second = r.json()["refresh_token"].as_str().unwrap().to_owned();
    // Sliding, the new token would live until 150; the family ends at 100.
    e.clock.advance(31);
    let r = e.conf_refresh(&second, &[]).await;
    assert_eq!(error_of(&r), "invalid_grant", "{}", r.body());
}

#[tokio::test]
async fn a_client_can_be_set_not_to_receive_refresh_tokens() {
    let e = env().await;
    let mut settings = e.conf.settings().clone();
    let before = e.conf_password_tokens(&[]).await;
    settings.no_refresh_tokens = true;
    e.server
        .clients()
        .update_settings(e.conf.id(), settings)
        .await
        .unwrap();
    let t = e.conf_password_tokens(&[]).await;
    assert!(t.get("access_token").is_some());
    assert!(t.get("refresh_token").is_none(), "{t}");
    let r = e
        .conf_refresh(before["refresh_token"].as_str().unwrap(), &[])
        .await;
    assert_eq!(error_of(&r), "unauthorized_client");
}

// ---------------------------------------------------------------- token exchange limits

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

#[tokio::test]
async fn token_exchange_is_off_for_a_client_until_enabled() {
    let e = env().await;
    let subject = e.public_tokens("alice").await;
    let mut settings = e.conf.settings().clone();
    settings.extension_grants.clear();
    e.server
        .clients()
        .update_settings(e.conf.id(), settings)
        .await
        .unwrap();
    let r = e
        .conf_exchange(subject["access_token"].as_str().unwrap(), &[])
        .await;
    assert_eq!(error_of(&r), "unauthorized_client", "{}", r.body());
}

#[tokio::test]
async fn an_exchanged_token_stays_within_the_subject_tokens_audience_and_lifetime() {
    let e = env().await;
    let subject = e.public_tokens("alice").await;
    let token = subject["access_token"].as_str().unwrap();
    let exchange = |extra: Vec<(&'static str, &'static str)>| {
        let mut p = vec![
            ("grant_type", EXCHANGE),
            ("subject_token", token),
            ("subject_token_type", ACCESS_TYPE),
        ];
        p.extend(extra);
        let e = &e;
        async move { e.conf_post(&p).await }
    };
    // The public client's home URL is a known resource, but not the subject token's audience.
    let r = exchange(vec![("audience", "https://app.example.com/")]).await;
    assert_eq!(error_of(&r), "invalid_target", "{}", r.body());
    let r = exchange(vec![("resource", "https://app.example.com/")]).await;
    assert_eq!(error_of(&r), "invalid_target", "{}", r.body());

    // Within the subject token's remaining lifetime.
    e.clock.advance(3000);
    let r = exchange(vec![]).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(r.json()["expires_in"], 600);
    let info = e
        .introspect(r.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        info["aud"],
        serde_json::json!([API]),
        "the subject token's own"
    );

    // A client's allow-list widens what it may ask for.
    let mut settings = e.conf.settings().clone();
    settings.exchange_audiences = vec!["https://app.example.com/".into()];
    e.server
        .clients()
        .update_settings(e.conf.id(), settings)
        .await
        .unwrap();
    let r = exchange(vec![("audience", "https://app.example.com/")]).await;
    assert_eq!(r.status(), 200, "{}", r.body());
}

#[tokio::test]
async fn token_exchange_parameters_follow_rfc_8693_section_2_1() {
    let e = env().await;
    let subject = e.public_tokens("alice").await;
    let token = subject["access_token"].as_str().unwrap();
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 4] = [
        (
            &[
                ("subject_token", token),
                ("subject_token", token),
                ("subject_token_type", ACCESS_TYPE),
            ],
            "invalid_request",
            "subject_token: must not be repeated",
        ),
        (
            &[("subject_token", token)],
            "invalid_request",
            "subject_token_type: is required",
        ),
        (
            &[
                ("subject_token", token),
                ("subject_token_type", ACCESS_TYPE),
                ("actor_token_type", ACCESS_TYPE),
            ],
            "invalid_request",
            "actor_token_type:",
        ),
        (
            &[
                ("subject_token", "no-such-token"),
                ("subject_token_type", ACCESS_TYPE),
            ],
            "invalid_request",
            "subject_token:",
        ),
    ];
    for (extra, code, description) in cases {
        let mut p = vec![("grant_type", EXCHANGE)];
        p.extend_from_slice(extra);
        let r = e.conf_post(&p).await;
        assert_eq!(error_of(&r), code, "{}", r.body());
        assert!(
            r.json()["error_description"]
                .as_str()
                .unwrap()
                .starts_with(description),
            "{}",
            r.body()
        );
    }
}

// ---------------------------------------------------------------- audiences that cannot be claimed

#[tokio::test]
async fn the_servers_own_audiences_need_the_resource_server_mark() {
    let e = env().await;
    for (home, base) in [
        (Some(API), vec![]),
        (Some(ISSUER), vec![]),
        (None, vec!["https://api.example.com".to_owned()]),
    ] {
        let settings = ClientSettings {
            name: "Claimer".into(),
            home_url: home.map(str::to_owned),
            base_urls: base.clone(),
            flows: flows(&[Flow::ClientCredentials]),
            ..ClientSettings::default()
        };
        let err = e
            .server
            .clients()
            .create(NewClient::manual(
                ClientType::Confidential,
                settings.clone(),
            ))
            .await
            .unwrap_err();
        let field = if home.is_some() {
            "home_url"
        } else {
            "base_urls[0]"
        };
        assert!(err.to_string().starts_with(field), "{err}");
        // Editing an existing client is held to the same rule.
        let err = e
            .server
            .clients()
            .update_settings(
                e.public.id(),
                ClientSettings {
                    flows: flows(&[Flow::AuthorizationCode]),
                    redirect_uris: vec!["http://127.0.0.1/cb".into()],
                    ..settings.clone()
                },
            )
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with(field), "{err}");
        let marked = ClientSettings {
            resource_server: true,
            ..settings
        };
        assert!(
            e.server
                .clients()
                .create(NewClient::manual(ClientType::Confidential, marked))
                .await
                .is_ok()
        );
    }
}

#[tokio::test]
async fn a_home_url_without_the_mark_gives_no_rights_over_tokens_addressed_there() {
    let e = env().await;
    // A client whose home URL another client's token is addressed to, unmarked.
    let (id, secret) = stranger(&e).await;
    let r = e
        .conf_post(&[
            ("grant_type", "client_credentials"),
            ("resource", "https://stranger.example.com/"),
        ])
        .await;
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    let r = e
        .server
        .introspect(Some(&basic(&id, secret)), &params(&[("token", &token)]))
        .await;
    assert_eq!(r.json(), serde_json::json!({"active": false}));
}

// ---------------------------------------------------------------- deleting a client

#[tokio::test]
async fn every_deletion_path_revokes_the_clients_tokens() {
    let e = env().await;
    let t = e.public_tokens("alice").await;
    let deleted = e
        .server
        .clients()
        .delete(&[e.public.id().clone()])
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let access = t["access_token"].as_str().unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();
    for token in [access, refresh] {
        let hash = portcullis::store::TokenHash::of(token);
        assert_eq!(e.server.tokens().get(&hash).await.unwrap(), None, "revoked");
    }
}

#[tokio::test]
async fn a_deleted_clients_token_is_inactive_even_if_the_store_kept_it() {
    let e = env().await;
    let t = e.public_tokens("alice").await;
    let access = t["access_token"].as_str().unwrap();
    // A host store that lost the revocation: the client is gone, its token is not.
    e.server
        .clients()
        .store()
        .delete_many(&[e.public.id().clone()])
        .await
        .unwrap();
    assert!(e.server.validate_access_token(access, API).await.is_err());
    assert_eq!(e.introspect(access).await["active"], false);
}

#[tokio::test]
async fn an_inactive_clients_token_is_inactive() {
    let e = env().await;
    let t = e.public_tokens("alice").await;
    let access = t["access_token"].as_str().unwrap();
    let mut settings = e.public.settings().clone();
    settings.flows = flows(&[]);
    e.server
        .clients()
        .update_settings(e.public.id(), settings)
        .await
        .unwrap();
    assert!(e.server.validate_access_token(access, API).await.is_err());
    assert_eq!(e.introspect(access).await["active"], false);
}

// ---------------------------------------------------------------- security events

#[tokio::test]
async fn security_events_report_what_an_operator_must_see_without_secrets() {
    use portcullis::events::SecurityEvent as E;
    let e = env().await;
    let conf = e.conf.id().clone();
    let public = e.public.id().clone();

    // A replayed code.
    let p = pkce();
    let code = e.public_code("alice", None, &p).await;
    let first = e.redeem_public(&code, p.verifier.secret()).await.json();
    e.redeem_public(&code, p.verifier.secret()).await;
    let family = GrantId::derived_from(&TokenHash::of(&code));
    assert!(matches!(
        &e.events.take()[..],
        [E::CodeReplayed { client_id, user: Some(u), grant }]
            if *client_id == public && u == "alice" && *grant == family
    ));
    // The event names the family; all three of its records are revoked.
    for token in [
        &code,
        first["access_token"].as_str().unwrap(),
        first["refresh_token"].as_str().unwrap(),
    ] {
        assert_eq!(
            e.server.tokens().get(&TokenHash::of(token)).await.unwrap(),
            None
        );
        assert_eq!(
            e.server.tokens().take(&TokenHash::of(token)).await.unwrap(),
            Take::Missing
        );
    }

    // A replayed refresh token.
    let t = e.conf_password_tokens(&[]).await;
    let rt = t["refresh_token"].as_str().unwrap();
    let rotated = e.conf_refresh(rt, &[]).await.json();
    e.conf_refresh(rt, &[]).await;
    let family = GrantId::derived_from(&TokenHash::of(t["access_token"].as_str().unwrap()));
    assert!(matches!(
        &e.events.take()[..],
        [E::RefreshReplayed { client_id, user: Some(u), grant }]
            if *client_id == conf && u == "alice" && *grant == family
    ));
    // All four of the family's records are revoked: both pairs, the taken refresh token too.
    for token in [&t, &rotated]
        .into_iter()
        .flat_map(|t| ["access_token", "refresh_token"].map(|f| t[f].as_str().unwrap().to_owned()))
    {
        assert_eq!(
            e.server
                .tokens()
                .take(&TokenHash::of(&token))
                .await
                .unwrap(),
            Take::Missing
        );
    }

    // Failed client authentication, counted per client; an unknown ID is cut.
    for _ in 0..2 {
        e.server
            .token(
                Some(&basic(conf.as_str(), "wrong-secret")),
                &params(&[("grant_type", "client_credentials")]),
            )
            .await;
    }
    let long = "n".repeat(300);
    e.server
        .token(
            Some(&basic(&long, "x")),
            &params(&[("grant_type", "client_credentials")]),
        )
        .await;
    let events = e.events.take();
    assert_eq!(
        events,
        [
            E::ClientAuthenticationFailed {
                client_id: conf.as_str().into(),
                known: true,
                failures: 1
            },
            E::ClientAuthenticationFailed {
                client_id: conf.as_str().into(),
                known: true,
                failures: 2
            },
            E::ClientAuthenticationFailed {
                client_id: format!("{}...", "n".repeat(portcullis::server::MAX_ECHO_CHARS)),
                known: false,
                failures: 0
            },
        ]
    );
    // A success starts the count again, and the client is never locked out.
    let ok = e.conf_post(&[("grant_type", "client_credentials")]).await;
    assert_eq!(ok.status(), 200);
    e.server
        .token(
            Some(&basic(conf.as_str(), "wrong-secret")),
            &params(&[("grant_type", "client_credentials")]),
        )
        .await;
    assert_eq!(
        e.events.take(),
        [E::ClientAuthenticationFailed {
            client_id: conf.as_str().into(),
            known: true,
            failures: 1
        }]
    );

    // A lockout, keyed by the normalised username.
    for name in ["Bob", " bob", "BOB ", "bob", "bob"] {
        e.conf_post(&[
            ("grant_type", "password"),
            ("username", name),
            ("password", "nope"),
        ])
        .await;
    }
    let locked = e
        .conf_post(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "bob-password"),
        ])
        .await;
    assert!(
        r_description(&locked).contains("too many failed attempts"),
        "{}",
        locked.body()
    );
    assert_eq!(
        e.events.take(),
        [E::PasswordLockout {
            client_id: conf.clone(),
            username: "bob".into()
        }]
    );

    // An untrusted redirect URI recorded for a logged-in user.
    let q = params(&[
        ("response_type", "code"),
        ("client_id", public.as_str()),
        ("redirect_uri", "https://evil.example/cb"),
    ]);
    e.server.authorize(&q, Some("alice")).await;
    assert_eq!(
        e.events.take(),
        [E::UntrustedRedirectUriRecorded {
            client_id: public.clone(),
            user: Some("alice".into()),
            redirect_uri: "https://evil.example/cb".into()
        }]
    );

    // A deleted client, with what was revoked.
    e.public_tokens("alice").await;
    e.server
        .clients()
        .delete(std::slice::from_ref(&public))
        .await
        .unwrap();
    assert!(matches!(
        &e.events.take()[..],
        [E::ClientDeleted { client_id, tokens_revoked }] if *client_id == public && *tokens_revoked >= 2
    ));

    // Nothing secret in any of them.
    let shown = format!("{events:?}");
    assert!(!shown.contains(CONF_SECRET) && !shown.contains("wrong-secret"));
}

fn r_description(r: &EndpointResponse) -> String {
    r.json()["error_description"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

// ---------------------------------------------------------------- honest metadata and consent

#[tokio::test]
async fn implicit_and_password_are_off_server_wide_by_default() {
    let defaults = ServerSettings::new(ISSUER).unwrap();
    assert!(!defaults.implicit_grant && !defaults.password_grant);
    let e = env_with(|s| {
        s.implicit_grant = false;
        s.password_grant = false;
    })
    .await;
    let m = e.server.metadata();
    assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(m["response_modes_supported"], serde_json::json!(["query"]));
    let grants = m["grant_types_supported"].as_array().unwrap();
    assert!(
        !grants.iter().any(|g| g == "implicit" || g == "password"),
        "{grants:?}"
    );
    assert!(grants.iter().any(|g| g == "authorization_code"));

    // The public client enables the implicit flow, the confidential one the password flow:
    // the server-wide switch wins.
    let (_, q) = redirected(
        e.server
            .authorize(
                &public_request(&e, &[("response_type", "token")]),
                Some("alice"),
            )
            .await,
    );
    assert_eq!(q["error"], "unsupported_response_type");
    let r = e
        .conf_post(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .await;
    assert_eq!(error_of(&r), "unsupported_grant_type");

    // Turned on, both are offered.
    let on = env().await.server.metadata();
    let grants = on["grant_types_supported"].as_array().unwrap();
    assert!(grants.iter().any(|g| g == "implicit") && grants.iter().any(|g| g == "password"));
}

#[tokio::test]
async fn the_consent_prompt_names_where_the_grant_goes() {
    let e = env().await;
    let q = params(&[
        ("response_type", "code"),
        ("client_id", e.conf.id().as_str()),
        ("redirect_uri", "https://conf.example.com/cb"),
    ]);
    let Authorize::Consent(ask) = e.server.authorize(&q, Some("alice")).await else {
        panic!("consent expected")
    };
    assert_eq!(ask.redirect_host, "conf.example.com");
    assert!(!ask.loopback_only);

    let native = e
        .server
        .clients()
        .create(NewClient::manual(
            ClientType::Public,
            ClientSettings {
                name: "Desktop".into(),
                redirect_uris: vec!["http://127.0.0.1/cb".into(), "http://localhost/cb".into()],
                flows: flows(&[Flow::AuthorizationCode]),
                require_consent: true,
                scopes: vec!["read".into()],
                ..ClientSettings::default()
            },
        ))
        .await
        .unwrap();
    assert!(native.warnings.is_empty(), "consent is on");
    let p = pkce();
    let q = params(&[
        ("response_type", "code"),
        ("client_id", native.client.id().as_str()),
        ("redirect_uri", "http://127.0.0.1:4000/cb"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let Authorize::Consent(ask) = e.server.authorize(&q, Some("alice")).await else {
        panic!("consent expected")
    };
    assert_eq!(ask.redirect_host, "127.0.0.1:4000");
    assert!(ask.loopback_only, "every redirect URI is on this device");
    assert!(
        !e.public.loopback_only(),
        "one loopback URI among https ones is not loopback-only"
    );
}

#[tokio::test]
async fn a_public_loopback_client_without_consent_is_reported() {
    let e = env().await;
    let settings = |require_consent| ClientSettings {
        name: "CLI".into(),
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        flows: flows(&[Flow::AuthorizationCode]),
        require_consent,
        ..ClientSettings::default()
    };
    let silent = e
        .server
        .clients()
        .create(NewClient::manual(ClientType::Public, settings(false)))
        .await
        .unwrap();
    assert_eq!(
        silent.warnings,
        [portcullis::client::ClientWarning::SilentLoopbackTokens]
    );
    assert_eq!(silent.client.warnings(), silent.warnings);
    assert!(
        silent.warnings[0]
            .to_string()
            .contains("RFC 8252 section 8.6")
    );
    let asked = e
        .server
        .clients()
        .create(NewClient::manual(ClientType::Public, settings(true)))
        .await
        .unwrap();
    assert!(asked.warnings.is_empty());
    // The suite's own public client registers a loopback URI and asks no consent.
    assert_eq!(e.public.warnings(), silent.warnings);
    assert!(e.conf.warnings().is_empty(), "a confidential client");
}

#[tokio::test]
async fn a_clients_own_token_is_marked_in_introspection() {
    let e = env().await;
    let own = e
        .conf_post(&[("grant_type", "client_credentials")])
        .await
        .json();
    let info = e.introspect(own["access_token"].as_str().unwrap()).await;
    assert_eq!(info["gty"], "client_credentials");
    assert_eq!(info["sub"], e.conf.id().as_str());
    assert!(info.get("username").is_none());
    let user = e.public_tokens("alice").await;
    let info = e.introspect(user["access_token"].as_str().unwrap()).await;
    assert!(info.get("gty").is_none());
    assert_eq!(info["username"], "alice");
}

// ---------------------------------------------------------------- rules that each need a test

#[tokio::test]
async fn a_code_issued_with_a_challenge_needs_its_verifier() {
    let e = env().await;
    let p = pkce();
    let code = e.public_code("alice", None, &p).await;
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example.com/cb"),
                ("client_id", e.public.id().as_str()),
            ]),
        )
        .await;
    assert_eq!(error_of(&r), "invalid_grant");
    assert!(r_description(&r).starts_with("code_verifier: is required"));
    // Refused, not used up.
    let r = e.redeem_public(&code, p.verifier.secret()).await;
    assert_eq!(r.status(), 200, "{}", r.body());
}

#[tokio::test]
async fn a_refresh_token_presented_by_another_client_is_refused_and_not_burned() {
    let e = env().await;
    let t = e.public_tokens("alice").await;
    let rt = t["refresh_token"].as_str().unwrap();
    let r = e.conf_refresh(rt, &[]).await;
    assert_eq!(error_of(&r), "invalid_grant");
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", e.public.id().as_str()),
            ]),
        )
        .await;
    assert_eq!(
        r.status(),
        200,
        "the holder's refresh still works: {}",
        r.body()
    );
}

#[tokio::test]
async fn a_challenge_without_a_method_is_plain_and_refused_by_default() {
    // RFC 7636 §4.3: without `code_challenge_method` the method is `plain`.
    for allowed in [false, true] {
        let e = env_with(|s| s.allow_plain_pkce = allowed).await;
        let verifier = "v".repeat(43);
        let q = public_request(&e, &[("response_type", "code")]);
        let mut pairs: Vec<(String, String)> = q
            .pairs()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        pairs.push(("code_challenge".into(), verifier.clone()));
        let (_, q) = redirected(e.server.authorize(&Params::new(pairs), Some("alice")).await);
        if !allowed {
            assert_eq!(q["error"], "invalid_request");
            assert!(q["error_description"].contains("plain"), "{q:?}");
            continue;
        }
        let r = e.redeem_public(&q["code"], &verifier).await;
        assert_eq!(
            r.status(),
            200,
            "the challenge was the verifier itself: {}",
            r.body()
        );
    }
}

#[tokio::test]
async fn a_resource_at_the_authorization_endpoint_is_bound_into_the_code() {
    let e = env().await;
    let p = pkce();
    let q = public_request(
        &e,
        &[
            ("response_type", "code"),
            ("resource", "https://conf.example.com/"),
        ],
    );
    let mut pairs: Vec<(String, String)> = q
        .pairs()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    pairs.push(("code_challenge".into(), p.challenge.as_str().to_owned()));
    pairs.push(("code_challenge_method".into(), "S256".into()));
    let (_, q) = redirected(
        e.server
            .authorize(&Params::new(pairs.clone()), Some("alice"))
            .await,
    );
    let r = e.redeem_public(&q["code"], p.verifier.secret()).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let info = e
        .introspect(r.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        info["aud"],
        serde_json::json!(["https://conf.example.com/"])
    );

    // An unknown one is `invalid_target`, redirected once the user is known.
    for pair in pairs.iter_mut() {
        if pair.0 == "resource" {
            pair.1 = "https://nowhere.example/".into();
        }
    }
    let (_, q) = redirected(e.server.authorize(&Params::new(pairs), Some("alice")).await);
    assert_eq!(q["error"], "invalid_target");
}

#[tokio::test]
async fn a_resource_at_refresh_must_be_part_of_the_grant() {
    let e = env().await;
    let t = e.conf_password_tokens(&[]).await;
    let r = e
        .conf_refresh(
            t["refresh_token"].as_str().unwrap(),
            &[("resource", "https://app.example.com/")],
        )
        .await;
    assert_eq!(error_of(&r), "invalid_target");
    let many: Vec<String> = (0..11).map(|i| format!("https://r{i}.example/")).collect();
    let extra: Vec<(&str, &str)> = many.iter().map(|r| ("resource", r.as_str())).collect();
    let r = e
        .conf_refresh(t["refresh_token"].as_str().unwrap(), &extra)
        .await;
    assert!(r_description(&r).contains("at most 10"), "{}", r.body());
    let r = e
        .conf_refresh(t["refresh_token"].as_str().unwrap(), &[("resource", API)])
        .await;
    assert_eq!(r.status(), 200, "refused, not used up: {}", r.body());
}

#[tokio::test]
async fn without_a_redirect_uri_a_client_with_several_is_refused() {
    let e = env().await;
    let p = pkce();
    let q = params(&[
        ("response_type", "code"),
        ("client_id", e.public.id().as_str()),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    match e.server.authorize(&q, Some("alice")).await {
        Authorize::Refused(err) => assert!(err.description.starts_with("redirect_uri:"), "{err:?}"),
        other => panic!("RFC 6749 section 3.1.2.3: never guess; got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    // RFC 6749 §3.1 and §3.2: unrecognized parameters are ignored.
    let e = env().await;
    let p = pkce();
    let q = public_request(
        &e,
        &[
            ("response_type", "code"),
            ("utm_source", "mail"),
            ("prompt_x", "1"),
        ],
    );
    let mut pairs: Vec<(String, String)> = q
        .pairs()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    pairs.push(("code_challenge".into(), p.challenge.as_str().to_owned()));
    pairs.push(("code_challenge_method".into(), "S256".into()));
    let (_, q) = redirected(e.server.authorize(&Params::new(pairs), Some("alice")).await);
    let r = e
        .server
        .token(
            None,
            &params(&[
                ("grant_type", "authorization_code"),
                ("code", &q["code"]),
                ("redirect_uri", "https://app.example.com/cb"),
                ("client_id", e.public.id().as_str()),
                ("code_verifier", p.verifier.secret()),
                ("extra", "ignored"),
            ]),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
}

#[tokio::test]
async fn a_plus_in_basic_credentials_is_a_space() {
    // RFC 6749 §2.3.1: the ID and secret are form-encoded before Basic encoding, so a `+` in
    // a client ID travels as `%2B`, and a bare `+` is a space (which no client ID holds).
    let e = env().await;
    const SECRET: &str = "plus-client-secret-0123456789abcdef";
    let mut new = NewClient::manual(
        ClientType::Confidential,
        ClientSettings {
            name: "Plus".into(),
            flows: flows(&[Flow::ClientCredentials]),
            scopes: vec!["read".into()],
            ..ClientSettings::default()
        },
    );
    new.client_id = Some(ClientId::new("my+client").unwrap());
    e.server
        .clients()
        .create_with_secret(
            new,
            SecretChange::KeyIn {
                secret: SECRET.into(),
                confirmation: SECRET.into(),
            },
        )
        .await
        .unwrap();
    let token = |raw: String| {
        let header = format!("Basic {}", BASE64_STANDARD.encode(raw));
        let server = &e.server;
        async move {
            server
                .token(
                    Some(&header),
                    &params(&[("grant_type", "client_credentials")]),
                )
                .await
        }
    };
    let bare = token(format!("my+client:{SECRET}")).await;
    assert_eq!(
        bare.status(),
        401,
        "`+` decodes to a space: {}",
        bare.body()
    );
    let r = token(format!("my%2Bclient:{SECRET}")).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let json = r.json();
    let info = e.introspect(json["access_token"].as_str().unwrap()).await;
    assert_eq!(info["client_id"], "my+client");
}

// ---------------------------------------------------------------- second reader's findings

#[tokio::test]
async fn an_inactive_clients_token_cannot_be_exchanged() {
    let e = env().await;
    let subject = e.public_tokens("alice").await;
    let mut settings = e.public.settings().clone();
    settings.flows = flows(&[]);
    e.server
        .clients()
        .update_settings(e.public.id(), settings)
        .await
        .unwrap();
    let r = e
        .conf_exchange(subject["access_token"].as_str().unwrap(), &[])
        .await;
    assert_eq!(error_of(&r), "invalid_request", "{}", r.body());
}

#[tokio::test]
async fn a_clients_own_token_cannot_be_exchanged() {
    let e = env().await;
    let own = e
        .conf_post(&[("grant_type", "client_credentials")])
        .await
        .json();
    let r = e
        .conf_exchange(own["access_token"].as_str().unwrap(), &[])
        .await;
    assert_eq!(error_of(&r), "invalid_request", "{}", r.body());
    assert!(
        r_description(&r).contains("acts for no user"),
        "{}",
        r.body()
    );
}

#[tokio::test]
async fn with_default_settings_a_holder_exchanges_its_token_for_the_default_audience() {
    // No configured resources: tokens are addressed to the issuer.
    let e = env_with(|s| {
        s.resources.clear();
        s.default_resource = None;
    })
    .await;
    let t = e.conf_password_tokens(&[]).await;
    let r = e
        .conf_exchange(t["access_token"].as_str().unwrap(), &[])
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let info = e
        .introspect(r.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["aud"], serde_json::json!([ISSUER]));
}

#[tokio::test]
async fn narrowing_compares_resources_as_urls() {
    let e = env().await;
    let t = e.conf_password_tokens(&[]).await;
    let r = e
        .conf_refresh(
            t["refresh_token"].as_str().unwrap(),
            &[("resource", "https://api.example.com")],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let info = e
        .introspect(r.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        info["aud"],
        serde_json::json!([API]),
        "the grant's own spelling"
    );
}

#[tokio::test]
async fn an_extension_grants_not_after_caps_the_refresh_token_too() {
    let e = env().await;
    let r = e
        .conf_post(&[
            ("grant_type", "urn:example:grant:demo"),
            ("user", "alice"),
            ("lifetime", "100"),
        ])
        .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let t = r.json();
    assert_eq!(t["expires_in"], 100);
    e.clock.advance(101);
    let r = e
        .conf_refresh(t["refresh_token"].as_str().unwrap(), &[])
        .await;
    assert_eq!(error_of(&r), "invalid_grant", "{}", r.body());
}

#[test]
fn a_server_is_not_built_from_settings_that_make_no_sense() {
    let mut settings = ServerSettings::new(ISSUER).unwrap();
    settings.access_token_lifetime = 0;
    let err = AuthorizationServer::builder(settings, Arc::new(MemoryUserDirectory::default()))
        .build()
        .unwrap_err();
    assert_eq!(err.field, "access_token_lifetime");
    let mut settings = ServerSettings::new(ISSUER).unwrap();
    settings.resources = vec!["not a url".into()];
    let err = AuthorizationServer::builder(settings, Arc::new(MemoryUserDirectory::default()))
        .build()
        .unwrap_err();
    assert_eq!(err.field, "resources[0]");
}
