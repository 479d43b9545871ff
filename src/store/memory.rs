//! In-memory stores: the embedded default for examples, tests and single-process hosts.
//!
//! Everything is lost when the process ends. Each store is a map behind one mutex, never held
//! across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::{
    ClientQuery, ClientStore, Consent, ConsentOwner, FetchError, Grant, GrantId, HttpFetcher,
    HttpMethod, HttpRequest, HttpResponse, StoreError, Take, TakeCheck, TokenHash, TokenKind,
    TokenRecord, TokenStore,
};
use crate::client::{ClientId, OAuthClient};
use crate::clock::Timestamp;

pub use super::module_memory::MemoryAuthModuleStore;
pub use super::provider_tokens::MemoryProviderTokenStore;

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
    records: HashMap<TokenHash, Slot>,
    /// Revoked grants. Revoking marks the grant instead of finding its records: a record of a
    /// marked grant is as good as gone (never returned, never taken), and the next purge
    /// removes it. So a revocation costs one mark whatever the family's size, and the table
    /// needs no index by grant, which would cost more memory per token pair than the tokens.
    /// Each mark holds the latest expiry of the records a purge removed for it, and stays
    /// until then (and for at least one purge after the revocation).
    revoked: HashMap<GrantId, Option<Timestamp>>,
}

impl Tokens {
    /// The slot under `hash` if its grant is not revoked.
    fn live(&self, hash: &TokenHash) -> Option<&Slot> {
        self.records
            .get(hash)
            .filter(|slot| !self.is_revoked(&slot.grant.id))
    }

    fn live_mut(&mut self, hash: &TokenHash) -> Option<&mut Slot> {
        let revoked = &self.revoked;
        self.records
            .get_mut(hash)
            .filter(|slot| revoked.is_empty() || !revoked.contains_key(&slot.grant.id))
    }

    fn is_revoked(&self, grant: &GrantId) -> bool {
        // Most of the time nothing is revoked, and this costs no hashing.
        !self.revoked.is_empty() && self.revoked.contains_key(grant)
    }
}

/// One record as the table keeps it, 16 bytes beside its 32-byte key and without an
/// allocation of its own: the grant it shares with the records issued beside it, and the
/// record's own fields packed into one word (the table holds three records per token pair,
/// so its slot size is most of a pair's memory).
#[derive(Debug)]
struct Slot {
    grant: Arc<Grant>,
    /// The expiry in the low 56 bits (seconds; later times are kept as the latest one, some
    /// two billion years away), the kind in bits 56 and 57, the taken mark in bit 63.
    packed: u64,
}

const EXPIRY_BITS: u64 = (1 << 56) - 1;
const TAKEN_BIT: u64 = 1 << 63;

impl Slot {
    fn new(record: &TokenRecord) -> Self {
        let kind: u64 = match record.kind {
            TokenKind::AuthorizationCode => 0,
            TokenKind::AccessToken => 1,
            TokenKind::RefreshToken => 2,
        };
        Slot {
            grant: record.grant.clone(),
            packed: record.expires_at.0.min(EXPIRY_BITS) | (kind << 56),
        }
    }

    fn expires_at(&self) -> Timestamp {
        match self.packed & EXPIRY_BITS {
            EXPIRY_BITS => Timestamp(u64::MAX),
            at => Timestamp(at),
        }
    }

    fn kind(&self) -> TokenKind {
        match (self.packed >> 56) & 0b11 {
            0 => TokenKind::AuthorizationCode,
            1 => TokenKind::AccessToken,
            _ => TokenKind::RefreshToken,
        }
    }

    fn taken(&self) -> bool {
        self.packed & TAKEN_BIT != 0
    }

    fn take(&mut self) {
        self.packed |= TAKEN_BIT;
    }

    fn record(&self) -> TokenRecord {
        TokenRecord {
            kind: self.kind(),
            expires_at: self.expires_at(),
            grant: self.grant.clone(),
        }
    }
}

/// Codes, tokens and consents in maps.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Tokens>,
    consents: Mutex<BTreeMap<(String, ClientId), Consent>>,
}

impl MemoryTokenStore {
    /// [`TokenStore::get`], answered at once.
    pub(crate) fn get_now(&self, hash: &TokenHash) -> Option<TokenRecord> {
        lock(&self.tokens)
            .live(hash)
            .filter(|e| !e.taken())
            .map(Slot::record)
    }

    /// [`TokenStore::take_if`], answered at once.
    pub(crate) fn take_if_now(&self, hash: &TokenHash, check: TakeCheck<'_>) -> Take {
        // The check runs under the lock too: no one can take the record between the check and
        // the mark.
        let mut tokens = lock(&self.tokens);
        match tokens.live_mut(hash) {
            None => Take::Missing,
            Some(e) if e.taken() => Take::AlreadyTaken(e.record()),
            Some(e) => {
                let record = e.record();
                if !check(&record) {
                    return Take::Refused(record);
                }
                e.take();
                Take::Taken(record)
            }
        }
    }

    /// [`TokenStore::take_and_insert`], answered at once: the check, the mark and the inserts
    /// under one lock.
    pub(crate) fn take_and_insert_now(
        &self,
        hash: &TokenHash,
        check: TakeCheck<'_>,
        records: &[(TokenHash, TokenRecord)],
    ) -> Result<Take, StoreError> {
        let mut tokens = lock(&self.tokens);
        let found = match tokens.live(hash) {
            None => return Ok(Take::Missing),
            Some(e) if e.taken() => return Ok(Take::AlreadyTaken(e.record())),
            Some(e) => e.record(),
        };
        if !check(&found) {
            return Ok(Take::Refused(found));
        }
        Self::insert_locked(&mut tokens, records)?;
        if let Some(e) = tokens.records.get_mut(hash) {
            e.take();
            // A taken record is kept only to recognise a replay and revoke its family, for
            // which the grant issued in exchange serves as well (same family, client and
            // user). Sharing it lets a redeemed code's own grant, binding and all, go now
            // rather than when the code expires.
            if let Some((_, issued)) = records.first()
                && issued.grant.id == e.grant.id
            {
                e.grant = issued.grant.clone();
            }
        }
        Ok(Take::Taken(found))
    }

    /// [`TokenStore::insert_all`], answered at once.
    pub(crate) fn insert_records(
        &self,
        records: &[(TokenHash, TokenRecord)],
    ) -> Result<(), StoreError> {
        Self::insert_locked(&mut lock(&self.tokens), records)
    }

    fn insert_locked(
        tokens: &mut Tokens,
        records: &[(TokenHash, TokenRecord)],
    ) -> Result<(), StoreError> {
        if records.iter().any(|(_, r)| tokens.is_revoked(&r.grant.id)) {
            return Err(StoreError::GrantRevoked);
        }
        // All or none, under one lock: one probe per record, and should a hash be taken
        // (never, in practice: hashes of fresh 256-bit values), the ones stored before it are
        // removed again.
        for (i, (hash, record)) in records.iter().enumerate() {
            match tokens.records.entry(*hash) {
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(Slot::new(record));
                }
                std::collections::hash_map::Entry::Occupied(_) => {
                    for (stored, _) in records.iter().take(i) {
                        tokens.records.remove(stored);
                    }
                    return Err(StoreError::Duplicate);
                }
            }
        }
        Ok(())
    }

    /// Removes the live records `pred` selects, and every record of a revoked grant (which
    /// no longer counts), in one pass; returns how many live records went.
    fn remove_where(&self, pred: impl Fn(&Slot) -> bool) -> usize {
        let mut tokens = lock(&self.tokens);
        let Tokens { records, revoked } = &mut *tokens;
        let mut removed = 0;
        records.retain(|_, e| {
            if !revoked.is_empty()
                && let Some(until) = revoked.get_mut(&e.grant.id)
            {
                *until = (*until).max(Some(e.expires_at()));
                return false;
            }
            let remove = pred(e);
            removed += usize::from(remove);
            !remove
        });
        let after = records.len();
        // A purge can empty most of the table, and removed entries can leave tombstones that
        // lengthen later probes. A mostly empty table is rebuilt smaller: that clears them,
        // gives the memory back, and keeps the records that remain close together, which
        // matters more than the rebuild (a big sparse table costs a cache miss per lookup).
        if after < records.capacity() / 4 {
            records.shrink_to(after * 2);
        }
        removed
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn insert(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError> {
        self.insert_records(&[(hash, record)])
    }

    async fn insert_all(&self, records: &[(TokenHash, TokenRecord)]) -> Result<(), StoreError> {
        self.insert_records(records)
    }

    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self.get_now(hash))
    }

    async fn take(&self, hash: &TokenHash) -> Result<Take, StoreError> {
        // The check and the mark happen under one lock: that is the whole single-use guarantee.
        let mut tokens = lock(&self.tokens);
        Ok(match tokens.live_mut(hash) {
            None => Take::Missing,
            Some(e) if e.taken() => Take::AlreadyTaken(e.record()),
            Some(e) => {
                e.take();
                Take::Taken(e.record())
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
        records: &[(TokenHash, TokenRecord)],
    ) -> Result<Take, StoreError> {
        self.take_and_insert_now(hash, check, records)
    }

    async fn remove(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let mut tokens = lock(&self.tokens);
        let was_live = tokens.live(hash).is_some();
        tokens.records.remove(hash);
        Ok(was_live)
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError> {
        lock(&self.tokens)
            .revoked
            .entry(grant.clone())
            .or_insert(None);
        Ok(())
    }

    async fn revoke_subject(
        &self,
        user: &str,
        client: Option<&ClientId>,
    ) -> Result<usize, StoreError> {
        Ok(self.remove_where(|r| {
            r.grant.subject.as_deref() == Some(user)
                && client.is_none_or(|c| &r.grant.client_id == c)
        }))
    }

    async fn revoke_client(&self, client: &ClientId) -> Result<usize, StoreError> {
        Ok(self.remove_where(|r| &r.grant.client_id == client))
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<usize, StoreError> {
        let removed = self.remove_where(|r| now >= r.expires_at());
        // A mark stays while a record of its grant might still be presented, and for one
        // purge at least: a record being issued as the grant is revoked is refused, not
        // stored, whenever the purges run.
        lock(&self.tokens).revoked.retain(|_, until| match until {
            None => {
                *until = Some(now);
                true
            }
            Some(until) => *until > now,
        });
        Ok(removed)
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

    fn access_record(grant: &GrantId, expires: u64) -> TokenRecord {
        TokenRecord {
            kind: crate::store::TokenKind::AccessToken,
            expires_at: Timestamp(expires),
            grant: Arc::new(Grant {
                id: grant.clone(),
                client_id: ClientId::new("c").unwrap(),
                subject: None,
                scope: crate::Scope::default(),
                audience: Arc::from([]),
                issued_at: Timestamp(0),
                ends_at: None,
                code: None,
            }),
        }
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

    fn stored(store: &MemoryTokenStore) -> usize {
        lock(&store.tokens).records.len()
    }

    #[test]
    fn a_revoked_grant_is_gone_at_once_and_its_records_at_the_next_purge() {
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
            assert!(store.remove(&TokenHash::of("0-0")).await.unwrap());
            assert_eq!(store.purge_expired(Timestamp(150)).await.unwrap(), 9);
            assert_eq!(stored(&store), 20);

            store.revoke_grant(&GrantId::new("g1")).await.unwrap();
            for n in 1..3 {
                let hash = TokenHash::of(&format!("1-{n}"));
                assert_eq!(store.get(&hash).await.unwrap(), None);
                assert_eq!(store.take(&hash).await.unwrap(), Take::Missing);
                assert!(!store.remove(&hash).await.unwrap() || n == 0);
            }
            let live = TokenHash::of("2-1");
            assert!(
                store.get(&live).await.unwrap().is_some(),
                "other grants stay"
            );
            store.revoke_grant(&GrantId::new("g2")).await.unwrap();
            assert_eq!(
                store.purge_expired(Timestamp(160)).await.unwrap(),
                0,
                "a revoked grant's records are removed, not counted as expired"
            );
            assert_eq!(stored(&store), 16, "g2's two records went at the purge");
            // The marks stay while a record of theirs could be presented: g2's until 300.
            let late = [(
                TokenHash::of("late"),
                access_record(&GrantId::new("g2"), 900),
            )];
            assert!(matches!(
                store.insert_all(&late).await,
                Err(StoreError::GrantRevoked)
            ));
            store.purge_expired(Timestamp(299)).await.unwrap();
            assert!(
                store.insert_all(&late).await.is_err(),
                "still marked at 299"
            );
            store.purge_expired(Timestamp(300)).await.unwrap();
            assert!(
                lock(&store.tokens).revoked.is_empty(),
                "both marks past their time"
            );
            store.insert_all(&late).await.unwrap();
        });
    }

    #[test]
    fn a_mark_without_records_outlives_one_purge() {
        let store = MemoryTokenStore::default();
        let grant = GrantId::new("g");
        block_on(async {
            store.revoke_grant(&grant).await.unwrap();
            store.purge_expired(Timestamp(10)).await.unwrap();
            let late = [(TokenHash::of("late"), access_record(&grant, 900))];
            assert!(matches!(
                store.insert_all(&late).await,
                Err(StoreError::GrantRevoked)
            ));
            store.purge_expired(Timestamp(11)).await.unwrap();
            store.insert_all(&late).await.unwrap();
        });
    }

    #[test]
    fn a_redeemed_code_keeps_the_grant_issued_for_it_not_its_own() {
        let store = MemoryTokenStore::default();
        let grant = GrantId::new("g");
        let mut code = access_record(&grant, 60);
        code.kind = TokenKind::AuthorizationCode;
        Arc::make_mut(&mut code.grant).code = Some(Box::new(crate::store::CodeBinding {
            redirect_uri: None,
            code_challenge: None,
            nonce: Some("n".into()),
        }));
        let issued = access_record(&grant, 3600);
        let code_hash = TokenHash::of("code");
        block_on(async {
            store.insert(code_hash, code.clone()).await.unwrap();
            let pair = [(TokenHash::of("access"), issued.clone())];
            let taken = store
                .take_and_insert(&code_hash, &|_| true, &pair)
                .await
                .unwrap();
            assert_eq!(taken, Take::Taken(code.clone()), "the caller sees the code");
            drop(taken);
            let Take::AlreadyTaken(replayed) = store.take(&code_hash).await.unwrap() else {
                panic!("a replay")
            };
            assert_eq!(replayed.kind, TokenKind::AuthorizationCode);
            assert_eq!(replayed.expires_at, Timestamp(60));
            assert!(
                Arc::ptr_eq(&replayed.grant, &issued.grant),
                "the code's own grant and binding are let go"
            );
            assert_eq!(
                Arc::strong_count(&code.grant),
                1,
                "only this test holds the code's grant now"
            );
        });
    }

    #[test]
    fn a_record_taken_for_another_grant_keeps_its_own() {
        // A replay of it must revoke its own family, not the one issued in exchange.
        let store = MemoryTokenStore::default();
        let mine = access_record(&GrantId::new("mine"), 60);
        let theirs = [(
            TokenHash::of("new"),
            access_record(&GrantId::new("theirs"), 60),
        )];
        let hash = TokenHash::of("presented");
        block_on(async {
            store.insert(hash, mine.clone()).await.unwrap();
            store
                .take_and_insert(&hash, &|_| true, &theirs)
                .await
                .unwrap();
            let Take::AlreadyTaken(replayed) = store.take(&hash).await.unwrap() else {
                panic!("a replay")
            };
            assert!(Arc::ptr_eq(&replayed.grant, &mine.grant));
        });
    }

    #[test]
    fn a_slot_keeps_every_kind_and_expiry() {
        for kind in [
            TokenKind::AuthorizationCode,
            TokenKind::AccessToken,
            TokenKind::RefreshToken,
        ] {
            for expiry in [0, 1, 1_700_000_000, EXPIRY_BITS - 1] {
                let mut record = access_record(&GrantId::new("g"), expiry);
                record.kind = kind;
                let mut slot = Slot::new(&record);
                assert_eq!(slot.record(), record);
                assert!(!slot.taken());
                slot.take();
                assert!(slot.taken());
                assert_eq!(slot.record(), record, "taking changes nothing else");
            }
        }
        // Past the 56 bits: never expires, as u64::MAX.
        let far = access_record(&GrantId::new("g"), u64::MAX / 2);
        assert_eq!(Slot::new(&far).expires_at(), Timestamp(u64::MAX));
        assert_eq!(std::mem::size_of::<Slot>(), 16);
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
