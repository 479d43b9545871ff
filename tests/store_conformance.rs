//! The in-memory stores pass the public conformance suite that any host store must pass.

use std::sync::Arc;

use portcullis::ClientId;
use portcullis::clock::Timestamp;
use portcullis::store::conformance;
use portcullis::store::memory::{MemoryClientStore, MemoryTokenStore};
use portcullis::store::{
    Consent, ConsentOwner, GrantId, StoreError, Take, TokenHash, TokenRecord, TokenStore,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_client_store_conforms() {
    conformance::client_store(Arc::new(MemoryClientStore::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_token_store_conforms() {
    conformance::token_store(Arc::new(MemoryTokenStore::default())).await;
}

/// A store that implements only the required methods: the provided `take_if` (a `get`, then a
/// `take`) and `insert_all` (one `insert` after another) must pass the suite too.
struct RequiredMethodsOnly(MemoryTokenStore);

#[async_trait::async_trait]
impl TokenStore for RequiredMethodsOnly {
    async fn insert(&self, hash: TokenHash, record: Arc<TokenRecord>) -> Result<(), StoreError> {
        self.0.insert(hash, record).await
    }
    async fn get(&self, hash: &TokenHash) -> Result<Option<Arc<TokenRecord>>, StoreError> {
        self.0.get(hash).await
    }
    async fn take(&self, hash: &TokenHash) -> Result<Take, StoreError> {
        self.0.take(hash).await
    }
    async fn remove(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        self.0.remove(hash).await
    }
    async fn revoke_grant(&self, grant: &GrantId) -> Result<usize, StoreError> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_with_only_the_required_methods_conforms() {
    conformance::token_store(Arc::new(RequiredMethodsOnly(MemoryTokenStore::default()))).await;
}
