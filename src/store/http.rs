use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use url::Url;

/// The methods the library sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// GET, for documents and user info.
    Get,
    /// POST, for token requests.
    Post,
}

/// One outgoing request, with the limits the fetcher must enforce.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: HttpMethod,
    /// Where to send it.
    pub url: Url,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body; empty for GET.
    pub body: Vec<u8>,
    /// How long to wait for the connection.
    pub connect_timeout: Duration,
    /// How long to wait for the response once connected.
    pub read_timeout: Duration,
    /// How long the whole exchange may take, connecting and reading together: a server that
    /// drips its answer a byte at a time within each read timeout still stops here.
    pub deadline: Duration,
    /// The largest response body to accept; a larger one is [`FetchError::TooLarge`], and the
    /// fetcher stops reading at the limit rather than buffering the rest.
    pub max_response_bytes: usize,
}

impl HttpRequest {
    /// A GET with the library's default limits: 5 s to connect, 5 s to read, 10 s in all,
    /// 64 KiB.
    pub fn get(url: Url) -> Self {
        HttpRequest {
            method: HttpMethod::Get,
            url,
            headers: Vec::new(),
            body: Vec::new(),
            connect_timeout: Duration::from_millis(5000),
            read_timeout: Duration::from_millis(5000),
            deadline: Duration::from_millis(10_000),
            max_response_bytes: 64 * 1024,
        }
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers and body may carry credentials (Basic auth, client_secret): names only.
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// One response. `Debug` shows header names and the body's length only: an identity
/// provider's token response is a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, at most the request's `max_response_bytes`.
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl HttpResponse {
    /// The first value of a header, compared case-insensitively by name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no response came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Connecting took longer than `connect_timeout`.
    #[error("connecting to {0} timed out")]
    ConnectTimeout(String),
    /// The response took longer than `read_timeout`.
    #[error("reading the response from {0} timed out")]
    ReadTimeout(String),
    /// The whole exchange took longer than `deadline`.
    #[error("the exchange with {0} took longer than its deadline")]
    Deadline(String),
    /// The body exceeded `max_response_bytes`.
    #[error("the response is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// No connection (DNS, refused, TLS, reset).
    #[error("could not connect: {0}")]
    Connect(String),
}

/// Sends one HTTP request and returns the response. The host decides how: its own client,
/// proxy settings, and any policy on which addresses may be reached (a CIMD fetch is a
/// server-side request to a URL a stranger chose, so refusing private addresses there guards
/// against server-side request forgery).
///
/// A fetcher that refuses every request (a host that offers neither CIMD nor federation):
///
/// ```
/// use portcullis::async_trait;
/// use portcullis::store::{FetchError, HttpFetcher, HttpRequest, HttpResponse};
///
/// struct Offline;
///
/// #[async_trait]
/// impl HttpFetcher for Offline {
///     async fn fetch(&self, request: HttpRequest) -> Result<HttpResponse, FetchError> {
///         Err(FetchError::Connect(format!("offline: {}", request.url)))
///     }
/// }
/// ```
///
/// The contract, which CIMD's security rests on:
///
/// - **Never follow a redirect.** A 3xx comes back as the response, `Location` and all; the
///   caller decides (a CIMD fetch refuses it: the document must be at the client ID itself).
/// - **Enforce every limit**: `connect_timeout`, `read_timeout`, and the `deadline` for the
///   whole exchange, and stop reading at `max_response_bytes` ([`FetchError::TooLarge`])
///   rather than buffering the rest.
/// - **Fetch exactly `request.url`'s text**, which the library has made sure equals the text
///   it was given: do not rewrite the URL (no added slash, no case change).
#[async_trait]
pub trait HttpFetcher: Send + Sync {
    /// Sends `request`, enforcing its timeouts, deadline and size limit, without following
    /// redirects.
    async fn fetch(&self, request: HttpRequest) -> Result<HttpResponse, FetchError>;
}
