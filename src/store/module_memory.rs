use std::sync::Mutex;

use async_trait::async_trait;

use super::{AuthModuleStore, StoreError};
use crate::federation::{AuditEvent, AuthModule, ModuleId};

/// Auth modules in a list behind one mutex: the embedded default.
#[derive(Debug, Default)]
pub struct MemoryAuthModuleStore {
    inner: Mutex<Modules>,
}

#[derive(Debug, Default)]
struct Modules {
    modules: Vec<AuthModule>,
    default: Option<ModuleId>,
    audit: Vec<AuditEvent>,
}

impl Modules {
    fn shown(&self, m: &AuthModule) -> AuthModule {
        let mut m = m.clone();
        m.default = self.default.as_ref() == Some(&m.id);
        m
    }
}

fn lock(m: &Mutex<Modules>) -> std::sync::MutexGuard<'_, Modules> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait]
impl AuthModuleStore for MemoryAuthModuleStore {
    async fn get(&self, id: &ModuleId) -> Result<Option<AuthModule>, StoreError> {
        let inner = lock(&self.inner);
        Ok(inner
            .modules
            .iter()
            .find(|m| &m.id == id)
            .map(|m| inner.shown(m)))
    }

    async fn list(&self) -> Result<Vec<AuthModule>, StoreError> {
        let inner = lock(&self.inner);
        Ok(inner.modules.iter().map(|m| inner.shown(m)).collect())
    }

    async fn insert(&self, mut module: AuthModule) -> Result<(), StoreError> {
        let mut inner = lock(&self.inner);
        if inner.modules.iter().any(|m| m.id == module.id) {
            return Err(StoreError::Duplicate);
        }
        module.default = false;
        module.accounts_imported = 0;
        inner.modules.push(module);
        Ok(())
    }

    async fn update(&self, module: AuthModule) -> Result<(), StoreError> {
        let mut inner = lock(&self.inner);
        let stored = inner
            .modules
            .iter_mut()
            .find(|m| m.id == module.id)
            .ok_or(StoreError::NotFound)?;
        if stored.revision != module.revision {
            return Err(StoreError::Conflict);
        }
        stored.settings = module.settings;
        stored.enabled = module.enabled;
        stored.revision = module.revision.wrapping_add(1);
        Ok(())
    }

    async fn delete(&self, id: &ModuleId) -> Result<bool, StoreError> {
        let mut inner = lock(&self.inner);
        let before = inner.modules.len();
        inner.modules.retain(|m| &m.id != id);
        if inner.default.as_ref() == Some(id) {
            inner.default = None;
        }
        Ok(inner.modules.len() != before)
    }

    async fn set_default(&self, id: Option<&ModuleId>) -> Result<(), StoreError> {
        let mut inner = lock(&self.inner);
        if let Some(id) = id
            && !inner.modules.iter().any(|m| &m.id == id)
        {
            return Err(StoreError::NotFound);
        }
        inner.default = id.cloned();
        Ok(())
    }

    async fn count_import(&self, id: &ModuleId) -> Result<(), StoreError> {
        let mut inner = lock(&self.inner);
        let m = inner
            .modules
            .iter_mut()
            .find(|m| &m.id == id)
            .ok_or(StoreError::NotFound)?;
        m.accounts_imported = m.accounts_imported.saturating_add(1);
        Ok(())
    }

    async fn append_audit(&self, event: AuditEvent) -> Result<(), StoreError> {
        lock(&self.inner).audit.push(event);
        Ok(())
    }

    async fn audit(&self, id: &ModuleId) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(lock(&self.inner)
            .audit
            .iter()
            .filter(|e| &e.module == id)
            .cloned()
            .collect())
    }
}
