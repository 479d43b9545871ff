//! The in-memory stores pass the public conformance suite that any host store must pass.

use std::sync::Arc;

use portcullis::store::conformance;
use portcullis::store::memory::{MemoryAuthModuleStore, MemoryClientStore, MemoryTokenStore};

#[path = "common/host.rs"]
mod host;

use host::{HostClients, HostTokens};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_client_store_conforms() {
    conformance::client_store(Arc::new(MemoryClientStore::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_token_store_conforms() {
    conformance::token_store(Arc::new(MemoryTokenStore::default())).await;
}

/// Stores that implement only the required methods: the provided `take_if` and `insert_all`
/// must pass the suite too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stores_with_only_the_required_methods_conform() {
    conformance::client_store(Arc::new(HostClients(MemoryClientStore::default()))).await;
    conformance::token_store(Arc::new(HostTokens(MemoryTokenStore::default()))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_auth_module_store_conforms() {
    conformance::auth_module_store(Arc::new(MemoryAuthModuleStore::default())).await;
}
