//! The token, introspection and revocation endpoints' answers (RFC 6749 §5.1, §5.2; RFC 8693
//! §2.2.1), serialized from structs.

use super::*;

/// A JSON answer of the token, introspection or revocation endpoint, ready to send. `Debug`
/// redacts the tokens in the body.
#[derive(Clone, PartialEq)]
pub struct EndpointResponse {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl std::fmt::Debug for EndpointResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &crate::redact::json_body(&self.body))
            .finish()
    }
}

impl EndpointResponse {
    /// A 200 answer whose body must not be cached (RFC 6749 §5.1).
    pub(crate) fn no_store(body: String) -> Self {
        EndpointResponse {
            status: 200,
            // RFC 6749 §5.1: token responses must not be cached; `Pragma` for HTTP/1.0 caches.
            headers: vec![
                ("Cache-Control", "no-store".to_owned()),
                ("Pragma", "no-cache".to_owned()),
            ],
            body,
        }
    }

    /// A 200 answer with no body and no headers (a revocation, RFC 7009 §2.2).
    pub(crate) fn empty() -> Self {
        EndpointResponse {
            status: 200,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers to set besides `Content-Type: application/json`.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// The JSON body as text, ready to send; empty for no body (send no `Content-Type`
    /// then).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The body, taken out of the response.
    pub fn into_body(self) -> String {
        self.body
    }

    /// An error answer (RFC 6749 §5.2). `invalid_client` is a 401 with a Basic challenge: RFC
    /// 6749 §5.2 requires it when Basic was tried, and RFC 9110 §15.5.2 requires a challenge on
    /// every 401.
    pub(crate) fn error(e: &OAuthError, realm: &str) -> Self {
        let body = ErrorResponse {
            error: e.code.as_str(),
            error_description: &e.description,
        };
        // Serializing two strings cannot fail.
        let mut r = EndpointResponse::no_store(serde_json::to_string(&body).unwrap_or_default());
        r.status = e.code.status();
        if e.code == ErrorCode::InvalidClient {
            let realm = realm.replace(['"', '\\'], "");
            r.headers
                .push(("WWW-Authenticate", format!("Basic realm=\"{realm}\"")));
        }
        r
    }

    /// The body parsed as JSON (`Null` when empty), for tests and hosts that want to inspect it.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The value of a header this response sets.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// RFC 6749 §5.1: the scope is returned when it differs from the one requested.
fn scope_json<'a>(issued: &'a Issued, requested: Option<&Scope>) -> Option<&'a str> {
    (requested != Some(&issued.scope)).then(|| issued.scope.as_str())
}

/// An error response (RFC 6749 §5.2).
#[derive(Serialize)]
struct ErrorResponse<'a> {
    error: &'static str,
    error_description: &'a str,
}

/// A successful token response (RFC 6749 §5.1; RFC 8693 §2.2.1).
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_token_type: Option<&'a str>,
}

/// The JSON text of a successful token response.
pub(super) fn token_body(
    issued: &Issued,
    requested_scope: Option<&Scope>,
    issued_token_type: Option<&str>,
) -> String {
    let body = TokenResponse {
        access_token: issued.access_token.as_str(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
        refresh_token: issued.refresh_token.as_ref().map(|t| t.as_str()),
        scope: scope_json(issued, requested_scope),
        issued_token_type,
    };
    // Serializing strings and a number into a string cannot fail.
    serde_json::to_string(&body).unwrap_or_default()
}

/// The body for a token another server issued (RFC 6749 §5.1 members, RFC 8693's
/// `issued_token_type`).
pub(super) fn external_body(
    token: &crate::server::ExternalToken,
    issued_token_type: Option<&str>,
) -> String {
    let body = TokenResponse {
        access_token: token.access_token.secret(),
        token_type: "Bearer",
        expires_in: token.expires_in.unwrap_or_default(),
        refresh_token: None,
        scope: token.scope.as_deref(),
        issued_token_type,
    };
    let mut json = serde_json::to_value(&body).unwrap_or_default();
    // An unknown lifetime is left out rather than claimed as zero.
    if token.expires_in.is_none()
        && let Some(o) = json.as_object_mut()
    {
        o.remove("expires_in");
    }
    json.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random;

    fn issued(scope: &str, refresh: bool) -> Issued {
        Issued {
            access_token: crate::server::AccessTokenText::Signed("a.b-c_d".into()),
            refresh_token: refresh.then(|| random::token().unwrap()),
            expires_in: 3600,
            scope: Scope::parse(scope).unwrap(),
        }
    }

    #[test]
    fn token_bodies_are_json_with_the_members_of_rfc_6749_section_5_1() {
        let i = issued("read write", true);
        let body: serde_json::Value = serde_json::from_str(&token_body(&i, None, None)).unwrap();
        assert_eq!(body["access_token"], "a.b-c_d");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
        assert_eq!(body["scope"], "read write");
        assert!(body.get("issued_token_type").is_none());

        // The scope is left out when it is the one requested; the token type is added.
        let asked = Scope::parse("write read").unwrap();
        let i = issued("read write", false);
        let text = token_body(&i, Some(&asked), Some(crate::server::ACCESS_TOKEN_TYPE));
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(body.get("scope").is_none() && body.get("refresh_token").is_none());
        assert_eq!(body["issued_token_type"], crate::server::ACCESS_TOKEN_TYPE);

        // Whatever an extension grant names as the issued token type is escaped.
        for kind in ["quo\"te", "back\\slash", "new\nline", "caf\u{e9}"] {
            let body: serde_json::Value =
                serde_json::from_str(&token_body(&i, None, Some(kind))).unwrap();
            assert_eq!(body["issued_token_type"], kind);
        }
    }

    #[test]
    fn issued_tokens_never_show_in_debug() {
        let i = issued("read", true);
        let shown = format!("{i:?}");
        assert!(!shown.contains("a.b-c_d"), "{shown}");
        let refresh = i.refresh_token.unwrap();
        assert!(!shown.contains(refresh.as_str()), "{shown}");
    }
}
