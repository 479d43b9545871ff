//! Identity federation: the host's users log in through external providers (auth modules).
//!
//! - [`module`]: a module's settings ([`ModuleSettings`]) and stored record ([`AuthModule`]);
//!   [`presets`] fill them in for known providers, [`discover`] for any OpenID Connect one.
//! - [`AuthModules`]: the administrator's operations (create, update, enable, disable,
//!   rename, delete, default), each in the module's audit trail ([`AuditEvent`]).
//! - [`Federation`]: [`Federation::start_login`] gives the provider URL and the
//!   [`PendingLogin`] to keep in the session; [`Federation::complete_login`] checks the
//!   callback, exchanges the code, checks the ID token, reads the profile and maps it into an
//!   [`ExternalProfile`]; [`Federation::sign_in`] turns it into a host account through the
//!   host's [`AccountDirectory`]; [`Federation::test_login`] runs it all without changing
//!   anything.
//!
//! docs/auth-modules.md is the guide.

mod account;
mod admin;
mod audit;
mod discovery;
mod error;
mod grant;
mod id_token;
mod login;
pub mod module;
pub mod presets;
mod profile;
mod provider;
mod test_login;

pub use account::{
    Account, AccountDecision, AccountDirectory, AccountUpdate, MemoryAccounts, NewAccount, Refusal,
};
pub use admin::{AuthModules, Confirm, LoginTarget};
pub use audit::{AuditAction, AuditEvent, Change};
pub use discovery::discover;
pub use error::LoginError;
pub use grant::ProviderTokenGrant;
pub use login::{
    FederatedLogin, Federation, LOGIN_TIMEOUT_SECONDS, LoginStart, LoginStep, PendingLogin,
};
pub use module::{
    AttributeMapping, AuthModule, CredentialsIn, DEFAULT_TIMEOUT, Endpoints, MappingText,
    ModuleError, ModuleId, ModuleSettings, ModuleType, ProviderSecret,
};
pub use presets::{CatalogueEntry, Preset, PresetOptions, catalogue};
pub use profile::{EmailVerification, ExternalProfile};
pub use provider::{AvatarImage, MAX_AVATAR_BYTES, ProviderTokens};
pub use test_login::{StepReport, TestLoginReport};
