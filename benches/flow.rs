//! Whole flows, no HTTP: one authorization-code + PKCE flow for a public client with opaque
//! tokens and memory stores (authorize, then redeem the code), and one client-credentials
//! grant, each from the raw query string and form body a host's router hands over.
//!
//! `flow_growing/*` never purges: the store grows as a server's does between purges, past
//! 300,000 flows in a default run.
//!
//! One server serves every sample, as one server serves a host for its lifetime. Flows run in
//! rounds of [`ROUND`]; before each round (untimed) the benchmark clients' codes and tokens are
//! revoked, as a purge of expired records would. So the store holds the same number of records
//! whatever number of iterations criterion asks for: without rounds, a longer measurement
//! meant bigger samples, a bigger store, more cache misses, and a slower figure (2.1 µs at
//! `--measurement-time 1`, 2.7 µs at 10 on the same build).
//!
//! Two store sizes: `flow/*` starts each round from an empty store (at most `3 × ROUND`
//! records), and `flow_100k_records/*` keeps [`RESIDENT`] records of another client in the
//! store throughout, as a busy server would.
//!
//! `flow/raw_work` is the yardstick the budget is stated against: only the random values,
//! hashes and base64 of one code flow, with the general-purpose crates, no library code. The
//! host this runs on shares its cores, so absolute figures drift from run to run; the ratio of
//! a flow to the raw work, measured in the same run, drifts much less.
//!
//! Run with `cargo bench --bench flow`; figures are recorded in docs/performance.md.

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis::client::{ClientSettings, ClientType, Flow, NewClient, SecretChange};
use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
use portcullis::users::MemoryUserDirectory;
use portcullis::{AuthorizationServer, Authorize, Params, Scope, ServerSettings};
use tokio::runtime::Runtime;

const SECRET: &str = "bench-secret-0123456789abcdef0123456789";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// Flows between two purges of the benchmark clients' records.
const ROUND: u64 = 1_000;

/// Records of another client kept in the store by the `flow_100k_records` group.
const RESIDENT: usize = 100_000;

fn public_client(id: &str) -> NewClient {
    let mut client = NewClient::manual(
        ClientType::Public,
        ClientSettings {
            name: format!("bench {id}"),
            redirect_uris: vec!["https://app.example.com/cb".into()],
            flows: [Flow::AuthorizationCode].into_iter().collect(),
            scopes: vec!["read".into(), "write".into()],
            ..ClientSettings::default()
        },
    );
    client.client_id = Some(portcullis::ClientId::new(id).expect("id"));
    client
}

/// A server with the public client `public`, the confidential client `conf`, and `resident`
/// (public too), whose records fill the store in the `flow_100k_records` group.
fn setup(rt: &Runtime) -> AuthorizationServer {
    rt.block_on(async {
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
        for id in ["public", "resident"] {
            server
                .clients()
                .create(public_client(id))
                .await
                .expect("client");
        }
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

/// The S256 challenge of [`VERIFIER`].
fn challenge() -> CodeChallenge {
    let verifier = CodeVerifier::parse(VERIFIER).expect("verifier");
    CodeChallenge::from_verifier(&verifier, PkceMethod::S256)
}

/// The authorization request of `client_id`, as the raw query string a router hands over.
fn authorize_query(client_id: &str, challenge: &CodeChallenge) -> String {
    format!(
        "response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb\
         &scope=read&state=af0ifjsldkj&code_challenge={}&code_challenge_method=S256",
        challenge.as_str()
    )
}

/// One whole flow as a host runs it, from the raw query string and form body: parse and
/// authorize, then build the token request's body, parse it and redeem the code for an
/// access and a refresh token.
async fn code_flow(server: &AuthorizationServer, query: &str, client_id: &str) {
    let params = Params::parse(black_box(query));
    let Authorize::Redirect(location) = server.authorize(&params, Some("alice")).await else {
        panic!("expected a redirect");
    };
    // The code is the first parameter: `…/cb?code=<43 characters>&state=…`.
    let at = location.find('?').expect("query") + "?code=".len();
    assert_eq!(location.get(at - 5..at), Some("code="));
    let code = location.get(at..at + 43).expect("code");
    let body = format!(
        "grant_type=authorization_code&code={code}\
         &redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&client_id={client_id}\
         &code_verifier={VERIFIER}"
    );
    let r = server.token(None, &Params::parse(black_box(&body))).await;
    assert_eq!(r.status(), 200);
    black_box(r);
}

/// Revokes the benchmark clients' codes and tokens; `resident`'s stay.
fn clear(rt: &Runtime, server: &AuthorizationServer) {
    rt.block_on(async {
        for id in ["public", "conf"] {
            let id = portcullis::ClientId::new(id).expect("id");
            server.tokens().revoke_client(&id).await.expect("revoke");
        }
    });
}

/// Runs `iters` flows in rounds of [`ROUND`], each round after a purge, and returns the time
/// the flows took (purges left out).
fn in_rounds<Fut: Future<Output = ()>>(
    rt: &Runtime,
    server: &AuthorizationServer,
    iters: u64,
    flow: impl Fn() -> Fut,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(ROUND);
        clear(rt, server);
        let start = Instant::now();
        rt.block_on(async {
            for _ in 0..n {
                flow().await;
            }
        });
        total += start.elapsed();
        left -= n;
    }
    total
}

/// The two benchmarks of a group. `prepare` runs (untimed) before each measurement, and is
/// where a group fills its store, so that filtering the benchmarks skips that work too.
fn bench_group(
    c: &mut Criterion,
    group: &str,
    rt: &Runtime,
    server: &AuthorizationServer,
    prepare: &dyn Fn(),
) {
    let challenge = challenge();
    let authorize = authorize_query("public", &challenge);
    let cc = format!("grant_type=client_credentials&client_id=conf&client_secret={SECRET}");
    let mut g = c.benchmark_group(group);
    g.bench_function("authorization_code_pkce", |b| {
        b.iter_custom(|iters| {
            prepare();
            in_rounds(rt, server, iters, || {
                code_flow(server, &authorize, "public")
            })
        })
    });
    g.bench_function("client_credentials", |b| {
        b.iter_custom(|iters| {
            prepare();
            in_rounds(rt, server, iters, || async {
                let r = server.token(None, &Params::parse(black_box(&cc))).await;
                assert_eq!(r.status(), 200);
                black_box(r);
            })
        })
    });
    g.finish();
}

/// 32 bytes at a time from a 4 KiB buffer refilled by the OS generator, as the library draws.
struct Pool {
    at: usize,
    buf: [u8; 4096],
}

impl Pool {
    fn take(&mut self) -> [u8; 32] {
        use rand::TryRng as _;
        if self.at + 32 > self.buf.len() {
            rand::rngs::SysRng
                .try_fill_bytes(&mut self.buf)
                .expect("OS generator");
            self.at = 0;
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.buf[self.at..self.at + 32]);
        self.at += 32;
        out
    }
}

/// The raw work of one code flow: three random values (a code and two tokens), their base64url
/// text, five SHA-256 digests (the code when issued and when redeemed, the PKCE verifier, the
/// two tokens) and the verifier's digest in base64url. Text goes to stack buffers, as the
/// library's does: no allocation.
fn raw_work(c: &mut Criterion) {
    use base64::prelude::{BASE64_URL_SAFE_NO_PAD, Engine as _};
    use sha2::{Digest, Sha256};
    fn encode(bytes: &[u8]) -> [u8; 43] {
        let mut text = [0u8; 43];
        let n = BASE64_URL_SAFE_NO_PAD
            .encode_slice(bytes, &mut text)
            .expect("43 characters");
        assert_eq!(n, 43);
        text
    }
    let mut pool = Pool {
        at: 4096,
        buf: [0; 4096],
    };
    c.bench_function("flow/raw_work", |b| {
        b.iter(|| {
            let code = encode(&pool.take());
            black_box(Sha256::digest(code));
            black_box(Sha256::digest(black_box(code)));
            black_box(encode(&Sha256::digest(black_box(VERIFIER).as_bytes())));
            for _ in 0..2 {
                let token = encode(&pool.take());
                black_box(Sha256::digest(token));
            }
        })
    });
}

fn flows(c: &mut Criterion) {
    raw_work(c);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");

    let server = setup(&rt);
    bench_group(c, "flow", &rt, &server, &|| {});
    drop(server);

    let server = setup(&rt);
    let challenge = challenge();
    let resident = authorize_query("resident", &challenge);
    let filled = std::cell::Cell::new(false);
    // Every flow leaves three records: a taken code, an access and a refresh token.
    let fill = || {
        if !filled.replace(true) {
            rt.block_on(async {
                for _ in 0..RESIDENT.div_ceil(3) {
                    code_flow(&server, &resident, "resident").await;
                }
            });
        }
    };
    bench_group(c, "flow_100k_records", &rt, &server, &fill);
    drop(server);

    growing(c, &rt);
}

/// The store as a server's grows between purges: one server, never purged, for every sample
/// and the warm-up. At criterion's default 5 s of measurement and a few microseconds a flow
/// that is well over the 300,000 flows (900,000 records) the figure must cover; the count is
/// printed at the end so a run shows it.
fn growing(c: &mut Criterion, rt: &Runtime) {
    let server = setup(rt);
    let challenge = challenge();
    let authorize = authorize_query("public", &challenge);
    let flows = std::cell::Cell::new(0u64);
    let mut g = c.benchmark_group("flow_growing");
    g.bench_function("authorization_code_pkce", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    code_flow(&server, &authorize, "public").await;
                }
            });
            flows.set(flows.get() + iters);
            start.elapsed()
        })
    });
    g.finish();
    println!(
        "flow_growing: {} flows into one store, never purged",
        flows.get()
    );
}

criterion_group!(benches, flows);
criterion_main!(benches);
