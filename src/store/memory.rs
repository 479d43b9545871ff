//! In-memory stores: the embedded default for examples, tests and single-process hosts.
//!
//! Everything is lost when the process ends. Each store is a map behind one mutex, never held
//! across an `.await`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::{
    ClientQuery, ClientStore, Consent, ConsentOwner, FetchError, GrantId, HttpFetcher, HttpMethod,
    HttpRequest, HttpResponse, StoreError, Take, TakeCheck, TokenHash, TokenRecord, TokenStore,
};
use crate::client::{ClientId, OAuthClient};
use crate::clock::Timestamp;

/// Locks a mutex, carrying on after a panic elsewhere: every critical section below leaves the
/// map consistent, so a poisoned lock holds valid data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// OAuth clients in a map, with an index of their site URLs.
#[derive(Debug, Default)]
pub struct MemoryClientStore {
    clients: Mutex<Clients>,
}

#[derive(Debug, Default)]
struct Clients {
    by_id: HashMap<ClientId, Arc<OAuthClient>>,
    /// How many clients have each URL as their home or a base URL: what
    /// [`ClientStore::known_site_urls`] answers from.
    site_urls: HashMap<String, usize>,
}

impl Clients {
    fn index(&mut self, client: &OAuthClient) {
        for url in super::site_urls(client) {
            *self.site_urls.entry(url.to_owned()).or_default() += 1;
        }
    }

    fn unindex(&mut self, client: &OAuthClient) {
        for url in super::site_urls(client) {
            if let Some(n) = self.site_urls.get_mut(url) {
                *n -= 1;
                if *n == 0 {
                    self.site_urls.remove(url);
                }
            }
        }
    }
}

impl MemoryClientStore {
    /// [`ClientStore::get`], answered at once.
    pub(crate) fn get_now(&self, id: &str) -> Option<Arc<OAuthClient>> {
        lock(&self.clients).by_id.get(id).cloned()
    }
}

#[async_trait]
impl ClientStore for MemoryClientStore {
    async fn get(&self, id: &str) -> Result<Option<Arc<OAuthClient>>, StoreError> {
        Ok(self.get_now(id))
    }

    async fn insert(&self, client: OAuthClient) -> Result<(), StoreError> {
        let mut clients = lock(&self.clients);
        if clients.by_id.contains_key(client.id()) {
            return Err(StoreError::Duplicate);
        }
        clients.index(&client);
        clients.by_id.insert(client.id().clone(), Arc::new(client));
        Ok(())
    }

    async fn update(&self, mut client: OAuthClient) -> Result<(), StoreError> {
        let mut clients = lock(&self.clients);
        let stored = clients.by_id.get(client.id()).ok_or(StoreError::NotFound)?;
        if stored.revision() != client.revision() {
            return Err(StoreError::Conflict);
        }
        client.set_revision(client.revision().wrapping_add(1));
        let old = clients
            .by_id
            .insert(client.id().clone(), Arc::new(client.clone()));
        if let Some(old) = old {
            clients.unindex(&old);
        }
        clients.index(&client);
        Ok(())
    }

    async fn delete_many(&self, ids: &[ClientId]) -> Result<usize, StoreError> {
        let mut clients = lock(&self.clients);
        let mut removed = 0;
        for id in ids {
            if let Some(old) = clients.by_id.remove(id) {
                clients.unindex(&old);
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn list(&self, query: &ClientQuery) -> Result<Vec<OAuthClient>, StoreError> {
        let mut found: Vec<OAuthClient> = lock(&self.clients)
            .by_id
            .values()
            .filter(|c| query.matches(c))
            .map(|c| OAuthClient::clone(c))
            .collect();
        found.sort_by_cached_key(|c| (c.name().to_lowercase(), c.id().clone()));
        Ok(found)
    }

    async fn known_site_urls(&self, urls: &[&str]) -> Result<Vec<bool>, StoreError> {
        let clients = lock(&self.clients);
        Ok(urls
            .iter()
            .map(|u| clients.site_urls.contains_key(*u))
            .collect())
    }

    async fn record_untrusted_redirect_uri(
        &self,
        id: &ClientId,
        uri: &str,
    ) -> Result<bool, StoreError> {
        let mut clients = lock(&self.clients);
        let Some(client) = clients.by_id.get_mut(id) else {
            return Ok(false);
        };
        if client.untrusted_redirect_uris().iter().any(|u| u == uri) {
            return Ok(false);
        }
        let client = Arc::make_mut(client);
        let changed = client.record_untrusted_redirect_uri(uri);
        if changed {
            client.set_revision(client.revision().wrapping_add(1));
        }
        Ok(changed)
    }
}

#[derive(Debug, Default)]
struct Tokens {
    records: HashMap<TokenHash, Entry>,
    /// The records of each grant, so that revoking one (a replay, a revocation request) costs
    /// the grant's few records, not a scan of the whole table.
    by_grant: HashMap<GrantId, Vec<TokenHash>>,
    /// Revoked grants, until the time their last record would have expired.
    revoked: HashMap<GrantId, Timestamp>,
}

impl Tokens {
    /// Forgets `hash` in its grant's index entry.
    fn unindex(&mut self, grant: &GrantId, hash: &TokenHash) {
        if let Some(hashes) = self.by_grant.get_mut(grant) {
            hashes.retain(|h| h != hash);
            if hashes.is_empty() {
                self.by_grant.remove(grant);
            }
        }
    }

    /// Removes one record and its index entry.
    fn remove(&mut self, hash: &TokenHash) -> Option<Entry> {
        let entry = self.records.remove(hash)?;
        self.unindex(&entry.record.grant_id, hash);
        Some(entry)
    }
}

#[derive(Debug)]
struct Entry {
    record: Arc<TokenRecord>,
    taken: bool,
}

/// Codes, tokens and consents in maps.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Tokens>,
    consents: Mutex<BTreeMap<(String, ClientId), Consent>>,
}

impl MemoryTokenStore {
    /// [`TokenStore::get`], answered at once.
    pub(crate) fn get_now(&self, hash: &TokenHash) -> Option<Arc<TokenRecord>> {
        lock(&self.tokens)
            .records
            .get(hash)
            .filter(|e| !e.taken)
            .map(|e| e.record.clone())
    }

    /// [`TokenStore::take_if`], answered at once.
    pub(crate) fn take_if_now(&self, hash: &TokenHash, check: TakeCheck<'_>) -> Take {
        // The check runs under the lock too: no one can take the record between the check and
        // the mark.
        let mut tokens = lock(&self.tokens);
        match tokens.records.get_mut(hash) {
            None => Take::Missing,
            Some(e) if e.taken => Take::AlreadyTaken(e.record.clone()),
            Some(e) if !check(&e.record) => Take::Refused(e.record.clone()),
            Some(e) => {
                e.taken = true;
                Take::Taken(e.record.clone())
            }
        }
    }

    /// [`TokenStore::take_and_insert`], answered at once: the check, the mark and the inserts
    /// under one lock.
    pub(crate) fn take_and_insert_now(
        &self,
        hash: &TokenHash,
        check: TakeCheck<'_>,
        records: &[(TokenHash, Arc<TokenRecord>)],
    ) -> Result<Take, StoreError> {
        let mut tokens = lock(&self.tokens);
        let found = match tokens.records.get(hash) {
            None => return Ok(Take::Missing),
            Some(e) if e.taken => return Ok(Take::AlreadyTaken(e.record.clone())),
            Some(e) if !check(&e.record) => return Ok(Take::Refused(e.record.clone())),
            Some(e) => e.record.clone(),
        };
        Self::insert_locked(&mut tokens, records)?;
        if let Some(e) = tokens.records.get_mut(hash) {
            e.taken = true;
        }
        Ok(Take::Taken(found))
    }

    /// [`TokenStore::insert_all`], answered at once.
    pub(crate) fn insert_records(
        &self,
        records: &[(TokenHash, Arc<TokenRecord>)],
    ) -> Result<(), StoreError> {
        Self::insert_locked(&mut lock(&self.tokens), records)
    }

    fn insert_locked(
        tokens: &mut Tokens,
        records: &[(TokenHash, Arc<TokenRecord>)],
    ) -> Result<(), StoreError> {
        if records
            .iter()
            .any(|(_, r)| tokens.revoked.contains_key(&r.grant_id))
        {
            return Err(StoreError::GrantRevoked);
        }
        // All or none, under one lock: one probe per record, and should a hash be taken
        // (never, in practice: hashes of fresh 256-bit values), the ones stored before it are
        // removed again.
        for (i, (hash, record)) in records.iter().enumerate() {
            match tokens.records.entry(*hash) {
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(Entry {
                        record: record.clone(),
                        taken: false,
                    });
                    tokens
                        .by_grant
                        .entry(record.grant_id.clone())
                        .or_default()
                        .push(*hash);
                }
                std::collections::hash_map::Entry::Occupied(_) => {
                    for (stored, _) in records.iter().take(i) {
                        tokens.remove(stored);
                    }
                    return Err(StoreError::Duplicate);
                }
            }
        }
        Ok(())
    }

    fn remove_where(&self, pred: impl Fn(&TokenRecord) -> bool) -> usize {
        let mut tokens = lock(&self.tokens);
        let tokens = &mut *tokens;
        let before = tokens.records.len();
        // The grants that lost records, each then cleaned once: removing hash by hash from a
        // grant's list would cost a pass over the list per record, quadratic in a big family.
        let mut touched: HashSet<GrantId> = HashSet::new();
        tokens.records.retain(|_, e| {
            let remove = pred(&e.record);
            if remove && !touched.contains(&e.record.grant_id) {
                touched.insert(e.record.grant_id.clone());
            }
            !remove
        });
        for grant in &touched {
            if let Some(hashes) = tokens.by_grant.get_mut(grant) {
                hashes.retain(|h| tokens.records.contains_key(h));
                if hashes.is_empty() {
                    tokens.by_grant.remove(grant);
                }
            }
        }
        let after = tokens.records.len();
        // A purge can empty most of the table, and removed entries can leave tombstones that
        // lengthen later probes. A mostly empty table is rebuilt smaller: that clears them,
        // gives the memory back, and keeps the records that remain close together, which
        // matters more than the rebuild (a big sparse table costs a cache miss per lookup).
        if after < tokens.records.capacity() / 4 {
            tokens.records.shrink_to(after * 2);
        }
        before - after
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn insert(&self, hash: TokenHash, record: Arc<TokenRecord>) -> Result<(), StoreError> {
        self.insert_records(&[(hash, record)])
    }

    async fn insert_all(
        &self,
        records: &[(TokenHash, Arc<TokenRecord>)],
    ) -> Result<(), StoreError> {
        self.insert_records(records)
    }

    async fn get(&self, hash: &TokenHash) -> Result<Option<Arc<TokenRecord>>, StoreError> {
        Ok(self.get_now(hash))
    }

    async fn take(&self, hash: &TokenHash) -> Result<Take, StoreError> {
        // The check and the mark happen under one lock: that is the whole single-use guarantee.
        let mut tokens = lock(&self.tokens);
        Ok(match tokens.records.get_mut(hash) {
            None => Take::Missing,
            Some(e) if e.taken => Take::AlreadyTaken(e.record.clone()),
            Some(e) => {
                e.taken = true;
                Take::Taken(e.record.clone())
            }
        })
    }

    async fn take_if(&self, hash: &TokenHash, check: TakeCheck<'_>) -> Result<Take, StoreError> {
        Ok(self.take_if_now(hash, check))
    }

    async fn take_and_insert(
        &self,
        hash: &TokenHash,
        check: TakeCheck<'_>,
        records: &[(TokenHash, Arc<TokenRecord>)],
    ) -> Result<Take, StoreError> {
        self.take_and_insert_now(hash, check, records)
    }

    async fn remove(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        Ok(lock(&self.tokens).remove(hash).is_some())
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<usize, StoreError> {
        let mut tokens = lock(&self.tokens);
        let mut until: Option<Timestamp> = None;
        let mut removed = 0;
        for hash in tokens.by_grant.remove(grant).unwrap_or_default() {
            if let Some(e) = tokens.records.remove(&hash) {
                until = until.max(Some(e.record.expires_at));
                removed += 1;
            }
        }
        if let Some(until) = until {
            let mark = tokens.revoked.entry(grant.clone()).or_insert(until);
            *mark = (*mark).max(until);
        }
        Ok(removed)
    }

    async fn revoke_subject(
        &self,
        user: &str,
        client: Option<&ClientId>,
    ) -> Result<usize, StoreError> {
        Ok(self.remove_where(|r| {
            r.subject.as_deref() == Some(user) && client.is_none_or(|c| &r.client_id == c)
        }))
    }

    async fn revoke_client(&self, client: &ClientId) -> Result<usize, StoreError> {
        Ok(self.remove_where(|r| &r.client_id == client))
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<usize, StoreError> {
        lock(&self.tokens).revoked.retain(|_, until| *until > now);
        Ok(self.remove_where(|r| r.is_expired(now)))
    }

    async fn put_consent(&self, consent: Consent) -> Result<(), StoreError> {
        let key = (consent.user.clone(), consent.client_id.clone());
        lock(&self.consents).insert(key, consent);
        Ok(())
    }

    async fn consent(&self, user: &str, client: &ClientId) -> Result<Option<Consent>, StoreError> {
        Ok(lock(&self.consents)
            .get(&(user.to_owned(), client.clone()))
            .cloned())
    }

    async fn consents(&self, owner: &ConsentOwner) -> Result<Vec<Consent>, StoreError> {
        Ok(lock(&self.consents)
            .values()
            .filter(|c| owner.owns(c))
            .cloned()
            .collect())
    }

    async fn revoke_consents(&self, owner: &ConsentOwner) -> Result<usize, StoreError> {
        let mut consents = lock(&self.consents);
        let before = consents.len();
        consents.retain(|_, c| !owner.owns(c));
        Ok(before - consents.len())
    }
}

/// An [`HttpFetcher`] that answers from canned responses, for tests and offline examples.
/// It enforces the request's size limit like a real fetcher and remembers what was asked.
#[derive(Debug, Default)]
pub struct MemoryFetcher {
    routes: Mutex<HashMap<(HttpMethod, String), Result<HttpResponse, FetchError>>>,
    requests: Mutex<Vec<HttpRequest>>,
}

impl MemoryFetcher {
    /// Answers `method url` with `response` (or the error) from now on.
    pub fn route(
        &self,
        method: HttpMethod,
        url: &str,
        response: Result<HttpResponse, FetchError>,
    ) -> &Self {
        lock(&self.routes).insert((method, url.to_owned()), response);
        self
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<HttpRequest> {
        lock(&self.requests).clone()
    }
}

#[async_trait]
impl HttpFetcher for MemoryFetcher {
    async fn fetch(&self, request: HttpRequest) -> Result<HttpResponse, FetchError> {
        let key = (request.method, request.url.as_str().to_owned());
        let limit = request.max_response_bytes;
        lock(&self.requests).push(request);
        let answer = lock(&self.routes)
            .get(&key)
            .cloned()
            .unwrap_or_else(|| Err(FetchError::Connect(format!("no route for {}", key.1))));
        let response = answer?;
        if response.body.len() > limit {
            return Err(FetchError::TooLarge { limit });
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn access_record(grant: &GrantId, expires: u64) -> Arc<TokenRecord> {
        Arc::new(TokenRecord {
            kind: crate::store::TokenKind::AccessToken,
            client_id: ClientId::new("c").unwrap(),
            subject: None,
            grant_id: grant.clone(),
            scope: crate::Scope::default(),
            audience: Arc::from([]),
            issued_at: Timestamp(0),
            expires_at: Timestamp(expires),
            code: None,
            grant_expires_at: None,
        })
    }

    #[test]
    fn insert_all_stores_all_or_none() {
        let store = MemoryTokenStore::default();
        let grant = GrantId::new("g");
        let (a, b, taken) = (TokenHash::of("a"), TokenHash::of("b"), TokenHash::of("t"));
        block_on(async {
            store.insert(taken, access_record(&grant, 9)).await.unwrap();
            let batch = [
                (a, access_record(&grant, 9)),
                (taken, access_record(&grant, 9)),
            ];
            assert!(matches!(
                store.insert_all(&batch).await,
                Err(StoreError::Duplicate)
            ));
            assert_eq!(
                store.get(&a).await.unwrap(),
                None,
                "the first was rolled back"
            );
            let twice = [(b, access_record(&grant, 9)), (b, access_record(&grant, 9))];
            assert!(matches!(
                store.insert_all(&twice).await,
                Err(StoreError::Duplicate)
            ));
            assert_eq!(store.get(&b).await.unwrap(), None);
            store.revoke_grant(&grant).await.unwrap();
            let late = [(a, access_record(&grant, 9))];
            assert!(matches!(
                store.insert_all(&late).await,
                Err(StoreError::GrantRevoked)
            ));
        });
    }

    /// The grant index names exactly the stored records.
    fn index_matches(store: &MemoryTokenStore) {
        let tokens = lock(&store.tokens);
        let indexed: usize = tokens.by_grant.values().map(Vec::len).sum();
        assert_eq!(indexed, tokens.records.len());
        for (grant, hashes) in &tokens.by_grant {
            for h in hashes {
                assert_eq!(&tokens.records[h].record.grant_id, grant);
            }
        }
    }

    #[test]
    fn revoking_a_grant_uses_the_index_which_every_removal_keeps_current() {
        let store = MemoryTokenStore::default();
        block_on(async {
            for g in 0..10u64 {
                let grant = GrantId::new(format!("g{g}"));
                for n in 0..3u64 {
                    let hash = TokenHash::of(&format!("{g}-{n}"));
                    store
                        .insert(hash, access_record(&grant, 100 + n * 100))
                        .await
                        .unwrap();
                }
            }
            index_matches(&store);
            assert!(store.remove(&TokenHash::of("0-0")).await.unwrap());
            index_matches(&store);
            assert_eq!(store.purge_expired(Timestamp(150)).await.unwrap(), 9);
            index_matches(&store);
            assert_eq!(store.revoke_grant(&GrantId::new("g1")).await.unwrap(), 2);
            assert_eq!(store.revoke_grant(&GrantId::new("g1")).await.unwrap(), 0);
            index_matches(&store);
            let dup = [
                (
                    TokenHash::of("new"),
                    access_record(&GrantId::new("g9"), 900),
                ),
                (
                    TokenHash::of("9-2"),
                    access_record(&GrantId::new("g9"), 900),
                ),
            ];
            assert!(store.insert_all(&dup).await.is_err());
            index_matches(&store);
            store
                .revoke_client(&ClientId::new("c").unwrap())
                .await
                .unwrap();
            index_matches(&store);
            assert!(lock(&store.tokens).by_grant.is_empty());
        });
    }

    #[test]
    fn a_purge_that_empties_most_of_the_table_shrinks_it() {
        let store = MemoryTokenStore::default();
        let grant = GrantId::new("g");
        block_on(async {
            for i in 0..1000u64 {
                // Ten records outlive the purge below.
                let record = access_record(&grant, if i < 10 { 500 } else { 100 });
                let hash = TokenHash::of(&i.to_string());
                store.insert(hash, record).await.unwrap();
            }
            let grown = lock(&store.tokens).records.capacity();
            assert!(grown >= 1000);
            assert_eq!(store.purge_expired(Timestamp(200)).await.unwrap(), 990);
            let shrunk = lock(&store.tokens).records.capacity();
            assert!(
                shrunk < 100,
                "capacity {shrunk} after purging to 10 records"
            );
            assert_eq!(lock(&store.tokens).records.len(), 10);
        });
    }

    #[test]
    fn fetcher_answers_routes_and_enforces_the_size_limit() {
        let f = MemoryFetcher::default();
        let ok = HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: b"{}".to_vec(),
        };
        f.route(HttpMethod::Get, "https://a.example/doc", Ok(ok.clone()));
        let url = Url::parse("https://a.example/doc").unwrap();
        let got = block_on(f.fetch(HttpRequest::get(url.clone()))).unwrap();
        assert_eq!(got.header("content-type"), Some("application/json"));

        let mut tiny = HttpRequest::get(url);
        tiny.max_response_bytes = 1;
        assert_eq!(
            block_on(f.fetch(tiny)),
            Err(FetchError::TooLarge { limit: 1 })
        );

        let missing = HttpRequest::get(Url::parse("https://b.example/").unwrap());
        assert!(matches!(
            block_on(f.fetch(missing)),
            Err(FetchError::Connect(_))
        ));
        assert_eq!(f.requests().len(), 3);
    }

    #[test]
    fn request_debug_hides_header_values_and_body() {
        let mut r = HttpRequest::get(Url::parse("https://a.example/").unwrap());
        r.headers
            .push(("Authorization".into(), "Basic c2VjcmV0".into()));
        r.body = b"client_secret=hunter2".to_vec();
        let shown = format!("{r:?}");
        assert!(shown.contains("Authorization"));
        assert!(
            !shown.contains("c2VjcmV0") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
