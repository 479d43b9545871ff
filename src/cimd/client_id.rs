//! The rules a URL-shaped `client_id` must meet before anything is fetched for it
//! (draft-ietf-oauth-client-id-metadata-document §3).
//!
//! The checks run on the raw text the request carried, not on a parsed [`Url`]: a parser
//! lower-cases the host, drops a default port and resolves dot segments, so the URL it gives
//! back can name another document than the text did. A client ID is accepted only when it is
//! exactly the text a parser would write for it, so the document fetched is the one at that
//! very text, and the document's own `client_id` is compared with that text (§4.1).

use std::fmt;
use std::sync::Arc;

use url::{Host, Url};

use crate::client::MAX_CLIENT_ID_LEN;

/// What a host's settings allow besides the draft's rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Accept an IP address as the host. Off by default: the consent page shows the host so
    /// that the user can judge who is asking, and an address says nothing to a person.
    pub allow_ip_literals: bool,
    /// Accept `http://` on a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`), and those
    /// addresses as hosts, for development and tests that publish documents from a local
    /// server. Every other rule still applies. Never turn this on in production: anyone who can open a port on the
    /// server's machine could then publish a client.
    pub insecure_loopback: bool,
}

/// Why a URL-shaped `client_id` was refused. Each names the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientIdUrlError {
    /// Longer than any client ID may be.
    #[error("must be at most {MAX_CLIENT_ID_LEN} characters long")]
    TooLong,
    /// Not a URL at all.
    #[error("is not a valid URL ({0})")]
    NotUrl(String),
    /// A scheme other than `https`.
    #[error("must use the https scheme (draft-ietf-oauth-client-id-metadata-document section 3)")]
    NotHttps,
    /// `user:password@` before the host.
    #[error("must not contain a username or password (section 3)")]
    Userinfo,
    /// A `#fragment`.
    #[error("must not contain a fragment (section 3)")]
    Fragment,
    /// A `.` or `..` path segment, percent-encoded or not.
    #[error("must not contain `.` or `..` path segments, encoded or not (section 3)")]
    DotSegment,
    /// No path, or only `/`.
    #[error("must contain a path other than `/` (section 3)")]
    NoPath,
    /// An IP address where a host name is required.
    #[error("the host must be a name, not an IP address")]
    IpLiteral,
    /// Text a URL parser would write differently (case, default port, encoding, ...).
    #[error(
        "must be written as a URL parser writes it (`{0}`): lowercase scheme and host, no \
         default port, no empty port; the server fetches exactly the client_id's text"
    )]
    NotCanonical(String),
}

/// A `client_id` that names a Client ID Metadata Document: an absolute URL that passed every
/// rule of draft-ietf-oauth-client-id-metadata-document §3 and the host's [`UrlPolicy`].
/// Its text is exactly the request's `client_id`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MetadataUrl {
    text: Arc<str>,
    url: Url,
}

impl fmt::Debug for MetadataUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MetadataUrl").field(&&*self.text).finish()
    }
}

impl fmt::Display for MetadataUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether a `client_id` is URL-shaped, so that it is judged by [`MetadataUrl::parse`]'s
/// rules rather than an ordinary client ID's: it starts with `https://` or `http://`, in any
/// case. Administrators cannot give a client such an ID, so that nobody can take the
/// identity a document's owner may claim later.
pub fn is_url_shaped(client_id: &str) -> bool {
    let starts = |prefix: &str| {
        client_id
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    starts("https://") || starts("http://")
}

impl MetadataUrl {
    /// Checks a URL-shaped `client_id`. Nothing is fetched.
    pub fn parse(client_id: &str, policy: &UrlPolicy) -> Result<Self, ClientIdUrlError> {
        if client_id.len() > MAX_CLIENT_ID_LEN {
            return Err(ClientIdUrlError::TooLong);
        }
        let url = Url::parse(client_id).map_err(|e| ClientIdUrlError::NotUrl(e.to_string()))?;
        // A parser takes `https:///c` as host `c`: the text itself must name the host.
        if authority(client_id).is_empty() {
            return Err(ClientIdUrlError::NotUrl("the host is missing".into()));
        }
        // The specific rules first, so that the answer names the one that was broken; the
        // canonical form, which would catch several of them too, last.
        let loopback = is_loopback(&url);
        match url.scheme() {
            "https" => {}
            "http" if policy.insecure_loopback && loopback => {}
            _ => return Err(ClientIdUrlError::NotHttps),
        }
        if !url.username().is_empty()
            || url.password().is_some()
            || authority(client_id).contains('@')
        {
            return Err(ClientIdUrlError::Userinfo);
        }
        if url.fragment().is_some() || client_id.contains('#') {
            return Err(ClientIdUrlError::Fragment);
        }
        if has_dot_segment(raw_path(client_id)) {
            return Err(ClientIdUrlError::DotSegment);
        }
        if matches!(url.path(), "" | "/") {
            return Err(ClientIdUrlError::NoPath);
        }
        match url.host() {
            Some(Host::Domain(_)) => {}
            Some(Host::Ipv4(_) | Host::Ipv6(_))
                if policy.allow_ip_literals || (policy.insecure_loopback && loopback) => {}
            _ => return Err(ClientIdUrlError::IpLiteral),
        }
        if url.as_str() != client_id {
            return Err(ClientIdUrlError::NotCanonical(url.as_str().to_owned()));
        }
        Ok(MetadataUrl {
            text: client_id.into(),
            url,
        })
    }

    /// The client ID's text, exactly as the request carried it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URL to fetch; its text equals [`Self::as_str`].
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The host, as the consent page shows it.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }
}

/// Whether the URL's host is a loopback one: `localhost`, an address in `127.0.0.0/8`, or
/// `[::1]`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(a)) => a.is_loopback(),
        Some(Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    }
}

/// The raw text between `scheme://` and the path, query or fragment.
fn authority(raw: &str) -> &str {
    let rest = raw.split_once("://").map_or("", |(_, rest)| rest);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default()
}

/// The raw path: after the authority, up to a query or fragment.
fn raw_path(raw: &str) -> &str {
    let rest = raw.split_once("://").map_or("", |(_, rest)| rest);
    let after = rest
        .find(['/', '?', '#'])
        .and_then(|at| rest.get(at..))
        .unwrap_or_default();
    let end = after.find(['?', '#']).unwrap_or(after.len());
    after.get(..end).unwrap_or_default()
}

/// A segment that is `.` or `..` once percent-decoded (`%2e`, `.%2E`, ...): RFC 3986 §5.2.4
/// removes them, and URL parsers treat the encoded forms alike (WHATWG URL, "single-dot and
/// double-dot path segments").
fn has_dot_segment(path: &str) -> bool {
    path.split(['/', '\\']).any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlPolicy = UrlPolicy {
        allow_ip_literals: false,
        insecure_loopback: false,
    };

    #[test]
    fn url_shaped_ids_are_told_from_ordinary_ones() {
        for shaped in [
            "https://a.example/c",
            "HTTPS://a.example/c",
            "http://x",
            "Http://",
        ] {
            assert!(is_url_shaped(shaped), "{shaped}");
        }
        for plain in [
            "demo-cli",
            "https",
            "https:/a",
            "ftp://a.example/c",
            "",
            "é",
        ] {
            assert!(!is_url_shaped(plain), "{plain}");
        }
    }

    #[test]
    fn well_formed_document_urls_are_accepted_as_written() {
        for ok in [
            "https://app.example.com/oauth/client.json",
            "https://app.example.com/c",
            "https://app.example.com:8443/client-metadata",
            "https://app.example.com/c?v=2",
            "https://xn--bcher-kva.example/client.json",
            "https://app.example.com/a/b/c/",
        ] {
            let url = MetadataUrl::parse(ok, &STRICT).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(url.as_str(), ok);
            assert_eq!(url.url().as_str(), ok, "the URL fetched is the text");
        }
        let url = MetadataUrl::parse("https://app.example.com:8443/c", &STRICT).unwrap();
        assert_eq!(url.host(), "app.example.com");
    }

    /// Each hostile client_id, and the rule that refuses it.
    #[test]
    fn hostile_client_id_urls_are_refused_with_their_rule() {
        use ClientIdUrlError as E;
        let long = format!("https://a.example/{}", "x".repeat(MAX_CLIENT_ID_LEN));
        type Expected = fn(&E) -> bool;
        let cases: &[(&str, Expected)] = &[
            ("http://app.example.com/client.json", |e| *e == E::NotHttps),
            ("ftp://app.example.com/client.json", |e| *e == E::NotHttps),
            ("javascript://app.example.com/%0aalert(1)", |e| {
                *e == E::NotHttps
            }),
            ("https://app.example.com", |e| *e == E::NoPath),
            ("https://app.example.com/", |e| *e == E::NoPath),
            ("https://app.example.com?x=1", |e| *e == E::NoPath),
            ("https://app.example.com/c#frag", |e| *e == E::Fragment),
            ("https://app.example.com/c#", |e| *e == E::Fragment),
            ("https://user@app.example.com/c", |e| *e == E::Userinfo),
            ("https://user:pw@app.example.com/c", |e| *e == E::Userinfo),
            ("https://:pw@app.example.com/c", |e| *e == E::Userinfo),
            ("https://@app.example.com/c", |e| *e == E::Userinfo),
            ("https://app.example.com/a/../c", |e| *e == E::DotSegment),
            ("https://app.example.com/a/./c", |e| *e == E::DotSegment),
            ("https://app.example.com/..", |e| *e == E::DotSegment),
            ("https://app.example.com/a/%2e%2e/c", |e| {
                *e == E::DotSegment
            }),
            ("https://app.example.com/a/%2E/c", |e| *e == E::DotSegment),
            ("https://app.example.com/a/.%2e/c", |e| *e == E::DotSegment),
            ("https://app.example.com/a\\..\\c", |e| *e == E::DotSegment),
            ("https://127.0.0.1/client.json", |e| *e == E::IpLiteral),
            ("https://[::1]/client.json", |e| *e == E::IpLiteral),
            ("https://10.0.0.8/client.json", |e| *e == E::IpLiteral),
            ("https://0x7f.1/client.json", |e| *e == E::IpLiteral),
            ("https://2130706433/client.json", |e| *e == E::IpLiteral),
            ("https://APP.example.com/c", |e| {
                matches!(e, E::NotCanonical(_))
            }),
            ("HTTPS://app.example.com/c", |e| {
                matches!(e, E::NotCanonical(_))
            }),
            ("https://app.example.com:443/c", |e| {
                matches!(e, E::NotCanonical(_))
            }),
            ("https://app.example.com:/c", |e| {
                matches!(e, E::NotCanonical(_))
            }),
            ("https://app.example.com/c d", |e| {
                matches!(e, E::NotCanonical(_))
            }),
            ("https://app.example.com/c\u{0}", |e| {
                matches!(e, E::NotCanonical(_))
            }),
            ("https://app.example.com/é", |e| {
                matches!(e, E::NotCanonical(_))
            }),
            ("https://bücher.example/c", |e| {
                matches!(e, E::NotCanonical(_))
            }),
            ("https:app.example.com/c", |e| matches!(e, E::NotUrl(_))),
            ("https:///c", |e| matches!(e, E::NotUrl(_))),
            ("https://", |e| matches!(e, E::NotUrl(_))),
            ("https://exa mple.com/c", |e| matches!(e, E::NotUrl(_))),
            ("https://[::1/c", |e| matches!(e, E::NotUrl(_))),
            (long.as_str(), |e| *e == E::TooLong),
        ];
        for (client_id, expected) in cases {
            match MetadataUrl::parse(client_id, &STRICT) {
                Ok(url) => panic!("{client_id:?} was accepted as {url:?}"),
                Err(e) => assert!(expected(&e), "{client_id:?}: wrong rule: {e}"),
            }
        }
    }

    #[test]
    fn settings_can_allow_ip_hosts_and_http_on_loopback() {
        let ips = UrlPolicy {
            allow_ip_literals: true,
            ..STRICT
        };
        assert!(MetadataUrl::parse("https://127.0.0.1/c", &ips).is_ok());
        assert!(MetadataUrl::parse("https://[::1]:8443/c", &ips).is_ok());

        let dev = UrlPolicy {
            insecure_loopback: true,
            ..STRICT
        };
        assert!(MetadataUrl::parse("http://localhost:8080/client.json", &dev).is_ok());
        assert!(MetadataUrl::parse("http://127.0.0.1:8080/client.json", &dev).is_ok());
        assert!(MetadataUrl::parse("https://[::1]:8443/client.json", &dev).is_ok());
        // Every other rule still applies.
        assert_eq!(
            MetadataUrl::parse("https://10.0.0.1/client.json", &dev),
            Err(ClientIdUrlError::IpLiteral),
            "only loopback addresses"
        );
        assert_eq!(
            MetadataUrl::parse("http://localhost:8080/", &dev),
            Err(ClientIdUrlError::NoPath)
        );
        assert_eq!(
            MetadataUrl::parse("http://app.example.com/client.json", &dev),
            Err(ClientIdUrlError::NotHttps),
            "http only on loopback"
        );
        let both = UrlPolicy {
            allow_ip_literals: true,
            insecure_loopback: true,
        };
        assert!(MetadataUrl::parse("http://127.0.0.1:8080/client.json", &both).is_ok());
        assert!(MetadataUrl::parse("http://127.9.9.9/client.json", &both).is_ok());
        assert_eq!(
            MetadataUrl::parse("http://10.0.0.1/client.json", &both),
            Err(ClientIdUrlError::NotHttps)
        );
    }
}
