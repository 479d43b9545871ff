use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::StoreError;
use crate::federation::{ModuleId, ProviderTokens};

/// The provider tokens kept from users' federated logins, for the extension grant that
/// hands them to the host's clients ([`crate::federation::ProviderTokenGrant`]). They are
/// bearer credentials at the provider: an implementation should encrypt them at rest.
#[async_trait]
pub trait ProviderTokenStore: Send + Sync {
    /// The tokens kept for `user` from `module`.
    async fn get(
        &self,
        user: &str,
        module: &ModuleId,
    ) -> Result<Option<ProviderTokens>, StoreError>;

    /// Forgets the tokens for `user` from `module` (the provider refused to refresh them).
    async fn remove(&self, user: &str, module: &ModuleId) -> Result<(), StoreError>;

    /// Keeps (or replaces) the tokens for `user` from `module`.
    async fn put(
        &self,
        user: &str,
        module: &ModuleId,
        tokens: ProviderTokens,
    ) -> Result<(), StoreError>;
}

/// Provider tokens in a map: the embedded default.
#[derive(Default)]
pub struct MemoryProviderTokenStore {
    tokens: Mutex<HashMap<(String, ModuleId), ProviderTokens>>,
}

impl std::fmt::Debug for MemoryProviderTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryProviderTokenStore")
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ProviderTokenStore for MemoryProviderTokenStore {
    async fn remove(&self, user: &str, module: &ModuleId) -> Result<(), StoreError> {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(user.to_owned(), module.clone()));
        Ok(())
    }

    async fn get(
        &self,
        user: &str,
        module: &ModuleId,
    ) -> Result<Option<ProviderTokens>, StoreError> {
        Ok(self
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(user.to_owned(), module.clone()))
            .cloned())
    }

    async fn put(
        &self,
        user: &str,
        module: &ModuleId,
        tokens: ProviderTokens,
    ) -> Result<(), StoreError> {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((user.to_owned(), module.clone()), tokens);
        Ok(())
    }
}
