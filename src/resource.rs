//! The resource server's side of discovery: the protected resource metadata document
//! (RFC 9728), which a client fetches, from the URL in a 401's `WWW-Authenticate:
//! resource_metadata` (RFC 9728 §5.1), to learn which authorization server to ask. MCP clients
//! discover servers this way.

use serde::Serialize;
use url::Url;

use crate::error::InvalidField;

/// The metadata of one protected resource (RFC 9728 §2), built once and served at
/// [`ProtectedResourceMetadata::well_known_url`].
///
/// ```
/// use portcullis::resource::ProtectedResourceMetadata;
///
/// let meta = ProtectedResourceMetadata::new("https://api.example.com/v1")?
///     .authorization_server("https://auth.example.com")
///     .scopes(["read", "write"])
///     .resource_name("Example API");
/// assert_eq!(
///     meta.well_known_url(),
///     "https://api.example.com/.well-known/oauth-protected-resource/v1"
/// );
/// let doc = meta.document();
/// assert_eq!(doc["resource"], "https://api.example.com/v1");
/// assert_eq!(doc["bearer_methods_supported"][0], "header");
/// # Ok::<(), portcullis::InvalidField>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectedResourceMetadata {
    resource: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    bearer_methods_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
}

impl ProtectedResourceMetadata {
    /// The metadata of the resource identified by `resource`: an https URL (http only on a
    /// loopback host, for development) without query or fragment (RFC 9728 §1.2). Tokens are
    /// accepted in the `Authorization` header only, until [`Self::bearer_methods`] says more.
    pub fn new(resource: &str) -> Result<Self, InvalidField> {
        let url = Url::parse(resource)
            .map_err(|e| InvalidField::new("resource", format!("is not a URL ({e})")))?;
        let loopback = matches!(url.host(), Some(url::Host::Domain("localhost")))
            || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
        if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
            return Err(InvalidField::new(
                "resource",
                "must be an https URL, http only on a loopback host (RFC 9728 section 1.2)",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(InvalidField::new(
                "resource",
                "must not have a query or fragment (RFC 9728 section 1.2)",
            ));
        }
        Ok(ProtectedResourceMetadata {
            resource: resource.to_owned(),
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".into()],
            resource_name: None,
            resource_documentation: None,
        })
    }

    /// Adds an authorization server (its issuer identifier) that issues tokens for this
    /// resource.
    pub fn authorization_server(mut self, issuer: &str) -> Self {
        self.authorization_servers.push(issuer.to_owned());
        self
    }

    /// The scopes the resource understands.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// How the resource accepts bearer tokens (`header`, `body`, `query`; RFC 6750 §2).
    pub fn bearer_methods<S: Into<String>>(mut self, methods: impl IntoIterator<Item = S>) -> Self {
        self.bearer_methods_supported = methods.into_iter().map(Into::into).collect();
        self
    }

    /// A name for people.
    pub fn resource_name(mut self, name: &str) -> Self {
        self.resource_name = Some(name.to_owned());
        self
    }

    /// Where its documentation for developers is.
    pub fn resource_documentation(mut self, url: &str) -> Self {
        self.resource_documentation = Some(url.to_owned());
        self
    }

    /// The resource's identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Where the document is served (RFC 9728 §3.1): `/.well-known/oauth-protected-resource`
    /// inserted between the host and the resource's path, a trailing slash dropped. The
    /// `resource_metadata` of the resource's bearer challenges points here.
    pub fn well_known_url(&self) -> String {
        const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
        match Url::parse(&self.resource) {
            Ok(url) => {
                let path = url.path().trim_end_matches('/');
                let mut origin = url.clone();
                origin.set_path("");
                format!(
                    "{}{WELL_KNOWN}{path}",
                    origin.as_str().trim_end_matches('/')
                )
            }
            // `new` checked the identifier; this cannot happen.
            Err(_) => format!("{}{WELL_KNOWN}", self.resource.trim_end_matches('/')),
        }
    }

    /// The path part of [`Self::well_known_url`], for a router.
    pub fn well_known_path(&self) -> String {
        let full = self.well_known_url();
        Url::parse(&full)
            .map(|u| u.path().to_owned())
            .unwrap_or(full)
    }

    /// The JSON document to serve.
    pub fn document(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_follow_rfc_9728_section_3_1() {
        let cases = [
            (
                "https://api.example.com",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/v1/",
                "https://api.example.com/.well-known/oauth-protected-resource/v1",
            ),
            (
                "https://api.example.com:8443/a/b",
                "https://api.example.com:8443/.well-known/oauth-protected-resource/a/b",
            ),
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/.well-known/oauth-protected-resource",
            ),
        ];
        for (resource, expected) in cases {
            let meta = ProtectedResourceMetadata::new(resource).unwrap();
            assert_eq!(meta.well_known_url(), expected, "{resource}");
        }
        assert_eq!(
            ProtectedResourceMetadata::new("https://api.example.com/v1")
                .unwrap()
                .well_known_path(),
            "/.well-known/oauth-protected-resource/v1"
        );
    }

    #[test]
    fn resource_identifiers_are_https_urls_without_query_or_fragment() {
        for bad in [
            "http://api.example.com/",
            "https://api.example.com/?x=1",
            "https://api.example.com/#f",
            "/relative",
            "ftp://api.example.com/",
        ] {
            assert_eq!(
                ProtectedResourceMetadata::new(bad).unwrap_err().field,
                "resource",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_document_has_the_members_of_rfc_9728_section_2() {
        let doc = ProtectedResourceMetadata::new("https://api.example.com/")
            .unwrap()
            .authorization_server("https://as.example")
            .scopes(["read"])
            .bearer_methods(["header", "body"])
            .resource_documentation("https://docs.example/api")
            .document();
        assert_eq!(
            doc,
            serde_json::json!({
                "resource": "https://api.example.com/",
                "authorization_servers": ["https://as.example"],
                "scopes_supported": ["read"],
                "bearer_methods_supported": ["header", "body"],
                "resource_documentation": "https://docs.example/api",
            })
        );
    }
}
