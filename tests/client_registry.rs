//! The OAuth client registry through its public API, as an administration page uses it.

use std::sync::Arc;

use portcullis::client::{
    ApplicationInfo, Badge, ClientError, ClientFilter, ClientId, ClientRegistry, ClientSettings,
    ClientType, Flow, Flows, NewClient, Registration, SecretChange, SecretError,
};
use portcullis::store::memory::MemoryClientStore;

fn registry() -> ClientRegistry {
    ClientRegistry::new(Arc::new(MemoryClientStore::default()))
}

fn settings(name: &str) -> ClientSettings {
    ClientSettings {
        name: name.into(),
        home_url: Some("https://app.example.com/".into()),
        redirect_uris: vec!["/cb".into()],
        flows: [Flow::AuthorizationCode].into_iter().collect(),
        ..ClientSettings::default()
    }
}

fn key_in(a: &str, b: &str) -> SecretChange {
    SecretChange::KeyIn {
        secret: a.into(),
        confirmation: b.into(),
    }
}

#[tokio::test]
async fn a_confidential_client_gets_a_secret_once_and_keeps_only_its_hash() {
    let reg = registry();
    let created = reg
        .create(NewClient::manual(ClientType::Confidential, settings("CI")))
        .await
        .unwrap();
    let secret = created.secret.expect("confidential clients get a secret");
    let id = created.client.id().clone();

    assert!(
        reg.verify_secret(&id, secret.expose_secret())
            .await
            .unwrap()
    );
    assert!(!reg.verify_secret(&id, "wrong").await.unwrap());

    // Neither the stored form nor any Debug output carries the secret.
    let stored = reg.get(&id).await.unwrap();
    let json = serde_json::to_string(&stored).unwrap();
    assert!(!json.contains(secret.expose_secret()));
    assert!(json.contains("sha256$"));
    for shown in [
        format!("{stored:?}"),
        format!("{secret:?}"),
        format!("{:?}", stored.secret_hash()),
    ] {
        assert!(!shown.contains(secret.expose_secret()), "{shown}");
    }
}

#[tokio::test]
async fn a_public_client_has_no_secret_and_cannot_get_one() {
    let reg = registry();
    let created = reg
        .create(NewClient::manual(ClientType::Public, settings("SPA")))
        .await
        .unwrap();
    assert!(created.secret.is_none());
    let id = created.client.id().clone();
    assert!(!reg.verify_secret(&id, "").await.unwrap());
    assert!(matches!(
        reg.change_secret(&id, SecretChange::Generate).await,
        Err(ClientError::PublicClient(_))
    ));
}

#[tokio::test]
async fn unknown_clients_never_verify() {
    let reg = registry();
    let id = ClientId::new("nobody").unwrap();
    assert!(!reg.verify_secret(&id, "anything").await.unwrap());
    assert!(matches!(reg.get(&id).await, Err(ClientError::NotFound(_))));
}

#[tokio::test]
async fn change_secret_by_generate_replaces_the_old_one() {
    let reg = registry();
    let created = reg
        .create(NewClient::manual(ClientType::Confidential, settings("CI")))
        .await
        .unwrap();
    let id = created.client.id().clone();
    let old = created.secret.unwrap();
    let new = reg
        .change_secret(&id, SecretChange::Generate)
        .await
        .unwrap();
    assert_ne!(old.expose_secret(), new.expose_secret());
    assert!(!reg.verify_secret(&id, old.expose_secret()).await.unwrap());
    assert!(reg.verify_secret(&id, new.expose_secret()).await.unwrap());
}

#[tokio::test]
async fn change_secret_by_key_in_checks_both_entries_and_length() {
    let reg = registry();
    let created = reg
        .create(NewClient::manual(ClientType::Confidential, settings("CI")))
        .await
        .unwrap();
    let id = created.client.id().clone();
    let old = created.secret.unwrap();
    let chosen = "correct-horse-battery-staple-0123456789";

    let err = reg
        .change_secret(&id, key_in(chosen, "correct-horse"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Secret(SecretError::Mismatch)));
    assert_eq!(
        err.to_string(),
        "client_secret: the secret and its confirmation do not match"
    );
    let err = reg
        .change_secret(&id, key_in("tiny", "tiny"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "client_secret: must be at least 32 characters long, got 4"
    );
    // A refused change leaves the old secret working.
    assert!(reg.verify_secret(&id, old.expose_secret()).await.unwrap());

    let set = reg
        .change_secret(&id, key_in(chosen, chosen))
        .await
        .unwrap();
    assert_eq!(set.expose_secret(), chosen);
    assert!(reg.verify_secret(&id, chosen).await.unwrap());
    assert!(!reg.verify_secret(&id, old.expose_secret()).await.unwrap());
}

#[tokio::test]
async fn invalid_settings_are_refused_naming_the_field() {
    let reg = registry();
    let cases = [
        (
            ClientSettings {
                name: "".into(),
                ..settings("x")
            },
            "name: must not be empty",
        ),
        (
            ClientSettings {
                home_url: Some("app.example.com".into()),
                ..settings("x")
            },
            "home_url: must be an absolute URL",
        ),
        (
            ClientSettings {
                base_urls: vec!["https://b.example/#frag".into()],
                ..settings("x")
            },
            "base_urls[0]: must not contain a fragment",
        ),
        (
            ClientSettings {
                redirect_uris: vec!["/cb".into(), "data:text/html,x".into()],
                ..settings("x")
            },
            "redirect_uris[1]: the `data` scheme",
        ),
    ];
    for (s, want) in cases {
        let err = reg
            .create(NewClient::manual(ClientType::Public, s))
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with(want), "{err}");
    }
    assert!(
        reg.list(&ClientFilter::default()).await.unwrap().is_empty(),
        "nothing was stored"
    );
}

#[tokio::test]
async fn update_changes_settings_but_not_application_info() {
    let reg = registry();
    let mut new = NewClient::manual(ClientType::Public, settings("Tool"));
    new.application = Some(ApplicationInfo {
        name: Some("Tool".into()),
        version: Some("2.1".into()),
        vendor: Some("Example Ltd".into()),
        release_date: Some("2026-05-01".into()),
        ..ApplicationInfo::default()
    });
    let id = reg.create(new).await.unwrap().client.id().clone();
    let mut s = settings("Tool (renamed)");
    s.require_consent = true;
    s.user_uri_pattern = Some("https://app.example.com/u/{login}".into());
    let updated = reg.update_settings(&id, s).await.unwrap();
    assert_eq!(updated.name(), "Tool (renamed)");
    assert!(updated.requires_consent());
    assert_eq!(
        updated.application().and_then(|a| a.version.as_deref()),
        Some("2.1")
    );
    assert_eq!(
        updated.user_uri_pattern().unwrap().expand("7", "j doe"),
        "https://app.example.com/u/j%20doe"
    );
    let err = reg
        .update_settings(
            &id,
            ClientSettings {
                home_url: Some("/x".into()),
                ..settings("Tool")
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("home_url:"), "{err}");
    assert_eq!(reg.get(&id).await.unwrap().name(), "Tool (renamed)");
}

#[tokio::test]
async fn list_filters_by_name_ignoring_case_and_by_badge() {
    let reg = registry();
    reg.create(NewClient::manual(
        ClientType::Public,
        settings("Jenkins CI"),
    ))
    .await
    .unwrap();
    reg.create(NewClient::manual(
        ClientType::Public,
        ClientSettings {
            flows: Flows::NONE,
            ..settings("old ci runner")
        },
    ))
    .await
    .unwrap();
    let mut auto = NewClient::manual(ClientType::Public, settings("MCP client"));
    auto.registration = Registration::Cimd;
    auto.client_id = Some(ClientId::new("https://mcp.example.com/client.json").unwrap());
    reg.create(auto).await.unwrap();

    let names =
        |v: Vec<portcullis::OAuthClient>| v.iter().map(|c| c.name().to_owned()).collect::<Vec<_>>();
    let by_name = ClientFilter {
        name_contains: Some("CI".into()),
        badge: None,
    };
    assert_eq!(
        names(reg.list(&by_name).await.unwrap()),
        ["Jenkins CI", "old ci runner"]
    );
    let inactive = ClientFilter {
        name_contains: None,
        badge: Some(Badge::Inactive),
    };
    assert_eq!(names(reg.list(&inactive).await.unwrap()), ["old ci runner"]);
    let auto = ClientFilter {
        name_contains: None,
        badge: Some(Badge::AutoRegistered),
    };
    let found = reg.list(&auto).await.unwrap();
    assert_eq!(names(found.clone()), ["MCP client"]);
    assert_eq!(
        found[0].id().as_str(),
        "https://mcp.example.com/client.json"
    );
}

#[tokio::test]
async fn an_explicit_client_id_cannot_be_taken_twice() {
    let reg = registry();
    let mut new = NewClient::manual(ClientType::Public, settings("A"));
    new.client_id = Some(ClientId::new("fixed-id").unwrap());
    reg.create(new.clone()).await.unwrap();
    assert!(matches!(reg.create(new).await, Err(ClientError::Exists(_))));
}

#[tokio::test]
async fn delete_many_removes_only_the_named_clients() {
    let reg = registry();
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        ids.push(
            reg.create(NewClient::manual(ClientType::Public, settings(name)))
                .await
                .unwrap()
                .client
                .id()
                .clone(),
        );
    }
    assert_eq!(reg.delete(&ids[..2]).await.unwrap(), 2);
    assert_eq!(reg.delete(&ids[..2]).await.unwrap(), 0);
    let left = reg.list(&ClientFilter::default()).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id(), &ids[2]);
}

#[tokio::test]
async fn untrusted_redirects_are_recorded_once_and_can_be_trusted_or_dismissed() {
    let reg = registry();
    let client = reg
        .create(NewClient::manual(ClientType::Public, settings("App")))
        .await
        .unwrap()
        .client;
    let id = client.id().clone();

    // Trusted: nothing recorded.
    reg.check_redirect_uri(&client, "https://app.example.com/cb")
        .await
        .unwrap();
    // Untrusted, twice: recorded once.
    for _ in 0..2 {
        let err = reg
            .check_redirect_uri(&client, "https://app.example.com/new-cb")
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Redirect(ref r) if r.is_reviewable()));
    }
    reg.check_redirect_uri(&client, "https://tracker.example/x")
        .await
        .unwrap_err();
    // Malformed: refused, not recorded.
    reg.check_redirect_uri(&client, "https://app.example.com/cb#frag")
        .await
        .unwrap_err();
    assert_eq!(
        reg.get(&id).await.unwrap().untrusted_redirect_uris(),
        [
            "https://app.example.com/new-cb",
            "https://tracker.example/x"
        ]
    );

    let trusted = reg
        .trust_redirect_uri(&id, "https://app.example.com/new-cb")
        .await
        .unwrap();
    assert_eq!(
        trusted.untrusted_redirect_uris(),
        ["https://tracker.example/x"]
    );
    assert!(
        trusted
            .check_redirect_uri("https://app.example.com/new-cb")
            .is_ok()
    );

    let dismissed = reg
        .dismiss_redirect_uri(&id, "https://tracker.example/x")
        .await
        .unwrap();
    assert!(dismissed.untrusted_redirect_uris().is_empty());
    assert!(
        dismissed
            .check_redirect_uri("https://tracker.example/x")
            .is_err()
    );
    assert!(matches!(
        reg.dismiss_redirect_uri(&id, "https://tracker.example/x")
            .await,
        Err(ClientError::NotUnderReview(_))
    ));
}

#[tokio::test]
async fn create_with_a_keyed_in_secret() {
    let reg = registry();
    let secret = "seeded-secret-for-the-demo-client-0001";
    let client = reg
        .create_with_secret(
            NewClient::manual(ClientType::Public, settings("Seeded")),
            key_in(secret, secret),
        )
        .await
        .unwrap();
    assert_eq!(client.client_type(), ClientType::Confidential);
    assert!(reg.verify_secret(client.id(), secret).await.unwrap());
    assert!(matches!(
        reg.create_with_secret(
            NewClient::manual(ClientType::Confidential, settings("x")),
            key_in("a", "a")
        )
        .await,
        Err(ClientError::Secret(SecretError::TooShort(1)))
    ));
}
