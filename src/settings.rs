//! Server settings: issuer, endpoints, lifetimes, PKCE policy, resources, token format.

use url::Url;

use crate::error::InvalidField;
use crate::token::TokenFormat;

/// How the authorization server behaves. Build with [`ServerSettings::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    issuer: String,
    /// The authorization endpoint's URL.
    pub authorization_endpoint: String,
    /// The token endpoint's URL.
    pub token_endpoint: String,
    /// The introspection endpoint's URL (RFC 7662).
    pub introspection_endpoint: String,
    /// The revocation endpoint's URL (RFC 7009).
    pub revocation_endpoint: String,
    /// The JWKS URL, published when access tokens are JWTs.
    pub jwks_uri: String,
    /// How long an authorization code lives, in seconds (RFC 6749 §4.1.2 recommends at most
    /// ten minutes). Default 60.
    pub code_lifetime: u64,
    /// How long an access token lives, in seconds. Default 3600.
    pub access_token_lifetime: u64,
    /// How long a refresh token lives, in seconds, counted from its own issue: each rotation
    /// starts it again (a sliding lifetime). Default 30 days.
    pub refresh_token_lifetime: u64,
    /// How long a grant's refresh tokens can go on being rotated, in seconds, counted from the
    /// authorization: past it the user must authorize again, however actively the client
    /// refreshed (RFC 9700 §4.14.2 asks refresh tokens to expire; a sliding lifetime alone
    /// lets a stolen one live for ever). Default 90 days.
    pub refresh_family_lifetime: u64,
    /// Offer the implicit grant (`response_type=token`) at all. Off by default: RFC 9700
    /// §2.1.2 says it should not be used (the token travels in the URL and cannot be bound to
    /// the client). A client still needs the flow enabled on top of this.
    pub implicit_grant: bool,
    /// Offer the resource owner password credentials grant at all. Off by default: RFC 9700
    /// §2.4 says it must not be used (the client sees the user's password). A client still
    /// needs the flow enabled on top of this.
    pub password_grant: bool,
    /// Accept `code_challenge_method=plain`. Off by default: RFC 9700 §2.1.1 asks for S256.
    pub allow_plain_pkce: bool,
    /// Seconds during which a refresh token that was just rotated out may be presented again by
    /// the same client and get the same successor, for clients that refresh concurrently.
    /// 0 (the default) turns this off: any reuse revokes the family (RFC 9700 §4.14.2).
    ///
    /// Applies to confidential clients only. Rotation is how RFC 9700 §4.14.2 detects a stolen
    /// refresh token of a public client: whoever presents a rotated-out token second reveals
    /// the theft. With a grace interval, a thief who presents it within the interval would get
    /// the legitimate successor instead of setting off that alarm. A confidential client's
    /// thief would also need the client's secret, which the interval does not give away.
    pub refresh_reuse_interval: u64,
    /// The host's own resource identifiers (RFC 8707) that tokens may be issued for.
    pub resources: Vec<String>,
    /// The audience of a token requested without a `resource`; `None` means the issuer.
    pub default_resource: Option<String>,
    /// The scopes advertised in metadata.
    pub scopes_supported: Vec<String>,
    /// Register clients from Client ID Metadata Documents. Off by default; the server's
    /// `set_cimd_enabled` turns it on and off at run time.
    pub cimd_enabled: bool,
    /// How clients are registered from Client ID Metadata Documents, when that is on.
    pub cimd: CimdSettings,
    /// Failed password attempts per user before the resource owner grant is locked for that
    /// user (RFC 6749 §4.3.2). Default 5.
    pub password_max_failures: u32,
    /// How long a locked user stays locked, in seconds. Default 300.
    pub password_lockout: u64,
    /// Opaque (default) or JWT access tokens.
    pub token_format: TokenFormat,
    /// The largest request body the HTTP glue accepts; larger ones get 413. Default 64 KiB.
    pub max_body_bytes: usize,
}

impl ServerSettings {
    /// Settings for `issuer`, with endpoints at `/authorize`, `/token`, `/introspect`,
    /// `/revoke` and `/jwks.json` under it.
    ///
    /// The issuer must be an https URL without query or fragment (RFC 8414 §2); plain http is
    /// accepted only for loopback hosts, for development.
    pub fn new(issuer: &str) -> Result<Self, InvalidField> {
        let url = Url::parse(issuer)
            .map_err(|e| InvalidField::new("issuer", format!("is not a valid URL ({e})")))?;
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
            return Err(InvalidField::new(
                "issuer",
                "must be an https URL (http only for loopback hosts) (RFC 8414 section 2)",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(InvalidField::new(
                "issuer",
                "must not have a query or fragment (RFC 8414 section 2)",
            ));
        }
        let base = issuer.trim_end_matches('/');
        Ok(ServerSettings {
            issuer: issuer.to_owned(),
            authorization_endpoint: format!("{base}/authorize"),
            token_endpoint: format!("{base}/token"),
            introspection_endpoint: format!("{base}/introspect"),
            revocation_endpoint: format!("{base}/revoke"),
            jwks_uri: format!("{base}/jwks.json"),
            code_lifetime: 60,
            access_token_lifetime: 3600,
            refresh_token_lifetime: 30 * 24 * 3600,
            refresh_family_lifetime: 90 * 24 * 3600,
            implicit_grant: false,
            password_grant: false,
            allow_plain_pkce: false,
            refresh_reuse_interval: 0,
            resources: Vec::new(),
            default_resource: None,
            scopes_supported: Vec::new(),
            cimd_enabled: false,
            cimd: CimdSettings::default(),
            password_max_failures: 5,
            password_lockout: 300,
            token_format: TokenFormat::Opaque,
            max_body_bytes: 64 * 1024,
        })
    }

    /// The issuer identifier, character for character as configured: it is compared by
    /// clients against the `iss` response parameter (RFC 9207 §2.4).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Checks the values a host may have set: lifetimes and limits above zero, resources and
    /// endpoints absolute URLs. [`crate::server::AuthorizationServerBuilder::build`] calls it,
    /// so a server never runs with settings that make no sense; errors name the field.
    pub fn validate(&self) -> Result<(), InvalidField> {
        let positive = [
            ("code_lifetime", self.code_lifetime),
            ("access_token_lifetime", self.access_token_lifetime),
            ("refresh_token_lifetime", self.refresh_token_lifetime),
            ("refresh_family_lifetime", self.refresh_family_lifetime),
            ("password_lockout", self.password_lockout),
            (
                "password_max_failures",
                u64::from(self.password_max_failures),
            ),
            ("max_body_bytes", self.max_body_bytes as u64),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(InvalidField::new(field, "must be greater than 0"));
            }
        }
        let absolute = |field: String, value: &str| match Url::parse(value) {
            Ok(url) if url.fragment().is_none() => Ok(()),
            Ok(_) => Err(InvalidField::new(
                field,
                "must not contain a fragment (RFC 8707 section 2)",
            )),
            Err(e) => Err(InvalidField::new(
                field,
                format!("`{value}` is not an absolute URL ({e})"),
            )),
        };
        for (i, r) in self.resources.iter().enumerate() {
            absolute(format!("resources[{i}]"), r)?;
        }
        if let Some(r) = &self.default_resource {
            absolute("default_resource".into(), r)?;
        }
        for (field, value) in [
            ("authorization_endpoint", &self.authorization_endpoint),
            ("token_endpoint", &self.token_endpoint),
            ("introspection_endpoint", &self.introspection_endpoint),
            ("revocation_endpoint", &self.revocation_endpoint),
            ("jwks_uri", &self.jwks_uri),
        ] {
            absolute(field.into(), value)?;
        }
        Ok(())
    }

    /// The audience of a token requested without `resource`.
    pub fn default_audience(&self) -> &str {
        self.default_resource.as_deref().unwrap_or(&self.issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_rules() {
        assert!(ServerSettings::new("https://auth.example.com").is_ok());
        assert!(ServerSettings::new("http://127.0.0.1:8080").is_ok());
        for bad in [
            "http://auth.example.com",
            "https://auth.example.com/?x=1",
            "https://auth.example.com/#f",
            "auth.example.com",
        ] {
            assert_eq!(
                ServerSettings::new(bad).unwrap_err().field,
                "issuer",
                "{bad}"
            );
        }
    }

    #[test]
    fn values_out_of_range_are_refused_naming_the_field() {
        let ok = ServerSettings::new("https://auth.example.com").unwrap();
        assert!(ok.validate().is_ok());
        type Case = (&'static str, fn(&mut ServerSettings));
        let cases: [Case; 7] = [
            ("code_lifetime", |s| s.code_lifetime = 0),
            ("access_token_lifetime", |s| s.access_token_lifetime = 0),
            ("refresh_token_lifetime", |s| s.refresh_token_lifetime = 0),
            ("refresh_family_lifetime", |s| s.refresh_family_lifetime = 0),
            ("password_max_failures", |s| s.password_max_failures = 0),
            ("resources[1]", |s| {
                s.resources = vec!["https://api.example.com/".into(), "/relative".into()]
            }),
            ("default_resource", |s| {
                s.default_resource = Some("https://api.example.com/#frag".into())
            }),
        ];
        for (field, break_it) in cases {
            let mut s = ok.clone();
            break_it(&mut s);
            assert_eq!(s.validate().unwrap_err().field, field);
        }
    }

    #[test]
    fn endpoints_hang_off_the_issuer_and_issuer_is_kept_verbatim() {
        let s = ServerSettings::new("https://auth.example.com/tenant/").unwrap();
        assert_eq!(s.issuer(), "https://auth.example.com/tenant/");
        assert_eq!(s.token_endpoint, "https://auth.example.com/tenant/token");
        assert_eq!(s.default_audience(), "https://auth.example.com/tenant/");
    }
}

/// How clients register themselves from Client ID Metadata Documents
/// (draft-ietf-oauth-client-id-metadata-document), when [`ServerSettings::cimd_enabled`] is
/// on. docs/cimd.md has the whole model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CimdSettings {
    /// What client_id URLs may name besides the draft's rules (IP hosts, http on loopback).
    pub url_policy: crate::cimd::UrlPolicy,
    /// The deadline and size cap of one document fetch (2.5 s, 5 KiB).
    pub fetch: crate::cimd::FetchLimits,
    /// How long documents are kept, and how many (30 s to 24 h, no grace, 10,000).
    pub cache: crate::cimd::CacheBounds,
    /// The scopes an auto-registered client may request (and gets when it names none).
    /// Empty by default: such a client can then be granted nothing until the host lists some.
    pub scopes: Vec<String>,
    /// Client IDs allowed to register; empty allows any that is not blocked. Each pattern is
    /// a URL prefix (`https://apps.example.com/clients/`, contains `://`), a host
    /// (`app.example.com`) or every host under a domain (`*.example.com`).
    pub allow: Vec<String>,
    /// Client IDs never registered, by the same patterns; blocking wins over allowing.
    pub block: Vec<String>,
}

impl CimdSettings {
    /// Whether the lists let `client_id` (with host `host`) register.
    pub fn admits(&self, client_id: &str, host: &str) -> bool {
        let matches = |pattern: &String| {
            if pattern.contains("://") {
                client_id.starts_with(pattern.as_str())
            } else if let Some(domain) = pattern.strip_prefix("*.") {
                // `*.example.com` covers `a.example.com`, not `example.com` nor `badexample.com`.
                host.strip_suffix(domain.to_ascii_lowercase().as_str())
                    .is_some_and(|label| label.len() > 1 && label.ends_with('.'))
            } else {
                host.eq_ignore_ascii_case(pattern)
            }
        };
        !self.block.iter().any(matches) && (self.allow.is_empty() || self.allow.iter().any(matches))
    }
}

#[cfg(test)]
mod cimd_tests {
    use super::CimdSettings;

    fn lists(allow: &[&str], block: &[&str]) -> CimdSettings {
        CimdSettings {
            allow: allow.iter().map(|s| (*s).to_owned()).collect(),
            block: block.iter().map(|s| (*s).to_owned()).collect(),
            ..CimdSettings::default()
        }
    }

    #[test]
    fn allow_and_block_patterns() {
        let id = |host: &str| format!("https://{host}/oauth/client.json");
        // (allow, block, host, admitted)
        let cases: &[(&[&str], &[&str], &str, bool)] = &[
            (&[], &[], "app.example.com", true),
            (&["app.example.com"], &[], "app.example.com", true),
            (&["APP.example.com"], &[], "app.example.com", true),
            (&["app.example.com"], &[], "other.example.com", false),
            (&["*.example.com"], &[], "app.example.com", true),
            (&["*.example.com"], &[], "a.b.example.com", true),
            (&["*.example.com"], &[], "example.com", false),
            (&["*.example.com"], &[], "badexample.com", false),
            (&["*.example.com"], &[], "example.com.evil.net", false),
            (
                &["https://app.example.com/oauth/"],
                &[],
                "app.example.com",
                true,
            ),
            (
                &["https://app.example.com/other/"],
                &[],
                "app.example.com",
                false,
            ),
            (&[], &["app.example.com"], "app.example.com", false),
            (&[], &["*.example.com"], "app.example.com", false),
            (&[], &["*.example.com"], "app.example.org", true),
            (
                &["*.example.com"],
                &["app.example.com"],
                "app.example.com",
                false,
            ),
            (
                &["*.example.com"],
                &["app.example.com"],
                "api.example.com",
                true,
            ),
        ];
        for (allow, block, host, admitted) in cases {
            let settings = lists(allow, block);
            assert_eq!(
                settings.admits(&id(host), host),
                *admitted,
                "allow {allow:?} block {block:?}: {host}"
            );
        }
    }
}
