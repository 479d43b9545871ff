//! Glue to the `http` crate (feature `http`): turn a request into the typed call, and every
//! outcome into an `http::Response` with the right status, headers and JSON body.
//!
//! ```text
//! POST /token       -> portcullis::http::token(&server, request).await
//! POST /introspect  -> portcullis::http::introspect(&server, request).await
//! POST /revoke      -> portcullis::http::revoke(&server, request).await
//! GET  /authorize   -> server.authorize(&portcullis::http::query(request.uri()), user).await
//!                      then portcullis::http::redirect(location) for Authorize::Redirect
//! ```

use std::borrow::Cow;

use ::http::header::{self, HeaderValue};
use ::http::{Method, Request, Response, StatusCode, Uri};

use crate::error::OAuthError;
use crate::server::{AuthorizationServer, EndpointResponse, Params};

/// The parameters in a URI's query string.
pub fn query(uri: &Uri) -> Params<'_> {
    Params::parse(uri.query().unwrap_or(""))
}

fn json_response<V: AsRef<str>>(
    status: u16,
    headers: &[(&'static str, V)],
    body: &str,
) -> Response<Vec<u8>> {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, value) in headers {
        builder = builder.header(*name, value.as_ref());
    }
    let bytes = if body.is_empty() {
        Vec::new()
    } else {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
        body.as_bytes().to_vec()
    };
    builder.body(bytes).unwrap_or_else(|_| {
        let mut r = Response::new(Vec::new());
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// An [`EndpointResponse`] as an `http::Response`.
pub fn endpoint_response(r: &EndpointResponse) -> Response<Vec<u8>> {
    json_response(r.status(), r.headers(), r.body())
}

/// A JSON response for any JSON document (metadata, JWKS), cacheable for a short while.
pub fn document(body: &serde_json::Value) -> Response<Vec<u8>> {
    json_response(
        200,
        &[("Cache-Control", Cow::Borrowed("max-age=300"))],
        &body.to_string(),
    )
}

/// A `303 See Other` to `location`, the answer to [`crate::Authorize::Redirect`]. 303 makes the
/// browser follow with a GET even after a POSTed consent form (RFC 9700 §4.12).
pub fn redirect(location: &str) -> Response<Vec<u8>> {
    let mut r = Response::new(Vec::new());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn error(
    status: u16,
    e: &OAuthError,
    extra: &[(&'static str, Cow<'static, str>)],
) -> Response<Vec<u8>> {
    let mut headers = vec![
        ("Cache-Control", Cow::Borrowed("no-store")),
        ("Pragma", Cow::Borrowed("no-cache")),
    ];
    headers.extend_from_slice(extra);
    json_response(
        status,
        &headers,
        &serde_json::json!({"error": e.code.as_str(), "error_description": e.description})
            .to_string(),
    )
}

/// A request refused before it reached the server: the response to send.
type Refusal = Box<Response<Vec<u8>>>;

/// The checks every form-posting endpoint shares: POST, a body within the limit, form
/// encoding (RFC 6749 §3.2), at most one `Authorization` header.
fn form_request<'r, B: AsRef<[u8]>>(
    server: &AuthorizationServer,
    req: &'r Request<B>,
) -> Result<(Option<String>, Params<'r>), Refusal> {
    if req.method() != Method::POST {
        return Err(Box::new(error(
            405,
            &OAuthError::invalid_request("the endpoint accepts only POST (RFC 6749 section 3.2)"),
            &[("Allow", Cow::Borrowed("POST"))],
        )));
    }
    // RFC 6749 §2.3.1: client credentials "MUST NOT be included in the request URI", where
    // logs and proxies keep them; RFC 6750 §2.3 likewise for tokens. Such a request is refused
    // whole, so nobody comes to rely on it working.
    if let Some(name) = Params::parse(req.uri().query().unwrap_or(""))
        .pairs()
        .map(|(name, _)| name)
        .find(|name| crate::redact::is_secret(name))
    {
        return Err(Box::new(error(
            400,
            &OAuthError::invalid_request(format!(
                "{}: must be sent in the request body, never in the URI (RFC 6749 section 2.3.1)",
                crate::error::echo(name)
            )),
            &[],
        )));
    }
    let body = req.body().as_ref();
    let limit = server.settings().max_body_bytes;
    if body.len() > limit {
        return Err(Box::new(error(
            413,
            &OAuthError::invalid_request(format!("the request body exceeds {limit} bytes")),
            &[],
        )));
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(Box::new(error(
            400,
            &OAuthError::invalid_request(
                "Content-Type: must be application/x-www-form-urlencoded (RFC 6749 section 3.2)",
            ),
            &[],
        )));
    }
    let mut auth = req.headers().get_all(header::AUTHORIZATION).iter();
    let authorization = match (auth.next(), auth.next()) {
        (None, _) => None,
        (Some(v), None) => Some(
            v.to_str()
                .map_err(|_| {
                    error(
                        400,
                        &OAuthError::invalid_request("Authorization: is not ASCII"),
                        &[],
                    )
                })?
                .to_owned(),
        ),
        (Some(_), Some(_)) => {
            return Err(Box::new(error(
                400,
                &OAuthError::invalid_request("Authorization: must not be repeated"),
                &[],
            )));
        }
    };
    let text = std::str::from_utf8(body).map_err(|_| {
        error(
            400,
            &OAuthError::invalid_request("the body is not UTF-8"),
            &[],
        )
    })?;
    Ok((authorization, Params::parse(text)))
}

/// The token endpoint.
pub async fn token<B: AsRef<[u8]>>(
    server: &AuthorizationServer,
    req: Request<B>,
) -> Response<Vec<u8>> {
    match form_request(server, &req) {
        Ok((auth, params)) => endpoint_response(&server.token(auth.as_deref(), &params).await),
        Err(r) => *r,
    }
}

/// The introspection endpoint (RFC 7662).
pub async fn introspect<B: AsRef<[u8]>>(
    server: &AuthorizationServer,
    req: Request<B>,
) -> Response<Vec<u8>> {
    match form_request(server, &req) {
        Ok((auth, params)) => endpoint_response(&server.introspect(auth.as_deref(), &params).await),
        Err(r) => *r,
    }
}

/// The revocation endpoint (RFC 7009).
pub async fn revoke<B: AsRef<[u8]>>(
    server: &AuthorizationServer,
    req: Request<B>,
) -> Response<Vec<u8>> {
    match form_request(server, &req) {
        Ok((auth, params)) => endpoint_response(&server.revoke(auth.as_deref(), &params).await),
        Err(r) => *r,
    }
}

/// The bearer token of an `Authorization: Bearer …` header (RFC 6750 §2.1), if any.
pub fn bearer_token(headers: &::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A resource server's 401 for a missing or bad token (RFC 6750 §3), pointing clients at the
/// protected resource metadata (RFC 9728 §5.1).
pub fn bearer_challenge(
    resource_metadata: &str,
    failure: Option<&OAuthError>,
) -> Response<Vec<u8>> {
    let mut challenge = format!("Bearer resource_metadata=\"{resource_metadata}\"");
    let status = match failure {
        Some(e) => {
            challenge.push_str(&format!(
                ", error=\"{}\", error_description=\"{}\"",
                e.code.as_str(),
                e.description
            ));
            // RFC 6750 §3.1: invalid_request is 400, invalid_token 401, insufficient_scope
            // 403; whatever else went wrong is the code's own status.
            e.code.status()
        }
        None => 401,
    };
    let mut r = Response::new(Vec::new());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerSettings;
    use crate::users::MemoryUserDirectory;
    use std::sync::Arc;

    fn server() -> AuthorizationServer {
        AuthorizationServer::builder(
            ServerSettings::new("https://auth.example.com").unwrap(),
            Arc::new(MemoryUserDirectory::default()),
        )
        .build()
        .unwrap()
    }

    fn post(body: &str) -> ::http::request::Builder {
        let _ = body;
        Request::builder()
            .method("POST")
            .uri("/token")
            .header("Content-Type", "application/x-www-form-urlencoded")
    }

    fn body_json(r: &Response<Vec<u8>>) -> serde_json::Value {
        serde_json::from_slice(r.body()).unwrap()
    }

    #[tokio::test]
    async fn secrets_in_the_query_string_are_refused() {
        let s = server();
        for (query, name) in [
            ("client_secret=s3cret", "client_secret"),
            ("x=1&code=abc", "code"),
            ("refresh_token=r", "refresh_token"),
        ] {
            let body = "grant_type=client_credentials&client_id=c";
            let req = Request::builder()
                .method("POST")
                .uri(format!("/token?{query}"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.as_bytes().to_vec())
                .unwrap();
            let r = token(&s, req).await;
            assert_eq!(r.status(), 400, "{query}");
            let description = body_json(&r)["error_description"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(description.starts_with(&format!("{name}: must be sent in the request body")));
            assert!(!description.contains("s3cret"));
        }
    }

    #[tokio::test]
    async fn oversized_bodies_get_413() {
        let s = server();
        let big = "a".repeat(64 * 1024 + 1);
        let r = token(&s, post(&big).body(big.clone().into_bytes()).unwrap()).await;
        assert_eq!(r.status(), 413);
        assert_eq!(body_json(&r)["error"], "invalid_request");
    }

    #[tokio::test]
    async fn only_form_posts_are_accepted() {
        let s = server();
        let r = token(
            &s,
            Request::builder()
                .method("GET")
                .uri("/token")
                .body(Vec::new())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["Allow"], "POST");
        let r = token(
            &s,
            Request::builder()
                .method("POST")
                .header("Content-Type", "application/json")
                .body(b"{}".to_vec())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status(), 400);
        assert!(
            body_json(&r)["error_description"]
                .as_str()
                .unwrap()
                .starts_with("Content-Type:")
        );
    }

    #[tokio::test]
    async fn repeated_parameters_are_invalid_request() {
        let s = server();
        let b = "grant_type=client_credentials&grant_type=password&client_id=x";
        let r = token(&s, post(b).body(b.as_bytes().to_vec()).unwrap()).await;
        // The client is unknown, so authentication fails first; a repeated client_id fails
        // before that.
        assert_eq!(r.status(), 401);
        let b = "client_id=a&client_id=b";
        let r = token(&s, post(b).body(b.as_bytes().to_vec()).unwrap()).await;
        assert_eq!(r.status(), 400);
        assert_eq!(
            body_json(&r)["error_description"],
            "client_id: must not be repeated (RFC 6749 section 3.1)"
        );
        assert_eq!(r.headers()["Cache-Control"], "no-store");
        assert!(r.headers().get("WWW-Authenticate").is_none());
    }

    #[tokio::test]
    async fn invalid_client_is_a_401_with_a_challenge() {
        let s = server();
        let b = "grant_type=client_credentials&client_id=nobody&client_secret=x";
        let r = token(&s, post(b).body(b.as_bytes().to_vec()).unwrap()).await;
        assert_eq!(r.status(), 401);
        assert!(
            r.headers()["WWW-Authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        assert_eq!(r.headers()["Content-Type"], "application/json");
    }

    #[test]
    fn bearer_tokens_and_challenges() {
        let mut h = ::http::HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&h), None);
        let r = bearer_challenge(
            "https://rs.example/.well-known/oauth-protected-resource",
            None,
        );
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()["WWW-Authenticate"],
            "Bearer resource_metadata=\"https://rs.example/.well-known/oauth-protected-resource\""
        );
    }

    #[test]
    fn challenge_statuses_follow_rfc_6750() {
        use crate::error::ErrorCode;
        for (code, status) in [
            (ErrorCode::InvalidRequest, 400),
            (ErrorCode::InvalidToken, 401),
            (ErrorCode::InsufficientScope, 403),
        ] {
            let r = bearer_challenge("https://rs.example/m", Some(&OAuthError::new(code, "x")));
            assert_eq!(r.status(), status, "{code}");
            assert!(
                r.headers()["WWW-Authenticate"]
                    .to_str()
                    .unwrap()
                    .contains(code.as_str())
            );
        }
    }

    #[test]
    fn redirects_are_303_and_not_cached() {
        let r = redirect("https://app.example/cb?code=x");
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["Location"], "https://app.example/cb?code=x");
        assert_eq!(r.headers()["Cache-Control"], "no-store");
    }
}
