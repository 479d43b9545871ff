//! Untrusted input never panics: thousands of generated hostile requests go through every
//! entry point a request can reach, and each must come back as an answer, not a crash. The
//! generator is a fixed-seed xorshift, so a failure reproduces.

use std::sync::Arc;

use portcullis::client::{ClientSettings, ClientType, Flow, NewClient, SecretChange};
use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
use portcullis::redirect::RedirectRules;
use portcullis::users::MemoryUserDirectory;
use portcullis::{AuthorizationServer, Authorize, Params, Scope, ServerSettings};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    /// A string of hostile pieces: control characters, encodings, Unicode, long runs.
    fn junk(&mut self) -> String {
        const PIECES: &[&str] = &[
            "",
            "a",
            "%",
            "%2",
            "%zz",
            "%00",
            "%FF",
            "+",
            "&",
            "=",
            "#",
            "?",
            "/",
            "\\",
            ":",
            "@",
            "..",
            "\u{0}",
            "\n",
            "\r",
            " ",
            "\t",
            "é",
            "\u{202e}",
            "\u{fffd}",
            "💥",
            "\"",
            "'",
            "<",
            ">",
            "[",
            "]",
            "{",
            "}",
            "::1",
            "127.0.0.1",
            "http://",
            "https://",
            "javascript:",
            "S256",
            "plain",
            "code",
            "token",
            "Basic ",
            "Bearer ",
        ];
        let mut s = String::new();
        for _ in 0..self.below(12) {
            s.push_str(self.pick(PIECES));
        }
        if self.below(20) == 0 {
            s.push_str(&"A".repeat(self.below(70_000)));
        }
        s
    }
}

const NAMES: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "resource",
    "request",
    "request_uri",
    "response_mode",
    "grant_type",
    "code",
    "code_verifier",
    "client_secret",
    "refresh_token",
    "username",
    "password",
    "subject_token",
    "subject_token_type",
    "audience",
    "actor_token",
    "token",
    "token_type_hint",
    "requested_token_type",
    "prompt",
];

const VALUES: &[&str] = &[
    "code",
    "token",
    "public",
    "conf",
    "https://app.example.com/cb",
    "http://127.0.0.1:1/cb",
    "read",
    "read write",
    "S256",
    "plain",
    "authorization_code",
    "client_credentials",
    "password",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:token-type:access_token",
    "alice",
    "pw",
    "https://api.example.com/",
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
];

async fn server() -> AuthorizationServer {
    let users = MemoryUserDirectory::default();
    users
        .insert("alice", "pw", Scope::parse("read write").unwrap())
        .unwrap();
    let mut settings = ServerSettings::new("https://auth.example.com").unwrap();
    settings.resources = vec!["https://api.example.com/".into()];
    settings.implicit_grant = true;
    settings.password_grant = true;
    let server = AuthorizationServer::builder(settings, Arc::new(users))
        .build()
        .unwrap();
    let mut public = NewClient::manual(
        ClientType::Public,
        ClientSettings {
            name: "public".into(),
            redirect_uris: vec![
                "https://app.example.com/cb".into(),
                "http://127.0.0.1/cb".into(),
            ],
            flows: [Flow::AuthorizationCode, Flow::Implicit]
                .into_iter()
                .collect(),
            require_consent: true,
            scopes: vec!["read".into(), "write".into()],
            ..ClientSettings::default()
        },
    );
    public.client_id = Some(portcullis::ClientId::new("public").unwrap());
    server.clients().create(public).await.unwrap();
    let mut conf = NewClient::manual(
        ClientType::Confidential,
        ClientSettings {
            name: "conf".into(),
            home_url: Some("https://api.example.com/".into()),
            redirect_uris: vec!["/cb".into()],
            flows: Flow::ALL.into_iter().collect(),
            scopes: vec!["read".into()],
            resource_server: true,
            extension_grants: vec![portcullis::server::TOKEN_EXCHANGE.into()],
            ..ClientSettings::default()
        },
    );
    conf.client_id = Some(portcullis::ClientId::new("conf").unwrap());
    let secret = "conf-secret-0123456789abcdef0123456789";
    server
        .clients()
        .create_with_secret(
            conf,
            SecretChange::KeyIn {
                secret: secret.into(),
                confirmation: secret.into(),
            },
        )
        .await
        .unwrap();
    server
}

fn request(rng: &mut Rng) -> Params<'static> {
    let mut pairs = Vec::new();
    for _ in 0..rng.below(10) {
        let name = if rng.below(8) == 0 {
            rng.junk()
        } else {
            rng.pick(NAMES).to_owned()
        };
        let value = if rng.below(3) == 0 {
            rng.junk()
        } else {
            rng.pick(VALUES).to_owned()
        };
        pairs.push((name, value));
    }
    Params::new(pairs)
}

#[tokio::test]
async fn every_endpoint_answers_hostile_requests_without_panicking() {
    let server = server().await;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let auth_headers = [
        None,
        Some("Basic Y29uZjpjb25mLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OQ=="),
        Some("Basic !!!"),
        Some("Basic Og=="),
        Some("Basic JSU6JSU="),
        Some("Bearer x"),
        Some("Basic"),
        Some(""),
    ];
    for _ in 0..3000 {
        let p = request(&mut rng);
        let user = [None, Some("alice"), Some("nobody")][rng.below(3)];
        match server.authorize(&p, user).await {
            Authorize::Redirect(location) => {
                assert!(
                    location.starts_with("https://app.example.com/cb")
                        || location.starts_with("http://127.0.0.1:1/cb")
                        || location.starts_with("https://api.example.com/cb"),
                    "redirected somewhere unregistered: {location}"
                );
            }
            Authorize::Refused(e) => assert!(!e.description.is_empty()),
            Authorize::Login(_) | Authorize::Consent(_) => {}
            other => panic!("an outcome this test does not know: {other:?}"),
        }
        let _ = server
            .authorize_with_consent(&p, "alice", rng.below(2) == 0)
            .await;
        let auth = auth_headers[rng.below(auth_headers.len())];
        for r in [
            server.token(auth, &p).await,
            server.introspect(auth, &p).await,
            server.revoke(auth, &p).await,
        ] {
            assert!((200..600).contains(&r.status()));
            if r.status() != 200 {
                let body = r.json();
                assert!(body["error"].is_string(), "{}", r.body());
                let description = body["error_description"].as_str().unwrap_or("");
                assert!(
                    description
                        .chars()
                        .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\'),
                    "RFC 6749 section 5.2 character set: {description:?}"
                );
            }
        }
    }
}

#[test]
fn parsers_survive_hostile_text() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let rules = RedirectRules::compile(
        Some("https://app.example.com/"),
        &["https://eu.example.com/x/".into()],
        &[
            "/cb".into(),
            "http://127.0.0.1/cb".into(),
            "com.example.app:/cb".into(),
        ],
    )
    .unwrap();
    let challenge =
        CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("S256")).unwrap();
    for _ in 0..20_000 {
        let text = rng.junk();
        let _ = rules.check(&text);
        let _ = Scope::parse(&text);
        let _ = CodeVerifier::parse(&text);
        let _ = CodeChallenge::parse(&text, Some(&text));
        let _ = challenge.verify_str(&text);
        let _ = PkceMethod::parse(&text);
        let _ = Params::parse(&text).one("x");
        let _ = portcullis::ClientId::new(&text);
        let _ = RedirectRules::compile(
            Some(&text),
            std::slice::from_ref(&text),
            std::slice::from_ref(&text),
        );
        let _ = portcullis::client::UriPattern::parse(&text).map(|p| p.expand(&text, &text));
    }
}
