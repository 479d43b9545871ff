//! Conformance tests for store implementations (feature `testing`).
//!
//! A host that writes its own [`ClientStore`], [`TokenStore`] or [`AuthModuleStore`] runs these
//! against it from a multi-threaded tokio test; each function panics with a description of the first rule the
//! store breaks. The in-memory stores pass them (see `tests/store_conformance.rs`).
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! async fn my_stores_conform() {
//!     portcullis::store::conformance::client_store(Arc::new(MyClientStore::connect().await)).await;
//!     portcullis::store::conformance::token_store(Arc::new(MyTokenStore::connect().await)).await;
//! }
//! ```
//!
//! The suites use fresh random IDs, so they can run against a store that holds other data.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: failing loudly is the point

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{
    AuthModuleStore, ClientQuery, ClientStore, Consent, ConsentOwner, Grant, GrantId, StoreError,
    Take, TokenHash, TokenKind, TokenRecord, TokenStore,
};
use crate::client::{ClientId, ClientSettings, ClientType, Flow, NewClient, OAuthClient};
use crate::clock::Timestamp;
use crate::random;

fn fresh(prefix: &str) -> String {
    let tag = random::token_256().unwrap_or_else(|e| panic!("random: {e}"));
    format!("{prefix}-{}", tag.get(..12).unwrap_or(&tag))
}

fn client(name: &str) -> OAuthClient {
    let id = ClientId::new(fresh("conformance")).unwrap_or_else(|e| panic!("{e}"));
    let settings = ClientSettings {
        name: name.to_owned(),
        home_url: Some("https://app.example.com/".into()),
        redirect_uris: vec!["/cb".into()],
        flows: [Flow::AuthorizationCode].into_iter().collect(),
        ..ClientSettings::default()
    };
    OAuthClient::new(id, NewClient::manual(ClientType::Public, settings), None)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Checks a [`ClientStore`]: round trips, insert-only `insert`, optimistic `update`, filtered
/// and ordered listing, deleting many, and recording untrusted redirect URIs.
///
/// Needs a multi-threaded tokio runtime so the concurrent inserts really race.
pub async fn client_store(store: Arc<dyn ClientStore>) {
    let tag = fresh("Tag");
    let a = client(&format!("beta {tag}"));
    let b = client(&format!("ALPHA {tag}"));
    let c = client("unrelated");

    assert!(
        store.get(a.id().as_str()).await.expect("get").is_none(),
        "get of an unknown ID returns None"
    );
    for x in [&a, &b, &c] {
        store.insert(x.clone()).await.expect("insert");
    }
    assert!(
        matches!(store.insert(a.clone()).await, Err(StoreError::Duplicate)),
        "insert of a taken ID is StoreError::Duplicate"
    );
    let got = store
        .get(a.id().as_str())
        .await
        .expect("get")
        .expect("stored client");
    assert_eq!(got.name(), a.name(), "get returns what insert stored");
    for other in ["", " ", "no\nsuch client"] {
        assert!(
            store.get(other).await.expect("get").is_none(),
            "get of text that is no client's ID returns None"
        );
    }
    let shouted = a.id().as_str().to_ascii_uppercase();
    if shouted != a.id().as_str() {
        assert!(
            store.get(&shouted).await.expect("get").is_none(),
            "client IDs are compared exactly, case included"
        );
    }
    assert!(
        got.check_redirect_uri("https://app.example.com/cb").is_ok(),
        "a stored client keeps its redirect rules"
    );

    // Optimistic update: the revision read must still be the stored one.
    let mut renamed = OAuthClient::clone(&got);
    let mut settings = renamed.settings().clone();
    settings.name = format!("gamma {tag}");
    renamed.update_settings(settings).expect("valid settings");
    store.update(renamed.clone()).await.expect("update");
    let got = store
        .get(a.id().as_str())
        .await
        .expect("get")
        .expect("stored client");
    assert_eq!(got.name(), renamed.name(), "update replaces the client");
    assert_eq!(
        got.revision(),
        renamed.revision() + 1,
        "update increases the revision by one"
    );
    assert!(
        matches!(
            store.update(renamed.clone()).await,
            Err(StoreError::Conflict)
        ),
        "update from a stale read is StoreError::Conflict"
    );
    let ghost = client("ghost");
    assert!(
        matches!(store.update(ghost).await, Err(StoreError::NotFound)),
        "update of an unknown client is StoreError::NotFound"
    );

    let listed = store
        .list(&ClientQuery {
            name_contains: Some(tag.to_lowercase()),
        })
        .await
        .expect("list");
    let names: Vec<&str> = listed.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [b.name(), renamed.name()],
        "list filters by name ignoring case and orders by name"
    );

    let before = store
        .get(b.id().as_str())
        .await
        .expect("get")
        .expect("stored")
        .revision();
    assert!(
        store
            .record_untrusted_redirect_uri(b.id(), "https://x.example/cb")
            .await
            .expect("record"),
        "recording a new untrusted URI reports a change"
    );
    assert!(
        !store
            .record_untrusted_redirect_uri(b.id(), "https://x.example/cb")
            .await
            .expect("record"),
        "recording the same URI twice reports no change"
    );
    let unknown = ClientId::new(fresh("missing")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !store
            .record_untrusted_redirect_uri(&unknown, "https://x.example/cb")
            .await
            .expect("record"),
        "recording on an unknown client reports no change"
    );
    let got = store
        .get(b.id().as_str())
        .await
        .expect("get")
        .expect("stored client");
    assert_eq!(got.untrusted_redirect_uris(), ["https://x.example/cb"]);
    assert_eq!(got.revision(), before + 1, "recording a URI is a write");

    // Concurrent inserts of one ID: exactly one wins.
    let contested = client("contested");
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, barrier, c) = (store.clone(), barrier.clone(), contested.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store.insert(c).await
        }));
    }
    let mut winners = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(()) => winners += 1,
            Err(StoreError::Duplicate) => {}
            Err(e) => panic!("concurrent insert failed: {e}"),
        }
    }
    assert_eq!(
        winners, 1,
        "exactly one concurrent insert of an ID succeeds"
    );

    // Site URLs: answered per URL, and kept current by update and delete.
    let site = format!("https://{}.example/", tag.to_lowercase());
    let d = client("site");
    store.insert(d.clone()).await.expect("insert");
    let mut moved = d.clone();
    let mut settings = moved.settings().clone();
    settings.base_urls = vec![site.clone()];
    moved.update_settings(settings).expect("valid settings");
    store.update(moved).await.expect("update");
    assert_eq!(
        store
            .known_site_urls(&[
                "https://app.example.com/",
                "https://elsewhere.example/",
                &site
            ])
            .await
            .expect("known_site_urls"),
        [true, false, true],
        "known_site_urls answers for home and base URLs, one answer per URL"
    );
    store
        .delete_many(std::slice::from_ref(d.id()))
        .await
        .expect("delete_many");
    assert_eq!(
        store
            .known_site_urls(&[&site])
            .await
            .expect("known_site_urls"),
        [false],
        "a deleted client's site URLs are no longer known"
    );

    let deleted = store
        .delete_many(&[a.id().clone(), b.id().clone(), unknown])
        .await
        .expect("delete_many");
    assert_eq!(deleted, 2, "delete_many counts the clients that existed");
    assert!(store.get(a.id().as_str()).await.expect("get").is_none());
    assert!(
        store.get(c.id().as_str()).await.expect("get").is_some(),
        "others stay"
    );
    store
        .delete_many(&[c.id().clone(), contested.id().clone()])
        .await
        .expect("cleanup");
}

fn record(kind: TokenKind, client: &ClientId, grant: &GrantId, expires: u64) -> TokenRecord {
    TokenRecord {
        kind,
        expires_at: Timestamp(expires),
        grant: Arc::new(Grant {
            id: grant.clone(),
            client_id: client.clone(),
            subject: Some("alice".into()),
            scope: crate::scope::Scope::parse("read").unwrap_or_default(),
            audience: Arc::from(["https://api.example.com/".to_owned()]),
            issued_at: Timestamp(expires.saturating_sub(60)),
            ends_at: Some(Timestamp(expires.saturating_add(3600))),
            code: None,
        }),
    }
}

/// Checks a [`TokenStore`]: insert and get, duplicate keys, single-use `take` under concurrent
/// callers, removal by token, grant and client, purging, and consents.
///
/// Needs a multi-threaded tokio runtime so the concurrent `take` calls really race.
pub async fn token_store(store: Arc<dyn TokenStore>) {
    let client_a = ClientId::new(fresh("client")).unwrap_or_else(|e| panic!("{e}"));
    let client_b = ClientId::new(fresh("client")).unwrap_or_else(|e| panic!("{e}"));
    let grant = GrantId::generate().unwrap_or_else(|e| panic!("{e}"));
    let other_grant = GrantId::generate().unwrap_or_else(|e| panic!("{e}"));
    let far = 4_000_000_000;

    // Insert, get, duplicates.
    let code = TokenHash::of(&fresh("code"));
    let code_rec = record(TokenKind::AuthorizationCode, &client_a, &grant, far);
    store.insert(code, code_rec.clone()).await.expect("insert");
    assert_eq!(
        store.get(&code).await.expect("get").as_ref(),
        Some(&code_rec)
    );
    assert!(
        matches!(
            store.insert(code, code_rec.clone()).await,
            Err(StoreError::Duplicate)
        ),
        "insert under an existing hash is StoreError::Duplicate"
    );
    assert_eq!(
        store
            .get(&TokenHash::of(&fresh("nothing")))
            .await
            .expect("get"),
        None
    );

    // Take: once, then replay, then missing.
    assert_eq!(
        store.take(&code).await.expect("take"),
        Take::Taken(code_rec.clone())
    );
    assert_eq!(
        store.take(&code).await.expect("take"),
        Take::AlreadyTaken(code_rec.clone()),
        "a second take reports the replay with the record"
    );
    assert_eq!(
        store.get(&code).await.expect("get"),
        None,
        "get hides a taken record"
    );
    assert!(
        matches!(
            store.insert(code, code_rec.clone()).await,
            Err(StoreError::Duplicate)
        ),
        "a taken record still occupies its hash"
    );
    assert_eq!(
        store
            .take(&TokenHash::of(&fresh("nothing")))
            .await
            .expect("take"),
        Take::Missing
    );

    // Several records at once, as a token pair is issued.
    let pair_grant = GrantId::generate().unwrap_or_else(|e| panic!("{e}"));
    let pair = [
        (
            TokenHash::of(&fresh("pair-access")),
            record(TokenKind::AccessToken, &client_a, &pair_grant, far),
        ),
        (
            TokenHash::of(&fresh("pair-refresh")),
            record(TokenKind::RefreshToken, &client_a, &pair_grant, far),
        ),
    ];
    store.insert_all(&pair).await.expect("insert_all");
    for (hash, rec) in &pair {
        assert_eq!(
            store.get(hash).await.expect("get").as_ref(),
            Some(rec),
            "insert_all stores every record"
        );
    }
    assert!(
        matches!(store.insert_all(&pair).await, Err(StoreError::Duplicate)),
        "insert_all refuses a hash that is present"
    );
    assert_eq!(store.insert_all(&[]).await.ok(), Some(()));
    store.revoke_grant(&pair_grant).await.expect("revoke_grant");
    for (hash, _) in &pair {
        assert_eq!(
            store.get(hash).await.expect("get"),
            None,
            "revoke_grant revokes every record of the grant"
        );
        assert_eq!(store.take(hash).await.expect("take"), Take::Missing);
    }
    let late = [(
        TokenHash::of(&fresh("pair-late")),
        record(TokenKind::AccessToken, &client_a, &pair_grant, far),
    )];
    assert!(
        matches!(store.insert_all(&late).await, Err(StoreError::GrantRevoked)),
        "insert_all into a revoked grant is StoreError::GrantRevoked"
    );

    // Take if a check approves: a refusal leaves the record as it was.
    let checked = TokenHash::of(&fresh("checked"));
    let checked_rec = record(TokenKind::RefreshToken, &client_a, &grant, far);
    store
        .insert(checked, checked_rec.clone())
        .await
        .expect("insert");
    assert_eq!(
        store.take_if(&checked, &|_| false).await.expect("take_if"),
        Take::Refused(checked_rec.clone()),
        "take_if reports a refused record"
    );
    assert_eq!(
        store.get(&checked).await.expect("get").as_ref(),
        Some(&checked_rec),
        "a refused record is still there, not taken"
    );
    let wanted = checked_rec.clone();
    assert_eq!(
        store
            .take_if(&checked, &|r| *r == wanted)
            .await
            .expect("take_if"),
        Take::Taken(checked_rec.clone()),
        "the check sees the stored record"
    );
    assert_eq!(
        store.take_if(&checked, &|_| true).await.expect("take_if"),
        Take::AlreadyTaken(checked_rec.clone())
    );
    assert_eq!(
        store
            .take_if(&TokenHash::of(&fresh("nothing")), &|_| true)
            .await
            .expect("take_if"),
        Take::Missing
    );

    // Take and insert in one step: the successors are stored only with the take.
    let exchange_grant = GrantId::generate().unwrap_or_else(|e| panic!("{e}"));
    let presented = TokenHash::of(&fresh("presented"));
    let presented_rec = record(TokenKind::RefreshToken, &client_a, &exchange_grant, far);
    store
        .insert(presented, presented_rec.clone())
        .await
        .expect("insert");
    let successor = |name: &str| {
        (
            TokenHash::of(&fresh(name)),
            record(TokenKind::RefreshToken, &client_a, &exchange_grant, far),
        )
    };
    let refused = [successor("refused")];
    assert_eq!(
        store
            .take_and_insert(&presented, &|_| false, &refused)
            .await
            .expect("take_and_insert"),
        Take::Refused(presented_rec.clone())
    );
    assert_eq!(
        store.get(&refused[0].0).await.expect("get"),
        None,
        "a refused take stores nothing"
    );
    let issued = [successor("issued-a"), successor("issued-b")];
    assert_eq!(
        store
            .take_and_insert(&presented, &|_| true, &issued)
            .await
            .expect("take_and_insert"),
        Take::Taken(presented_rec.clone())
    );
    for (hash, rec) in &issued {
        assert_eq!(
            store.get(hash).await.expect("get").as_ref(),
            Some(rec),
            "take_and_insert stores the successors"
        );
    }
    let again = [successor("again")];
    assert_eq!(
        store
            .take_and_insert(&presented, &|_| true, &again)
            .await
            .expect("take_and_insert"),
        Take::AlreadyTaken(presented_rec.clone())
    );
    assert_eq!(
        store.get(&again[0].0).await.expect("get"),
        None,
        "a replay stores nothing"
    );
    store
        .revoke_grant(&exchange_grant)
        .await
        .expect("revoke_grant");
    assert_eq!(
        store.take(&presented).await.expect("take"),
        Take::Missing,
        "the taken record is revoked with its successors"
    );
    for (hash, _) in &issued {
        assert_eq!(store.get(hash).await.expect("get"), None);
        assert_eq!(store.take(hash).await.expect("take"), Take::Missing);
    }

    // Concurrent take: exactly one winner per record, many rounds.
    for round in 0..50 {
        let hash = TokenHash::of(&fresh("race"));
        store
            .insert(
                hash,
                record(TokenKind::AuthorizationCode, &client_a, &grant, far),
            )
            .await
            .expect("insert");
        let callers = 8;
        let barrier = Arc::new(tokio::sync::Barrier::new(callers));
        let mut tasks = Vec::new();
        for caller in 0..callers {
            let store = store.clone();
            let barrier = barrier.clone();
            // Half the callers take unconditionally, half through an approving check.
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                if caller % 2 == 0 {
                    store.take(&hash).await
                } else {
                    store.take_if(&hash, &|_| true).await
                }
            }));
        }
        let mut winners = 0;
        for task in tasks {
            match task.await.expect("task").expect("take") {
                Take::Taken(_) => winners += 1,
                Take::AlreadyTaken(_) => {}
                Take::Missing | Take::Refused(_) => {
                    panic!("round {round}: a stored record went missing or was refused")
                }
            }
        }
        assert_eq!(
            winners, 1,
            "round {round}: exactly one concurrent take wins"
        );
    }

    // Removal by token and by grant; a revoked grant takes no new records.
    let access = TokenHash::of(&fresh("access"));
    let refresh = TokenHash::of(&fresh("refresh"));
    let other = TokenHash::of(&fresh("other"));
    let insert = |hash, kind, client: &ClientId, grant: &GrantId| {
        let (store, rec) = (store.clone(), record(kind, client, grant, far));
        async move { store.insert(hash, rec).await }
    };
    insert(access, TokenKind::AccessToken, &client_a, &grant)
        .await
        .expect("insert");
    insert(refresh, TokenKind::RefreshToken, &client_a, &grant)
        .await
        .expect("insert");
    insert(other, TokenKind::AccessToken, &client_a, &other_grant)
        .await
        .expect("insert");
    assert!(store.remove(&access).await.expect("remove"));
    assert!(
        !store.remove(&access).await.expect("remove"),
        "remove reports absence"
    );
    // The grant still holds the taken code, the record taken through `take_if`, the refresh
    // token and 50 raced codes.
    store.revoke_grant(&grant).await.expect("revoke_grant");
    assert_eq!(store.get(&refresh).await.expect("get"), None);
    for hash in [&code, &checked, &refresh] {
        assert_eq!(
            store.take(hash).await.expect("take"),
            Take::Missing,
            "revoke_grant revokes taken and untaken records alike"
        );
    }
    assert!(
        store.get(&other).await.expect("get").is_some(),
        "other grants stay"
    );
    assert!(
        matches!(
            insert(
                TokenHash::of(&fresh("late")),
                TokenKind::AccessToken,
                &client_a,
                &grant
            )
            .await,
            Err(StoreError::GrantRevoked)
        ),
        "insert into a revoked grant is StoreError::GrantRevoked"
    );

    // Removal by subject and by client.
    let at_b = TokenHash::of(&fresh("at-b"));
    insert(at_b, TokenKind::AccessToken, &client_b, &other_grant)
        .await
        .expect("insert");
    let bob_token = TokenHash::of(&fresh("bob"));
    let mut bobs = record(TokenKind::AccessToken, &client_a, &other_grant, far);
    Arc::make_mut(&mut bobs.grant).subject = Some("bob".into());
    store.insert(bob_token, bobs).await.expect("insert");
    assert_eq!(
        store
            .revoke_subject("alice", Some(&client_b))
            .await
            .expect("revoke_subject"),
        1,
        "revoke_subject with a client touches only that client"
    );
    assert_eq!(store.get(&at_b).await.expect("get"), None);
    assert!(store.get(&other).await.expect("get").is_some());
    assert_eq!(
        store
            .revoke_subject("alice", None)
            .await
            .expect("revoke_subject"),
        1
    );
    assert_eq!(store.get(&other).await.expect("get"), None);
    assert!(
        store.get(&bob_token).await.expect("get").is_some(),
        "other users stay"
    );
    let c_token = TokenHash::of(&fresh("c"));
    insert(c_token, TokenKind::AccessToken, &client_b, &other_grant)
        .await
        .expect("insert");
    assert_eq!(
        store.revoke_client(&client_a).await.expect("revoke_client"),
        1
    );
    assert_eq!(store.get(&bob_token).await.expect("get"), None);
    assert!(
        store.get(&c_token).await.expect("get").is_some(),
        "other clients stay"
    );
    store.revoke_client(&client_b).await.expect("cleanup");

    // Purge: expired at `now` means expires_at <= now.
    let purge_grant = GrantId::generate().unwrap_or_else(|e| panic!("{e}"));
    let old = TokenHash::of(&fresh("old"));
    let edge = TokenHash::of(&fresh("edge"));
    let live = TokenHash::of(&fresh("live"));
    for (hash, expires) in [(old, 100), (edge, 200), (live, 201)] {
        store
            .insert(
                hash,
                record(TokenKind::AccessToken, &client_a, &purge_grant, expires),
            )
            .await
            .expect("insert");
    }
    assert!(store.purge_expired(Timestamp(200)).await.expect("purge") >= 2);
    assert_eq!(store.get(&old).await.expect("get"), None);
    assert_eq!(store.get(&edge).await.expect("get"), None);
    assert!(store.get(&live).await.expect("get").is_some());
    store.revoke_client(&client_a).await.expect("cleanup");

    // Consents.
    let alice = fresh("alice");
    let bob = fresh("bob");
    let consent = |user: &str, client: &ClientId, scopes: &[&str]| Consent {
        user: user.to_owned(),
        client_id: client.clone(),
        scopes: scopes
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        granted_at: Timestamp(1),
    };
    assert_eq!(
        store.consent(&alice, &client_a).await.expect("consent"),
        None
    );
    store
        .put_consent(consent(&alice, &client_a, &["read"]))
        .await
        .expect("put_consent");
    store
        .put_consent(consent(&alice, &client_a, &["read", "write"]))
        .await
        .expect("put_consent");
    assert_eq!(
        store.consent(&alice, &client_a).await.expect("consent"),
        Some(consent(&alice, &client_a, &["read", "write"])),
        "put_consent replaces the consent for the same user and client"
    );
    store
        .put_consent(consent(&alice, &client_b, &["read"]))
        .await
        .expect("put_consent");
    store
        .put_consent(consent(&bob, &client_a, &["read"]))
        .await
        .expect("put_consent");
    let of_alice = store
        .consents(&ConsentOwner::User(alice.clone()))
        .await
        .expect("consents");
    assert_eq!(of_alice.len(), 2, "consents lists a user's consents");
    let of_a = store
        .consents(&ConsentOwner::Client(client_a.clone()))
        .await
        .expect("consents");
    assert_eq!(of_a.len(), 2, "consents lists a client's consents");
    assert_eq!(
        store
            .revoke_consents(&ConsentOwner::Client(client_a.clone()))
            .await
            .expect("revoke"),
        2
    );
    assert_eq!(store.consent(&bob, &client_a).await.expect("consent"), None);
    assert!(
        store
            .consent(&alice, &client_b)
            .await
            .expect("consent")
            .is_some()
    );
    assert_eq!(
        store
            .revoke_consents(&ConsentOwner::User(alice.clone()))
            .await
            .expect("revoke"),
        1
    );
}

fn module(id: &crate::federation::ModuleId, name: &str) -> crate::federation::AuthModule {
    use crate::federation::{Endpoints, MappingText, ModuleSettings, ModuleType};
    let url = |s: &str| url::Url::parse(s).unwrap();
    let mut settings = ModuleSettings::generic(
        name,
        ModuleType::OAuth2,
        Endpoints {
            user_info: Some(url("https://idp.example.com/user")),
            ..Endpoints::new(
                url("https://idp.example.com/authorize"),
                url("https://idp.example.com/token"),
            )
        },
    );
    settings.client_id = "conformance".into();
    settings.mapping = MappingText {
        user_id: Some("id".into()),
        ..MappingText::default()
    }
    .parse()
    .unwrap();
    crate::federation::AuthModule {
        id: id.clone(),
        settings,
        enabled: true,
        default: false,
        accounts_imported: 0,
        created_at: Timestamp(1_800_000_000),
        revision: 0,
    }
}

/// Checks an [`AuthModuleStore`]: round trips, insert-only `insert`, optimistic `update`
/// that keeps the store's own fields, at most one default (also under concurrent
/// `set_default`), import counts, deletion, and an audit trail that outlives its module.
pub async fn auth_module_store(store: Arc<dyn AuthModuleStore>) {
    use crate::federation::{AuditAction, AuditEvent, ModuleId};
    let id = |p: &str| {
        ModuleId::new(
            fresh(p)
                .to_ascii_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
        )
        .unwrap()
    };
    let (a, b) = (id("a"), id("b"));
    assert!(
        store.get(&a).await.expect("get").is_none(),
        "get of an unknown ID returns None"
    );
    store.insert(module(&a, "A")).await.expect("insert");
    store.insert(module(&b, "B")).await.expect("insert");
    assert!(
        matches!(
            store.insert(module(&a, "again")).await,
            Err(StoreError::Duplicate)
        ),
        "insert of a taken ID is Duplicate"
    );
    let got = store.get(&a).await.expect("get").expect("inserted module");
    assert_eq!(
        got.settings,
        module(&a, "A").settings,
        "settings round-trip"
    );
    let listed: Vec<_> = store
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.id)
        .collect();
    let pos = |id: &ModuleId| listed.iter().position(|x| x == id).expect("listed");
    assert!(pos(&a) < pos(&b), "list is in creation order");

    // Optimistic update.
    let mut changed = got.clone();
    changed.settings.name = "A renamed".into();
    changed.enabled = false;
    store.update(changed.clone()).await.expect("update");
    let now = store.get(&a).await.expect("get").expect("module");
    assert_eq!(now.settings.name, "A renamed");
    assert!(!now.enabled);
    assert_eq!(now.revision, got.revision + 1, "update bumps the revision");
    assert!(
        matches!(store.update(changed).await, Err(StoreError::Conflict)),
        "an update from a stale revision is Conflict"
    );
    let unknown = module(&id("none"), "x");
    assert!(matches!(
        store.update(unknown).await,
        Err(StoreError::NotFound)
    ));

    // The store's own fields are not the caller's to set.
    store.count_import(&a).await.expect("count");
    store.count_import(&a).await.expect("count");
    let mut forged = store.get(&a).await.expect("get").expect("module");
    assert_eq!(forged.accounts_imported, 2, "imports are counted");
    forged.accounts_imported = 99;
    forged.default = true;
    store.update(forged).await.expect("update");
    let now = store.get(&a).await.expect("get").expect("module");
    assert_eq!(
        now.accounts_imported, 2,
        "update does not set the import count"
    );
    assert!(!now.default, "update does not set the default mark");

    // At most one default, even when two administrators race.
    let (s1, s2) = (store.clone(), store.clone());
    let (a1, b1) = (a.clone(), b.clone());
    let (r1, r2) = tokio::join!(
        tokio::spawn(async move { s1.set_default(Some(&a1)).await }),
        tokio::spawn(async move { s2.set_default(Some(&b1)).await }),
    );
    r1.expect("join").expect("set_default");
    r2.expect("join").expect("set_default");
    let defaults = store
        .list()
        .await
        .expect("list")
        .into_iter()
        .filter(|m| m.default)
        .count();
    assert_eq!(
        defaults, 1,
        "exactly one default after two racing set_default calls"
    );
    store.set_default(Some(&a)).await.expect("set_default");
    assert!(store.get(&a).await.expect("get").expect("a").default);
    assert!(
        !store.get(&b).await.expect("get").expect("b").default,
        "the old default is cleared"
    );
    assert!(matches!(
        store.set_default(Some(&id("none"))).await,
        Err(StoreError::NotFound)
    ));
    store.set_default(None).await.expect("clear default");
    assert!(!store.get(&a).await.expect("get").expect("a").default);

    // Audit trail, per module, oldest first, outliving the module.
    for (i, action) in [AuditAction::Created, AuditAction::Enabled]
        .into_iter()
        .enumerate()
    {
        let event = AuditEvent {
            at: Timestamp(1_800_000_000 + i as u64),
            actor: "conformance".into(),
            module: a.clone(),
            action,
            changes: Vec::new(),
        };
        store.append_audit(event).await.expect("append");
    }
    store.set_default(Some(&a)).await.expect("set_default");
    assert!(
        store.delete(&a).await.expect("delete"),
        "delete of a module is true"
    );
    assert!(
        !store.delete(&a).await.expect("delete"),
        "delete of nothing is false"
    );
    assert!(store.get(&a).await.expect("get").is_none());
    assert!(
        store.list().await.expect("list").iter().all(|m| !m.default),
        "deleting the default module leaves no default"
    );
    let trail: Vec<_> = store
        .audit(&a)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        trail,
        [AuditAction::Created, AuditAction::Enabled],
        "the trail stays, in order"
    );
    assert!(
        store.audit(&b).await.expect("audit").is_empty(),
        "trails are per module"
    );
    store.delete(&b).await.expect("delete");
}
