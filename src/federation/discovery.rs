//! OpenID Connect discovery: a generic module's endpoints from the provider's
//! `/.well-known/openid-configuration`.

use serde_json::Value;
use url::Url;

use super::module::{Endpoints, ModuleError};
use crate::store::{HttpFetcher, HttpRequest};

/// Reads `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery §4) and
/// returns the endpoints it lists. The document's `issuer` must equal `issuer` exactly
/// (§4.3), or a provider could speak for another.
pub async fn discover(fetcher: &dyn HttpFetcher, issuer: &str) -> Result<Endpoints, ModuleError> {
    let fail = |why: String| ModuleError::Discovery(why);
    let base = Url::parse(issuer).map_err(|_| fail("issuer: is not a URL".into()))?;
    if base.query().is_some() || base.fragment().is_some() {
        return Err(fail("issuer: must have no query or fragment".into()));
    }
    let url = Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
    .map_err(|_| fail("issuer: is not a URL".into()))?;
    let response = fetcher
        .fetch(HttpRequest::get(url))
        .await
        .map_err(|e| fail(e.to_string()))?;
    if response.status != 200 {
        return Err(fail(format!("status {}", response.status)));
    }
    let doc: Value =
        serde_json::from_slice(&response.body).map_err(|_| fail("the body is not JSON".into()))?;
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(fail("issuer: the document names a different issuer".into()));
    }
    // RFC 9700 §2.1.1: every login uses PKCE S256; a provider that lists its methods must list
    // that one.
    if let Some(methods) = doc
        .get("code_challenge_methods_supported")
        .and_then(Value::as_array)
        && !methods.iter().any(|m| m.as_str() == Some("S256"))
    {
        return Err(fail(
            "code_challenge_methods_supported: does not list S256, which every login uses".into(),
        ));
    }
    let url = |name: &str| -> Result<Option<Url>, ModuleError> {
        match doc.get(name).and_then(Value::as_str) {
            None => Ok(None),
            Some(text) => Url::parse(text)
                .map(Some)
                .map_err(|_| ModuleError::Discovery(format!("{name}: is not a URL"))),
        }
    };
    let required = |name: &str| -> Result<Url, ModuleError> {
        url(name)?.ok_or_else(|| ModuleError::Discovery(format!("{name}: missing")))
    };
    Ok(Endpoints {
        authorization: required("authorization_endpoint")?,
        token: required("token_endpoint")?,
        user_info: url("userinfo_endpoint")?,
        logout: url("end_session_endpoint")?,
        email: None,
        avatar: None,
        jwks: Some(required("jwks_uri")?),
        issuer: Some(issuer.to_owned()),
        iss_required: doc
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}
