//! Glue to axum (feature `axum`): the crate's answers as responses, an extractor that lets a
//! route through only with a valid bearer token for its resource, and the discovery routes.
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Json, Router, routing::get};
//! use portcullis::axum::{Bearer, ResourceGuard, well_known_routes};
//! use portcullis::users::MemoryUserDirectory;
//! use portcullis::{AuthorizationServer, ServerSettings};
//!
//! # fn main() -> Result<(), portcullis::InvalidField> {
//! let server = Arc::new(
//!     AuthorizationServer::builder(
//!         ServerSettings::new("https://auth.example.com")?,
//!         Arc::new(MemoryUserDirectory::default()),
//!     )
//!     .build()?,
//! );
//! let api = server.protected_resource("https://auth.example.com")?;
//! let guard = ResourceGuard::new(server.clone(), api.clone());
//!
//! // A 401 with `WWW-Authenticate: Bearer resource_metadata="..."` unless the token is good.
//! async fn me(Bearer(token): Bearer) -> Json<Option<String>> {
//!     Json(token.subject)
//! }
//!
//! let app: Router = Router::new()
//!     .route("/api/me", get(me))
//!     .with_state(guard)
//!     .merge(well_known_routes(server, &[api]));
//! # let _ = app;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use url::Url;

use crate::error::OAuthError;
use crate::resource::ProtectedResourceMetadata;
use crate::server::{AccessTokenInfo, AuthorizationServer, EndpointResponse};

/// The token, introspection and revocation answers, with their status, headers and body.
impl IntoResponse for EndpointResponse {
    fn into_response(self) -> Response {
        crate::http::endpoint_response(&self)
            .map(Body::from)
            .into_response()
    }
}

/// What [`Bearer`] checks tokens against: the server that issued them and the resource the
/// route belongs to. Put it in the router's state, or make it reachable with [`FromRef`].
#[derive(Clone)]
pub struct ResourceGuard {
    server: Arc<AuthorizationServer>,
    metadata: Arc<ProtectedResourceMetadata>,
}

impl ResourceGuard {
    /// Guards the resource `metadata` describes with tokens of `server`.
    pub fn new(server: Arc<AuthorizationServer>, metadata: ProtectedResourceMetadata) -> Self {
        ResourceGuard {
            server,
            metadata: Arc::new(metadata),
        }
    }

    /// The resource's metadata.
    pub fn metadata(&self) -> &ProtectedResourceMetadata {
        &self.metadata
    }

    /// The RFC 6750 §3 challenge for a missing (`None`) or refused token, pointing at the
    /// resource's metadata (RFC 9728 §5.1).
    pub fn challenge(&self, failure: Option<&OAuthError>) -> Response {
        crate::http::bearer_challenge(&self.metadata.well_known_url(), failure)
            .map(Body::from)
            .into_response()
    }
}

/// A request's valid bearer token for the guarded resource: active, unexpired, and issued for
/// the resource (RFC 8707). A route that takes one is answered with the RFC 6750 challenge,
/// without running, when the token is missing or refused.
#[derive(Debug, Clone)]
pub struct Bearer(pub AccessTokenInfo);

impl<S> FromRequestParts<S> for Bearer
where
    ResourceGuard: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let guard = ResourceGuard::from_ref(state);
        let Some(token) = crate::http::bearer_token(&parts.headers) else {
            return Err(guard.challenge(None));
        };
        guard
            .server
            .validate_access_token(token, guard.metadata.resource())
            .await
            .map(Bearer)
            .map_err(|e| guard.challenge(Some(&e)))
    }
}

/// The discovery routes: the authorization server metadata (RFC 8414 §3, at the issuer's
/// well-known path), the JWKS (at the path of `jwks_uri`; empty unless tokens are signed with
/// a public key), and the
/// protected resource metadata of each of `resources` (RFC 9728 §3.1). Merge it into the
/// host's router.
pub fn well_known_routes<S>(
    server: Arc<AuthorizationServer>,
    resources: &[ProtectedResourceMetadata],
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let settings = server.settings();
    let metadata_path = metadata_path(settings.issuer());
    let jwks_path = Url::parse(&settings.jwks_uri).map(|u| u.path().to_owned());
    let mut router = Router::new();
    let doc = server.metadata();
    router = router.route(&metadata_path, get(move || document(doc.clone())));
    if let Ok(path) = jwks_path {
        // An empty key set for opaque tokens or HMAC: the path answers either way.
        let jwks = server.jwks();
        router = router.route(&path, get(move || document(jwks.clone())));
    }
    for resource in resources {
        let doc = resource.document();
        router = router.route(
            &resource.well_known_path(),
            get(move || document(doc.clone())),
        );
    }
    router
}

/// RFC 8414 §3.1: `/.well-known/oauth-authorization-server`, then the issuer's path.
fn metadata_path(issuer: &str) -> String {
    let path = Url::parse(issuer)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("/.well-known/oauth-authorization-server{path}")
}

async fn document(doc: serde_json::Value) -> Response {
    crate::http::document(&doc).map(Body::from).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_path_follows_rfc_8414_section_3_1() {
        assert_eq!(
            metadata_path("https://as.example"),
            "/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            metadata_path("https://as.example/tenant/"),
            "/.well-known/oauth-authorization-server/tenant"
        );
    }
}
