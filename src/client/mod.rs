//! The OAuth client registry: the applications allowed to ask users for access.
//!
//! An [`OAuthClient`] holds validated settings only; [`ClientRegistry`] is what an
//! administration page calls to create, edit, list and delete clients.

mod model;
mod registry;
mod secret;
mod uri_pattern;

pub use model::{
    ApplicationInfo, Badge, ClientId, ClientSettings, ClientType, ClientWarning, Flow, Flows,
    MAX_CLIENT_ID_LEN, MAX_UNTRUSTED_REDIRECT_URIS, NewClient, OAuthClient, Registration,
};
pub use registry::{ClientError, ClientFilter, ClientRegistry, CreatedClient};
pub use secret::{
    ClientSecret, MAX_SECRET_LEN, MIN_KEYED_IN_SECRET_LEN, SecretChange, SecretChangeError,
    SecretError, SecretHash,
};
pub use uri_pattern::UriPattern;
