//! Whole flows, no HTTP: one authorization-code + PKCE flow for a public client with opaque
//! tokens and memory stores (authorize, then redeem the code), and one client-credentials
//! grant.
//!
//! One server serves every sample, as one server serves a host for its lifetime. Before each
//! sample (untimed) the client's codes and tokens are revoked, so each sample starts from an
//! empty store, as after a purge of expired records, and the store never holds more than one
//! sample's records. Memory freed that way is reused, as in a long-running server; creating a
//! server per sample instead makes every sample pay for fresh pages from the kernel, which a
//! running server does not (docs/performance.md has both figures).
//!
//! Run with `cargo bench --bench flow`; figures are recorded in docs/performance.md.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis::client::{ClientSettings, ClientType, Flow, NewClient, SecretChange};
use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
use portcullis::users::MemoryUserDirectory;
use portcullis::{AuthorizationServer, Authorize, Params, Scope, ServerSettings};

const SECRET: &str = "bench-secret-0123456789abcdef0123456789";

fn setup(rt: &tokio::runtime::Runtime) -> AuthorizationServer {
    rt.block_on(async {
        let users = MemoryUserDirectory::default();
        users
            .insert("alice", "pw", Scope::parse("read write").expect("scope"))
            .expect("rng");
        let server = AuthorizationServer::builder(
            ServerSettings::new("https://auth.example.com").expect("issuer"),
        )
        .users(Arc::new(users))
        .build()
        .expect("server");
        let mut public = NewClient::manual(
            ClientType::Public,
            ClientSettings {
                name: "bench public".into(),
                redirect_uris: vec!["https://app.example.com/cb".into()],
                flows: [Flow::AuthorizationCode].into_iter().collect(),
                scopes: vec!["read".into(), "write".into()],
                ..ClientSettings::default()
            },
        );
        public.client_id = Some(portcullis::ClientId::new("public").expect("id"));
        server.clients().create(public).await.expect("client");
        let mut conf = NewClient::manual(
            ClientType::Confidential,
            ClientSettings {
                name: "bench confidential".into(),
                flows: [Flow::ClientCredentials].into_iter().collect(),
                scopes: vec!["read".into()],
                ..ClientSettings::default()
            },
        );
        conf.client_id = Some(portcullis::ClientId::new("conf").expect("id"));
        server
            .clients()
            .create_with_secret(
                conf,
                SecretChange::KeyIn {
                    secret: SECRET.into(),
                    confirmation: SECRET.into(),
                },
            )
            .await
            .expect("client");
        server
    })
}

/// Revokes every code and token (untimed), so the next sample starts from an empty store.
fn clear(rt: &tokio::runtime::Runtime, server: &AuthorizationServer) {
    rt.block_on(async {
        for id in ["public", "conf"] {
            let id = portcullis::ClientId::new(id).expect("id");
            server.tokens().revoke_client(&id).await.expect("revoke");
        }
    });
}

fn flows(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let verifier =
        CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").expect("verifier");
    let challenge = CodeChallenge::from_verifier(&verifier, PkceMethod::S256);
    let authorize: Params = [
        ("response_type", "code"),
        ("client_id", "public"),
        ("redirect_uri", "https://app.example.com/cb"),
        ("scope", "read"),
        ("state", "af0ifjsldkj"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .collect();

    let server = setup(&rt);
    c.bench_function("flow/authorization_code_pkce", |b| {
        b.iter_custom(|iters| {
            clear(&rt, &server);
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    let Authorize::Redirect(location) =
                        server.authorize(black_box(&authorize), Some("alice")).await
                    else {
                        panic!("expected a redirect");
                    };
                    // The code is the first parameter: `…/cb?code=<43 characters>&state=…`.
                    let at = location.find('?').expect("query") + "?code=".len();
                    assert_eq!(location.get(at - 5..at), Some("code="));
                    let code = location.get(at..at + 43).expect("code").to_owned();
                    let token: Params = [
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", "https://app.example.com/cb"),
                        ("client_id", "public"),
                        ("code_verifier", verifier.secret()),
                    ]
                    .into_iter()
                    .collect();
                    let r = server.token(None, &token).await;
                    assert_eq!(r.status, 200);
                    black_box(r);
                }
            });
            start.elapsed()
        })
    });

    let cc: Params = [
        ("grant_type", "client_credentials"),
        ("client_id", "conf"),
        ("client_secret", SECRET),
    ]
    .into_iter()
    .collect();
    c.bench_function("flow/client_credentials", |b| {
        b.iter_custom(|iters| {
            clear(&rt, &server);
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    black_box(server.token(None, black_box(&cc)).await);
                }
            });
            start.elapsed()
        })
    });
}

criterion_group!(benches, flows);
criterion_main!(benches);
