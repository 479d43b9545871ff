//! The authorization server metadata document (RFC 8414 §2).

use serde::Serialize;

use super::AuthorizationServer;
use crate::token::TokenFormat;

/// The members this server publishes (RFC 8414 §2; RFC 9207 §3; the CIMD draft).
#[derive(Serialize)]
struct Metadata<'a> {
    issuer: &'a str,
    authorization_endpoint: &'a str,
    token_endpoint: &'a str,
    introspection_endpoint: &'a str,
    revocation_endpoint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    scopes_supported: &'a [String],
    response_types_supported: &'a [&'static str],
    response_modes_supported: &'a [&'static str],
    grant_types_supported: Vec<&'a str>,
    code_challenge_methods_supported: &'a [&'static str],
    token_endpoint_auth_methods_supported: &'a [&'static str],
    /// Only while clients may register from metadata documents, which may use
    /// `private_key_jwt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_endpoint_auth_signing_alg_values_supported: Option<&'a [&'static str]>,
    introspection_endpoint_auth_methods_supported: &'a [&'static str],
    revocation_endpoint_auth_methods_supported: &'a [&'static str],
    authorization_response_iss_parameter_supported: bool,
    client_id_metadata_document_supported: bool,
}

impl AuthorizationServer {
    /// The authorization server metadata document (RFC 8414 §2). It lists only what some
    /// client could use: the implicit and password grants appear when the server-wide switches
    /// turn them on, and the extension grants registered on the builder.
    pub fn metadata(&self) -> serde_json::Value {
        let s = &self.settings;
        let mut grants = vec!["authorization_code"];
        if s.implicit_grant {
            grants.push("implicit");
        }
        if s.password_grant {
            grants.push("password");
        }
        grants.extend(["client_credentials", "refresh_token"]);
        let mut extensions: Vec<&str> = self.extensions.keys().map(String::as_str).collect();
        extensions.sort_unstable();
        grants.extend(extensions);
        let (response_types, response_modes): (&[_], &[_]) = if s.implicit_grant {
            (&["code", "token"], &["query", "fragment"])
        } else {
            (&["code"], &["query"])
        };
        let doc = Metadata {
            issuer: s.issuer(),
            authorization_endpoint: &s.authorization_endpoint,
            token_endpoint: &s.token_endpoint,
            introspection_endpoint: &s.introspection_endpoint,
            revocation_endpoint: &s.revocation_endpoint,
            jwks_uri: matches!(s.token_format, TokenFormat::Jwt(_)).then_some(s.jwks_uri.as_str()),
            scopes_supported: &s.scopes_supported,
            response_types_supported: response_types,
            response_modes_supported: response_modes,
            grant_types_supported: grants,
            code_challenge_methods_supported: if s.allow_plain_pkce {
                &["S256", "plain"]
            } else {
                &["S256"]
            },
            token_endpoint_auth_methods_supported: if self.cimd_enabled() {
                &[
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                    "private_key_jwt",
                ]
            } else {
                &["client_secret_basic", "client_secret_post", "none"]
            },
            token_endpoint_auth_signing_alg_values_supported: self
                .cimd_enabled()
                .then_some(super::token::ALGORITHM_NAMES),
            introspection_endpoint_auth_methods_supported: &[
                "client_secret_basic",
                "client_secret_post",
            ],
            revocation_endpoint_auth_methods_supported: &[
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            authorization_response_iss_parameter_supported: true,
            client_id_metadata_document_supported: self.cimd_enabled(),
        };
        serde_json::to_value(doc).unwrap_or_default()
    }
}
