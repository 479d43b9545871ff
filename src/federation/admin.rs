//! The administrator's operations on auth modules, each leaving an audit event.

use std::sync::Arc;

use url::Url;

use super::audit::{self, AuditAction, AuditEvent, Change};
use super::module::{AuthModule, ModuleError, ModuleId, ModuleSettings};
use crate::clock::Clock;
use crate::store::{AuthModuleStore, StoreError};

/// Where to send a user who is not logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginTarget {
    /// Straight to the default module's provider.
    Module(ModuleId),
    /// The host's own login page (which may list the enabled modules).
    HostLoginPage,
}

/// Whether the administrator confirmed an action that may lock users out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Not confirmed: refuse if users could be locked out.
    No,
    /// The administrator accepted that users may be locked out.
    LockoutAccepted,
}

/// The auth modules of one host: create, change, enable, disable, delete; each change is in
/// the module's audit trail.
#[derive(Clone)]
pub struct AuthModules {
    store: Arc<dyn AuthModuleStore>,
    clock: Arc<dyn Clock>,
    base_url: Url,
}

impl std::fmt::Debug for AuthModules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthModules")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl AuthModules {
    /// Modules in `store`, with redirect URIs under `base_url` (the host's public URL).
    pub fn new(store: Arc<dyn AuthModuleStore>, clock: Arc<dyn Clock>, base_url: Url) -> Self {
        AuthModules {
            store,
            clock,
            base_url,
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn AuthModuleStore> {
        &self.store
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The redirect URI to register at the provider: `<base URL>/login/<module ID>/callback`.
    pub fn redirect_uri(&self, id: &ModuleId) -> Url {
        let mut url = self.base_url.clone();
        let path = format!(
            "{}/login/{}/callback",
            self.base_url.path().trim_end_matches('/'),
            id
        );
        url.set_path(&path);
        url.set_query(None);
        url.set_fragment(None);
        url
    }

    /// Creates a module, disabled. `id` is generated when `None`.
    pub async fn create(
        &self,
        actor: &str,
        id: Option<ModuleId>,
        settings: ModuleSettings,
    ) -> Result<AuthModule, ModuleError> {
        settings.validate()?;
        let id = match id {
            Some(id) => id,
            None => ModuleId::new(format!(
                "m-{}",
                crate::random::token_256()?
                    .to_ascii_lowercase()
                    .replace('_', "-")
                    .get(..12)
                    .unwrap_or_default()
            ))?,
        };
        let module = AuthModule {
            id: id.clone(),
            settings,
            enabled: false,
            default: false,
            accounts_imported: 0,
            created_at: self.clock.now(),
            revision: 0,
        };
        self.store
            .insert(module.clone())
            .await
            .map_err(|e| match e {
                StoreError::Duplicate => ModuleError::Duplicate,
                e => ModuleError::Store(e),
            })?;
        let changes = audit::diff(None, Some(&module.settings));
        self.record(actor, &id, AuditAction::Created, changes)
            .await?;
        Ok(module)
    }

    /// A module.
    pub async fn get(&self, id: &ModuleId) -> Result<AuthModule, ModuleError> {
        self.store.get(id).await?.ok_or(ModuleError::NotFound)
    }

    /// Every module, in creation order.
    pub async fn list(&self) -> Result<Vec<AuthModule>, ModuleError> {
        Ok(self.store.list().await?)
    }

    /// A module's audit trail, oldest first.
    pub async fn audit(&self, id: &ModuleId) -> Result<Vec<AuditEvent>, ModuleError> {
        Ok(self.store.audit(id).await?)
    }

    /// Replaces a module's settings, if the module is still at `revision` (the
    /// [`AuthModule::revision`] the administrator's form was filled from): two administrators
    /// editing at once must not silently undo each other's changes.
    pub async fn update(
        &self,
        actor: &str,
        id: &ModuleId,
        revision: u64,
        settings: ModuleSettings,
    ) -> Result<AuthModule, ModuleError> {
        settings.validate()?;
        let mut module = self.get(id).await?;
        if module.revision != revision {
            return Err(ModuleError::Conflict);
        }
        let mut changes = audit::diff(Some(&module.settings), Some(&settings));
        changes.extend(audit::secret_change(&module.settings, &settings));
        module.settings = settings;
        self.store
            .update(module.clone())
            .await
            .map_err(|e| match e {
                StoreError::Conflict => ModuleError::Conflict,
                e => ModuleError::Store(e),
            })?;
        self.record(actor, id, AuditAction::Updated, changes)
            .await?;
        self.get(id).await
    }

    /// Changes the name and icon only.
    pub async fn rename(
        &self,
        actor: &str,
        id: &ModuleId,
        name: &str,
        icon: Option<String>,
    ) -> Result<AuthModule, ModuleError> {
        let mut module = self.get(id).await?;
        let mut settings = module.settings.clone();
        settings.name = name.to_owned();
        settings.icon = icon;
        settings.validate()?;
        let changes = audit::diff(Some(&module.settings), Some(&settings));
        module.settings = settings;
        self.store.update(module).await?;
        self.record(actor, id, AuditAction::Renamed, changes)
            .await?;
        self.get(id).await
    }

    /// Enables a module: its button appears and its logins complete.
    pub async fn enable(&self, actor: &str, id: &ModuleId) -> Result<AuthModule, ModuleError> {
        self.set_enabled(actor, id, true).await
    }

    /// Disables a module: it starts no login and completes none in flight. Disabling the
    /// default module or the last enabled one needs [`Confirm::LockoutAccepted`].
    pub async fn disable(
        &self,
        actor: &str,
        id: &ModuleId,
        confirm: Confirm,
    ) -> Result<AuthModule, ModuleError> {
        let module = self.get(id).await?;
        if module.enabled {
            self.check_lockout(&module, confirm, "disabling").await?;
        }
        self.set_enabled(actor, id, false).await
    }

    /// Deletes a module. Deleting the default module or the last enabled one needs
    /// [`Confirm::LockoutAccepted`]. Its audit trail stays.
    pub async fn delete(
        &self,
        actor: &str,
        id: &ModuleId,
        confirm: Confirm,
    ) -> Result<(), ModuleError> {
        let module = self.get(id).await?;
        self.check_lockout(&module, confirm, "deleting").await?;
        if !self.store.delete(id).await? {
            return Err(ModuleError::NotFound);
        }
        let changes = audit::diff(Some(&module.settings), None);
        self.record(actor, id, AuditAction::Deleted, changes).await
    }

    /// Makes a module the default (clearing any other) or, with `false`, leaves no default.
    pub async fn set_default(
        &self,
        actor: &str,
        id: &ModuleId,
        default: bool,
    ) -> Result<(), ModuleError> {
        let module = self.get(id).await?;
        if module.default == default {
            return Ok(());
        }
        if default {
            let previous = self.store.list().await?.into_iter().find(|m| m.default);
            self.store.set_default(Some(id)).await?;
            if let Some(previous) = previous {
                self.record(
                    actor,
                    &previous.id,
                    AuditAction::DefaultCleared,
                    default_change(true),
                )
                .await?;
            }
            self.record(actor, id, AuditAction::MadeDefault, default_change(false))
                .await
        } else {
            self.store.set_default(None).await?;
            self.record(actor, id, AuditAction::DefaultCleared, default_change(true))
                .await
        }
    }

    /// Where to send a user who is not logged in: the default module if it is enabled, else
    /// the host's own login page.
    pub async fn login_target(&self) -> Result<LoginTarget, ModuleError> {
        Ok(self
            .store
            .list()
            .await?
            .into_iter()
            .find(|m| m.default && m.enabled)
            .map_or(LoginTarget::HostLoginPage, |m| LoginTarget::Module(m.id)))
    }

    /// The enabled modules, for the login page's buttons.
    pub async fn enabled(&self) -> Result<Vec<AuthModule>, ModuleError> {
        Ok(self
            .store
            .list()
            .await?
            .into_iter()
            .filter(|m| m.enabled)
            .collect())
    }

    /// Where to send the browser after the host's own logout of a user who logged in through
    /// `id`: the provider's logout URL, if the module has one.
    pub async fn logout_url(&self, id: &ModuleId) -> Result<Option<Url>, ModuleError> {
        Ok(self.get(id).await?.settings.endpoints.logout)
    }

    async fn set_enabled(
        &self,
        actor: &str,
        id: &ModuleId,
        enabled: bool,
    ) -> Result<AuthModule, ModuleError> {
        let mut module = self.get(id).await?;
        if module.enabled == enabled {
            return Ok(module);
        }
        module.enabled = enabled;
        self.store.update(module).await?;
        let (action, old, new) = if enabled {
            (AuditAction::Enabled, "false", "true")
        } else {
            (AuditAction::Disabled, "true", "false")
        };
        let change = Change {
            field: "enabled".into(),
            old: Some(old.into()),
            new: Some(new.into()),
        };
        self.record(actor, id, action, vec![change]).await?;
        self.get(id).await
    }

    /// The seed's warning made a rule: removing the default module, or the last way in, may
    /// lock every user out, so it takes an explicit confirmation.
    async fn check_lockout(
        &self,
        module: &AuthModule,
        confirm: Confirm,
        doing: &'static str,
    ) -> Result<(), ModuleError> {
        if confirm == Confirm::LockoutAccepted {
            return Ok(());
        }
        if module.default {
            return Err(ModuleError::NeedsConfirmation(match doing {
                "disabling" => "disabling the default module may lock users out",
                _ => "deleting the default module may lock users out",
            }));
        }
        let others_enabled = self
            .store
            .list()
            .await?
            .iter()
            .any(|m| m.enabled && m.id != module.id);
        if module.enabled && !others_enabled {
            return Err(ModuleError::NeedsConfirmation(match doing {
                "disabling" => "disabling the last enabled module may lock users out",
                _ => "deleting the last enabled module may lock users out",
            }));
        }
        Ok(())
    }

    async fn record(
        &self,
        actor: &str,
        id: &ModuleId,
        action: AuditAction,
        changes: Vec<Change>,
    ) -> Result<(), ModuleError> {
        let event = AuditEvent {
            at: self.clock.now(),
            actor: actor.to_owned(),
            module: id.clone(),
            action,
            changes,
        };
        Ok(self.store.append_audit(event).await?)
    }

    pub(crate) async fn count_import(&self, id: &ModuleId) -> Result<(), StoreError> {
        self.store.count_import(id).await
    }
}

fn default_change(was: bool) -> Vec<Change> {
    vec![Change {
        field: "default".into(),
        old: Some(was.to_string()),
        new: Some((!was).to_string()),
    }]
}
