//! Audit events: every change to an auth module, who made it and what it changed.

use serde::{Deserialize, Serialize};

use super::module::{ModuleId, ModuleSettings};
use crate::clock::Timestamp;
use crate::redact::REDACTED;

/// What was done to a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditAction {
    /// The module was created.
    Created,
    /// Its settings were changed.
    Updated,
    /// It was renamed (name or icon).
    Renamed,
    /// It was enabled.
    Enabled,
    /// It was disabled.
    Disabled,
    /// It was made the default module.
    MadeDefault,
    /// It stopped being the default module.
    DefaultCleared,
    /// It was deleted.
    Deleted,
}

/// One changed setting: old and new values as text, secrets redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The setting's name.
    pub field: String,
    /// Its value before; `None` when it had none.
    pub old: Option<String>,
    /// Its value after; `None` when it has none.
    pub new: Option<String>,
}

/// One entry of a module's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When.
    pub at: Timestamp,
    /// Who: the administrator the host names.
    pub actor: String,
    /// Which module.
    pub module: ModuleId,
    /// What was done.
    pub action: AuditAction,
    /// The settings it changed.
    pub changes: Vec<Change>,
}

/// The settings that differ between `old` and `new`, as text; a changed secret is shown as
/// redacted on both sides, so the trail says it changed without holding it.
pub(crate) fn diff(old: Option<&ModuleSettings>, new: Option<&ModuleSettings>) -> Vec<Change> {
    let old = old.map(fields).unwrap_or_default();
    let new = new.map(fields).unwrap_or_default();
    let mut changes = Vec::new();
    let names: std::collections::BTreeSet<&str> =
        old.iter().chain(new.iter()).map(|(n, _)| *n).collect();
    for name in names {
        let before = old
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.clone());
        let after = new
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.clone());
        if before != after {
            changes.push(Change {
                field: name.to_owned(),
                old: before,
                new: after,
            });
        }
    }
    changes
}

fn fields(s: &ModuleSettings) -> Vec<(&'static str, Option<String>)> {
    let url = |u: &Option<url::Url>| u.as_ref().map(|u| u.to_string());
    let list = |l: &[String]| Some(l.join(" ")).filter(|t| !t.is_empty());
    let mapping = s.mapping.text();
    vec![
        ("name", Some(s.name.clone())),
        ("icon", s.icon.clone()),
        ("type", Some(s.module_type.display_name().to_owned())),
        ("client_id", Some(s.client_id.clone())),
        // The secret's value never enters the trail: only whether one is set; a change of
        // one set secret to another is added by `secret_change`.
        ("client_secret", secret_marker(s)),
        ("scopes", list(&s.scopes)),
        (
            "endpoints.authorization",
            Some(s.endpoints.authorization.to_string()),
        ),
        ("endpoints.token", Some(s.endpoints.token.to_string())),
        ("endpoints.user_info", url(&s.endpoints.user_info)),
        ("endpoints.logout", url(&s.endpoints.logout)),
        ("endpoints.email", url(&s.endpoints.email)),
        ("endpoints.avatar", url(&s.endpoints.avatar)),
        ("endpoints.jwks", url(&s.endpoints.jwks)),
        ("endpoints.issuer", s.endpoints.issuer.clone()),
        ("mapping.user_id", mapping.user_id),
        ("mapping.username", mapping.username),
        ("mapping.full_name", mapping.full_name),
        ("mapping.email", mapping.email),
        ("mapping.email_verified", mapping.email_verified),
        ("mapping.avatar", mapping.avatar),
        ("mapping.image_url_pattern", mapping.image_url_pattern),
        ("mapping.groups", mapping.groups),
        (
            "group_mappings",
            Some(
                s.group_mappings
                    .iter()
                    .map(|(from, to)| format!("{from} -> {}", to.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
            .filter(|t| !t.is_empty()),
        ),
        ("user_creation", Some(s.user_creation.to_string())),
        ("auto_join_groups", list(&s.auto_join_groups)),
        (
            "credentials",
            Some(match s.credentials {
                super::CredentialsIn::Basic => "basic".to_owned(),
                super::CredentialsIn::Body => "body".to_owned(),
            }),
        ),
        ("email_auto_verify", Some(s.email_auto_verify.to_string())),
        ("extension_grant_type", s.extension_grant_type.clone()),
        (
            "connect_timeout_ms",
            Some(s.connect_timeout.as_millis().to_string()),
        ),
        (
            "read_timeout_ms",
            Some(s.read_timeout.as_millis().to_string()),
        ),
    ]
}

fn secret_marker(s: &ModuleSettings) -> Option<String> {
    // A digest prefix would tell two secrets apart, but would also let anyone holding the
    // trail test guesses against it.
    (!s.client_secret.is_empty()).then(|| REDACTED.to_owned())
}

/// The client secret's change, which [`diff`] cannot see through the redaction.
pub(crate) fn secret_change(old: &ModuleSettings, new: &ModuleSettings) -> Option<Change> {
    let both_set = !old.client_secret.is_empty() && !new.client_secret.is_empty();
    (both_set
        && !crate::constant_time::eq(
            old.client_secret.secret().as_bytes(),
            new.client_secret.secret().as_bytes(),
        ))
    .then(|| Change {
        field: "client_secret".to_owned(),
        old: Some(REDACTED.to_owned()),
        new: Some(REDACTED.to_owned()),
    })
}
