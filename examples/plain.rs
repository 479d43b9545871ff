//! The crate embedded in a bare hyper server: no web framework, only the `http` types, to show
//! every call a host makes. One public client, one user, in memory.
//!
//! ```text
//! cargo run --example plain -- [--addr HOST:PORT]
//! ```
//!
//! Who is logged in is the host's business; this example takes the `X-Demo-User` request
//! header as the session, which a real host must never do. Routes: the RFC 8414 and RFC 9728
//! documents, `GET /authorize`, `POST /consent?<the authorization query>` (approve),
//! `POST /token`, `/introspect`, `/revoke`, and the protected `GET /api/me`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use portcullis::client::{ClientSettings, ClientType, Flow, NewClient};
use portcullis::resource::ProtectedResourceMetadata;
use portcullis::users::MemoryUserDirectory;
use portcullis::{AuthorizationServer, Authorize, ClientId, Scope, ServerSettings};

const USAGE: &str = "usage: plain [--addr HOST:PORT]";

type Answer = Response<Full<Bytes>>;

fn answer(r: Response<Vec<u8>>) -> Answer {
    r.map(|b| Full::new(Bytes::from(b)))
}

fn text(status: StatusCode, body: String) -> Answer {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r
}

/// One request, routed by hand.
async fn handle(
    server: Arc<AuthorizationServer>,
    meta: Arc<ProtectedResourceMetadata>,
    req: Request<Incoming>,
) -> Result<Answer, Infallible> {
    let api = meta.resource();
    let path = req.uri().path().to_owned();
    Ok(match (req.method().clone(), path.as_str()) {
        (Method::GET, "/.well-known/oauth-authorization-server") => {
            answer(portcullis::http::document(&server.metadata()))
        }
        (Method::GET, p) if p == meta.well_known_path() => {
            answer(portcullis::http::document(&meta.document()))
        }
        (Method::GET, "/authorize") => {
            let user = req
                .headers()
                .get("x-demo-user")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let params = portcullis::http::query(req.uri());
            match server.authorize(&params, user.as_deref()).await {
                Authorize::Redirect(to) => answer(portcullis::http::redirect(&to)),
                Authorize::Login(p) => text(
                    StatusCode::UNAUTHORIZED,
                    format!(
                        "log in to let {} act for you (send X-Demo-User)\n",
                        p.client_name
                    ),
                ),
                Authorize::Consent(c) => text(
                    StatusCode::OK,
                    format!(
                        "{} asks for {} (back to {})\n",
                        c.client_name, c.scopes, c.redirect_host
                    ),
                ),
                Authorize::Refused(e) => text(StatusCode::BAD_REQUEST, format!("{e}\n")),
                _ => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "unknown outcome\n".into(),
                ),
            }
        }
        // The consent page's "Allow", with the authorization request's own query. A real host
        // checks a per-session CSRF token here first.
        (Method::POST, "/consent") => {
            let Some(user) = req
                .headers()
                .get("x-demo-user")
                .and_then(|v| v.to_str().ok())
            else {
                return Ok(text(StatusCode::UNAUTHORIZED, "who are you?\n".into()));
            };
            let params = portcullis::http::query(req.uri());
            match server.authorize_with_consent(&params, user, true).await {
                Authorize::Redirect(to) => answer(portcullis::http::redirect(&to)),
                other => text(StatusCode::BAD_REQUEST, format!("{other:?}\n")),
            }
        }
        (Method::POST, "/token" | "/introspect" | "/revoke") => {
            // Read the body with a cap first; the glue checks method, size, form encoding
            // and the `Authorization` header, and refuses credentials in the query.
            let (parts, body) = req.into_parts();
            let limit = server.settings().max_body_bytes;
            let bytes = match Limited::new(body, limit).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return Ok(text(StatusCode::PAYLOAD_TOO_LARGE, String::new())),
            };
            let req = Request::from_parts(parts, bytes.to_vec());
            answer(match path.as_str() {
                "/token" => portcullis::http::token(&server, req).await,
                "/introspect" => portcullis::http::introspect(&server, req).await,
                _ => portcullis::http::revoke(&server, req).await,
            })
        }
        (Method::GET, "/api/me") => {
            let challenge = |e| {
                answer(portcullis::http::bearer_challenge(
                    &meta.well_known_url(),
                    e,
                ))
            };
            match portcullis::http::bearer_token(req.headers()) {
                None => challenge(None),
                Some(token) => match server.validate_access_token(token, api).await {
                    Ok(info) => text(
                        StatusCode::OK,
                        format!(
                            "{} via {}\n",
                            info.subject.unwrap_or_default(),
                            info.client_id
                        ),
                    ),
                    Err(e) => challenge(Some(&e)),
                },
            }
        }
        _ => text(StatusCode::NOT_FOUND, String::new()),
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr = "127.0.0.1:8081".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or(USAGE)?,
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}").into()),
        }
    }
    let addr: SocketAddr = addr.parse().map_err(|e| format!("--addr: {e}"))?;
    let issuer = format!("http://{addr}");

    let users = MemoryUserDirectory::default();
    users.insert("alice", "alice-password", Scope::parse("read write")?)?;
    let mut settings = ServerSettings::new(&issuer).map_err(|e| format!("--addr: {}", e.reason))?;
    settings.resources = vec![issuer.clone()];
    settings.default_resource = Some(issuer.clone());
    let server = Arc::new(AuthorizationServer::builder(settings, Arc::new(users)).build()?);
    let mut cli = NewClient::manual(
        ClientType::Public,
        ClientSettings {
            name: "Plain CLI".into(),
            redirect_uris: vec!["http://127.0.0.1/callback".into()],
            flows: [Flow::AuthorizationCode].into_iter().collect(),
            require_consent: true,
            scopes: vec!["read".into(), "write".into()],
            ..ClientSettings::default()
        },
    );
    cli.client_id = Some(ClientId::new("plain-cli")?);
    server.clients().create(cli).await?;

    // The API's RFC 9728 metadata, built once: the issuer's origin is its resource identifier.
    let meta = Arc::new(server.protected_resource(&issuer)?);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("plain portcullis server on {issuer} (client `plain-cli`, user `alice`)");
    loop {
        let (stream, _) = listener.accept().await?;
        let (server, meta) = (server.clone(), meta.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(server.clone(), meta.clone(), req));
            // hyper drops a request's future when its connection drops; the token endpoint
            // takes a code and stores its tokens in one store call, so that is safe
            // (docs/security.md).
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
