//! Interop: the example server's router on 127.0.0.1:0, driven over real HTTP by the `oauth2`
//! crate (an independent client implementation) and by a scripted browser.

#[path = "../examples/server/app.rs"]
#[allow(dead_code)]
mod app;

use std::collections::HashMap;
use std::sync::Arc;

use oauth2::basic::BasicClient;
use oauth2::reqwest;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RevocationUrl, Scope, StandardRevocableToken, TokenResponse,
    TokenUrl,
};
use portcullis::{Clock, ManualClock, SystemClock};

const SEED: &str = r#"{
  "server": {"password_grant": true},
  "users": [
    {"username": "alice", "password": "alice-password", "permissions": ["read", "write"]},
    {"username": "bob", "password": "bob-password", "permissions": ["read"]}
  ],
  "clients": [
    {"client_id": "web", "client_secret": "web-secret-0123456789abcdef0123456789",
     "name": "Web <app>", "home_url": "https://web.example.com/",
     "redirect_uris": ["http://127.0.0.1/callback"],
     "flows": ["authorization_code", "client_credentials"],
     "require_pkce": true, "require_consent": true, "scopes": ["read", "write"]},
    {"client_id": "cli", "name": "CLI", "home_url": "https://cli.example.com/",
     "redirect_uris": ["http://127.0.0.1/callback"],
     "flows": ["authorization_code"], "scopes": ["read", "write"]}
  ]
}"#;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const WEB_SECRET: &str = "web-secret-0123456789abcdef0123456789";

struct Harness {
    base: String,
    app: Arc<app::App>,
    clock: ManualClock,
    http: reqwest::Client,
}

async fn start() -> Harness {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seed: app::Seed = serde_json::from_str(SEED).unwrap();
    let clock = ManualClock::new(SystemClock.now());
    let (router, app) = app::build(seed, &base, Arc::new(clock.clone()))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Harness {
        base,
        app,
        clock,
        http,
    }
}

type Oauth = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
    oauth2::EndpointSet,
>;

impl Harness {
    fn client(&self, id: &str, secret: Option<&str>) -> Oauth {
        let c = BasicClient::new(ClientId::new(id.into()))
            .set_auth_uri(AuthUrl::new(format!("{}/authorize", self.base)).unwrap())
            .set_token_uri(TokenUrl::new(format!("{}/token", self.base)).unwrap())
            .set_revocation_url(RevocationUrl::new(format!("{}/revoke", self.base)).unwrap())
            .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
        match secret {
            Some(s) => c.set_client_secret(ClientSecret::new(s.into())),
            None => c,
        }
    }

    /// Plays the browser: follows the authorization URL through login (and consent), and
    /// returns where the server finally redirects.
    async fn browse(&self, auth_url: &str, user: &str, password: &str, consent: bool) -> String {
        let first = self.http.get(auth_url).send().await.unwrap();
        assert_eq!(first.status(), 200, "login page expected");
        let query = auth_url
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or("")
            .to_owned();
        let login = self
            .http
            .post(format!("{}/login", self.base))
            .form(&[
                ("username", user),
                ("password", password),
                ("query", &query),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 303, "login accepted");
        let cookie = login.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let after = self
            .http
            .get(format!(
                "{}{}",
                self.base,
                login.headers()["location"].to_str().unwrap()
            ))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        let answer = if consent {
            assert_eq!(after.status(), 200, "consent page expected");
            let page = after.text().await.unwrap();
            assert!(
                page.contains("Web &lt;app&gt;"),
                "client name, escaped: {page}"
            );
            assert!(page.contains("https://web.example.com/"), "home URL");
            assert!(page.contains("<code>write</code>"), "scopes");
            assert!(
                page.contains("sent back to <b>127.0.0.1:9</b>"),
                "redirect host: {page}"
            );
            assert!(
                page.contains("only ever receives access on your own computer"),
                "the web client registers loopback URIs only: {page}"
            );
            let csrf = page
                .split("name=\"csrf\" value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned();
            self.http
                .post(format!("{}/consent", self.base))
                .header("Cookie", &cookie)
                .form(&[
                    ("query", query.as_str()),
                    ("csrf", &csrf),
                    ("decision", "allow"),
                ])
                .send()
                .await
                .unwrap()
        } else {
            after
        };
        assert_eq!(answer.status(), 303);
        answer.headers()["location"].to_str().unwrap().to_owned()
    }

    async fn me(&self, token: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/api/me", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

fn query_of(location: &str) -> HashMap<String, String> {
    let q = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}

async fn code_for(
    h: &Harness,
    client: &Oauth,
    user: &str,
    pw: &str,
    scope: &str,
    consent: bool,
) -> (String, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new(scope.into()))
        .set_pkce_challenge(challenge)
        .url();
    let location = h.browse(url.as_str(), user, pw, consent).await;
    assert!(location.starts_with(REDIRECT), "{location}");
    let q = query_of(&location);
    assert_eq!(&q["state"], state.secret());
    assert_eq!(q["iss"], h.base, "RFC 9207 iss is the issuer exactly");
    (q["code"].clone(), verifier)
}

#[tokio::test]
async fn code_with_pkce_then_refresh_then_revocation() {
    let h = start().await;
    let cli = h.client("cli", None);
    let (code, verifier) = code_for(&h, &cli, "alice", "alice-password", "read", false).await;
    let tokens = cli
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&h.http)
        .await
        .unwrap();
    let access = tokens.access_token().secret().clone();
    let me: serde_json::Value = h
        .me(&access)
        .await
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(
        (me["sub"].as_str(), me["scope"].as_str()),
        (Some("alice"), Some("read"))
    );

    let refreshed = cli
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&h.http)
        .await
        .unwrap();
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        tokens.refresh_token().unwrap().secret()
    );
    let new_access = refreshed.access_token().clone();
    assert_eq!(h.me(new_access.secret()).await.status(), 200);

    // The oauth2 crate refuses to revoke over plain http (its guard for production), so the
    // RFC 7009 request is sent by hand here, as a public client identifying itself.
    let r = h
        .http
        .post(format!("{}/revoke", h.base))
        .form(&[
            ("token", new_access.secret().as_str()),
            ("token_type_hint", "access_token"),
            ("client_id", "cli"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let after = h.me(new_access.secret()).await;
    assert_eq!(after.status(), 401);
    assert!(
        after.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("resource_metadata=")
    );
}

#[tokio::test]
async fn confidential_client_with_consent_and_basic_auth() {
    let h = start().await;
    let web = h.client("web", Some(WEB_SECRET));
    let (code, verifier) = code_for(&h, &web, "alice", "alice-password", "write", true).await;
    let tokens = web
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&h.http)
        .await
        .unwrap();
    assert_eq!(h.me(tokens.access_token().secret()).await.status(), 200);
}

#[tokio::test]
async fn client_credentials() {
    let h = start().await;
    let web = h.client("web", Some(WEB_SECRET));
    let tokens = web
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&h.http)
        .await
        .unwrap();
    assert!(tokens.refresh_token().is_none());
    let me: serde_json::Value = h
        .me(tokens.access_token().secret())
        .await
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(me["sub"], "web");
}

#[tokio::test]
async fn a_wrong_verifier_is_refused() {
    let h = start().await;
    let cli = h.client("cli", None);
    let (code, _) = code_for(&h, &cli, "alice", "alice-password", "read", false).await;
    let err = cli
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new("x".repeat(43)))
        .request_async(&h.http)
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("invalid_grant"), "{err:?}");
}

#[tokio::test]
async fn a_reused_code_is_refused_and_its_tokens_revoked() {
    let h = start().await;
    let cli = h.client("cli", None);
    let (code, verifier) = code_for(&h, &cli, "alice", "alice-password", "read", false).await;
    let secret = verifier.secret().clone();
    let tokens = cli
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&h.http)
        .await
        .unwrap();
    let err = cli
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(secret))
        .request_async(&h.http)
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("invalid_grant"), "{err:?}");
    assert_eq!(h.me(tokens.access_token().secret()).await.status(), 401);
}

#[tokio::test]
async fn an_untrusted_redirect_is_never_followed_and_is_recorded() {
    let h = start().await;
    let url = format!(
        "{}/authorize?response_type=code&client_id=cli&redirect_uri={}&code_challenge={}&code_challenge_method=S256",
        h.base, "https%3A%2F%2Fevil.example%2Fcb", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let cli = || async {
        h.app
            .server
            .clients()
            .get(&portcullis::ClientId::new("cli").unwrap())
            .await
            .unwrap()
    };
    let r = h.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("redirect_uri:"));
    // Nobody is logged in: nothing is recorded (an anonymous request writes nothing).
    assert!(cli().await.untrusted_redirect_uris().is_empty());

    // A logged-in user's attempt is held for review.
    let login = h
        .http
        .post(format!("{}/login", h.base))
        .form(&[
            ("username", "alice"),
            ("password", "alice-password"),
            ("query", ""),
        ])
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let r = h
        .http
        .get(&url)
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert_eq!(
        cli().await.untrusted_redirect_uris(),
        ["https://evil.example/cb"]
    );
}

#[tokio::test]
async fn a_disabled_flow_is_unauthorized_client() {
    let h = start().await;
    let r = h
        .http
        .post(format!("{}/token", h.base))
        .basic_auth("web", Some(WEB_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client_with_401() {
    let h = start().await;
    let web = h.client("web", Some("wrong-secret"));
    let err = web
        .exchange_client_credentials()
        .request_async(&h.http)
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("invalid_client"), "{err:?}");
    let r = h
        .http
        .post(format!("{}/token", h.base))
        .basic_auth("web", Some("wrong-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
}

#[tokio::test]
async fn scope_beyond_the_users_permissions_is_refused() {
    let h = start().await;
    let cli = h.client("cli", None);
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = cli
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("write".into()))
        .set_pkce_challenge(challenge)
        .url();
    let location = h.browse(url.as_str(), "bob", "bob-password", false).await;
    let q = query_of(&location);
    assert_eq!(q["error"], "invalid_scope");
    assert_eq!(q["iss"], h.base);
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let h = start().await;
    let cli = h.client("cli", None);
    let (code, verifier) = code_for(&h, &cli, "alice", "alice-password", "read", false).await;
    h.clock.advance(61);
    let err = cli
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&h.http)
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("invalid_grant"), "{err:?}");
}

#[tokio::test]
async fn oversized_bodies_get_413_and_metadata_is_served() {
    let h = start().await;
    let r = h
        .http
        .post(format!("{}/token", h.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("a".repeat(70 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let m: serde_json::Value = h
        .http
        .get(format!("{}/.well-known/oauth-authorization-server", h.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(m["issuer"], h.base);
    let prm: serde_json::Value = h
        .http
        .get(format!("{}/.well-known/oauth-protected-resource", h.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(prm["authorization_servers"][0], h.base);
    // RFC 9728 §3.3: metadata at the root well-known URL describes the origin itself.
    assert_eq!(prm["resource"], h.base);
}

#[test]
fn a_bad_seed_names_the_json_path() {
    let dir = std::env::temp_dir().join(format!("portcullis-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            r#"{"users": [{"username": "a", "password": "b", "perms": []}]}"#,
            "users[0].perms: unknown field `perms`",
        ),
        (
            r#"{"clients": [{"client_id": "x", "name": "x", "flows": ["magic"]}]}"#,
            "clients[0].flows[0]: unknown variant `magic`",
        ),
    ];
    for (i, (json, want)) in cases.iter().enumerate() {
        let path = dir.join(format!("seed{i}.json"));
        std::fs::write(&path, json).unwrap();
        let err = app::load_seed(path.to_str().unwrap()).unwrap_err();
        assert!(err.contains(want), "{err}");
    }
}

#[tokio::test]
async fn invalid_seed_values_name_the_field() {
    let seed: app::Seed = serde_json::from_str(
        r#"{"clients": [{"client_id": "x", "name": "x", "redirect_uris": ["/cb", "javascript:x"], "home_url": "https://a.example/"}]}"#,
    )
    .unwrap();
    let err = app::build(seed, "http://127.0.0.1:1", Arc::new(SystemClock))
        .await
        .err()
        .unwrap();
    assert!(err.starts_with("clients[0].redirect_uris[1]:"), "{err}");
}

#[tokio::test]
async fn forged_forms_are_refused_and_pages_cannot_be_framed() {
    let h = start().await;
    let query = "response_type=code&client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&scope=read&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    let page = h
        .http
        .get(format!("{}/authorize?{query}", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(
        page.headers()["content-security-policy"],
        "frame-ancestors 'none'"
    );
    assert_eq!(page.headers()["cache-control"], "no-store");

    // Login CSRF: a login form posted from another site.
    let cross = h
        .http
        .post(format!("{}/login", h.base))
        .header("Origin", "https://evil.example")
        .form(&[
            ("username", "alice"),
            ("password", "alice-password"),
            ("query", query),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);

    // A consent form with the wrong CSRF token.
    let login = h
        .http
        .post(format!("{}/login", h.base))
        .form(&[
            ("username", "alice"),
            ("password", "alice-password"),
            ("query", query),
        ])
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let forged = h
        .http
        .post(format!("{}/consent", h.base))
        .header("Cookie", &cookie)
        .form(&[("query", query), ("csrf", "guessed"), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    // One without its CSRF field at all gets the same page, not the framework's plain text.
    let bare = h
        .http
        .post(format!("{}/consent", h.base))
        .header("Cookie", &cookie)
        .form(&[("query", query), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 403);
    assert!(
        bare.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(bare.text().await.unwrap().contains("The form is stale"));
    assert!(forged.headers().get("location").is_none());
}

#[tokio::test]
async fn repeated_failed_logins_lock_the_user_out_for_a_while() {
    let h = start().await;
    let attempt = |pw: &'static str| {
        let h = &h;
        async move {
            h.http
                .post(format!("{}/login", h.base))
                .form(&[("username", "bob"), ("password", pw), ("query", "")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("guess").await, 401);
    }
    assert_eq!(attempt("bob-password").await, 401, "locked out");
    h.clock.advance(301);
    assert_eq!(attempt("bob-password").await, 303);
}

/// Serves one client metadata document on loopback, as a client's own site would; returns
/// its URL, which is the client's ID.
async fn publish_document(redirect: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/oauth/client.json",
        listener.local_addr().unwrap().port()
    );
    let body = serde_json::json!({
        "client_id": url,
        "client_name": "Loopback MCP client",
        "redirect_uris": [redirect],
        "token_endpoint_auth_method": "none",
    })
    .to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = vec![0u8; 4096];
                let _ = socket.read(&mut request).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: max-age=300\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

#[tokio::test]
async fn a_client_registers_itself_from_its_document_and_completes_code_with_pkce() {
    let client_id = publish_document(REDIRECT).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seed: app::Seed = serde_json::from_str(SEED).unwrap();
    let options = app::Options {
        allow_cimd: true,
        cimd_insecure_loopback: true,
    };
    let (router, _app) = app::build_with(seed, &base, Arc::new(SystemClock), options)
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata: serde_json::Value = serde_json::from_str(
        &http
            .get(format!("{base}/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(metadata["client_id_metadata_document_supported"], true);

    let client = BasicClient::new(ClientId::new(client_id.clone()))
        .set_auth_uri(AuthUrl::new(format!("{base}/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(format!("{base}/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf_state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let query = auth_url.query().unwrap_or_default().to_owned();

    // Anonymous: the login page, and nothing registered yet.
    let first = http.get(auth_url.as_str()).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let login = http
        .post(format!("{base}/login"))
        .form(&[
            ("username", "alice"),
            ("password", "alice-password"),
            ("query", &query),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let consent = http
        .get(format!(
            "{base}{}",
            login.headers()["location"].to_str().unwrap()
        ))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        consent.status(),
        200,
        "consent, always, for a self-registered client"
    );
    let page = consent.text().await.unwrap();
    assert!(page.contains("Loopback MCP client"), "{page}");
    assert!(
        page.contains("registered itself") && page.contains("<b>127.0.0.1:"),
        "the document's host is shown: {page}"
    );
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let approved = http
        .post(format!("{base}/consent"))
        .header("Cookie", &cookie)
        .form(&[
            ("query", query.as_str()),
            ("csrf", &csrf),
            ("decision", "allow"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 303);
    let params = query_of(approved.headers()["location"].to_str().unwrap());
    assert_eq!(params["state"], *csrf_state.secret());
    let token = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.secret().clone()))
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        token
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        Some(vec!["read".to_owned()])
    );
    let me: serde_json::Value = serde_json::from_str(
        &http
            .get(format!("{base}/api/me"))
            .bearer_auth(token.access_token().secret())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(me["client_id"], client_id);
    assert_eq!(me["sub"], "alice");
}
