//! Stores as a host would provide them: the memory stores behind the traits, implementing only
//! the required methods, so the provided `take_if` and `insert_all` are the
//! ones that run. Shared by the test crates that `#[path]`-include it.

use std::sync::Arc;

use async_trait::async_trait;
use portcullis::ClientId;
use portcullis::OAuthClient;
use portcullis::clock::Timestamp;
use portcullis::store::memory::{MemoryClientStore, MemoryTokenStore};
use portcullis::store::{
    ClientQuery, ClientStore, Consent, ConsentOwner, GrantId, StoreError, Take, TokenHash,
    TokenRecord, TokenStore,
};

/// A host's client store: the memory store behind the trait, required methods only.
pub struct HostClients(pub MemoryClientStore);

#[async_trait]
impl ClientStore for HostClients {
    async fn get(&self, id: &str) -> Result<Option<Arc<OAuthClient>>, StoreError> {
        self.0.get(id).await
    }
    async fn insert(&self, client: OAuthClient) -> Result<(), StoreError> {
        self.0.insert(client).await
    }
    async fn update(&self, client: OAuthClient) -> Result<(), StoreError> {
        self.0.update(client).await
    }
    async fn delete_many(&self, ids: &[ClientId]) -> Result<usize, StoreError> {
        self.0.delete_many(ids).await
    }
    async fn list(&self, query: &ClientQuery) -> Result<Vec<OAuthClient>, StoreError> {
        self.0.list(query).await
    }
    async fn record_untrusted_redirect_uri(
        &self,
        id: &ClientId,
        uri: &str,
    ) -> Result<bool, StoreError> {
        self.0.record_untrusted_redirect_uri(id, uri).await
    }
    async fn known_site_urls(&self, urls: &[&str]) -> Result<Vec<bool>, StoreError> {
        self.0.known_site_urls(urls).await
    }
}

/// A host's token store: the memory store behind the trait, required methods only.
pub struct HostTokens(pub MemoryTokenStore);

#[async_trait]
impl TokenStore for HostTokens {
    async fn insert(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError> {
        self.0.insert(hash, record).await
    }
    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.0.get(hash).await
    }
    async fn take(&self, hash: &TokenHash) -> Result<Take, StoreError> {
        self.0.take(hash).await
    }
    async fn remove(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        self.0.remove(hash).await
    }
    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError> {
        self.0.revoke_grant(grant).await
    }
    async fn revoke_subject(
        &self,
        user: &str,
        client: Option<&ClientId>,
    ) -> Result<usize, StoreError> {
        self.0.revoke_subject(user, client).await
    }
    async fn revoke_client(&self, client: &ClientId) -> Result<usize, StoreError> {
        self.0.revoke_client(client).await
    }
    async fn purge_expired(&self, now: Timestamp) -> Result<usize, StoreError> {
        self.0.purge_expired(now).await
    }
    async fn put_consent(&self, consent: Consent) -> Result<(), StoreError> {
        self.0.put_consent(consent).await
    }
    async fn consent(&self, user: &str, client: &ClientId) -> Result<Option<Consent>, StoreError> {
        self.0.consent(user, client).await
    }
    async fn consents(&self, owner: &ConsentOwner) -> Result<Vec<Consent>, StoreError> {
        self.0.consents(owner).await
    }
    async fn revoke_consents(&self, owner: &ConsentOwner) -> Result<usize, StoreError> {
        self.0.revoke_consents(owner).await
    }
}

/// A client store that counts the calls the server makes to it, to check how much work a
/// request causes.
#[derive(Default)]
pub struct CountingClients {
    pub inner: MemoryClientStore,
    pub site_url_lookups: std::sync::atomic::AtomicUsize,
    pub writes: std::sync::atomic::AtomicUsize,
}

#[allow(dead_code)]
impl CountingClients {
    pub fn lookups(&self) -> usize {
        self.site_url_lookups
            .load(std::sync::atomic::Ordering::SeqCst)
    }
    pub fn writes(&self) -> usize {
        self.writes.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl ClientStore for CountingClients {
    async fn get(&self, id: &str) -> Result<Option<Arc<OAuthClient>>, StoreError> {
        self.inner.get(id).await
    }
    async fn insert(&self, client: OAuthClient) -> Result<(), StoreError> {
        self.inner.insert(client).await
    }
    async fn update(&self, client: OAuthClient) -> Result<(), StoreError> {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.update(client).await
    }
    async fn delete_many(&self, ids: &[ClientId]) -> Result<usize, StoreError> {
        self.inner.delete_many(ids).await
    }
    async fn list(&self, query: &ClientQuery) -> Result<Vec<OAuthClient>, StoreError> {
        self.inner.list(query).await
    }
    async fn record_untrusted_redirect_uri(
        &self,
        id: &ClientId,
        uri: &str,
    ) -> Result<bool, StoreError> {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.record_untrusted_redirect_uri(id, uri).await
    }
    async fn known_site_urls(&self, urls: &[&str]) -> Result<Vec<bool>, StoreError> {
        self.site_url_lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.known_site_urls(urls).await
    }
}
