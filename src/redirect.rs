//! Redirect-URI matching: which `redirect_uri` values a client may send users back to.
//!
//! A client registers redirect URIs of three kinds, and a requested URI is trusted when
//!
//! - it **equals a registered absolute URI** by simple string comparison (RFC 3986 §6.2.1):
//!   no case folding, no default-port or dot-segment normalisation (RFC 9700 §2.1 and §4.1.3 ask
//!   for exact matching, because every normalisation is a place for an open redirector to hide);
//! - it is a **loopback IP literal** URI (`http://127.0.0.1…` or `http://[::1]…`) equal to a
//!   registered loopback URI in everything but the port, which native apps pick at run time
//!   (RFC 8252 §7.3);
//! - it **equals a registered relative URI resolved** (RFC 3986 §5) against the client's home URL
//!   or one of its base URLs.
//!
//! `localhost` is an ordinary host name here, matched exactly like any other: RFC 8252 §8.3
//! recommends IP literals because a name can be resolved elsewhere. Private-use schemes for
//! native apps (RFC 8252 §7.1, `com.example.app:/cb`) match exactly.
//!
//! Everything is resolved and indexed once, when the client is saved ([`RedirectRules::compile`]),
//! so a check costs one or two hash lookups however many URIs are registered.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use url::Url;

use crate::error::InvalidField;

/// The longest redirect URI accepted, registered or requested. Longer values are refused before
/// any other work, so a hostile request cannot make matching expensive.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;

/// Schemes that run code or read local data when navigated to; never a redirect target.
const FORBIDDEN_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "file",
    "vbscript",
    "about",
    "blob",
    "filesystem",
    "view-source",
    "livescript",
    "mhtml",
];

/// The most redirect URIs and base URLs a client may register; keeps the index small and an
/// administrator's mistake (or a hostile registration document) bounded.
pub const MAX_REDIRECT_URIS: usize = 100;
/// See [`MAX_REDIRECT_URIS`].
pub const MAX_BASE_URLS: usize = 20;

/// The two loopback IP literals RFC 8252 §7.3 names. Other addresses in 127.0.0.0/8 and other
/// spellings of `::1` are ordinary hosts, matched exactly.
const LOOPBACK_PREFIXES: &[&str] = &["http://127.0.0.1", "http://[::1]"];

/// Why a redirect URI value is malformed or not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectUriError {
    /// The value is empty.
    #[error("must not be empty")]
    Empty,
    /// The value is longer than [`MAX_REDIRECT_URI_LEN`] bytes.
    #[error("is {0} bytes long; the limit is {MAX_REDIRECT_URI_LEN}")]
    TooLong(usize),
    /// The value contains a space or a control character, which browsers strip or rewrite.
    #[error("contains whitespace or a control character")]
    ControlCharacter,
    /// A character outside RFC 3986's set (non-ASCII, `\\`, `"`, `<`, `>`, …). Browsers
    /// rewrite these (a backslash becomes a slash), so what is stored would not be what is
    /// followed.
    #[error("contains a character not allowed in a URI (RFC 3986 section 2); percent-encode it")]
    NotUriCharacter,
    /// The value is not a URI.
    #[error("is not a valid URI ({0})")]
    Unparsable(String),
    /// A fragment is not allowed (RFC 6749 §3.1.2).
    #[error("must not contain a fragment (RFC 6749 §3.1.2)")]
    Fragment,
    /// Userinfo (`user@`) is not allowed: it disguises the real host.
    #[error("must not contain userinfo (`user@host`)")]
    Userinfo,
    /// A scheme that runs code or reads local data.
    #[error("the `{0}` scheme can never be a redirect target")]
    ForbiddenScheme(String),
    /// A custom scheme that is not a reverse domain name.
    #[error(
        "the `{0}` scheme is not allowed; use https, http on a loopback address, or a \
         reverse-domain private-use scheme such as `com.example.app` (RFC 8252 §7.1)"
    )]
    UnsupportedScheme(String),
    /// Plain http to a host other than a loopback one.
    #[error(
        "http is allowed only for loopback hosts (127.0.0.1, [::1], localhost); use https \
         (RFC 6749 §3.1.2.1, RFC 8252 §8.3)"
    )]
    InsecureHttp,
    /// A relative URI where an absolute one is required.
    #[error("must be an absolute URI")]
    Relative,
    /// A relative reference that names its own host (`//host/path`).
    #[error("a relative redirect URI must not start with `//`: it would name another host")]
    NetworkPathReference,
    /// A relative URI registered without a home or base URL to resolve it against.
    #[error("is relative, but the client has no home URL or base URL to resolve it against")]
    NothingToResolveAgainst,
    /// The same URI is registered twice.
    #[error("is registered twice")]
    Duplicate,
}

/// How a registered redirect URI is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedirectUriKind {
    /// An absolute `https` (or loopback-host `http`) URI, matched exactly.
    Absolute,
    /// An `http` URI on a loopback IP literal, matched in everything but the port.
    Loopback,
    /// A native app's reverse-domain private-use scheme URI, matched exactly.
    PrivateUse,
    /// A relative URI, matched exactly after resolution against the home and base URLs.
    Relative,
}

/// One registered redirect URI, validated; it keeps the exact string the administrator entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredRedirectUri {
    raw: String,
    kind: RedirectUriKind,
}

impl RegisteredRedirectUri {
    /// Validates a value for registration.
    pub fn parse(raw: &str) -> Result<Self, RedirectUriError> {
        check_characters(raw)?;
        let kind = match parse_absolute(raw) {
            Ok(url) => match classify_absolute(raw, &url)? {
                Scheme::Https | Scheme::Http => {
                    if loopback_key(raw).is_some() {
                        RedirectUriKind::Loopback
                    } else {
                        RedirectUriKind::Absolute
                    }
                }
                Scheme::PrivateUse => RedirectUriKind::PrivateUse,
            },
            Err(RedirectUriError::Relative) => {
                if raw.starts_with("//") {
                    return Err(RedirectUriError::NetworkPathReference);
                }
                if raw.contains('#') {
                    return Err(RedirectUriError::Fragment);
                }
                RedirectUriKind::Relative
            }
            Err(other) => return Err(other),
        };
        Ok(RegisteredRedirectUri {
            raw: raw.to_owned(),
            kind,
        })
    }

    /// The URI as registered.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// How this URI is matched.
    pub fn kind(&self) -> RedirectUriKind {
        self.kind
    }
}

impl fmt::Display for RegisteredRedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// A requested redirect URI that matched a registration; the only kind of value the library
/// redirects a user agent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedRedirectUri {
    uri: Arc<str>,
    matched: RedirectUriKind,
}

impl TrustedRedirectUri {
    /// The URI exactly as requested (and therefore as the client will compare it).
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// The URI as a shared string: for an exact match, the registered one, so keeping it
    /// (in a code's record, say) copies nothing.
    pub fn shared(&self) -> Arc<str> {
        self.uri.clone()
    }

    /// The kind of registration it matched. RFC 8252 §8.6: a loopback or private-use URI does
    /// not prove which app receives the response, which matters for remembered consent.
    pub fn matched(&self) -> RedirectUriKind {
        self.matched
    }

    /// Whether the client on the other end cannot be identified by this URI: a loopback or
    /// private-use redirect can be claimed by any app on the device (RFC 8252 §8.6).
    pub fn is_native_app_redirect(&self) -> bool {
        matches!(
            self.matched,
            RedirectUriKind::Loopback | RedirectUriKind::PrivateUse
        )
    }
}

impl fmt::Display for TrustedRedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)
    }
}

/// Why a requested URI matched no registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UntrustedReason {
    /// The client has no redirect URIs at all.
    NoneRegistered,
    /// No registered URI is equal to it.
    NotRegistered,
    /// It is a loopback URI, but no registered loopback URI equals it apart from the port.
    LoopbackNotRegistered,
}

impl fmt::Display for UntrustedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UntrustedReason::NoneRegistered => "the client has no registered redirect URIs",
            UntrustedReason::NotRegistered => {
                "is not registered for this client (exact string comparison, RFC 3986 §6.2.1)"
            }
            UntrustedReason::LoopbackNotRegistered => {
                "no registered loopback redirect URI equals it apart from the port (RFC 8252 §7.3)"
            }
        })
    }
}

/// A requested redirect URI that must not be redirected to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectRejection {
    /// Well formed but not registered: record it for an administrator to review.
    #[error("redirect_uri: {0}")]
    Untrusted(UntrustedReason),
    /// Malformed or forbidden: nothing to review.
    #[error("redirect_uri: {0}")]
    Invalid(RedirectUriError),
}

impl RedirectRejection {
    /// Whether the URI should be recorded on the client for review (well formed, unregistered).
    pub fn is_reviewable(&self) -> bool {
        matches!(self, RedirectRejection::Untrusted(_))
    }

    /// The rule the URI broke, without the parameter name.
    pub fn reason(&self) -> String {
        match self {
            RedirectRejection::Untrusted(r) => r.to_string(),
            RedirectRejection::Invalid(e) => e.to_string(),
        }
    }
}

/// A client's redirect URIs with the home and base URLs they resolve against, compiled into
/// hash indexes.
#[derive(Debug, Clone, Default)]
pub struct RedirectRules {
    home_url: Option<Url>,
    base_urls: Vec<Url>,
    registered: Vec<RegisteredRedirectUri>,
    /// Exact-match targets: absolute and private-use URIs, and every resolution of each relative
    /// URI.
    exact: HashMap<Arc<str>, RedirectUriKind>,
    /// Loopback URIs with the port removed (see [`loopback_key`]).
    loopback: HashSet<String>,
}

impl RedirectRules {
    /// Validates and indexes a client's URLs. Errors name the field (`home_url`,
    /// `base_urls[i]`, `redirect_uris[i]`) and the rule.
    pub fn compile(
        home_url: Option<&str>,
        base_urls: &[String],
        redirect_uris: &[String],
    ) -> Result<Self, InvalidField> {
        let home_url = home_url
            .map(|h| parse_site_url(h).map_err(|reason| InvalidField::new("home_url", reason)))
            .transpose()?;
        let base_urls = base_urls
            .iter()
            .enumerate()
            .map(|(i, b)| {
                parse_site_url(b)
                    .map_err(|reason| InvalidField::new(format!("base_urls[{i}]"), reason))
            })
            .collect::<Result<Vec<_>, _>>()?;

        if base_urls.len() > MAX_BASE_URLS {
            return Err(InvalidField::new(
                "base_urls",
                format!("at most {MAX_BASE_URLS} base URLs may be registered"),
            ));
        }
        if redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(InvalidField::new(
                "redirect_uris",
                format!("at most {MAX_REDIRECT_URIS} redirect URIs may be registered"),
            ));
        }
        let mut rules = RedirectRules {
            home_url,
            base_urls,
            ..RedirectRules::default()
        };
        let mut seen: HashSet<&str> = HashSet::with_capacity(redirect_uris.len());
        for (i, raw) in redirect_uris.iter().enumerate() {
            let field = || format!("redirect_uris[{i}]");
            let uri = RegisteredRedirectUri::parse(raw)
                .map_err(|e| InvalidField::new(field(), e.to_string()))?;
            if !seen.insert(raw.as_str()) {
                return Err(InvalidField::new(
                    field(),
                    RedirectUriError::Duplicate.to_string(),
                ));
            }
            rules
                .index(&uri)
                .map_err(|reason| InvalidField::new(field(), reason))?;
            rules.registered.push(uri);
        }
        Ok(rules)
    }

    fn index(&mut self, uri: &RegisteredRedirectUri) -> Result<(), String> {
        match uri.kind {
            RedirectUriKind::Absolute | RedirectUriKind::PrivateUse => {
                self.exact.insert(uri.raw.as_str().into(), uri.kind);
            }
            RedirectUriKind::Loopback => {
                if let Some(key) = loopback_key(&uri.raw) {
                    self.loopback.insert(key);
                }
            }
            RedirectUriKind::Relative => {
                let bases: Vec<&Url> = self.home_url.iter().chain(&self.base_urls).collect();
                if bases.is_empty() {
                    return Err(RedirectUriError::NothingToResolveAgainst.to_string());
                }
                for base in bases {
                    let resolved = base
                        .join(&uri.raw)
                        .map_err(|e| format!("does not resolve against `{base}`: {e}"))?;
                    // The result must itself be a URI we would accept for registration: a
                    // relative reference cannot smuggle in what an absolute one may not carry.
                    RegisteredRedirectUri::parse(resolved.as_str()).map_err(|e| {
                        format!("resolves against `{base}` to `{resolved}`, which {e}")
                    })?;
                    self.exact
                        .insert(Arc::from(resolved.as_str()), RedirectUriKind::Relative);
                }
            }
        }
        Ok(())
    }

    /// Decides whether a user agent may be redirected to `requested`.
    ///
    /// Registered values were validated when compiled, so an exact hit needs no parsing; only a
    /// miss is parsed, to tell a malformed URI (refused) from an unregistered one (reviewable).
    pub fn check(&self, requested: &str) -> Result<TrustedRedirectUri, RedirectRejection> {
        if requested.len() > MAX_REDIRECT_URI_LEN {
            return Err(RedirectRejection::Invalid(RedirectUriError::TooLong(
                requested.len(),
            )));
        }
        // Most clients register one to a few URIs: comparing them costs less than hashing the
        // requested one.
        let hit = if self.exact.len() <= 4 {
            self.exact.iter().find(|(uri, _)| uri.as_ref() == requested)
        } else {
            self.exact.get_key_value(requested)
        };
        if let Some((uri, kind)) = hit {
            return Ok(TrustedRedirectUri {
                uri: uri.clone(),
                matched: *kind,
            });
        }
        let key = loopback_key(requested);
        if let Some(key) = &key
            && self.loopback.contains(key)
        {
            return Ok(TrustedRedirectUri {
                uri: requested.into(),
                matched: RedirectUriKind::Loopback,
            });
        }

        check_characters(requested).map_err(RedirectRejection::Invalid)?;
        let url = parse_absolute(requested).map_err(RedirectRejection::Invalid)?;
        if let Some(scheme) = forbidden_scheme(&url) {
            return Err(RedirectRejection::Invalid(
                RedirectUriError::ForbiddenScheme(scheme),
            ));
        }
        let reason = if self.registered.is_empty() {
            UntrustedReason::NoneRegistered
        } else if key.is_some() {
            UntrustedReason::LoopbackNotRegistered
        } else {
            UntrustedReason::NotRegistered
        };
        Err(RedirectRejection::Untrusted(reason))
    }

    /// The client's home URL.
    pub fn home_url(&self) -> Option<&Url> {
        self.home_url.as_ref()
    }

    /// The client's base URLs.
    pub fn base_urls(&self) -> &[Url] {
        &self.base_urls
    }

    /// The registered redirect URIs, in the order given.
    pub fn registered(&self) -> &[RegisteredRedirectUri] {
        &self.registered
    }
}

enum Scheme {
    Https,
    Http,
    PrivateUse,
}

/// Rejects empty, oversized, and whitespace- or control-bearing values. The `url` parser would
/// silently strip some of these, so they are refused on the raw string.
fn check_characters(raw: &str) -> Result<(), RedirectUriError> {
    if raw.is_empty() {
        return Err(RedirectUriError::Empty);
    }
    if raw.len() > MAX_REDIRECT_URI_LEN {
        return Err(RedirectUriError::TooLong(raw.len()));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(RedirectUriError::ControlCharacter);
    }
    if !raw.bytes().all(is_uri_byte) {
        return Err(RedirectUriError::NotUriCharacter);
    }
    Ok(())
}

/// RFC 3986 §2: unreserved, reserved, and `%` for percent-encoding.
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

/// Parses an absolute URI and refuses fragments and userinfo.
fn parse_absolute(raw: &str) -> Result<Url, RedirectUriError> {
    let url = match Url::parse(raw) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => return Err(RedirectUriError::Relative),
        Err(e) => return Err(RedirectUriError::Unparsable(e.to_string())),
    };
    if url.fragment().is_some() || raw.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    // The parser drops an empty userinfo (`http://@host`), so look at the raw authority too.
    if !url.username().is_empty() || url.password().is_some() || raw_authority_has_at(raw) {
        return Err(RedirectUriError::Userinfo);
    }
    Ok(url)
}

fn raw_authority_has_at(raw: &str) -> bool {
    let Some((_, rest)) = raw.split_once("://") else {
        return false;
    };
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    rest.get(..end)
        .is_some_and(|authority| authority.contains('@'))
}

fn forbidden_scheme(url: &Url) -> Option<String> {
    FORBIDDEN_SCHEMES
        .contains(&url.scheme())
        .then(|| url.scheme().to_owned())
}

fn classify_absolute(raw: &str, url: &Url) -> Result<Scheme, RedirectUriError> {
    if let Some(scheme) = forbidden_scheme(url) {
        return Err(RedirectUriError::ForbiddenScheme(scheme));
    }
    match url.scheme() {
        "https" => Ok(Scheme::Https),
        "http" => {
            // RFC 6749 §3.1.2.1 asks for TLS on redirect endpoints; RFC 8252 §7.3 and §8.3
            // allow http only where the traffic never leaves the device.
            let loopback_host = match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            if loopback_host || loopback_key(raw).is_some() {
                Ok(Scheme::Http)
            } else {
                Err(RedirectUriError::InsecureHttp)
            }
        }
        // RFC 8252 §7.1: private-use schemes are reverse domain names, so they contain a dot;
        // a bare word like `myapp` collides across apps.
        scheme if scheme.contains('.') => Ok(Scheme::PrivateUse),
        scheme => Err(RedirectUriError::UnsupportedScheme(
            crate::error::echo(scheme).into_owned(),
        )),
    }
}

/// For an `http://127.0.0.1…` or `http://[::1]…` URI, the URI with its port removed; `None`
/// for anything else. Works on the raw string so that nothing but the port is ignored.
fn loopback_key(raw: &str) -> Option<String> {
    let prefix = LOOPBACK_PREFIXES.iter().find(|p| raw.starts_with(**p))?;
    let after_host = raw.get(prefix.len()..)?;
    let rest = match after_host.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
            let (port, rest) = (port_and_rest.get(..digits)?, port_and_rest.get(digits..)?);
            if digits == 0 || digits > 5 || port.parse::<u16>().is_err() {
                return None;
            }
            rest
        }
        None => after_host,
    };
    if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
        return None;
    }
    Some(format!("{prefix}{rest}"))
}

/// A home or base URL: absolute http(s), with no fragment or userinfo.
fn parse_site_url(raw: &str) -> Result<Url, String> {
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(RedirectUriError::ControlCharacter.to_string());
    }
    if !raw.bytes().all(is_uri_byte) {
        return Err(RedirectUriError::NotUriCharacter.to_string());
    }
    let url = match Url::parse(raw) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err("must be an absolute URL such as https://app.example.com/".into());
        }
        Err(e) => return Err(format!("is not a valid URL ({e})")),
    };
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "must be an http or https URL, not `{}`",
            url.scheme()
        ));
    }
    if url.fragment().is_some() || raw.contains('#') {
        return Err("must not contain a fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() || raw_authority_has_at(raw) {
        return Err("must not contain userinfo (`user@host`)".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(home: Option<&str>, bases: &[&str], uris: &[&str]) -> RedirectRules {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        RedirectRules::compile(home, &s(bases), &s(uris)).unwrap()
    }

    #[test]
    fn exact_matches_hold_for_few_and_many_registered_uris() {
        // Up to four exact targets are compared one by one, more are looked up by hash.
        for n in [1, 4, 5, 12] {
            let uris: Vec<String> = (0..n)
                .map(|i| format!("https://app.example/cb{i}"))
                .collect();
            let refs: Vec<&str> = uris.iter().map(String::as_str).collect();
            let r = rules(None, &[], &refs);
            for uri in &uris {
                assert_eq!(r.check(uri).map(|t| t.as_str().to_owned()), Ok(uri.clone()));
            }
            for miss in [
                "https://app.example/cb",
                "https://app.example/cb0/",
                "https://app.example/cbx",
            ] {
                assert!(
                    matches!(r.check(miss), Err(RedirectRejection::Untrusted(_))),
                    "{n} {miss}"
                );
            }
        }
    }

    #[test]
    fn loopback_key_strips_only_a_valid_port() {
        let cases = [
            ("http://127.0.0.1/cb", Some("http://127.0.0.1/cb")),
            ("http://127.0.0.1:8080/cb", Some("http://127.0.0.1/cb")),
            ("http://[::1]:1/cb?x=1", Some("http://[::1]/cb?x=1")),
            ("http://127.0.0.1:65535", Some("http://127.0.0.1")),
            ("http://127.0.0.1:65536/cb", None),
            ("http://127.0.0.1:/cb", None),
            ("http://127.0.0.1.evil.com/cb", None),
            ("http://127.0.0.1:80@evil.com/cb", None),
            ("https://127.0.0.1/cb", None),
            ("HTTP://127.0.0.1/cb", None),
            ("http://localhost:80/cb", None),
        ];
        for (raw, want) in cases {
            assert_eq!(loopback_key(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn registration_classifies_each_kind() {
        let cases = [
            ("https://app.example.com/cb", RedirectUriKind::Absolute),
            ("http://localhost:3000/cb", RedirectUriKind::Absolute),
            ("http://127.0.0.1/cb", RedirectUriKind::Loopback),
            ("http://[::1]:9000/cb", RedirectUriKind::Loopback),
            ("com.example.app:/cb", RedirectUriKind::PrivateUse),
            ("/oauth/cb", RedirectUriKind::Relative),
            ("cb", RedirectUriKind::Relative),
        ];
        for (raw, kind) in cases {
            assert_eq!(
                RegisteredRedirectUri::parse(raw).map(|r| r.kind()),
                Ok(kind),
                "{raw}"
            );
        }
    }

    #[test]
    fn registration_refuses_dangerous_values_with_reasons() {
        use RedirectUriError::*;
        let cases = [
            ("javascript:alert(1)", ForbiddenScheme("javascript".into())),
            ("data:text/html,hi", ForbiddenScheme("data".into())),
            ("file:///etc/passwd", ForbiddenScheme("file".into())),
            ("vbscript:msgbox", ForbiddenScheme("vbscript".into())),
            ("myapp:/cb", UnsupportedScheme("myapp".into())),
            ("http://app.example.com/cb", InsecureHttp),
            ("https://app.example.com/cb#x", Fragment),
            ("https://user@app.example.com/cb", Userinfo),
            ("https://@app.example.com/cb", Userinfo),
            ("//evil.example/cb", NetworkPathReference),
            ("\\\\evil.example/cb", NotUriCharacter),
            ("/\\evil.example/cb", NotUriCharacter),
            ("\\/evil.example/cb", NotUriCharacter),
            ("https:\\\\@evil.example/cb", NotUriCharacter),
            ("https://app.example.com/\"x\"", NotUriCharacter),
            ("https://b\u{fc}cher.example/cb", NotUriCharacter),
            ("/cb#frag", Fragment),
            ("https://app.example.com/c b", ControlCharacter),
            ("", Empty),
        ];
        for (raw, want) in cases {
            assert_eq!(RegisteredRedirectUri::parse(raw), Err(want), "{raw}");
        }
    }

    #[test]
    fn compile_names_the_field_that_failed() {
        let err = RedirectRules::compile(Some("app.example.com"), &[], &[]).unwrap_err();
        assert_eq!(err.field, "home_url");
        let err = RedirectRules::compile(None, &["https://a.example/#x".into()], &[]).unwrap_err();
        assert_eq!(err.field, "base_urls[0]");
        let err = RedirectRules::compile(None, &[], &["https://a.example/cb".into(), "/cb".into()])
            .unwrap_err();
        assert_eq!(err.field, "redirect_uris[1]");
        assert!(err.reason.contains("no home URL or base URL"), "{err}");
        let dup = [
            "https://a.example/cb".to_string(),
            "https://a.example/cb".to_string(),
        ];
        let err = RedirectRules::compile(None, &[], &dup).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.reason.as_str()),
            ("redirect_uris[1]", "is registered twice")
        );
    }

    #[test]
    fn relative_uris_resolve_against_home_and_every_base_url() {
        let r = rules(
            Some("https://app.example.com/portal/"),
            &["https://eu.example.com/", "https://us.example.com/x/y"],
            &["cb", "/abs"],
        );
        for ok in [
            "https://app.example.com/portal/cb",
            "https://app.example.com/abs",
            "https://eu.example.com/cb",
            "https://us.example.com/x/cb",
            "https://us.example.com/abs",
        ] {
            assert_eq!(
                r.check(ok).map(|t| t.matched()),
                Ok(RedirectUriKind::Relative),
                "{ok}"
            );
        }
        assert!(r.check("https://us.example.com/x/y/cb").is_err());
    }

    #[test]
    fn relative_uri_against_plain_http_base_is_refused() {
        let err =
            RedirectRules::compile(Some("http://intranet.example/"), &[], &["/cb".to_string()])
                .unwrap_err();
        assert_eq!(err.field, "redirect_uris[0]");
        assert!(
            err.reason.contains("http is allowed only for loopback"),
            "{err}"
        );
    }

    #[test]
    fn untrusted_reasons_distinguish_cases() {
        let none = rules(None, &[], &[]);
        assert_eq!(
            none.check("https://a.example/cb"),
            Err(RedirectRejection::Untrusted(
                UntrustedReason::NoneRegistered
            ))
        );
        let r = rules(None, &[], &["http://127.0.0.1/cb"]);
        assert_eq!(
            r.check("http://127.0.0.1:5000/other"),
            Err(RedirectRejection::Untrusted(
                UntrustedReason::LoopbackNotRegistered
            ))
        );
        assert!(r.check("https://a.example/cb").unwrap_err().is_reviewable());
        assert!(
            !r.check("https://a.example/cb#x")
                .unwrap_err()
                .is_reviewable()
        );
    }

    #[test]
    fn native_app_redirects_are_flagged() {
        let r = rules(
            None,
            &[],
            &[
                "http://127.0.0.1/cb",
                "com.example.app:/cb",
                "https://a.example/cb",
            ],
        );
        assert!(
            r.check("http://127.0.0.1:4000/cb")
                .unwrap()
                .is_native_app_redirect()
        );
        assert!(
            r.check("com.example.app:/cb")
                .unwrap()
                .is_native_app_redirect()
        );
        assert!(
            !r.check("https://a.example/cb")
                .unwrap()
                .is_native_app_redirect()
        );
    }

    #[test]
    fn oversized_request_is_refused_before_lookup() {
        let r = rules(None, &[], &["https://a.example/cb"]);
        let long = format!("https://a.example/{}", "a".repeat(MAX_REDIRECT_URI_LEN));
        assert!(matches!(
            r.check(&long),
            Err(RedirectRejection::Invalid(RedirectUriError::TooLong(_)))
        ));
    }
}
