//! The axum glue (feature `axum`): discovery routes, the bearer extractor, and endpoint
//! answers as responses, driven in memory.
#![cfg(feature = "axum")]

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use portcullis::axum::{Bearer, ResourceGuard, well_known_routes};
use portcullis::client::{ClientSettings, ClientType, Flow, NewClient, SecretChange};
use portcullis::users::MemoryUserDirectory;
use portcullis::{AuthorizationServer, Params, Scope, ServerSettings};
use tower::ServiceExt as _;

const ISSUER: &str = "https://auth.example.com";
const API: &str = "https://api.example.com/";
const SECRET: &str = "axum-client-secret-0123456789abcdef";

async fn server() -> Arc<AuthorizationServer> {
    let mut settings = ServerSettings::new(ISSUER).unwrap();
    settings.resources = vec![API.into(), "https://other.example.com/".into()];
    settings.scopes_supported = vec!["read".into()];
    let users = MemoryUserDirectory::default();
    users
        .insert("alice", "pw", Scope::parse("read").unwrap())
        .unwrap();
    let server = AuthorizationServer::builder(settings, Arc::new(users))
        .build()
        .unwrap();
    let mut c = NewClient::manual(
        ClientType::Confidential,
        ClientSettings {
            name: "Service".into(),
            flows: [Flow::ClientCredentials].into_iter().collect(),
            scopes: vec!["read".into()],
            ..ClientSettings::default()
        },
    );
    c.client_id = Some(portcullis::ClientId::new("svc").unwrap());
    server
        .clients()
        .create_with_secret(
            c,
            SecretChange::KeyIn {
                secret: SECRET.into(),
                confirmation: SECRET.into(),
            },
        )
        .await
        .unwrap();
    Arc::new(server)
}

async fn token_for(server: &AuthorizationServer, resource: &str) -> String {
    let form = format!(
        "grant_type=client_credentials&client_id=svc&client_secret={SECRET}&resource={resource}"
    );
    let r = server.token(None, &Params::parse(&form)).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    r.json()["access_token"].as_str().unwrap().to_owned()
}

fn app(server: Arc<AuthorizationServer>) -> Router {
    let api = server.protected_resource(API).unwrap();
    async fn me(Bearer(token): Bearer) -> String {
        token.client_id.as_str().to_owned()
    }
    Router::new()
        .route("/api/me", get(me))
        .with_state(ResourceGuard::new(server.clone(), api.clone()))
        .merge(well_known_routes(server, &[api]))
}

async fn get_json(app: &Router, path: &str) -> (StatusCode, serde_json::Value) {
    let r = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = r.status();
    let body = to_bytes(r.into_body(), 1 << 16).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

#[tokio::test]
async fn the_discovery_documents_are_served_at_their_well_known_paths() {
    let app = app(server().await);
    let (status, doc) = get_json(&app, "/.well-known/oauth-authorization-server").await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], ISSUER);
    let (status, doc) = get_json(&app, "/.well-known/oauth-protected-resource").await;
    assert_eq!(status, 200);
    assert_eq!(doc["resource"], API);
    assert_eq!(doc["authorization_servers"][0], ISSUER);
    assert_eq!(doc["scopes_supported"][0], "read");
    let (status, doc) = get_json(&app, "/jwks.json").await;
    assert_eq!(
        (status, doc),
        (StatusCode::OK, serde_json::json!({"keys": []}))
    );
}

#[tokio::test]
async fn a_protected_route_answers_the_rfc_6750_challenge_itself() {
    let server = server().await;
    let app = app(server.clone());
    let call = |auth: Option<String>| {
        let app = app.clone();
        async move {
            let mut req = Request::get("/api/me");
            if let Some(auth) = auth {
                req = req.header(header::AUTHORIZATION, auth);
            }
            app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
        }
    };
    let metadata = "https://api.example.com/.well-known/oauth-protected-resource";

    let r = call(None).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert_eq!(
        challenge,
        format!("Bearer resource_metadata=\"{metadata}\"")
    );

    // A token for another resource is refused with invalid_token (RFC 8707 audience).
    let other = token_for(&server, "https://other.example.com/").await;
    let r = call(Some(format!("Bearer {other}"))).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains(metadata), "{challenge}");

    let good = token_for(&server, API).await;
    let r = call(Some(format!("Bearer {good}"))).await;
    assert_eq!(r.status(), 200);
    let body = to_bytes(r.into_body(), 1024).await.unwrap();
    assert_eq!(&body[..], b"svc");
}

#[tokio::test]
async fn endpoint_answers_keep_their_status_headers_and_body() {
    use axum::response::IntoResponse as _;
    let server = server().await;
    let answer = server
        .token(
            None,
            &Params::parse("grant_type=client_credentials&client_id=svc"),
        )
        .await;
    let (status, body) = (answer.status(), answer.body().to_owned());
    let r = answer.into_response();
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    assert!(
        r.headers().contains_key(header::WWW_AUTHENTICATE),
        "invalid_client is a 401"
    );
    let bytes = to_bytes(r.into_body(), 1 << 16).await.unwrap();
    assert_eq!(bytes, body.as_bytes());
}
