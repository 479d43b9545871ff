//! The in-memory stores pass the public conformance suite that any host store must pass.

use std::sync::Arc;

use portcullis::store::conformance;
use portcullis::store::memory::{MemoryClientStore, MemoryTokenStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_client_store_conforms() {
    conformance::client_store(Arc::new(MemoryClientStore::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_token_store_conforms() {
    conformance::token_store(Arc::new(MemoryTokenStore::default())).await;
}
