//! The whole authorization server suite again, over stores the host provides. These implement
//! only the required methods, so the provided `take_if`, `insert_all` and `take_and_insert`
//! are what the server runs on.

use std::sync::Arc;

use portcullis::server::AuthorizationServerBuilder;
use portcullis::store::memory::{MemoryClientStore, MemoryTokenStore};

#[path = "common/host.rs"]
mod host;

use host::{HostClients, HostTokens};

fn with_stores(builder: AuthorizationServerBuilder) -> AuthorizationServerBuilder {
    builder
        .clients(Arc::new(HostClients(MemoryClientStore::default())))
        .tokens(Arc::new(HostTokens(MemoryTokenStore::default())))
}

#[path = "authorization_server.rs"]
mod suite;
