//! portcullis against oxide-auth 0.6, in the same run, on five workloads. No HTTP: each side
//! is called with what a host's router hands over, the raw query string, form body and
//! `Authorization` header, and each side turns them into its own request type inside the
//! timed part (portcullis: `Params::parse`; oxide-auth: `frontends::simple::request::Request`
//! with its maps filled by `url::form_urlencoded`, as its own frontends do).
//!
//! - `code_pkce`: a public client, S256 PKCE required, a logged-in user; authorize, then
//!   redeem the code for an access and a refresh token.
//! - `code_basic`: the same flow for a confidential client, authenticating at the token
//!   endpoint with HTTP Basic (PKCE required too).
//! - `client_credentials`: the confidential client, HTTP Basic, one access token.
//! - `refresh_rotation`: one refresh per iteration, each with the refresh token the previous
//!   one returned.
//! - `bearer_10k`: checking an `Authorization: Bearer` header against 10,000 live tokens
//!   (plus their refresh tokens), with a `read` scope requirement.
//!
//! Like for like: both sides keep codes and tokens in their memory stores, draw 32 random bytes
//! per code and token from the OS, and check client secrets with a salted SHA-256 and a
//! constant-time compare. oxide-auth's default password policy is Argon2id (about 0.3 s per
//! check on the development machine); the oxide-auth clients here use [`SaltedSha256`], the
//! same work portcullis does, and under `cargo bench` the cost of one default Argon2 check is
//! printed separately.
//!
//! Growing stores would favour the slower side (fewer iterations, a smaller store), so the flow
//! workloads run in rounds of [`ROUND`] iterations, and each round starts (untimed) from a
//! freshly built server on both sides. `bearer_10k` builds its stores once. After them,
//! `code_pkce_growing` runs the code + PKCE flow the way a server's store grows between purges:
//! [`GROWING`] flows per side into one store each, never purged, the sides taking turns.
//!
//! Each (workload, side) adds up the time and iterations of every call criterion makes
//! (warm-up included); after the groups one line per workload prints
//! `versus <workload>: oxide-auth / portcullis = <ratio>`, above 1 when portcullis is faster.
//!
//! Run with `cargo bench --bench versus`; figures are recorded in docs/performance.md.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::prelude::{BASE64_STANDARD, Engine as _};
use criterion::Criterion;
use oxide_auth::endpoint::{
    AccessTokenFlow, AuthorizationFlow, OwnerConsent, OwnerSolicitor, Solicitation,
};
use oxide_auth::frontends::simple::endpoint::{
    Generic, Vacant, client_credentials_flow, refresh_flow, resource_flow,
};
use oxide_auth::frontends::simple::extensions::{AddonList, Extended, Pkce};
use oxide_auth::frontends::simple::request::{Body, Request, Response, Status};
use oxide_auth::primitives::authorizer::AuthMap;
use oxide_auth::primitives::generator::RandomGenerator;
use oxide_auth::primitives::issuer::TokenMap;
use oxide_auth::primitives::registrar::{
    Client, ClientMap, ExactUrl, PasswordPolicy, RegisteredUrl, Registrar, RegistrarError,
};
use portcullis::client::{ClientSettings, ClientType, Flow, NewClient, SecretChange};
use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
use portcullis::users::MemoryUserDirectory;
use portcullis::{AuthorizationServer, Authorize, Params, Scope, ServerSettings};
use tokio::runtime::Runtime;

const ISSUER: &str = "https://auth.example.com";
const REDIRECT: &str = "https://app.example.com/cb";
/// Only unreserved characters, so its form-encoded form (RFC 6749 §2.3.1) is itself: the same
/// `Authorization` header is right for both sides (oxide-auth does not form-decode it).
const SECRET: &str = "bench-secret-0123456789abcdef0123456789";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// Random bytes per code and token on the oxide-auth side, as portcullis draws.
const TOKEN_BYTES: usize = 32;

/// Iterations between two fresh servers.
const ROUND: u64 = 1_000;
/// Live access tokens in the stores of `bearer_10k`.
const LIVE: usize = 10_000;

const PORTCULLIS: usize = 0;
const OXIDE: usize = 1;
const SIDES: [&str; 2] = ["portcullis", "oxide-auth"];

// ----- What a client sends, the same on both sides -------------------------------------------

fn challenge() -> String {
    let verifier = CodeVerifier::parse(VERIFIER).expect("verifier");
    CodeChallenge::from_verifier(&verifier, PkceMethod::S256)
        .as_str()
        .to_owned()
}

fn authorize_query(client_id: &str, challenge: &str) -> String {
    format!(
        "response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb\
         &scope=read&state=af0ifjsldkj&code_challenge={challenge}&code_challenge_method=S256"
    )
}

/// The token request's body; a public client names itself, a confidential one authenticates
/// in the header instead (oxide-auth refuses both at once).
fn code_body(code: &str, client_id: Option<&str>) -> String {
    let mut body = format!(
        "grant_type=authorization_code&code={code}\
         &redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_verifier={VERIFIER}"
    );
    if let Some(id) = client_id {
        body.push_str("&client_id=");
        body.push_str(id);
    }
    body
}

fn refresh_body(refresh_token: &str) -> String {
    let token: String = url::form_urlencoded::byte_serialize(refresh_token.as_bytes()).collect();
    format!("grant_type=refresh_token&refresh_token={token}&client_id=public")
}

/// `Basic base64(urlencode(id):urlencode(secret))`; both are unreserved text here.
fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", BASE64_STANDARD.encode(format!("{id}:{secret}")))
}

/// The value of `name` in a URL's query, as it stands there (still form-encoded, which is
/// what goes into the token request's form body).
fn query_param<'a>(url: &'a str, name: &str) -> &'a str {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// A string field of a compact JSON object whose value has no escapes (codes and tokens).
fn json_field<'a>(body: &'a str, name: &str) -> &'a str {
    let at = body
        .match_indices(name)
        .find(|(i, _)| body[..*i].ends_with('"') && body[i + name.len()..].starts_with('"'))
        .map(|(i, _)| i + name.len() + 1)
        .unwrap_or_else(|| panic!("no {name} in {body}"));
    let rest = body[at..].trim_start().strip_prefix(':').expect("colon");
    let rest = rest.trim_start().strip_prefix('"').expect("string");
    &rest[..rest.find('"').expect("closing quote")]
}

// ----- portcullis ----------------------------------------------------------------------------

fn portcullis_server(rt: &Runtime) -> AuthorizationServer {
    rt.block_on(async {
        let users = MemoryUserDirectory::default();
        users
            .insert("alice", "pw", Scope::parse("read write").expect("scope"))
            .expect("rng");
        let server = AuthorizationServer::builder(
            ServerSettings::new(ISSUER).expect("issuer"),
            Arc::new(users),
        )
        .build()
        .expect("server");
        let mut public = NewClient::manual(
            ClientType::Public,
            ClientSettings {
                name: "bench public".into(),
                redirect_uris: vec![REDIRECT.into()],
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
                redirect_uris: vec![REDIRECT.into()],
                flows: [Flow::AuthorizationCode, Flow::ClientCredentials]
                    .into_iter()
                    .collect(),
                require_pkce: true,
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

/// Authorize for alice, then redeem the code; the token response's body.
async fn portcullis_code_flow(
    server: &AuthorizationServer,
    query: &str,
    auth: Option<&str>,
    client_id: Option<&str>,
) -> String {
    let Authorize::Redirect(location) = server
        .authorize(&Params::parse(black_box(query)), Some("alice"))
        .await
    else {
        panic!("expected a redirect");
    };
    let body = code_body(query_param(&location, "code"), client_id);
    let r = server.token(auth, &Params::parse(black_box(&body))).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    r.into_body()
}

async fn portcullis_token(server: &AuthorizationServer, auth: Option<&str>, body: &str) -> String {
    let r = server.token(auth, &Params::parse(black_box(body))).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    r.into_body()
}

/// What a resource server does with the header: the token, checked for this audience, and
/// the scope it needs.
async fn portcullis_bearer(server: &AuthorizationServer, header: &str) -> bool {
    let Some((scheme, token)) = header.split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    match server.validate_access_token(token.trim(), ISSUER).await {
        Ok(info) => info.scope.contains("read"),
        Err(_) => false,
    }
}

// ----- oxide-auth ----------------------------------------------------------------------------

/// Client secrets as portcullis keeps them: a 16-byte salt and SHA-256 over salt and secret,
/// compared in constant time (`sha2`, `subtle`). Stored as salt ‖ digest.
struct SaltedSha256;

fn salted(salt: &[u8], secret: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(salt);
    h.update(secret);
    h.finalize().into()
}

impl PasswordPolicy for SaltedSha256 {
    fn store(&self, _client_id: &str, passphrase: &[u8]) -> Vec<u8> {
        use rand::TryRng as _;
        let mut salt = [0u8; 16];
        rand::rngs::SysRng
            .try_fill_bytes(&mut salt)
            .expect("OS generator");
        let mut stored = salt.to_vec();
        stored.extend_from_slice(&salted(&salt, passphrase));
        stored
    }

    fn check(
        &self,
        _client_id: &str,
        passphrase: &[u8],
        stored: &[u8],
    ) -> Result<(), RegistrarError> {
        use subtle::ConstantTimeEq as _;
        if stored.len() != 48 {
            return Err(RegistrarError::PrimitiveError);
        }
        let (salt, digest) = stored.split_at(16);
        if bool::from(salted(salt, passphrase).ct_eq(digest)) {
            Ok(())
        } else {
            Err(RegistrarError::Unspecified)
        }
    }
}

/// The logged-in user approves: what a host's solicitor answers once its session says alice.
struct LoggedIn;

impl OwnerSolicitor<Request> for LoggedIn {
    fn check_consent(&mut self, _: &mut Request, _: Solicitation) -> OwnerConsent<Response> {
        OwnerConsent::Authorized("alice".to_owned())
    }
}

/// Client credentials: the client acts for itself.
struct ClientItself;

impl OwnerSolicitor<Request> for ClientItself {
    fn check_consent(&mut self, _: &mut Request, s: Solicitation) -> OwnerConsent<Response> {
        OwnerConsent::Authorized(s.pre_grant().client_id.clone())
    }
}

/// oxide-auth's memory primitives, with PKCE required for the code flow.
struct Oxide {
    registrar: ClientMap,
    authorizer: AuthMap<RandomGenerator>,
    issuer: TokenMap<RandomGenerator>,
    addons: AddonList,
    scopes: Vec<oxide_auth::primitives::scope::Scope>,
}

fn form(encoded: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(encoded.as_bytes())
        .into_owned()
        .collect()
}

/// oxide-auth's request type from the raw query string, form body and header.
fn request(query: &str, body: &str, auth: Option<&str>) -> Request {
    Request {
        query: form(query),
        urlbody: form(body),
        auth: auth.map(str::to_owned),
    }
}

fn json_body(r: Response) -> String {
    assert_eq!(r.status, Status::Ok, "{:?}", r.body);
    match r.body {
        Some(Body::Json(body)) => body,
        other => panic!("expected a JSON body, got {other:?}"),
    }
}

impl Oxide {
    fn new() -> Self {
        let mut registrar = ClientMap::new();
        registrar.set_password_policy(SaltedSha256);
        let url = || RegisteredUrl::Exact(ExactUrl::new(REDIRECT.into()).expect("url"));
        let read = || "read".parse().expect("scope");
        registrar.register_client(Client::public("public", url(), read()));
        registrar.register_client(Client::confidential(
            "conf",
            url(),
            read(),
            SECRET.as_bytes(),
        ));
        let mut addons = AddonList::new();
        addons.push_code(Pkce::required());
        Oxide {
            registrar,
            authorizer: AuthMap::new(RandomGenerator::new(TOKEN_BYTES)),
            issuer: TokenMap::new(RandomGenerator::new(TOKEN_BYTES)),
            addons,
            scopes: vec!["read".parse().expect("scope")],
        }
    }

    /// The redirect's location.
    fn authorize(&mut self, query: &str) -> String {
        let endpoint = Extended::extend_with(
            Generic {
                registrar: &self.registrar,
                authorizer: &mut self.authorizer,
                issuer: Vacant,
                solicitor: LoggedIn,
                scopes: Vacant,
                response: Vacant,
            },
            &mut self.addons,
        );
        let r = AuthorizationFlow::prepare(endpoint)
            .expect("flow")
            .execute(request(black_box(query), "", None))
            .expect("authorize");
        assert_eq!(r.status, Status::Redirect);
        r.location.expect("location").into()
    }

    fn redeem(&mut self, auth: Option<&str>, body: &str) -> String {
        let endpoint = Extended::extend_with(
            Generic {
                registrar: &self.registrar,
                authorizer: &mut self.authorizer,
                issuer: &mut self.issuer,
                solicitor: Vacant,
                scopes: Vacant,
                response: Vacant,
            },
            &mut self.addons,
        );
        let r = AccessTokenFlow::prepare(endpoint)
            .expect("flow")
            .execute(request("", black_box(body), auth))
            .expect("token");
        json_body(r)
    }

    fn code_flow(&mut self, query: &str, auth: Option<&str>, client_id: Option<&str>) -> String {
        let location = self.authorize(query);
        let body = code_body(query_param(&location, "code"), client_id);
        self.redeem(auth, &body)
    }

    fn client_credentials(&mut self, auth: &str, body: &str) -> String {
        let mut solicitor = ClientItself;
        let r = client_credentials_flow(&self.registrar, &mut self.issuer, &mut solicitor)
            .execute(request("", black_box(body), Some(auth)))
            .expect("client credentials");
        json_body(r)
    }

    fn refresh(&mut self, body: &str) -> String {
        let r = refresh_flow(&self.registrar, &mut self.issuer)
            .execute(request("", black_box(body), None))
            .expect("refresh");
        json_body(r)
    }

    fn bearer(&mut self, header: &str) -> bool {
        let req = Request {
            auth: Some(header.to_owned()),
            ..Request::default()
        };
        resource_flow(&mut self.issuer, &self.scopes)
            .execute(req)
            .is_ok()
    }
}

// ----- Measuring -----------------------------------------------------------------------------

/// Total time and iterations of one side of one workload.
type Tally = (Duration, u64);

/// Time and iterations per (workload, side), over every call criterion makes.
#[derive(Default)]
struct Totals(RefCell<Vec<(&'static str, [Tally; 2])>>);

impl Totals {
    fn add(&self, workload: &'static str, side: usize, time: Duration, iters: u64) {
        let mut all = self.0.borrow_mut();
        let at = match all.iter().position(|(w, _)| *w == workload) {
            Some(at) => at,
            None => {
                all.push((workload, Default::default()));
                all.len() - 1
            }
        };
        all[at].1[side].0 += time;
        all[at].1[side].1 += iters;
    }

    fn report(&self) {
        for (workload, sides) in self.0.borrow().iter() {
            let [(p_time, p_iters), (o_time, o_iters)] = *sides;
            if p_iters == 0 || o_iters == 0 {
                continue;
            }
            let per = |t: Duration, n: u64| t.as_secs_f64() / n as f64;
            println!(
                "versus {workload}: oxide-auth / portcullis = {:.2}",
                per(o_time, o_iters) / per(p_time, p_iters)
            );
            println!(
                "    (means over all calls: oxide-auth {:.3} µs × {o_iters}, \
                 portcullis {:.3} µs × {p_iters})",
                per(o_time, o_iters) * 1e6,
                per(p_time, p_iters) * 1e6
            );
        }
    }
}

/// Runs `iters` iterations in rounds of [`ROUND`], each on a fresh state from `fresh`
/// (untimed); `run` does `n` iterations and returns how long they took.
fn in_rounds<S>(
    iters: u64,
    mut fresh: impl FnMut() -> S,
    mut run: impl FnMut(&mut S, u64) -> Duration,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(ROUND);
        let mut state = fresh();
        total += run(&mut state, n);
        drop(state);
        left -= n;
    }
    total
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// `n` portcullis iterations of `step` on one runtime entry.
fn portcullis_loop<Fut: Future<Output = ()>>(
    rt: &Runtime,
    n: u64,
    mut step: impl FnMut() -> Fut,
) -> Duration {
    timed(|| {
        rt.block_on(async {
            for _ in 0..n {
                step().await;
            }
        })
    })
}

/// One workload: a group with both sides, their times added to `totals`.
fn versus(
    c: &mut Criterion,
    totals: &Totals,
    workload: &'static str,
    mut portcullis: impl FnMut(u64) -> Duration,
    mut oxide: impl FnMut(u64) -> Duration,
) {
    let mut g = c.benchmark_group(format!("versus/{workload}"));
    g.bench_function(SIDES[PORTCULLIS], |b| {
        b.iter_custom(|iters| {
            let t = portcullis(iters);
            totals.add(workload, PORTCULLIS, t, iters);
            t
        })
    });
    g.bench_function(SIDES[OXIDE], |b| {
        b.iter_custom(|iters| {
            let t = oxide(iters);
            totals.add(workload, OXIDE, t, iters);
            t
        })
    });
    g.finish();
}

fn run(c: &mut Criterion, totals: &Totals) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let rt = &rt;
    let challenge = challenge();
    let (public_query, conf_query) = (
        authorize_query("public", &challenge),
        authorize_query("conf", &challenge),
    );
    let conf_basic = basic("conf", SECRET);
    // References, so that the futures below can copy them.
    let (public_query, conf_query, conf_basic) = (&*public_query, &*conf_query, &*conf_basic);
    let cc_body = "grant_type=client_credentials";

    // a. code + PKCE, public client.
    versus(
        c,
        totals,
        "code_pkce",
        |iters| {
            in_rounds(
                iters,
                || portcullis_server(rt),
                |server, n| {
                    let server = &*server;
                    portcullis_loop(rt, n, || async move {
                        black_box(
                            portcullis_code_flow(server, public_query, None, Some("public")).await,
                        );
                    })
                },
            )
        },
        |iters| {
            in_rounds(iters, Oxide::new, |oxide, n| {
                timed(|| {
                    for _ in 0..n {
                        black_box(oxide.code_flow(public_query, None, Some("public")));
                    }
                })
            })
        },
    );

    // b. code + PKCE, confidential client over HTTP Basic.
    versus(
        c,
        totals,
        "code_basic",
        |iters| {
            in_rounds(
                iters,
                || portcullis_server(rt),
                |server, n| {
                    let server = &*server;
                    portcullis_loop(rt, n, || async move {
                        black_box(
                            portcullis_code_flow(server, conf_query, Some(conf_basic), None).await,
                        );
                    })
                },
            )
        },
        |iters| {
            in_rounds(iters, Oxide::new, |oxide, n| {
                timed(|| {
                    for _ in 0..n {
                        black_box(oxide.code_flow(conf_query, Some(conf_basic), None));
                    }
                })
            })
        },
    );

    // c. client credentials over HTTP Basic.
    versus(
        c,
        totals,
        "client_credentials",
        |iters| {
            in_rounds(
                iters,
                || portcullis_server(rt),
                |server, n| {
                    let server = &*server;
                    portcullis_loop(rt, n, || async move {
                        black_box(portcullis_token(server, Some(conf_basic), cc_body).await);
                    })
                },
            )
        },
        |iters| {
            in_rounds(iters, Oxide::new, |oxide, n| {
                timed(|| {
                    for _ in 0..n {
                        black_box(oxide.client_credentials(conf_basic, cc_body));
                    }
                })
            })
        },
    );

    // d. refresh with rotation: each round starts from one code flow (untimed) and chains.
    versus(
        c,
        totals,
        "refresh_rotation",
        |iters| {
            in_rounds(
                iters,
                || {
                    let server = portcullis_server(rt);
                    let body = rt.block_on(portcullis_code_flow(
                        &server,
                        public_query,
                        None,
                        Some("public"),
                    ));
                    let refresh = json_field(&body, "refresh_token").to_owned();
                    (server, refresh)
                },
                |(server, refresh), n| {
                    timed(|| {
                        rt.block_on(async {
                            for _ in 0..n {
                                let body =
                                    portcullis_token(server, None, &refresh_body(refresh)).await;
                                *refresh = json_field(&body, "refresh_token").to_owned();
                            }
                        })
                    })
                },
            )
        },
        |iters| {
            in_rounds(
                iters,
                || {
                    let mut oxide = Oxide::new();
                    let body = oxide.code_flow(public_query, None, Some("public"));
                    let refresh = json_field(&body, "refresh_token").to_owned();
                    (oxide, refresh)
                },
                |(oxide, refresh), n| {
                    timed(|| {
                        for _ in 0..n {
                            let body = oxide.refresh(&refresh_body(refresh));
                            *refresh = json_field(&body, "refresh_token").to_owned();
                        }
                    })
                },
            )
        },
    );

    // e. bearer validation among LIVE tokens, the stores built once (untimed).
    let server = &portcullis_server(rt);
    let p_headers: Vec<String> = rt.block_on(async {
        let mut headers = Vec::with_capacity(LIVE);
        for _ in 0..LIVE {
            let body = portcullis_code_flow(server, public_query, None, Some("public")).await;
            headers.push(format!("Bearer {}", json_field(&body, "access_token")));
        }
        headers
    });
    let mut oxide = Oxide::new();
    let o_headers: Vec<String> = (0..LIVE)
        .map(|_| {
            let body = oxide.code_flow(public_query, None, Some("public"));
            format!("Bearer {}", json_field(&body, "access_token"))
        })
        .collect();
    let (mut p_next, mut o_next) = (0, 0);
    versus(
        c,
        totals,
        "bearer_10k",
        |iters| {
            portcullis_loop(rt, iters, || {
                let header = &p_headers[p_next];
                p_next = (p_next + 1) % LIVE;
                async move {
                    assert!(portcullis_bearer(server, black_box(header)).await);
                }
            })
        },
        |iters| {
            timed(|| {
                for _ in 0..iters {
                    let header = &o_headers[o_next];
                    o_next = (o_next + 1) % LIVE;
                    assert!(oxide.bearer(black_box(header)));
                }
            })
        },
    );
}

/// Flows per side of `code_pkce_growing` under `cargo bench`.
const GROWING: u64 = 300_000;
/// Turns each side takes in `code_pkce_growing`.
const TURNS: u64 = 10;

/// Code + PKCE into stores that only grow, as a server's do between purges: `flows` flows per
/// side, each side into one store it never purges (every code, access and refresh token stays).
/// The sides take turns of `flows / TURNS` flows, so that the host's drift falls on both
/// alike and both stores grow in step. Outside criterion: its choice of iteration counts would
/// make the faster side's store the bigger one.
fn growing(rt: &Runtime, query: &str, flows: u64) {
    let server = portcullis_server(rt);
    let server = &server;
    let mut oxide = Oxide::new();
    let turn = (flows / TURNS).max(1);
    let (mut p, mut o) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..TURNS {
        p += portcullis_loop(rt, turn, || async move {
            black_box(portcullis_code_flow(server, query, None, Some("public")).await);
        });
        o += timed(|| {
            for _ in 0..turn {
                black_box(oxide.code_flow(query, None, Some("public")));
            }
        });
    }
    let n = (turn * TURNS) as f64;
    println!(
        "versus code_pkce_growing: oxide-auth / portcullis = {:.2}",
        o.as_secs_f64() / p.as_secs_f64()
    );
    println!(
        "    ({} flows per side into one store each, never purged; means: oxide-auth {:.3} µs, \
         portcullis {:.3} µs)",
        turn * TURNS,
        o.as_secs_f64() / n * 1e6,
        p.as_secs_f64() / n * 1e6
    );
}

/// oxide-auth's default password policy (Argon2), which the oxide-auth clients above do not
/// use: the time of one client authentication with it, for the record.
fn argon2_note(checks: u32) {
    let mut registrar = ClientMap::new();
    let url = RegisteredUrl::Exact(ExactUrl::new(REDIRECT.into()).expect("url"));
    registrar.register_client(Client::confidential(
        "conf",
        url,
        "read".parse().expect("scope"),
        SECRET.as_bytes(),
    ));
    let t = timed(|| {
        for _ in 0..checks {
            registrar
                .check("conf", Some(SECRET.as_bytes()))
                .expect("secret");
        }
    });
    println!(
        "versus note: one client authentication with oxide-auth's default Argon2 policy takes \
         {:.1} ms (mean of {checks}; not used in the groups above)",
        t.as_secs_f64() * 1e3 / f64::from(checks)
    );
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let totals = Totals::default();
    let mut c = Criterion::default().configure_from_args();
    run(&mut c, &totals);
    c.final_summary();
    totals.report();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let query = authorize_query("public", &challenge());
    // Under `cargo test --benches` (debug build): a few flows, so that it runs at all.
    growing(&rt, &query, if bench { GROWING } else { TURNS * 10 });
    // Under `cargo test --benches` (debug build) one Argon2 check takes seconds: skipped.
    if bench {
        argon2_note(5);
    }
}
