//! Client ID Metadata Documents kept between fetches (draft-ietf-oauth-client-id-metadata-
//! document §5.2), with one fetch at a time per client ID.
//!
//! - A valid document is kept for what its response's `Cache-Control` or `Expires` says,
//!   clamped to the host's bounds (30 s to 24 h by default; a response that says nothing is
//!   kept for the minimum). Errors and invalid documents are never kept.
//! - Concurrent requests for one client ID share one fetch (single flight): a burst of
//!   authorization requests for a new client costs its server one request.
//! - An expired document is fetched again. If that fails, the request fails: fail closed,
//!   unless the host grants a grace period, within which the expired document still serves.
//! - At most `max_entries` documents are kept; when full, the one closest to expiry goes.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::client_id::MetadataUrl;
use super::document::MetadataDocument;
use super::fetch::{FetchDocumentError, FetchLimits, fetch_document};
use crate::clock::Timestamp;
use crate::store::HttpFetcher;

/// How long documents are kept, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBounds {
    /// The shortest time a valid document is kept, whatever its response says (default 30 s):
    /// a client's server cannot make every authorization request a fetch.
    pub min: Duration,
    /// The longest (default 24 h): a changed document is seen within this.
    pub max: Duration,
    /// How long past its expiry a document still serves when fetching it again fails (default
    /// none: fail closed).
    pub stale_grace: Duration,
    /// The most documents kept (default 10,000).
    pub max_entries: usize,
}

impl Default for CacheBounds {
    fn default() -> Self {
        CacheBounds {
            min: Duration::from_secs(30),
            max: Duration::from_secs(24 * 60 * 60),
            stale_grace: Duration::ZERO,
            max_entries: 10_000,
        }
    }
}

/// A kept document and until when it is fresh.
#[derive(Debug)]
struct Kept {
    document: Arc<MetadataDocument>,
    fresh_until: Timestamp,
}

#[derive(Debug)]
enum Entry {
    Kept(Arc<Kept>),
    /// Being fetched; the document it replaces, if any.
    Fetching(Arc<Flight>, Option<Arc<Kept>>),
}

/// Documents by client ID, fetched through an [`HttpFetcher`].
#[derive(Debug)]
pub struct DocumentCache {
    bounds: CacheBounds,
    limits: FetchLimits,
    entries: Mutex<HashMap<Arc<str>, Entry>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl DocumentCache {
    /// An empty cache.
    pub fn new(bounds: CacheBounds, limits: FetchLimits) -> Self {
        DocumentCache {
            bounds,
            limits,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The document at `client_id`: kept if fresh, else fetched (once, however many ask at
    /// the same time).
    pub async fn get(
        &self,
        fetcher: &dyn HttpFetcher,
        client_id: &MetadataUrl,
        now: Timestamp,
    ) -> Result<Arc<MetadataDocument>, FetchDocumentError> {
        loop {
            let (flight, leader) = {
                let mut entries = lock(&self.entries);
                match entries.get(client_id.as_str()) {
                    Some(Entry::Kept(kept)) if now < kept.fresh_until => {
                        return Ok(kept.document.clone());
                    }
                    Some(Entry::Fetching(flight, _)) => (flight.clone(), false),
                    found => {
                        let stale = match found {
                            Some(Entry::Kept(kept)) => Some(kept.clone()),
                            _ => None,
                        };
                        let flight = Arc::new(Flight::default());
                        entries.insert(
                            client_id.as_str().into(),
                            Entry::Fetching(flight.clone(), stale),
                        );
                        (flight, true)
                    }
                }
            };
            if leader {
                // If this request is dropped while fetching, the guard hands the fetch back so
                // that a waiting request starts its own.
                let guard = Lead {
                    cache: self,
                    client_id: client_id.as_str(),
                    flight: &flight,
                    done: false,
                };
                let fetched = fetch_document(fetcher, client_id, &self.limits, now).await;
                return guard.finish(fetched.map(|f| (f.document, f.max_age)), now);
            }
            match (Wait { flight }).await {
                Outcome::Done(result) => return result,
                Outcome::Abandoned => continue,
            }
        }
    }

    /// The document kept for `client_id`'s exact text, if it is fresh: what [`Self::get`]
    /// would answer without fetching. Its client ID passed every URL rule when it was fetched.
    pub fn fresh(&self, client_id: &str, now: Timestamp) -> Option<Arc<MetadataDocument>> {
        match lock(&self.entries).get(client_id) {
            Some(Entry::Kept(kept)) if now < kept.fresh_until => Some(kept.document.clone()),
            _ => None,
        }
    }

    /// How long a document is kept, from what its response said.
    fn lifetime(&self, max_age: Option<Duration>) -> Duration {
        max_age
            .unwrap_or(self.bounds.min)
            .clamp(self.bounds.min, self.bounds.max.max(self.bounds.min))
    }

    /// Makes room for one more document: the expired ones go, then the one closest to expiry.
    fn make_room(&self, entries: &mut HashMap<Arc<str>, Entry>, now: Timestamp) {
        if entries.len() < self.bounds.max_entries {
            return;
        }
        entries.retain(|_, e| !matches!(e, Entry::Kept(k) if k.fresh_until <= now));
        if entries.len() < self.bounds.max_entries {
            return;
        }
        let soonest = entries
            .iter()
            .filter_map(|(id, e)| match e {
                Entry::Kept(k) => Some((k.fresh_until, id.clone())),
                Entry::Fetching(..) => None,
            })
            .min();
        if let Some((_, id)) = soonest {
            entries.remove(&id);
        }
    }
}

/// The request that fetches for the others.
struct Lead<'a> {
    cache: &'a DocumentCache,
    client_id: &'a str,
    flight: &'a Arc<Flight>,
    done: bool,
}

impl Lead<'_> {
    fn finish(
        mut self,
        fetched: Result<(MetadataDocument, Option<Duration>), FetchDocumentError>,
        now: Timestamp,
    ) -> Result<Arc<MetadataDocument>, FetchDocumentError> {
        self.done = true;
        let cache = self.cache;
        let mut entries = lock(&cache.entries);
        let stale = match entries.remove(self.client_id) {
            Some(Entry::Fetching(_, stale)) => stale,
            Some(Entry::Kept(kept)) => Some(kept),
            None => None,
        };
        let result = match fetched {
            Ok((document, max_age)) => {
                let kept = Arc::new(Kept {
                    document: Arc::new(document),
                    fresh_until: now.plus_seconds(cache.lifetime(max_age).as_secs()),
                });
                cache.make_room(&mut entries, now);
                entries.insert(self.client_id.into(), Entry::Kept(kept.clone()));
                Ok(kept.document.clone())
            }
            // §5.2: an error is never kept. The expired document stays for the next request
            // to fetch again, and serves meanwhile only within the grace period.
            Err(e) => {
                let within_grace = stale.as_ref().filter(|k| {
                    now < k
                        .fresh_until
                        .plus_seconds(cache.bounds.stale_grace.as_secs())
                });
                let served = within_grace.map(|k| k.document.clone());
                if let Some(stale) = stale {
                    entries.insert(self.client_id.into(), Entry::Kept(stale));
                }
                served.ok_or(e)
            }
        };
        drop(entries);
        self.flight.complete(Outcome::Done(result.clone()));
        result
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut entries = lock(&self.cache.entries);
        if let Some(Entry::Fetching(_, stale)) = entries.remove(self.client_id)
            && let Some(stale) = stale
        {
            entries.insert(self.client_id.into(), Entry::Kept(stale));
        }
        drop(entries);
        self.flight.complete(Outcome::Abandoned);
    }
}

/// What waiting requests get from the fetch they share.
#[derive(Debug, Clone)]
enum Outcome {
    Done(Result<Arc<MetadataDocument>, FetchDocumentError>),
    /// The fetching request went away first: fetch again.
    Abandoned,
}

/// One fetch in progress, and who waits for it.
#[derive(Debug, Default)]
struct Flight {
    state: Mutex<FlightState>,
}

#[derive(Debug)]
enum FlightState {
    Running(Vec<Waker>),
    Finished(Outcome),
}

impl Default for FlightState {
    fn default() -> Self {
        FlightState::Running(Vec::new())
    }
}

impl Flight {
    fn complete(&self, outcome: Outcome) {
        let before = std::mem::replace(&mut *lock(&self.state), FlightState::Finished(outcome));
        if let FlightState::Running(wakers) = before {
            for waker in wakers {
                waker.wake();
            }
        }
    }
}

struct Wait {
    flight: Arc<Flight>,
}

impl Future for Wait {
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let mut state = lock(&self.flight.state);
        match &mut *state {
            FlightState::Finished(outcome) => Poll::Ready(outcome.clone()),
            FlightState::Running(wakers) => {
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::cimd::UrlPolicy;
    use crate::store::{FetchError, HttpRequest, HttpResponse};

    const ID: &str = "https://app.example.com/oauth/client.json";

    fn id() -> MetadataUrl {
        MetadataUrl::parse(ID, &UrlPolicy::default()).unwrap()
    }

    /// Answers from a script, one answer per fetch, counting fetches; each fetch yields to
    /// the runtime first, so that concurrent requests really overlap.
    #[derive(Default)]
    struct Scripted {
        answers: Mutex<Vec<Result<HttpResponse, FetchError>>>,
        fetches: AtomicUsize,
    }

    impl Scripted {
        fn then(self, answer: Result<HttpResponse, FetchError>) -> Self {
            lock(&self.answers).insert(0, answer);
            self
        }
    }

    #[async_trait]
    impl HttpFetcher for Scripted {
        async fn fetch(&self, _request: HttpRequest) -> Result<HttpResponse, FetchError> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            lock(&self.answers)
                .pop()
                .unwrap_or(Err(FetchError::Connect("script ended".into())))
        }
    }

    fn document(name: &str, cache_control: Option<&str>) -> Result<HttpResponse, FetchError> {
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if let Some(cc) = cache_control {
            headers.push(("Cache-Control".to_owned(), cc.to_owned()));
        }
        Ok(HttpResponse {
            status: 200,
            headers,
            body: serde_json::to_vec(&serde_json::json!({
                "client_id": ID,
                "client_name": name,
                "redirect_uris": ["http://127.0.0.1/callback"],
            }))
            .unwrap(),
        })
    }

    fn not_found() -> Result<HttpResponse, FetchError> {
        Ok(HttpResponse {
            status: 404,
            headers: Vec::new(),
            body: Vec::new(),
        })
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    fn name(doc: &MetadataDocument) -> &str {
        doc.client_name.as_deref().unwrap_or_default()
    }

    #[test]
    fn a_document_is_kept_as_long_as_its_response_says_within_the_bounds() {
        let cache = DocumentCache::new(CacheBounds::default(), FetchLimits::default());
        let fetcher = Scripted::default()
            .then(document("v1", Some("max-age=120")))
            .then(document("v2", None))
            .then(document("v3", Some("max-age=999999")));
        runtime().block_on(async {
            let url = id();
            let get = |now| cache.get(&fetcher, &url, Timestamp(now));
            assert_eq!(name(&get(1000).await.unwrap()), "v1");
            assert_eq!(name(&get(1119).await.unwrap()), "v1", "fresh for 120 s");
            assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 1);
            assert_eq!(
                name(&get(1120).await.unwrap()),
                "v2",
                "expired: fetched again"
            );
            assert_eq!(
                name(&get(1149).await.unwrap()),
                "v2",
                "no header: the minimum, 30 s"
            );
            assert_eq!(name(&get(1150).await.unwrap()), "v3");
            assert_eq!(name(&get(1150 + 86_399).await.unwrap()), "v3");
            assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 3);
            assert!(
                get(1150 + 86_400).await.is_err(),
                "capped at 24 h, then fetched again (the script has ended)"
            );
        });
    }

    #[test]
    fn a_no_store_document_is_still_kept_for_the_minimum() {
        let cache = DocumentCache::new(CacheBounds::default(), FetchLimits::default());
        let fetcher = Scripted::default().then(document("v1", Some("no-store")));
        runtime().block_on(async {
            cache.get(&fetcher, &id(), Timestamp(0)).await.unwrap();
            cache.get(&fetcher, &id(), Timestamp(29)).await.unwrap();
            assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn errors_and_invalid_documents_are_never_kept() {
        let cache = DocumentCache::new(CacheBounds::default(), FetchLimits::default());
        let invalid = Ok(HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: br#"{"client_id": "https://app.example.com/oauth/client.json", "client_secret": "x", "redirect_uris": ["https://a.example/cb"]}"#.to_vec(),
        });
        let fetcher = Scripted::default()
            .then(not_found())
            .then(invalid)
            .then(document("v1", None));
        runtime().block_on(async {
            let url = id();
            let get = || cache.get(&fetcher, &url, Timestamp(0));
            assert_eq!(get().await.unwrap_err(), FetchDocumentError::Status(404));
            assert!(matches!(get().await, Err(FetchDocumentError::Document(_))));
            assert_eq!(
                name(&get().await.unwrap()),
                "v1",
                "each failure fetched again"
            );
            assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 3);
        });
    }

    #[test]
    fn a_failed_refetch_fails_closed_unless_within_the_grace_period() {
        let fetcher = || {
            Scripted::default()
                .then(document("v1", Some("max-age=60")))
                .then(not_found())
                .then(not_found())
                .then(not_found())
        };
        runtime().block_on(async {
            let closed = DocumentCache::new(CacheBounds::default(), FetchLimits::default());
            let f = fetcher();
            closed.get(&f, &id(), Timestamp(0)).await.unwrap();
            assert!(
                closed.get(&f, &id(), Timestamp(60)).await.is_err(),
                "fail closed"
            );

            let bounds = CacheBounds {
                stale_grace: Duration::from_secs(300),
                ..CacheBounds::default()
            };
            let graceful = DocumentCache::new(bounds, FetchLimits::default());
            let f = fetcher();
            graceful.get(&f, &id(), Timestamp(0)).await.unwrap();
            let stale = graceful.get(&f, &id(), Timestamp(100)).await.unwrap();
            assert_eq!(name(&stale), "v1", "within the grace: the expired document");
            assert!(
                graceful.get(&f, &id(), Timestamp(360)).await.is_err(),
                "past it"
            );
            assert_eq!(
                f.fetches.load(Ordering::SeqCst),
                3,
                "every request tried again"
            );
        });
    }

    #[test]
    fn a_document_that_changes_between_fetches_is_seen_changed() {
        let cache = DocumentCache::new(CacheBounds::default(), FetchLimits::default());
        let fetcher = Scripted::default()
            .then(document("before", Some("max-age=30")))
            .then(document("after", Some("max-age=30")));
        runtime().block_on(async {
            assert_eq!(
                name(&cache.get(&fetcher, &id(), Timestamp(0)).await.unwrap()),
                "before"
            );
            assert_eq!(
                name(&cache.get(&fetcher, &id(), Timestamp(30)).await.unwrap()),
                "after"
            );
        });
    }

    #[test]
    fn concurrent_requests_for_one_client_share_one_fetch() {
        let cache = DocumentCache::new(CacheBounds::default(), FetchLimits::default());
        let fetcher = Scripted::default().then(document("v1", None));
        runtime().block_on(async {
            let url = id();
            let requests = (0..20).map(|_| cache.get(&fetcher, &url, Timestamp(0)));
            let results = join_all(requests).await;
            assert!(
                results
                    .iter()
                    .all(|r| r.as_ref().is_ok_and(|d| name(d) == "v1"))
            );
            assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn a_dropped_fetch_hands_over_to_a_waiting_request() {
        let cache = DocumentCache::new(CacheBounds::default(), FetchLimits::default());
        let fetcher = Scripted::default()
            .then(document("first", None))
            .then(document("second", None));
        runtime().block_on(async {
            let url = id();
            let mut leader = Box::pin(cache.get(&fetcher, &url, Timestamp(0)));
            // One poll: the leader is inside its fetch.
            assert!(futures_poll_once(leader.as_mut()).await.is_none());
            let waiter = cache.get(&fetcher, &url, Timestamp(0));
            drop(leader);
            let got = waiter.await.unwrap();
            assert_eq!(
                fetcher.fetches.load(Ordering::SeqCst),
                2,
                "the waiter fetched anew"
            );
            // The dropped fetch never took its answer from the script.
            assert_eq!(name(&got), "first");
        });
    }

    #[test]
    fn the_cache_is_bounded() {
        let bounds = CacheBounds {
            max_entries: 2,
            ..CacheBounds::default()
        };
        let cache = DocumentCache::new(bounds, FetchLimits::default());
        struct AnyDocument;
        #[async_trait]
        impl HttpFetcher for AnyDocument {
            async fn fetch(&self, r: HttpRequest) -> Result<HttpResponse, FetchError> {
                Ok(HttpResponse {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/json".into())],
                    body: serde_json::to_vec(&serde_json::json!({
                        "client_id": r.url.as_str(),
                        "redirect_uris": ["http://127.0.0.1/callback"],
                    }))
                    .unwrap(),
                })
            }
        }
        runtime().block_on(async {
            for (i, now) in [(0, 0), (1, 5), (2, 10)] {
                let url = MetadataUrl::parse(
                    &format!("https://app{i}.example.com/client.json"),
                    &UrlPolicy::default(),
                )
                .unwrap();
                cache.get(&AnyDocument, &url, Timestamp(now)).await.unwrap();
            }
            let entries = lock(&cache.entries);
            assert_eq!(entries.len(), 2);
            assert!(
                !entries.contains_key("https://app0.example.com/client.json"),
                "the one closest to expiry went"
            );
        });
    }

    /// Polls a future once; `Some` if it finished.
    async fn futures_poll_once<F: Future + Unpin>(f: F) -> Option<F::Output> {
        struct Once<F>(Option<F>);
        impl<F: Future + Unpin> Future for Once<F> {
            type Output = Option<F::Output>;
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let Some(f) = self.0.as_mut() else {
                    return Poll::Ready(None);
                };
                match Pin::new(f).poll(cx) {
                    Poll::Ready(out) => Poll::Ready(Some(out)),
                    Poll::Pending => Poll::Ready(None),
                }
            }
        }
        Once(Some(f)).await
    }

    /// Runs futures concurrently on this task.
    async fn join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
        let mut pending: Vec<Pin<Box<F>>> = futures.map(Box::pin).collect();
        let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut all = true;
            for (f, out) in pending.iter_mut().zip(done.iter_mut()) {
                if out.is_none() {
                    match f.as_mut().poll(cx) {
                        Poll::Ready(v) => *out = Some(v),
                        Poll::Pending => all = false,
                    }
                }
            }
            if all { Poll::Ready(()) } else { Poll::Pending }
        })
        .await;
        done.into_iter().flatten().collect()
    }
}
