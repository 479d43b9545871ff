//! The rules a fetched Client ID Metadata Document must meet (draft-ietf-oauth-client-id-
//! metadata-document §4), and what a valid one registers.
//!
//! Members are those of RFC 7591's client metadata; unknown ones are ignored. Every violation
//! is reported with the JSON path of the member that broke it (`redirect_uris[1]`,
//! `jwks.keys[0].d`), type errors through `serde_path_to_error`.

use serde::de::{Deserializer, IgnoredAny};
use serde::{Deserialize, Serialize};
use url::Url;

use super::client_id::MetadataUrl;
use crate::redirect::RedirectRules;

/// The longest `client_name` kept, in characters, as for any client's name.
const MAX_NAME_CHARS: usize = 200;

/// How an auto-registered client authenticates at the token endpoint. Never with a shared
/// secret: a document is public, so a secret in it would be anyone's (§4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// `none` (or no `token_endpoint_auth_method`): a public client, PKCE required.
    None,
    /// `private_key_jwt` (RFC 7523 §2.2), verified with the document's public keys.
    PrivateKeyJwt(ClientKeys),
}

/// Where a `private_key_jwt` client's public keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientKeys {
    /// In the document (`jwks`), checked to hold public keys only.
    Jwks(serde_json::Value),
    /// At an https URL (`jwks_uri`).
    JwksUri(Url),
}

/// A document that passed every rule: what registers, or refreshes, the client. The client ID
/// equals the URL the document was fetched from, character for character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataDocument {
    /// The client ID, which is the document's URL.
    pub client_id: MetadataUrl,
    /// Where authorization responses may go: the only redirect URIs the client has.
    pub redirect_uris: Vec<String>,
    /// `client_name`, trimmed; `None` when absent or blank.
    pub client_name: Option<String>,
    /// `client_uri`: the application's home page (https).
    pub client_uri: Option<String>,
    /// `logo_uri` (https).
    pub logo_uri: Option<String>,
    /// `software_id`.
    pub software_id: Option<String>,
    /// `software_version`.
    pub software_version: Option<String>,
    /// `tos_uri` (https).
    pub tos_uri: Option<String>,
    /// `policy_uri` (https).
    pub policy_uri: Option<String>,
    /// `contacts`.
    pub contacts: Vec<String>,
    /// How it authenticates at the token endpoint.
    pub auth_method: AuthMethod,
}

/// Why a document was refused: the JSON path of the member and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct DocumentError {
    /// The member's JSON path (`redirect_uris[1]`), or `document` for the whole.
    pub path: String,
    /// The rule it broke.
    pub reason: String,
}

impl DocumentError {
    fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        DocumentError {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// The document's members as JSON has them; checked into a [`MetadataDocument`].
#[derive(Deserialize)]
struct Raw {
    client_id: String,
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    client_uri: Option<String>,
    #[serde(default)]
    logo_uri: Option<String>,
    #[serde(default)]
    software_id: Option<String>,
    #[serde(default)]
    software_version: Option<String>,
    #[serde(default)]
    tos_uri: Option<String>,
    #[serde(default)]
    policy_uri: Option<String>,
    #[serde(default)]
    contacts: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    jwks: Option<Jwks>,
    #[serde(default)]
    jwks_uri: Option<String>,
    /// Present at all, whatever its value (`null` included).
    #[serde(default, deserialize_with = "present")]
    client_secret: bool,
    #[serde(default, deserialize_with = "present")]
    client_secret_expires_at: bool,
}

#[derive(Deserialize, Serialize)]
struct Jwks {
    keys: Vec<serde_json::Map<String, serde_json::Value>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d)?;
    Ok(true)
}

/// JWK members that carry private or symmetric key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_JWK_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

impl MetadataDocument {
    /// Checks the document fetched from `client_id`'s URL.
    pub fn parse(client_id: &MetadataUrl, body: &[u8]) -> Result<Self, DocumentError> {
        let de = &mut serde_json::Deserializer::from_slice(body);
        let raw: Raw = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { "document".into() } else { path };
            DocumentError::new(path, e.into_inner().to_string())
        })?;

        // §4.1: simple string comparison with the URL, never of parsed URLs.
        if raw.client_id != client_id.as_str() {
            return Err(DocumentError::new(
                "client_id",
                "must equal the URL the document was fetched from, character for character \
                 (draft-ietf-oauth-client-id-metadata-document section 4.1)",
            ));
        }
        // §4.1: a published document cannot keep a secret.
        if raw.client_secret {
            return Err(DocumentError::new(
                "client_secret",
                "must not be present: a published document cannot hold a secret (section 4.1)",
            ));
        }
        if raw.client_secret_expires_at {
            return Err(DocumentError::new(
                "client_secret_expires_at",
                "must not be present (section 4.1)",
            ));
        }
        let jwks = raw.jwks.map(check_public_keys).transpose()?;
        let jwks_uri = raw
            .jwks_uri
            .as_deref()
            .map(|u| https_url("jwks_uri", u))
            .transpose()?;
        let auth_method = match raw.token_endpoint_auth_method.as_deref() {
            None | Some("none") => AuthMethod::None,
            Some("private_key_jwt") => match (jwks, jwks_uri) {
                (Some(keys), _) => AuthMethod::PrivateKeyJwt(ClientKeys::Jwks(keys)),
                (None, Some(uri)) => AuthMethod::PrivateKeyJwt(ClientKeys::JwksUri(uri)),
                (None, None) => {
                    return Err(DocumentError::new(
                        "token_endpoint_auth_method",
                        "`private_key_jwt` needs the public keys in `jwks` or `jwks_uri`",
                    ));
                }
            },
            Some(shared @ ("client_secret_basic" | "client_secret_post" | "client_secret_jwt")) => {
                return Err(DocumentError::new(
                    "token_endpoint_auth_method",
                    format!(
                        "`{shared}` uses a shared secret, which a published document cannot \
                         keep (section 4.1); use `none` or `private_key_jwt`"
                    ),
                ));
            }
            Some(other) => {
                return Err(DocumentError::new(
                    "token_endpoint_auth_method",
                    format!(
                        "`{}` is not supported; use `none` or `private_key_jwt`",
                        crate::error::echo(other)
                    ),
                ));
            }
        };

        // RFC 9700 §2.1: redirect URIs are registered, and requests must match one exactly;
        // for this client they come from the document and nowhere else.
        let redirect_uris = raw.redirect_uris.unwrap_or_default();
        if redirect_uris.is_empty() {
            return Err(DocumentError::new(
                "redirect_uris",
                "must list at least one redirect URI: they are the only ones the client gets",
            ));
        }
        // The same rules as for a client an administrator registers, with nothing to resolve
        // a relative URI against.
        RedirectRules::compile(None, &[], &redirect_uris)
            .map_err(|e| DocumentError::new(e.field, e.reason))?;

        let client_name = raw
            .client_name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if client_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NAME_CHARS)
        {
            return Err(DocumentError::new(
                "client_name",
                format!("must be at most {MAX_NAME_CHARS} characters long"),
            ));
        }
        let page = |field: &str, value: Option<String>| {
            value.map(|u| https_url(field, &u).map(|_| u)).transpose()
        };
        Ok(MetadataDocument {
            client_id: client_id.clone(),
            redirect_uris,
            client_name,
            client_uri: page("client_uri", raw.client_uri)?,
            logo_uri: page("logo_uri", raw.logo_uri)?,
            software_id: raw.software_id,
            software_version: raw.software_version,
            tos_uri: page("tos_uri", raw.tos_uri)?,
            policy_uri: page("policy_uri", raw.policy_uri)?,
            contacts: raw.contacts.unwrap_or_default(),
            auth_method,
        })
    }
}

/// §4.1: only public keys may be published. Returns the key set as JSON.
fn check_public_keys(jwks: Jwks) -> Result<serde_json::Value, DocumentError> {
    for (i, key) in jwks.keys.iter().enumerate() {
        if let Some(member) = PRIVATE_JWK_MEMBERS.iter().find(|m| key.contains_key(**m)) {
            return Err(DocumentError::new(
                format!("jwks.keys[{i}].{member}"),
                "is private or symmetric key material, which must never be published \
                 (section 4.1)",
            ));
        }
    }
    serde_json::to_value(&jwks).map_err(|e| DocumentError::new("jwks", e.to_string()))
}

/// An absolute https URL without userinfo: a page or key set the server or the user's browser
/// will load.
fn https_url(field: &str, value: &str) -> Result<Url, DocumentError> {
    let url = Url::parse(value)
        .map_err(|e| DocumentError::new(field, format!("is not an absolute URL ({e})")))?;
    if url.scheme() != "https" {
        return Err(DocumentError::new(field, "must be an https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DocumentError::new(
            field,
            "must not contain a username or password",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cimd::UrlPolicy;

    const ID: &str = "https://app.example.com/oauth/client.json";

    fn id() -> MetadataUrl {
        MetadataUrl::parse(ID, &UrlPolicy::default()).unwrap()
    }

    fn doc(extra: serde_json::Value) -> Vec<u8> {
        let mut d = serde_json::json!({
            "client_id": ID,
            "client_name": "Example MCP client",
            "redirect_uris": ["http://127.0.0.1/callback", "https://app.example.com/cb"],
        });
        if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                if v.is_null() && k.starts_with('-') {
                    d.remove(k.trim_start_matches('-'));
                } else {
                    d.insert(k.clone(), v.clone());
                }
            }
        }
        serde_json::to_vec(&d).unwrap()
    }

    #[test]
    fn a_complete_document_registers_what_it_says() {
        let body = doc(serde_json::json!({
            "client_uri": "https://app.example.com/",
            "logo_uri": "https://app.example.com/logo.png",
            "software_id": "4NRB1-0XZABZI9E6-5SM3R",
            "software_version": "2.1.0",
            "tos_uri": "https://app.example.com/tos",
            "policy_uri": "https://app.example.com/privacy",
            "contacts": ["ops@app.example.com"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "some_future_member": {"ignored": true},
        }));
        let d = MetadataDocument::parse(&id(), &body).unwrap();
        assert_eq!(d.client_id.as_str(), ID);
        assert_eq!(
            d.redirect_uris,
            ["http://127.0.0.1/callback", "https://app.example.com/cb"]
        );
        assert_eq!(d.client_name.as_deref(), Some("Example MCP client"));
        assert_eq!(d.client_uri.as_deref(), Some("https://app.example.com/"));
        assert_eq!(
            d.logo_uri.as_deref(),
            Some("https://app.example.com/logo.png")
        );
        assert_eq!(d.software_id.as_deref(), Some("4NRB1-0XZABZI9E6-5SM3R"));
        assert_eq!(d.software_version.as_deref(), Some("2.1.0"));
        assert_eq!(d.tos_uri.as_deref(), Some("https://app.example.com/tos"));
        assert_eq!(
            d.policy_uri.as_deref(),
            Some("https://app.example.com/privacy")
        );
        assert_eq!(d.contacts, ["ops@app.example.com"]);
        assert_eq!(d.auth_method, AuthMethod::None);
    }

    #[test]
    fn private_key_jwt_takes_public_keys_from_the_document_or_a_uri() {
        let key = serde_json::json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kid": "k1"});
        let body = doc(serde_json::json!({
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [key]},
        }));
        let d = MetadataDocument::parse(&id(), &body).unwrap();
        let AuthMethod::PrivateKeyJwt(ClientKeys::Jwks(keys)) = d.auth_method else {
            panic!("{:?}", d.auth_method)
        };
        assert_eq!(keys["keys"][0]["kid"], "k1");

        let body = doc(serde_json::json!({
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": "https://app.example.com/jwks.json",
        }));
        let d = MetadataDocument::parse(&id(), &body).unwrap();
        assert!(matches!(
            d.auth_method,
            AuthMethod::PrivateKeyJwt(ClientKeys::JwksUri(ref u)) if u.as_str() == "https://app.example.com/jwks.json"
        ));
    }

    /// Each hostile document, and the JSON path its refusal names.
    #[test]
    fn hostile_documents_are_refused_naming_the_member() {
        let private_ec =
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "secret"});
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("not JSON", b"<html>hi</html>".to_vec(), "document"),
            ("an array", b"[]".to_vec(), "document"),
            ("empty", b"".to_vec(), "document"),
            (
                "no client_id",
                doc(serde_json::json!({"-client_id": null})),
                "document",
            ),
            (
                "another client's ID",
                doc(serde_json::json!({"client_id": "https://evil.example/oauth/client.json"})),
                "client_id",
            ),
            (
                "the ID with a default port",
                doc(
                    serde_json::json!({"client_id": "https://app.example.com:443/oauth/client.json"}),
                ),
                "client_id",
            ),
            (
                "the ID in other case",
                doc(serde_json::json!({"client_id": "https://APP.example.com/oauth/client.json"})),
                "client_id",
            ),
            (
                "the ID with a trailing slash",
                doc(serde_json::json!({"client_id": "https://app.example.com/oauth/client.json/"})),
                "client_id",
            ),
            (
                "client_id a number",
                doc(serde_json::json!({"client_id": 7})),
                "client_id",
            ),
            (
                "a secret",
                doc(serde_json::json!({"client_secret": "hunter2"})),
                "client_secret",
            ),
            (
                "a null secret",
                doc(serde_json::json!({"client_secret": null})),
                "client_secret",
            ),
            (
                "a secret's expiry",
                doc(serde_json::json!({"client_secret_expires_at": 0})),
                "client_secret_expires_at",
            ),
            (
                "client_secret_basic",
                doc(serde_json::json!({"token_endpoint_auth_method": "client_secret_basic"})),
                "token_endpoint_auth_method",
            ),
            (
                "client_secret_post",
                doc(serde_json::json!({"token_endpoint_auth_method": "client_secret_post"})),
                "token_endpoint_auth_method",
            ),
            (
                "client_secret_jwt",
                doc(serde_json::json!({"token_endpoint_auth_method": "client_secret_jwt"})),
                "token_endpoint_auth_method",
            ),
            (
                "an unknown method",
                doc(serde_json::json!({"token_endpoint_auth_method": "tls_client_auth"})),
                "token_endpoint_auth_method",
            ),
            (
                "private_key_jwt without keys",
                doc(serde_json::json!({"token_endpoint_auth_method": "private_key_jwt"})),
                "token_endpoint_auth_method",
            ),
            (
                "a private EC key",
                doc(
                    serde_json::json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [private_ec]}}),
                ),
                "jwks.keys[0].d",
            ),
            (
                "a symmetric key",
                doc(
                    serde_json::json!({"jwks": {"keys": [{"kty": "EC"}, {"kty": "oct", "k": "c2VjcmV0"}]}}),
                ),
                "jwks.keys[1].k",
            ),
            (
                "jwks without keys",
                doc(serde_json::json!({"jwks": {}})),
                "jwks",
            ),
            (
                "an http jwks_uri",
                doc(serde_json::json!({"jwks_uri": "http://app.example.com/jwks.json"})),
                "jwks_uri",
            ),
            (
                "no redirect URIs",
                doc(serde_json::json!({"-redirect_uris": null})),
                "redirect_uris",
            ),
            (
                "an empty list",
                doc(serde_json::json!({"redirect_uris": []})),
                "redirect_uris",
            ),
            (
                "a redirect URI with a fragment",
                doc(
                    serde_json::json!({"redirect_uris": ["https://app.example.com/cb", "https://app.example.com/cb#x"]}),
                ),
                "redirect_uris[1]",
            ),
            (
                "a relative redirect URI",
                doc(serde_json::json!({"redirect_uris": ["/cb"]})),
                "redirect_uris[0]",
            ),
            (
                "plain http to a remote host",
                doc(serde_json::json!({"redirect_uris": ["http://app.example.com/cb"]})),
                "redirect_uris[0]",
            ),
            (
                "a javascript: redirect",
                doc(serde_json::json!({"redirect_uris": ["javascript:alert(1)"]})),
                "redirect_uris[0]",
            ),
            (
                "a redirect URI with userinfo",
                doc(
                    serde_json::json!({"redirect_uris": ["https://app.example.com@evil.example/cb"]}),
                ),
                "redirect_uris[0]",
            ),
            (
                "a redirect URI not a string",
                doc(serde_json::json!({"redirect_uris": [1]})),
                "redirect_uris[0]",
            ),
            (
                "an http logo",
                doc(serde_json::json!({"logo_uri": "http://app.example.com/logo.png"})),
                "logo_uri",
            ),
            (
                "a javascript: home page",
                doc(serde_json::json!({"client_uri": "javascript:alert(1)"})),
                "client_uri",
            ),
            (
                "a long name",
                doc(serde_json::json!({"client_name": "x".repeat(201)})),
                "client_name",
            ),
            (
                "contacts not a list",
                doc(serde_json::json!({"contacts": "ops@example.com"})),
                "contacts",
            ),
        ];
        for (what, body, path) in cases {
            match MetadataDocument::parse(&id(), &body) {
                Ok(d) => panic!("{what}: accepted as {d:?}"),
                Err(e) => assert_eq!(e.path, path, "{what}: {e}"),
            }
        }
    }
}
