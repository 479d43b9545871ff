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
/// Clients are whole values: `put` writes one, `get` reads one. Implementations keep the
/// [`OAuthClient`] serialized form (serde) and must not edit fields themselves.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// The client with this ID, if any.
    async fn get(&self, id: &ClientId) -> Result<Option<OAuthClient>, StoreError>;

    /// Inserts the client, or replaces the one with the same ID.
    async fn put(&self, client: OAuthClient) -> Result<(), StoreError>;

    /// Deletes the clients with these IDs; returns how many existed.
    async fn delete_many(&self, ids: &[ClientId]) -> Result<usize, StoreError>;

    /// The clients matching `query`, ordered by name (case-insensitive), then ID.
    async fn list(&self, query: &ClientQuery) -> Result<Vec<OAuthClient>, StoreError>;

    /// Adds `uri` to the client's untrusted redirect URIs, as
    /// [`OAuthClient::record_untrusted_redirect_uri`] does, atomically with respect to other
    /// writes of the same client. Returns `false` if the client does not exist or the URI was
    /// listed already.
    async fn record_untrusted_redirect_uri(
        &self,
        id: &ClientId,
        uri: &str,
    ) -> Result<bool, StoreError>;
}
