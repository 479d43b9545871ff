use std::sync::Arc;

use async_trait::async_trait;

use super::StoreError;
use crate::client::{ClientId, OAuthClient};

/// Which clients [`ClientStore::list`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientQuery {
    /// Only clients whose name contains this text, ignoring case; `None` or empty for all.
    pub name_contains: Option<String>,
}

impl ClientQuery {
    /// Whether `client` passes the filter. Implementations may use this or push the filter
    /// into their query language with the same meaning.
    pub fn matches(&self, client: &OAuthClient) -> bool {
        match self.name_contains.as_deref() {
            None | Some("") => true,
            Some(needle) => client
                .name()
                .to_lowercase()
                .contains(&needle.to_lowercase()),
        }
    }
}

/// Where OAuth clients live.
///
/// Clients are whole values. Implementations keep the [`OAuthClient`] serialized form (serde)
/// and change nothing in it but the revision. Writes are optimistic: `update` succeeds only if
/// the stored revision is the one the caller read, so two administrators (or an administrator
/// and a redirect being recorded) cannot silently undo each other's changes.
///
/// A store that counts lookups and keeps the clients in the memory store (a database store
/// answers the same calls from its tables):
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use portcullis::store::memory::MemoryClientStore;
/// use portcullis::store::{ClientQuery, ClientStore, StoreError};
/// use portcullis::{ClientId, OAuthClient, async_trait};
///
/// #[derive(Default)]
/// struct Counted(MemoryClientStore, AtomicUsize);
///
/// #[async_trait]
/// impl ClientStore for Counted {
///     async fn get(&self, id: &str) -> Result<Option<Arc<OAuthClient>>, StoreError> {
///         self.1.fetch_add(1, Ordering::Relaxed);
///         self.0.get(id).await
///     }
///     async fn insert(&self, c: OAuthClient) -> Result<(), StoreError> { self.0.insert(c).await }
///     async fn update(&self, c: OAuthClient) -> Result<(), StoreError> { self.0.update(c).await }
///     async fn delete_many(&self, ids: &[ClientId]) -> Result<usize, StoreError> {
///         self.0.delete_many(ids).await
///     }
///     async fn list(&self, q: &ClientQuery) -> Result<Vec<OAuthClient>, StoreError> {
///         self.0.list(q).await
///     }
///     async fn record_untrusted_redirect_uri(
///         &self,
///         id: &ClientId,
///         uri: &str,
///     ) -> Result<bool, StoreError> {
///         self.0.record_untrusted_redirect_uri(id, uri).await
///     }
///     async fn known_site_urls(&self, urls: &[&str]) -> Result<Vec<bool>, StoreError> {
///         self.0.known_site_urls(urls).await
///     }
/// }
/// ```
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// The client whose ID is `id`, compared exactly, if any. The ID is given as text, as a
    /// request spells it, so that looking a client up costs no copy; text that is not a valid
    /// client ID is simply not found. Shared, because every authorization and token request
    /// reads one: a store that caches clients can hand out the same value without copying.
    async fn get(&self, id: &str) -> Result<Option<Arc<OAuthClient>>, StoreError>;

    /// Stores a new client; [`StoreError::Duplicate`] if the ID is taken. Atomic: of two
    /// concurrent inserts of one ID, one fails.
    async fn insert(&self, client: OAuthClient) -> Result<(), StoreError>;

    /// Replaces a stored client if its stored revision equals `client.revision()`, and stores
    /// it with the revision increased by one. [`StoreError::Conflict`] if the revision moved
    /// on, [`StoreError::NotFound`] if the client is gone.
    async fn update(&self, client: OAuthClient) -> Result<(), StoreError>;

    /// Deletes the clients with these IDs; returns how many existed.
    async fn delete_many(&self, ids: &[ClientId]) -> Result<usize, StoreError>;

    /// The clients matching `query`, ordered by name (case-insensitive), then ID.
    async fn list(&self, query: &ClientQuery) -> Result<Vec<OAuthClient>, StoreError>;

    /// Adds `uri` to the client's untrusted redirect URIs, as
    /// [`OAuthClient::record_untrusted_redirect_uri`] does, atomically with respect to other
    /// writes of the same client, increasing the revision if it changed anything. Returns
    /// `false` if the client does not exist or the URI was listed already.
    async fn record_untrusted_redirect_uri(
        &self,
        id: &ClientId,
        uri: &str,
    ) -> Result<bool, StoreError>;

    /// For each of `urls` (each in its parsed, serialized form), whether some client has it
    /// as its home URL or one of its base URLs: such a URL is a valid token audience
    /// (RFC 8707). One answer per URL, in order.
    ///
    /// Anonymous requests reach this (a `resource` parameter at the authorization endpoint),
    /// with at most [`crate::server::MAX_RESOURCES`] distinct URLs, so it must answer from an
    /// index on those URLs (a table of site URLs, a database index), never by reading every
    /// client.
    async fn known_site_urls(&self, urls: &[&str]) -> Result<Vec<bool>, StoreError>;
}

/// The client's site URLs (home URL, then base URLs; none for a client registered from its
/// metadata document) in serialized form, as [`ClientStore::known_site_urls`] compares them.
pub fn site_urls(client: &OAuthClient) -> impl Iterator<Item = &str> {
    // A client that registered itself chose its home URL in a document anyone can publish:
    // it must not make that URL an audience tokens can be issued for.
    let vouched = client.registration() != crate::client::Registration::Cimd;
    client
        .home_url()
        .into_iter()
        .chain(client.base_urls())
        .filter(move |_| vouched)
        .map(url::Url::as_str)
}
