use async_trait::async_trait;

use super::StoreError;
use crate::federation::{AuditEvent, AuthModule, ModuleId};

/// Where auth modules, their audit trail and their import counts are kept.
///
/// The store owns two invariants the library relies on: **at most one module is the
/// default** ([`Self::set_default`] moves the mark in one step, and deleting the default module
/// clears it), and `update` is optimistic (it fails with [`StoreError::Conflict`] when the
/// stored revision is not the one the caller read). `default` and `accounts_imported` are the
/// store's: `insert` and `update` ignore what the record says about them.
#[async_trait]
pub trait AuthModuleStore: Send + Sync {
    /// The module with this ID.
    async fn get(&self, id: &ModuleId) -> Result<Option<AuthModule>, StoreError>;

    /// Every module, in creation order.
    async fn list(&self) -> Result<Vec<AuthModule>, StoreError>;

    /// Adds a module; [`StoreError::Duplicate`] when the ID is taken.
    async fn insert(&self, module: AuthModule) -> Result<(), StoreError>;

    /// Replaces settings and the enabled flag if the stored revision equals
    /// `module.revision`, and stores it with the revision increased by one.
    async fn update(&self, module: AuthModule) -> Result<(), StoreError>;

    /// Removes a module (and its default mark); `false` if there was none. The audit trail
    /// stays.
    async fn delete(&self, id: &ModuleId) -> Result<bool, StoreError>;

    /// Makes `id` the only default module, or (with `None`) leaves none.
    /// [`StoreError::NotFound`] when `id` names no module.
    async fn set_default(&self, id: Option<&ModuleId>) -> Result<(), StoreError>;

    /// Counts one account created or linked through the module.
    async fn count_import(&self, id: &ModuleId) -> Result<(), StoreError>;

    /// Appends to the audit trail.
    async fn append_audit(&self, event: AuditEvent) -> Result<(), StoreError>;

    /// A module's audit trail, oldest first (deleted modules included).
    async fn audit(&self, id: &ModuleId) -> Result<Vec<AuditEvent>, StoreError>;
}
