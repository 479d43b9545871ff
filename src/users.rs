//! The host's users, as far as authorization needs them: which scopes each may grant, and (for
//! the resource owner password flow only) whether a password is right.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;

use crate::client::SecretHash;
use crate::scope::Scope;
use crate::store::StoreError;

/// Answers for the host's user database.
///
/// ```
/// use portcullis::store::StoreError;
/// use portcullis::users::UserDirectory;
/// use portcullis::{Scope, async_trait};
///
/// /// Everyone may read; admins may also write.
/// struct Roles;
///
/// #[async_trait]
/// impl UserDirectory for Roles {
///     async fn permitted_scopes(&self, user: &str) -> Result<Scope, StoreError> {
///         let scopes = if user.starts_with("admin-") { "read write" } else { "read" };
///         Scope::parse(scopes).map_err(|e| StoreError::Backend(e.into()))
///     }
/// }
/// ```
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// The scopes `user` holds; a token for this user never carries more.
    async fn permitted_scopes(&self, user: &str) -> Result<Scope, StoreError>;

    /// The user's ID if `password` is right for `username`, for the resource owner password
    /// flow. The default refuses every password, for hosts that do not offer that flow.
    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<String>, StoreError> {
        let _ = (username, password);
        Ok(None)
    }
}

struct MemoryUser {
    password: SecretHash,
    scopes: Scope,
}

/// Users in a map, with salted password hashes: for examples and tests.
#[derive(Default)]
pub struct MemoryUserDirectory {
    users: RwLock<HashMap<String, MemoryUser>>,
}

impl std::fmt::Debug for MemoryUserDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryUserDirectory")
            .finish_non_exhaustive()
    }
}

impl MemoryUserDirectory {
    /// Adds or replaces a user.
    pub fn insert(
        &self,
        username: &str,
        password: &str,
        scopes: Scope,
    ) -> Result<(), crate::RandomError> {
        let user = MemoryUser {
            password: SecretHash::of_str(password)?,
            scopes,
        };
        self.users
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(username.to_owned(), user);
        Ok(())
    }
}

#[async_trait]
impl UserDirectory for MemoryUserDirectory {
    async fn permitted_scopes(&self, user: &str) -> Result<Scope, StoreError> {
        Ok(self
            .users
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
            .map(|u| u.scopes.clone())
            .unwrap_or_default())
    }

    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<String>, StoreError> {
        let users = self.users.read().unwrap_or_else(|p| p.into_inner());
        Ok(match users.get(username) {
            Some(u) if u.password.verify(password) => Some(username.to_owned()),
            Some(_) => None,
            None => {
                SecretHash::decoy().verify(password);
                None
            }
        })
    }
}
