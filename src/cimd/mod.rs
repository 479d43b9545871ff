//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): clients that
//! identify themselves by the URL of a JSON document describing them, which the server
//! fetches and registers the client from, when the host turns this on.
//!
//! - [`client_id`]: the rules a URL-shaped `client_id` must meet before anything is fetched.
//! - [`document`]: the rules a fetched document must meet, and what it registers.
//! - [`fetch`]: one fetch of a document, and what the response must be.
//! - [`cache`]: documents kept between fetches, one fetch at a time per client ID.

pub mod cache;
pub mod client_id;
pub mod document;
pub mod fetch;

pub use cache::{CacheBounds, DocumentCache};
pub use client_id::{ClientIdUrlError, MetadataUrl, UrlPolicy, is_url_shaped};
pub use document::{AuthMethod, ClientKeys, DocumentError, MetadataDocument};
pub use fetch::{FetchDocumentError, FetchLimits, Fetched, fetch_document};
