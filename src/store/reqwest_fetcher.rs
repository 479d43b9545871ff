//! Feature `reqwest`: an [`HttpFetcher`] over reqwest (rustls, no native TLS) that keeps the
//! trait's contract and guards against server-side request forgery.
//!
//! A Client ID Metadata Document is fetched from a URL whoever sends an authorization request
//! chose, so by default this fetcher refuses to connect to any address that is not on the
//! public internet (loopback, private, link-local, shared, multicast, unspecified, reserved and
//! documentation ranges, RFC 6890; draft-ietf-oauth-client-id-metadata-document §8.6). The check
//! runs on the addresses DNS returns, inside the resolver reqwest connects with, so the
//! connection goes to an address that was checked: a second DNS answer (DNS rebinding) never
//! reaches it. Proxies from the environment are ignored, since a proxy would resolve the name
//! again. An explicit allow-list serves development.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::{FetchError, HttpFetcher, HttpMethod, HttpRequest, HttpResponse};

/// Which addresses a fetch may connect to besides public ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Allowed {
    loopback: bool,
    addresses: Vec<IpAddr>,
}

impl Allowed {
    fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || (self.loopback && ip.is_loopback()) || self.addresses.contains(&ip)
    }
}

/// An [`HttpFetcher`] over reqwest that never follows a redirect, enforces the request's
/// deadline and size cap while reading, and connects only to public addresses unless told
/// otherwise.
#[derive(Debug, Clone)]
pub struct ReqwestFetcher {
    client: reqwest::Client,
    allowed: Arc<Allowed>,
}

impl ReqwestFetcher {
    /// A fetcher that connects to public addresses only; `connect_timeout` bounds each
    /// connection attempt (each request's own `deadline` bounds the whole exchange).
    pub fn new(connect_timeout: Duration) -> Result<Self, FetchError> {
        Self::build(Allowed::default(), connect_timeout)
    }

    /// For development: also connect to loopback addresses (a document served from a local
    /// server). Never in production: anyone who can open a port on the server's machine
    /// could then answer.
    pub fn allowing_loopback(connect_timeout: Duration) -> Result<Self, FetchError> {
        Self::build(
            Allowed {
                loopback: true,
                addresses: Vec::new(),
            },
            connect_timeout,
        )
    }

    /// Also connect to these addresses (a test network's hosts, an internal document server).
    pub fn allowing(addresses: Vec<IpAddr>, connect_timeout: Duration) -> Result<Self, FetchError> {
        Self::build(
            Allowed {
                loopback: false,
                addresses,
            },
            connect_timeout,
        )
    }

    fn build(allowed: Allowed, connect_timeout: Duration) -> Result<Self, FetchError> {
        let allowed = Arc::new(allowed);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(connect_timeout)
            .dns_resolver(Arc::new(GuardedResolver {
                allowed: allowed.clone(),
            }))
            .build()
            .map_err(|e| FetchError::Connect(format!("cannot build the HTTP client: {e}")))?;
        Ok(ReqwestFetcher { client, allowed })
    }
}

/// Resolves names and keeps only the addresses a fetch may connect to: reqwest connects to
/// what this returns, so the address checked is the address used.
struct GuardedResolver {
    allowed: Arc<Allowed>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allowed = self.allowed.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allowed.permits(a.ip()))
                .collect();
            if usable.is_empty() {
                return Err(refused(&host).into());
            }
            Ok(Box::new(usable.into_iter()) as Addrs)
        })
    }
}

fn refused(host: &str) -> String {
    format!(
        "{host} resolves only to addresses this fetcher refuses (loopback, private, \
         link-local, multicast, unspecified or reserved)"
    )
}

#[async_trait]
impl HttpFetcher for ReqwestFetcher {
    async fn fetch(&self, request: HttpRequest) -> Result<HttpResponse, FetchError> {
        let target = request.url.as_str().to_owned();
        // An address in the URL never reaches the resolver: it is checked here.
        let literal = match request.url.host() {
            Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
            _ => None,
        };
        if let Some(ip) = literal
            && !self.allowed.permits(ip)
        {
            return Err(FetchError::Connect(refused(&ip.to_string())));
        }
        let method = match request.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
        };
        let mut builder = self
            .client
            .request(method, request.url.clone())
            .timeout(request.deadline);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body.clone());
        }
        let fail = |e: reqwest::Error| {
            if e.is_timeout() {
                FetchError::Deadline(target.clone())
            } else {
                FetchError::Connect(error_chain(&e))
            }
        };
        let mut response = builder.send().await.map_err(fail)?;
        let limit = request.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
        {
            return Err(FetchError::TooLarge { limit });
        }
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        // Read up to the limit and no further, whatever the server means to send.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fail)? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// An error and its causes, one line: reqwest's own message hides the resolver's.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether `ip` is on the public internet: none of RFC 6890's special-use ranges.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_public_v4(a),
        IpAddr::V6(a) => is_public_v6(a),
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [first, second, third, _] = a.octets();
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_multicast()
        || a.is_broadcast()
        || a.is_documentation()
        // 0.0.0.0/8 "this network", 100.64.0.0/10 shared address space (carrier NAT),
        // 192.0.0.0/24 protocol assignments, 198.18.0.0/15 benchmarking, 240.0.0.0/4 reserved.
        || first == 0
        || (first == 100 && (64..=127).contains(&second))
        || (first == 192 && second == 0 && third == 0)
        || (first == 198 && (second == 18 || second == 19))
        || first >= 240)
}

fn is_public_v6(a: Ipv6Addr) -> bool {
    // An IPv4 address in IPv6 form is judged as IPv4: `::ffff:127.0.0.1` is loopback.
    if let Some(v4) = a.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = a.segments();
    let [s0, s1, ..] = segments;
    // NAT64 (64:ff9b::/96) embeds an IPv4 address in its last 32 bits.
    if s0 == 0x64
        && s1 == 0xff9b
        && segments
            .get(2..6)
            .is_some_and(|s| s.iter().all(|&x| x == 0))
    {
        let [.., hi, lo] = segments;
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        // fc00::/7 unique local, fe80::/10 link-local, 2001:db8::/32 documentation,
        // 100::/64 discard, ::/96 the old IPv4-compatible form.
        || (s0 & 0xfe00) == 0xfc00
        || (s0 & 0xffc0) == 0xfe80
        || (s0 == 0x2001 && s1 == 0x0db8)
        || (s0 == 0x0100 && segments.get(1..4).is_some_and(|s| s.iter().all(|&x| x == 0)))
        || segments.get(0..6).is_some_and(|s| s.iter().all(|&x| x == 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:93.184.216.34",
            "64:ff9b::5db8:d822",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for special in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "fc00::1",
            "fd12:3456:789a::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(!is_public(special.parse().unwrap()), "{special}");
        }
    }

    #[test]
    fn the_allow_list_opens_only_what_it_names() {
        let none = Allowed::default();
        let loopback = Allowed {
            loopback: true,
            addresses: Vec::new(),
        };
        let one = Allowed {
            loopback: false,
            addresses: vec!["10.0.0.7".parse().unwrap()],
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(!none.permits(ip("127.0.0.1")));
        assert!(loopback.permits(ip("127.0.0.1")) && loopback.permits(ip("::1")));
        assert!(!loopback.permits(ip("10.0.0.7")));
        assert!(one.permits(ip("10.0.0.7")) && !one.permits(ip("10.0.0.8")));
        assert!(none.permits(ip("8.8.8.8")));
    }
}
