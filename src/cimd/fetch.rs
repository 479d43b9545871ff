//! Fetching a Client ID Metadata Document (draft-ietf-oauth-client-id-metadata-document §5),
//! and what the response must be for the document to count.

use std::time::{Duration, UNIX_EPOCH};

use super::client_id::MetadataUrl;
use super::document::{DocumentError, MetadataDocument};
use crate::clock::Timestamp;
use crate::store::{FetchError, HttpFetcher, HttpRequest, HttpResponse};

/// The limits of one document fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// The whole exchange, connecting and reading: a server that drips its answer cannot hold
    /// an authorization request longer than this. Default 2.5 s.
    pub deadline: Duration,
    /// The largest document read; the fetcher stops reading beyond it (§8.7 recommends
    /// 5 KB). Default 5 KiB.
    pub max_bytes: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            deadline: Duration::from_millis(2500),
            max_bytes: 5 * 1024,
        }
    }
}

/// Why a fetched document does not count. Each names the rule; none of them is cached
/// (§5.2: errors and invalid documents are never cached).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchDocumentError {
    /// No response: connection, timeout, deadline or size limit.
    #[error("could not fetch the client metadata document: {0}")]
    Fetch(#[from] FetchError),
    /// A redirect, which is never followed (§5): the document must be at the client ID.
    #[error(
        "the client metadata document's URL answered with a redirect ({0}), which is never \
         followed: the document must be served at the client_id itself"
    )]
    Redirect(u16),
    /// Any status but 200 (§5.1).
    #[error("the client metadata document's URL answered with status {0}, not 200")]
    Status(u16),
    /// A body that is not declared as JSON.
    #[error(
        "the client metadata document is served as `{0}`; it must be `application/json` or \
         `application/<something>+json`"
    )]
    ContentType(String),
    /// A body over the limit that the fetcher passed on anyway.
    #[error("the client metadata document is larger than {0} bytes")]
    TooLarge(usize),
    /// A document that breaks a rule of §4.
    #[error("the client metadata document is invalid: {0}")]
    Document(#[from] DocumentError),
}

/// A document that counts, and how long its server says it may be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The validated document.
    pub document: MetadataDocument,
    /// From `Cache-Control` (`max-age`; `no-store` and `no-cache` are zero) or `Expires`;
    /// `None` when the response says nothing. The cache clamps it to its own bounds.
    pub max_age: Option<Duration>,
}

/// Fetches and checks the document at `client_id`: one GET of exactly the client ID's text,
/// `Accept: application/json`, no redirect followed, within `limits`.
pub async fn fetch_document(
    fetcher: &dyn HttpFetcher,
    client_id: &MetadataUrl,
    limits: &FetchLimits,
    now: Timestamp,
) -> Result<Fetched, FetchDocumentError> {
    let mut request = HttpRequest::get(client_id.url().clone());
    request
        .headers
        .push(("Accept".into(), "application/json".into()));
    request.connect_timeout = limits.deadline;
    request.read_timeout = limits.deadline;
    request.deadline = limits.deadline;
    request.max_response_bytes = limits.max_bytes;
    let response = fetcher.fetch(request).await?;
    match response.status {
        200 => {}
        status @ 300..=399 => return Err(FetchDocumentError::Redirect(status)),
        status => return Err(FetchDocumentError::Status(status)),
    }
    let media_type = response.header("content-type").unwrap_or_default();
    if !is_json(media_type) {
        return Err(FetchDocumentError::ContentType(
            crate::error::echo(media_type).into_owned(),
        ));
    }
    if response.body.len() > limits.max_bytes {
        return Err(FetchDocumentError::TooLarge(limits.max_bytes));
    }
    let document = MetadataDocument::parse(client_id, &response.body)?;
    Ok(Fetched {
        document,
        max_age: max_age(&response, now),
    })
}

/// `application/json` or `application/<something>+json`, in any case, parameters allowed.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.strip_prefix("application/") {
        Some("json") => true,
        Some(sub) => sub.len() > "+json".len() && sub.ends_with("+json") && !sub.contains('/'),
        None => false,
    }
}

/// How long the response may be kept, by RFC 9111 §5.2.2 and §5.3: `no-store` or `no-cache`
/// is zero, then `max-age`, then `Expires` less `Date` (or less `now` without a `Date`). An
/// `Expires` that does not parse means already expired (§5.3).
fn max_age(response: &HttpResponse, now: Timestamp) -> Option<Duration> {
    if let Some(cache_control) = response.header("cache-control") {
        let mut max_age = None;
        for directive in cache_control.split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            if directive == "no-store" || directive == "no-cache" {
                return Some(Duration::ZERO);
            }
            if let Some(seconds) = directive.strip_prefix("max-age=") {
                max_age = Some(
                    seconds
                        .trim_matches('"')
                        .parse::<u64>()
                        .map_or(Duration::ZERO, Duration::from_secs),
                );
            }
        }
        if max_age.is_some() {
            return max_age;
        }
    }
    let expires = response.header("expires")?;
    let seconds = |text: &str| {
        httpdate::parse_http_date(text)
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs())
    };
    let Some(expires) = seconds(expires) else {
        return Some(Duration::ZERO);
    };
    let date = response.header("date").and_then(seconds).unwrap_or(now.0);
    Some(Duration::from_secs(expires.saturating_sub(date)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cimd::UrlPolicy;
    use crate::store::HttpMethod;
    use crate::store::memory::MemoryFetcher;

    const ID: &str = "https://app.example.com/oauth/client.json";

    fn id() -> MetadataUrl {
        MetadataUrl::parse(ID, &UrlPolicy::default()).unwrap()
    }

    fn body() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "client_id": ID,
            "redirect_uris": ["http://127.0.0.1/callback"],
        }))
        .unwrap()
    }

    fn response(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body,
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn fetch(
        answer: Result<HttpResponse, FetchError>,
    ) -> (Result<Fetched, FetchDocumentError>, MemoryFetcher) {
        let fetcher = MemoryFetcher::default();
        fetcher.route(HttpMethod::Get, ID, answer);
        let got = block_on(fetch_document(
            &fetcher,
            &id(),
            &FetchLimits::default(),
            Timestamp(1_000_000),
        ));
        (got, fetcher)
    }

    #[test]
    fn a_document_is_fetched_once_as_json_within_the_limits() {
        let (got, fetcher) = fetch(Ok(response(
            200,
            &[("Content-Type", "application/json; charset=utf-8")],
            body(),
        )));
        let fetched = got.unwrap();
        assert_eq!(fetched.document.client_id.as_str(), ID);
        assert_eq!(fetched.max_age, None);
        let sent = fetcher.requests();
        assert_eq!(sent.len(), 1);
        let request = &sent[0];
        assert_eq!(request.method, HttpMethod::Get);
        assert_eq!(request.url.as_str(), ID, "exactly the client ID's text");
        assert!(
            request
                .headers
                .iter()
                .any(|(n, v)| n == "Accept" && v == "application/json")
        );
        assert_eq!(request.deadline, Duration::from_millis(2500));
        assert_eq!(request.connect_timeout, Duration::from_millis(2500));
        assert_eq!(request.read_timeout, Duration::from_millis(2500));
        assert_eq!(request.max_response_bytes, 5 * 1024);
    }

    #[test]
    fn json_media_types_are_told_from_others() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json;charset=UTF-8",
            " application/json ; q=1",
            "application/cimd+json",
            "application/vnd.example+JSON; v=1",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for bad in [
            "",
            "text/json",
            "text/html",
            "application/jsonp",
            "application/+json",
            "application/x-www-form-urlencoded",
            "application/octet-stream",
            "json",
            "application/json-patch",
        ] {
            assert!(!is_json(bad), "{bad}");
        }
    }

    /// Each hostile answer, and the rule that refuses it.
    #[test]
    fn hostile_answers_are_refused_with_their_rule() {
        use FetchDocumentError as E;
        let json = [("Content-Type", "application/json")];
        let wrong_id = serde_json::to_vec(&serde_json::json!({
            "client_id": "https://evil.example/client.json",
            "redirect_uris": ["http://127.0.0.1/callback"],
        }))
        .unwrap();
        type Expected = fn(&E) -> bool;
        let cases: Vec<(&str, Result<HttpResponse, FetchError>, Expected)> = vec![
            (
                "a redirect",
                Ok(response(
                    302,
                    &[("Location", "https://evil.example/c.json")],
                    body(),
                )),
                |e| *e == E::Redirect(302),
            ),
            (
                "a permanent redirect",
                Ok(response(308, &json, body())),
                |e| *e == E::Redirect(308),
            ),
            ("not found", Ok(response(404, &json, body())), |e| {
                *e == E::Status(404)
            }),
            ("no content", Ok(response(204, &json, Vec::new())), |e| {
                *e == E::Status(204)
            }),
            ("a server error", Ok(response(500, &json, body())), |e| {
                *e == E::Status(500)
            }),
            (
                "HTML",
                Ok(response(200, &[("Content-Type", "text/html")], body())),
                |e| matches!(e, E::ContentType(_)),
            ),
            ("no content type", Ok(response(200, &[], body())), |e| {
                matches!(e, E::ContentType(_))
            }),
            (
                "oversize",
                Ok(response(200, &json, vec![b' '; 5 * 1024 + 1])),
                |e| matches!(e, E::Fetch(FetchError::TooLarge { .. }) | E::TooLarge(_)),
            ),
            ("a slow server", Err(FetchError::Deadline(ID.into())), |e| {
                matches!(e, E::Fetch(FetchError::Deadline(_)))
            }),
            (
                "no connection",
                Err(FetchError::Connect("refused".into())),
                |e| matches!(e, E::Fetch(FetchError::Connect(_))),
            ),
            (
                "another client's document",
                Ok(response(200, &json, wrong_id)),
                |e| matches!(e, E::Document(d) if d.path == "client_id"),
            ),
        ];
        for (what, answer, expected) in cases {
            match fetch(answer).0 {
                Ok(f) => panic!("{what}: accepted {f:?}"),
                Err(e) => assert!(expected(&e), "{what}: wrong rule: {e}"),
            }
        }
    }

    #[test]
    fn cache_lifetimes_follow_the_response_headers() {
        let at = |headers: &[(&str, &str)]| {
            max_age(
                &response(200, headers, Vec::new()),
                Timestamp(1_800_000_000),
            )
        };
        assert_eq!(at(&[]), None);
        assert_eq!(
            at(&[("Cache-Control", "max-age=600")]),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            at(&[("cache-control", "public, MAX-AGE=60, must-revalidate")]),
            Some(Duration::from_secs(60))
        );
        assert_eq!(at(&[("Cache-Control", "no-store")]), Some(Duration::ZERO));
        assert_eq!(
            at(&[("Cache-Control", "max-age=600, no-cache")]),
            Some(Duration::ZERO)
        );
        assert_eq!(
            at(&[("Cache-Control", "max-age=soon")]),
            Some(Duration::ZERO)
        );
        // Expires less Date.
        assert_eq!(
            at(&[
                ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),
                ("Expires", "Sun, 06 Nov 1994 09:49:37 GMT"),
            ]),
            Some(Duration::from_secs(3600))
        );
        // max-age wins over Expires (RFC 9111 §5.3).
        assert_eq!(
            at(&[
                ("Cache-Control", "max-age=5"),
                ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),
                ("Expires", "Sun, 06 Nov 1994 09:49:37 GMT"),
            ]),
            Some(Duration::from_secs(5))
        );
        // Without Date, against the clock; in the past or unparseable, already expired.
        assert_eq!(
            at(&[("Expires", "Sun, 06 Nov 1994 08:49:37 GMT")]),
            Some(Duration::ZERO)
        );
        assert_eq!(at(&[("Expires", "0")]), Some(Duration::ZERO));
    }
}
