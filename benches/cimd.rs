//! An authorization request for a client registered from its metadata document, served from
//! the document cache, against the same request for a client an administrator registered, in
//! the same run. Both are approved requests (`authorize_with_consent`), so both end in a code:
//! an auto-registered client is asked for consent every time.
//!
//! Run with `cargo bench --bench cimd`; the ratio is printed at the end and recorded in
//! docs/performance.md. Budget: within 1.5 times.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use portcullis::client::{ClientSettings, ClientType, Flow, NewClient};
use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
use portcullis::store::memory::MemoryFetcher;
use portcullis::store::{HttpMethod, HttpResponse};
use portcullis::users::MemoryUserDirectory;
use portcullis::{AuthorizationServer, Authorize, ClientId, Params, Scope, ServerSettings};

const CIMD_ID: &str = "https://mcp.example.com/oauth/client.json";
const REDIRECT: &str = "http://127.0.0.1:33418/callback";

fn server(rt: &tokio::runtime::Runtime) -> AuthorizationServer {
    let mut settings = ServerSettings::new("https://auth.example.com").expect("issuer");
    settings.cimd_enabled = true;
    settings.cimd.scopes = vec!["read".into()];
    let users = MemoryUserDirectory::default();
    users
        .insert("alice", "pw", Scope::parse("read").expect("scope"))
        .expect("rng");
    let fetcher = MemoryFetcher::default();
    fetcher.route(
        HttpMethod::Get,
        CIMD_ID,
        Ok(HttpResponse {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                // Kept for the whole run.
                ("Cache-Control".into(), "max-age=86400".into()),
            ],
            body: serde_json::to_vec(&serde_json::json!({
                "client_id": CIMD_ID,
                "client_name": "Bench MCP client",
                "redirect_uris": [REDIRECT],
            }))
            .expect("json"),
        }),
    );
    let server = AuthorizationServer::builder(settings, Arc::new(users))
        .fetcher(Arc::new(fetcher))
        .build()
        .expect("server");
    rt.block_on(async {
        let mut manual = NewClient::manual(
            ClientType::Public,
            ClientSettings {
                name: "Bench manual client".into(),
                redirect_uris: vec![REDIRECT.into()],
                flows: [Flow::AuthorizationCode].into_iter().collect(),
                require_consent: true,
                scopes: vec!["read".into()],
                ..ClientSettings::default()
            },
        );
        manual.client_id = Some(ClientId::new("manual").expect("id"));
        server.clients().create(manual).await.expect("client");
    });
    server
}

fn query(client_id: &str) -> String {
    let verifier =
        CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").expect("verifier");
    let challenge = CodeChallenge::from_verifier(&verifier, PkceMethod::S256);
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "read"),
            ("state", "af0ifjsldkj"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .finish()
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let server = server(&rt);
    let (manual, cimd) = (query("manual"), query(CIMD_ID));
    let approve = |q: &str| {
        rt.block_on(async {
            let out = server
                .authorize_with_consent(&Params::parse(black_box(q)), "alice", true)
                .await;
            assert!(matches!(out, Authorize::Redirect(_)), "{out:?}");
        })
    };
    // Registers the client and fills the cache, untimed.
    approve(&cimd);

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("cimd_authorize");
    for (name, q) in [("manual", &manual), ("auto_registered_cached", &cimd)] {
        g.bench_function(name, |b| b.iter(|| approve(q)));
    }
    g.finish();
    c.final_summary();

    // The ratio from turns taken alternately, so that the host's drift and the store's growth
    // (every request stores a code) fall on both sides alike.
    let (turns, per_turn) = if bench { (20, 5_000) } else { (2, 2) };
    let mut totals = [Duration::ZERO; 2];
    for _ in 0..turns {
        for (side, q) in [(0, &manual), (1, &cimd)] {
            let start = Instant::now();
            for _ in 0..per_turn {
                approve(q);
            }
            totals[side] += start.elapsed();
        }
    }
    let n = f64::from(turns * per_turn);
    let (m, a) = (totals[0].as_secs_f64() / n, totals[1].as_secs_f64() / n);
    println!(
        "cimd_authorize: auto-registered (cached) / manual = {:.2}  (means over {} alternating \
         turns of {}: {:.3} µs, {:.3} µs){}",
        a / m,
        turns,
        per_turn,
        a * 1e6,
        m * 1e6,
        if bench {
            ""
        } else {
            " [debug build: the ratio means nothing]"
        }
    );
}
