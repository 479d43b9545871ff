//! The storage and I/O traits a host implements, and in-memory implementations of them.
//!
//! The library never touches a database or the network itself: it calls a [`ClientStore`] for
//! OAuth clients, a [`TokenStore`] for codes, tokens and consents, and an [`HttpFetcher`] for
//! outgoing requests (CIMD documents, identity providers). All three are object-safe and used
//! as `Arc<dyn …>`; [`memory`] has the embedded defaults. With the `testing` feature,
//! `conformance` has the tests any implementation must pass.

mod client;
mod http;
pub mod memory;
mod module;
mod module_memory;
mod provider_tokens;
mod token;

#[cfg(feature = "testing")]
pub mod conformance;

#[cfg(feature = "reqwest")]
mod reqwest_fetcher;

pub use client::{ClientQuery, ClientStore, site_urls};
pub use http::{FetchError, HttpFetcher, HttpMethod, HttpRequest, HttpResponse};
pub use module::AuthModuleStore;
pub use provider_tokens::ProviderTokenStore;
#[cfg(feature = "reqwest")]
pub use reqwest_fetcher::{ReqwestFetcher, is_public};
pub use token::{
    CodeBinding, Consent, ConsentOwner, Grant, GrantId, Take, TakeCheck, TokenHash, TokenKind,
    TokenRecord, TokenStore,
};

/// A store failed. The library answers such requests with `server_error` and never retries
/// on its own.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `insert` found a record under the key already.
    #[error("a record with this key exists already")]
    Duplicate,
    /// `update` found a newer revision than the one it was given.
    #[error("the record was changed by someone else; read it again")]
    Conflict,
    /// `update` found no record to replace.
    #[error("the record does not exist")]
    NotFound,
    /// `insert` of a token whose grant has been revoked.
    #[error("the grant has been revoked")]
    GrantRevoked,
    /// The backend failed (connection lost, constraint violated, …).
    #[error("store backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}
