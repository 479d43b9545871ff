//! # portcullis
//!
//! An embeddable OAuth 2.0 authorization server and identity-federation client. The crate is
//! the protocol logic; the host keeps its web framework, user database and pages, and supplies
//! storage and HTTP through a few traits.
//!
//! ## Map
//!
//! - [`server`]: the [`AuthorizationServer`]: build one from [`ServerSettings`] and the stores,
//!   then call [`AuthorizationServer::authorize`], [`AuthorizationServer::token`],
//!   [`AuthorizationServer::introspect`] and [`AuthorizationServer::revoke`] from your routes;
//!   outcomes are enums ([`Authorize`]) and ready-to-send answers ([`EndpointResponse`]).
//!   docs/embedding.md shows each route.
//! - [`http`] (feature `http`, on by default): glue to the `http` crate's request and response
//!   types; [`axum`] (feature `axum`): responses, a bearer-token extractor and the discovery
//!   routes for axum.
//! - [`resource`]: the resource server's discovery document (RFC 9728), for
//!   `/.well-known/oauth-protected-resource` and the bearer challenge that points at it.
//! - [`users`]: the [`users::UserDirectory`] trait: which scopes each of your users holds.
//! - [`scope`], [`token`], [`settings`], [`error`]: scopes, token formats (opaque or RFC 9068
//!   JWT), settings, and the protocol errors every rejection becomes.
//! - [`client`]: the OAuth client registry: IDs, secrets, flows, home and base URLs, redirect
//!   URIs, badges, and the administrator's operations ([`client::ClientRegistry`]).
//! - [`redirect`]: which `redirect_uri` values a client may use: exact, loopback with any port
//!   (RFC 8252 §7.3), or relative to the home and base URLs.
//! - [`federation`]: auth modules: the host's users log in through external identity providers
//!   (presets for Bitbucket Cloud, GitHub, GitLab, Google, Microsoft Entra ID; any OAuth 2.0 or
//!   OpenID Connect provider), mapped onto the host's accounts; docs/auth-modules.md.
//! - [`mapping`]: attribute paths (`values/0/email ?: email`) that read an identity provider's
//!   profile JSON, parsed once and evaluated many times.
//! - [`cimd`]: clients that register themselves from a Client ID Metadata Document (off by
//!   default; docs/cimd.md): the client ID URL and document rules, the fetch, the cache.
//! - [`pkce`]: Proof Key for Code Exchange (RFC 7636).
//! - [`store`]: the [`store::ClientStore`], [`store::TokenStore`] and [`store::HttpFetcher`]
//!   traits the host implements, with in-memory implementations in [`store::memory`] and
//!   (feature `reqwest`) a fetcher that connects to public addresses only.
//! - [`events`]: the [`events::SecurityEvents`] hook: replays, failed client authentication,
//!   lockouts, untrusted redirect URIs and deleted clients, never with a secret in them.
//! - [`clock`]: time as a trait, so tests never sleep.
//!
//! ## Example: one authorization code + PKCE flow
//!
//! ```
//! use std::sync::Arc;
//! use portcullis::client::{ClientSettings, ClientType, Flow, NewClient};
//! use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
//! use portcullis::users::MemoryUserDirectory;
//! use portcullis::{AuthorizationServer, Authorize, Params, Scope, ServerSettings};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let users = MemoryUserDirectory::default();
//! users.insert("alice", "password", Scope::parse("read write")?)?;
//! let settings = ServerSettings::new("https://auth.example.com")?;
//! let server = AuthorizationServer::builder(settings, Arc::new(users)).build()?;
//! let mut app = NewClient::manual(ClientType::Public, ClientSettings {
//!     name: "Desktop app".into(),
//!     redirect_uris: vec!["http://127.0.0.1/cb".into()],
//!     flows: [Flow::AuthorizationCode].into_iter().collect(),
//!     scopes: vec!["read".into()],
//!     ..ClientSettings::default()
//! });
//! app.client_id = Some(portcullis::ClientId::new("desktop")?);
//! server.clients().create(app).await?;
//!
//! // GET /authorize?... from the browser, alice logged in:
//! let verifier = CodeVerifier::generate()?;
//! let challenge = CodeChallenge::from_verifier(&verifier, PkceMethod::S256);
//! let query = format!(
//!     "response_type=code&client_id=desktop&redirect_uri=http://127.0.0.1:4000/cb\
//!      &state=xyz&code_challenge={}&code_challenge_method=S256",
//!     challenge.as_str()
//! );
//! let Authorize::Redirect(location) = server.authorize(&Params::parse(&query), Some("alice")).await
//! else { panic!("expected a redirect") };
//! assert!(location.starts_with("http://127.0.0.1:4000/cb?code="));
//! let code = location.split(['=', '&']).nth(1).unwrap();
//!
//! // POST /token from the app:
//! let form = format!(
//!     "grant_type=authorization_code&code={code}&redirect_uri=http://127.0.0.1:4000/cb\
//!      &client_id=desktop&code_verifier={}",
//!     verifier.secret()
//! );
//! let answer = server.token(None, &Params::parse(&form)).await;
//! assert_eq!(answer.status(), 200);
//! assert_eq!(answer.json()["scope"], "read");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ## Example: the client registry
//!
//! Register a public client and check the redirect URIs a request might carry:
//!
//! ```
//! use std::sync::Arc;
//! use portcullis::client::{ClientRegistry, ClientSettings, ClientType, Flow, NewClient};
//! use portcullis::store::memory::MemoryClientStore;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let registry = ClientRegistry::new(Arc::new(MemoryClientStore::default()));
//! let created = registry
//!     .create(NewClient::manual(
//!         ClientType::Public,
//!         ClientSettings {
//!             name: "Desktop app".into(),
//!             home_url: Some("https://app.example.com/".into()),
//!             redirect_uris: vec!["/oauth/callback".into(), "http://127.0.0.1/cb".into()],
//!             flows: [Flow::AuthorizationCode].into_iter().collect(),
//!             ..ClientSettings::default()
//!         },
//!     ))
//!     .await?;
//! let client = created.client;
//! assert!(created.secret.is_none()); // public clients have no secret
//!
//! // A relative URI resolves against the home URL; a loopback URI may use any port.
//! assert!(client.check_redirect_uri("https://app.example.com/oauth/callback").is_ok());
//! assert!(client.check_redirect_uri("http://127.0.0.1:49152/cb").is_ok());
//!
//! // Anything else is refused, and a well-formed one is kept for an administrator to review.
//! let refused = registry.check_redirect_uri(&client, "https://evil.example/cb").await;
//! assert!(refused.is_err());
//! let client = registry.get(client.id()).await?;
//! assert_eq!(client.untrusted_redirect_uris(), ["https://evil.example/cb"]);
//! # Ok::<(), portcullis::client::ClientError>(())
//! # }).unwrap();
//! ```

// A security library is trusted for what it does not write itself: randomness, hashing,
// encoding and constant-time comparison come from their crates, and no code here bypasses
// the borrow checker.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Untrusted input must never panic: no unwrap, expect or unchecked indexing outside tests.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod cimd;
pub mod client;
pub mod clock;
mod constant_time;
pub mod error;
pub mod events;
pub mod federation;
#[cfg(feature = "http")]
pub mod http;
pub mod mapping;
pub mod pkce;
mod random;
mod redact;
pub mod redirect;
pub mod resource;
pub mod scope;
pub mod server;
pub mod settings;
pub mod store;
pub mod token;
mod trace;
pub mod users;

/// The `async_trait` attribute the store and directory traits are declared with, so that
/// implementing one needs no dependency of your own: `#[portcullis::async_trait]`.
pub use async_trait::async_trait;
pub use client::{ClientId, ClientRegistry, OAuthClient};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use error::{ErrorCode, InvalidField, OAuthError};
pub use random::RandomError;
pub use scope::Scope;
pub use server::{AuthorizationServer, Authorize, EndpointResponse, Params};
pub use settings::ServerSettings;

/// The README's code blocks, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
