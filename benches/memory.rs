//! Memory per live token pair, portcullis against oxide-auth 0.6, in the same run.
//!
//! Each side runs N authorization-code + PKCE flows for a public client (authorize for a
//! logged-in user, then redeem the code), from the raw query string and form body as in
//! benches/versus.rs, and keeps every result in its memory stores: an access and a refresh
//! token per flow, plus whatever the side keeps of the redeemed code (portcullis keeps the
//! taken code's record until it expires and is purged, for replay detection; oxide-auth's
//! `AuthMap` drops it). The figure is the growth of the resident set over those N flows
//! divided by N, read from `/proc/self/statm` (resident pages × 4096). It includes whatever
//! the stores' hash tables hold spare and whatever the allocator keeps from freed blocks: what
//! a host would see.
//!
//! Each side is measured in its own child process (this binary run again with `--side`), so
//! neither inherits the other's heap: memory freed by the first side would not reliably leave
//! the resident set, and would flatter the second. In each child a few flows run before the
//! first reading, so that the runtime, lazy statics and the first table allocations are in
//! the baseline.
//!
//! N is 1,000,000 under `cargo bench --bench memory` (cargo then passes `--bench`), and 1,000
//! otherwise, so that `cargo test --benches` stays fast (the figure then says little: a few
//! hundred kilobytes against page and table granularity).

use std::collections::HashMap;
use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;

use oxide_auth::endpoint::{
    AccessTokenFlow, AuthorizationFlow, OwnerConsent, OwnerSolicitor, Solicitation,
};
use oxide_auth::frontends::simple::endpoint::{Generic, Vacant};
use oxide_auth::frontends::simple::extensions::{AddonList, Extended, Pkce};
use oxide_auth::frontends::simple::request::{Body, Request, Response, Status};
use oxide_auth::primitives::authorizer::AuthMap;
use oxide_auth::primitives::generator::RandomGenerator;
use oxide_auth::primitives::issuer::TokenMap;
use oxide_auth::primitives::registrar::{Client, ClientMap, ExactUrl, RegisteredUrl};
use portcullis::client::{ClientSettings, ClientType, Flow, NewClient};
use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
use portcullis::users::MemoryUserDirectory;
use portcullis::{AuthorizationServer, Authorize, Params, Scope, ServerSettings};

const REDIRECT: &str = "https://app.example.com/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// Random bytes per code and token on the oxide-auth side, as portcullis draws.
const TOKEN_BYTES: usize = 32;
/// Flows before the first reading.
const WARM_UP: usize = 100;
const PAGE: u64 = 4096;

/// Resident memory in bytes: the second field of `/proc/self/statm`, in pages.
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("resident pages");
    pages * PAGE
}

fn authorize_query() -> String {
    let verifier = CodeVerifier::parse(VERIFIER).expect("verifier");
    let challenge = CodeChallenge::from_verifier(&verifier, PkceMethod::S256);
    format!(
        "response_type=code&client_id=public&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb\
         &scope=read&state=af0ifjsldkj&code_challenge={}&code_challenge_method=S256",
        challenge.as_str()
    )
}

fn code_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}\
         &redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_verifier={VERIFIER}\
         &client_id=public"
    )
}

/// The value of `name` in a URL's query, as it stands there.
fn query_param<'a>(url: &'a str, name: &str) -> &'a str {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// Resident growth over `n` flows of `flow`, after [`WARM_UP`] of them.
fn growth(n: usize, mut flow: impl FnMut()) -> u64 {
    for _ in 0..WARM_UP {
        flow();
    }
    let before = resident();
    for _ in 0..n {
        flow();
    }
    resident().saturating_sub(before)
}

fn portcullis(n: usize) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let server = rt.block_on(async {
        let users = MemoryUserDirectory::default();
        users
            .insert("alice", "pw", Scope::parse("read write").expect("scope"))
            .expect("rng");
        let server = AuthorizationServer::builder(
            ServerSettings::new("https://auth.example.com").expect("issuer"),
            Arc::new(users),
        )
        .build()
        .expect("server");
        let mut client = NewClient::manual(
            ClientType::Public,
            ClientSettings {
                name: "bench public".into(),
                redirect_uris: vec![REDIRECT.into()],
                flows: [Flow::AuthorizationCode].into_iter().collect(),
                scopes: vec!["read".into(), "write".into()],
                ..ClientSettings::default()
            },
        );
        client.client_id = Some(portcullis::ClientId::new("public").expect("id"));
        server.clients().create(client).await.expect("client");
        server
    });
    let query = authorize_query();
    growth(n, || {
        rt.block_on(async {
            let Authorize::Redirect(location) = server
                .authorize(&Params::parse(black_box(&query)), Some("alice"))
                .await
            else {
                panic!("expected a redirect");
            };
            let body = code_body(query_param(&location, "code"));
            let r = server.token(None, &Params::parse(&body)).await;
            assert_eq!(r.status(), 200, "{}", r.body());
            black_box(r);
        })
    })
}

struct LoggedIn;

impl OwnerSolicitor<Request> for LoggedIn {
    fn check_consent(&mut self, _: &mut Request, _: Solicitation) -> OwnerConsent<Response> {
        OwnerConsent::Authorized("alice".to_owned())
    }
}

fn form(encoded: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(encoded.as_bytes())
        .into_owned()
        .collect()
}

fn oxide(n: usize) -> u64 {
    let mut registrar = ClientMap::new();
    registrar.register_client(Client::public(
        "public",
        RegisteredUrl::Exact(ExactUrl::new(REDIRECT.into()).expect("url")),
        "read".parse().expect("scope"),
    ));
    let mut authorizer = AuthMap::new(RandomGenerator::new(TOKEN_BYTES));
    let mut issuer = TokenMap::new(RandomGenerator::new(TOKEN_BYTES));
    let mut addons = AddonList::new();
    addons.push_code(Pkce::required());
    let query = authorize_query();
    growth(n, || {
        let request = Request {
            query: form(black_box(&query)),
            ..Request::default()
        };
        let endpoint = Extended::extend_with(
            Generic {
                registrar: &registrar,
                authorizer: &mut authorizer,
                issuer: Vacant,
                solicitor: LoggedIn,
                scopes: Vacant,
                response: Vacant,
            },
            &mut addons,
        );
        let r = AuthorizationFlow::prepare(endpoint)
            .expect("flow")
            .execute(request)
            .expect("authorize");
        assert_eq!(r.status, Status::Redirect);
        let location: String = r.location.expect("location").into();
        let request = Request {
            urlbody: form(&code_body(query_param(&location, "code"))),
            ..Request::default()
        };
        let endpoint = Extended::extend_with(
            Generic {
                registrar: &registrar,
                authorizer: &mut authorizer,
                issuer: &mut issuer,
                solicitor: Vacant,
                scopes: Vacant,
                response: Vacant,
            },
            &mut addons,
        );
        let r = AccessTokenFlow::prepare(endpoint)
            .expect("flow")
            .execute(request)
            .expect("token");
        assert_eq!(r.status, Status::Ok, "{:?}", r.body);
        assert!(matches!(r.body, Some(Body::Json(_))));
        black_box(r);
    })
}

/// Runs one side in a child process; its resident growth in bytes.
fn child(side: &str, n: usize) -> u64 {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe)
        .args(["--side", side, &n.to_string()])
        .output()
        .expect("child process");
    assert!(
        out.status.success(),
        "{side}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("growth "))
        .and_then(|g| g.trim().parse().ok())
        .unwrap_or_else(|| panic!("{side}: no growth in the child's output"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--side") {
        let side = args.get(at + 1).expect("side");
        let n: usize = args
            .get(at + 2)
            .and_then(|n| n.parse().ok())
            .expect("count");
        let bytes = match side.as_str() {
            "portcullis" => portcullis(n),
            "oxide-auth" => oxide(n),
            other => panic!("unknown side {other}"),
        };
        println!("growth {bytes}");
        return;
    }
    let n = if args.iter().any(|a| a == "--bench") {
        1_000_000
    } else {
        1_000
    };
    let per_pair = |side| child(side, n) as f64 / n as f64;
    let p = per_pair("portcullis");
    let o = per_pair("oxide-auth");
    println!(
        "memory: {n} live pairs per side, each side in its own process; bytes of resident growth per pair"
    );
    println!("memory portcullis: {p:.0}/pair");
    println!("memory oxide-auth: {o:.0}/pair");
    println!("memory portcullis / oxide-auth = {:.2}", p / o);
}
