//! Revoking a grant (a code or refresh replay, a revocation request) with [`RESIDENT`] records
//! of other grants in the memory token store.
//!
//! `revoke/marked` is the store as it is: revoking marks the grant, whose records are gone for
//! every lookup at once and removed at the next purge. `revoke/full_scan` is the same work
//! done by finding the records (one pass over every record), on a table of the same size in
//! the same run: the yardstick the ratio in docs/performance.md is stated against.
//!
//! Run with `cargo bench --bench revoke`.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis::clock::Timestamp;
use portcullis::store::memory::MemoryTokenStore;
use portcullis::store::{Grant, GrantId, TokenHash, TokenKind, TokenRecord, TokenStore};
use portcullis::{ClientId, Scope};
use tokio::runtime::Runtime;

/// Records kept in the store throughout, two per grant (an access and a refresh token).
const RESIDENT: usize = 500_000;

fn record(client: &ClientId, grant: &GrantId, kind: TokenKind) -> TokenRecord {
    TokenRecord {
        kind,
        expires_at: Timestamp(u64::MAX / 2),
        grant: Arc::new(Grant {
            id: grant.clone(),
            client_id: client.clone(),
            subject: Some("alice".into()),
            scope: Scope::parse("read").unwrap_or_default(),
            audience: Arc::from(["https://api.example.com/".to_owned()]),
            issued_at: Timestamp(0),
            ends_at: None,
            code: None,
        }),
    }
}

fn revoke(c: &mut Criterion) {
    let rt = Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let client = ClientId::new("bench").unwrap_or_else(|e| panic!("{e}"));
    let store = MemoryTokenStore::default();
    let mut table: HashMap<TokenHash, TokenRecord> = HashMap::with_capacity(RESIDENT);
    rt.block_on(async {
        for i in 0..RESIDENT / 2 {
            let grant = GrantId::new(format!("resident-{i}"));
            for (n, kind) in [(0, TokenKind::AccessToken), (1, TokenKind::RefreshToken)] {
                let hash = TokenHash::of(&format!("{i}-{n}"));
                let rec = record(&client, &grant, kind);
                table.insert(hash, rec.clone());
                store
                    .insert(hash, rec)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
    });

    let mut group = c.benchmark_group("revoke");
    let mut round = 0u64;
    group.bench_function("marked", |b| {
        b.iter(|| {
            round += 1;
            let grant = GrantId::new(format!("victim-{round}"));
            rt.block_on(async {
                for n in 0..2 {
                    let hash = TokenHash::of(&format!("victim-{round}-{n}"));
                    let rec = record(&client, &grant, TokenKind::AccessToken);
                    store
                        .insert(hash, rec)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                store
                    .revoke_grant(&grant)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            })
        })
    });
    group.bench_function("full_scan", |b| {
        b.iter(|| {
            round += 1;
            let grant = GrantId::new(format!("victim-{round}"));
            for n in 0..2 {
                let hash = TokenHash::of(&format!("victim-{round}-{n}"));
                table.insert(hash, record(&client, &grant, TokenKind::AccessToken));
            }
            let before = table.len();
            table.retain(|_, r| r.grant.id != grant);
            black_box(before - table.len())
        })
    });
    group.finish();
}

/// Records in one grant for `purge/one_big_grant`: a client that refreshed in a loop.
const BIG_GRANT: usize = 50_000;

/// Purging a grant that holds [`BIG_GRANT`] expired records: one pass over the table, whatever
/// the grant's size (there is no index by grant to clean).
fn purge(c: &mut Criterion) {
    let rt = Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let client = ClientId::new("bench").unwrap_or_else(|e| panic!("{e}"));
    let grant = GrantId::new("big");
    let mut group = c.benchmark_group("purge");
    group.sample_size(10);
    group.bench_function("one_big_grant", |b| {
        b.iter_batched_ref(
            || {
                let store = MemoryTokenStore::default();
                rt.block_on(async {
                    for i in 0..BIG_GRANT {
                        let mut rec = record(&client, &grant, TokenKind::AccessToken);
                        rec.expires_at = Timestamp(10);
                        let hash = TokenHash::of(&format!("big-{i}"));
                        store
                            .insert(hash, rec)
                            .await
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                });
                store
            },
            |store| {
                rt.block_on(async {
                    black_box(
                        store
                            .purge_expired(Timestamp(20))
                            .await
                            .unwrap_or_else(|e| panic!("{e}")),
                    )
                })
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, revoke, purge);
criterion_main!(benches);
