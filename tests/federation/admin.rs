//! The administrator's side: module settings, lifecycle, default, confirmations, audit.

use std::time::Duration;

use portcullis::federation::{
    AuditAction, Confirm, LoginTarget, ModuleError, ModuleId, ModuleSettings, ModuleType, Preset,
    ProviderSecret, catalogue,
};

use crate::common::*;

#[tokio::test]
async fn the_redirect_uri_is_the_base_url_and_the_module_id() {
    let fx = fx();
    let id = enabled(&fx, "corp-sso", oauth2()).await;
    assert_eq!(
        fx.fed.modules().redirect_uri(&id).as_str(),
        "https://host.example.com/login/corp-sso/callback"
    );
    // Under a base URL with a path, the callback stays under it.
    let modules = portcullis::federation::AuthModules::new(
        std::sync::Arc::new(portcullis::store::memory::MemoryAuthModuleStore::default()),
        std::sync::Arc::new(fx.clock.clone()),
        url("https://example.com/tracker/"),
    );
    assert_eq!(
        modules.redirect_uri(&id).as_str(),
        "https://example.com/tracker/login/corp-sso/callback"
    );
}

#[tokio::test]
async fn module_ids_are_safe_in_a_url_path() {
    for bad in ["", "Corp", "a/b", "a b", "a?b", "..", &"x".repeat(65)] {
        assert!(ModuleId::new(bad).is_err(), "{bad:?} accepted");
    }
    for good in ["corp-sso", "github_2", "x"] {
        assert!(ModuleId::new(good).is_ok(), "{good:?} refused");
    }
}

#[tokio::test]
async fn a_new_module_is_disabled_with_5000_ms_timeouts_and_a_generated_id() {
    let fx = fx();
    let settings = oauth2();
    assert_eq!(settings.connect_timeout, Duration::from_millis(5000));
    assert_eq!(settings.read_timeout, Duration::from_millis(5000));
    let created = fx
        .fed
        .modules()
        .create("root", None, settings)
        .await
        .unwrap();
    assert!(!created.enabled);
    assert!(!created.default);
    assert_eq!(created.accounts_imported, 0);
    assert!(created.id.as_str().starts_with("m-"), "{}", created.id);
    let again = fx
        .fed
        .modules()
        .create("root", None, oauth2())
        .await
        .unwrap();
    assert_ne!(created.id, again.id);
}

#[tokio::test]
async fn settings_that_break_a_rule_are_refused_naming_the_field() {
    type Break = fn(&mut ModuleSettings);
    let cases: &[(&str, Break)] = &[
        ("name", |s| s.name = " ".into()),
        ("client_id", |s| s.client_id.clear()),
        ("endpoints.token", |s| {
            s.endpoints.token = url("http://idp.example.com/token")
        }),
        ("endpoints.authorization", |s| {
            s.endpoints.authorization = url("ftp://idp.example.com/a")
        }),
        ("endpoints.user_info", |s| s.endpoints.user_info = None),
        ("endpoints.token", |s| {
            s.endpoints.token = url("https://user:pw@idp.example.com/token")
        }),
        ("endpoints.issuer", |s| {
            s.endpoints.issuer = Some("http://idp.example.com".into())
        }),
        ("mapping.user_id", |s| s.mapping.user_id = None),
        ("extension_grant_type", |s| {
            s.extension_grant_type = Some("provider-token".into())
        }),
        ("connect_timeout", |s| s.connect_timeout = Duration::ZERO),
        ("read_timeout", |s| s.read_timeout = Duration::ZERO),
        ("mapping.image_url_pattern", |s| {
            s.mapping.image_url_pattern = Some("https://img.example.com/a.png".into())
        }),
        ("endpoints.issuer", |s| {
            s.module_type = ModuleType::OpenIdConnect;
            s.endpoints.jwks = Some(url(JWKS));
        }),
        ("endpoints.jwks", |s| {
            s.module_type = ModuleType::OpenIdConnect;
            s.endpoints.issuer = Some(IDP.into());
        }),
    ];
    let fx = fx();
    for (field, break_it) in cases {
        let mut s = oauth2();
        break_it(&mut s);
        match fx.fed.modules().create("root", None, s).await {
            Err(ModuleError::Invalid { field: f, .. }) => assert_eq!(f, *field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // A loopback provider may use plain http, for development.
    let mut s = oauth2();
    s.endpoints.token = url("http://127.0.0.1:9000/token");
    assert!(fx.fed.modules().create("root", None, s).await.is_ok());
}

#[tokio::test]
async fn a_mapping_path_that_does_not_parse_names_the_attribute_and_position() {
    let text = portcullis::federation::MappingText {
        user_id: Some("id".into()),
        email: Some("emails/ ?: ".into()),
        ..Default::default()
    };
    match text.parse() {
        Err(ModuleError::Path { attribute, error }) => {
            assert_eq!(attribute, "email");
            assert!(error.position > 0);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn at_most_one_module_is_the_default_and_unauthenticated_users_go_there() {
    let fx = fx();
    let m = fx.fed.modules();
    let a = enabled(&fx, "a", oauth2()).await;
    let b = enabled(&fx, "b", oauth2()).await;
    assert_eq!(m.login_target().await.unwrap(), LoginTarget::HostLoginPage);
    m.set_default("root", &a, true).await.unwrap();
    assert_eq!(
        m.login_target().await.unwrap(),
        LoginTarget::Module(a.clone())
    );
    m.set_default("root", &b, true).await.unwrap();
    let defaults: Vec<_> = m
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.default)
        .collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0].id, b);
    // Making b the default cleared a's mark, and both trails say so.
    let last = |events: Vec<portcullis::federation::AuditEvent>| events.last().unwrap().action;
    assert_eq!(
        last(m.audit(&a).await.unwrap()),
        AuditAction::DefaultCleared
    );
    assert_eq!(last(m.audit(&b).await.unwrap()), AuditAction::MadeDefault);
    // A disabled default sends users to the host's own page.
    m.disable("root", &b, Confirm::LockoutAccepted)
        .await
        .unwrap();
    assert_eq!(m.login_target().await.unwrap(), LoginTarget::HostLoginPage);
    m.enable("root", &b).await.unwrap();
    m.set_default("root", &b, false).await.unwrap();
    assert_eq!(m.login_target().await.unwrap(), LoginTarget::HostLoginPage);
}

#[tokio::test]
async fn removing_the_default_or_the_last_enabled_module_needs_confirmation() {
    let fx = fx();
    let m = fx.fed.modules();
    let a = enabled(&fx, "a", oauth2()).await;
    // The last enabled module.
    assert!(matches!(
        m.disable("root", &a, Confirm::No).await,
        Err(ModuleError::NeedsConfirmation(_))
    ));
    assert!(matches!(
        m.delete("root", &a, Confirm::No).await,
        Err(ModuleError::NeedsConfirmation(_))
    ));
    assert!(m.get(&a).await.unwrap().enabled, "nothing changed");
    // With another enabled module, a non-default one goes freely.
    let b = enabled(&fx, "b", oauth2()).await;
    m.disable("root", &a, Confirm::No).await.unwrap();
    m.enable("root", &a).await.unwrap();
    // The default needs confirmation even when others remain.
    m.set_default("root", &b, true).await.unwrap();
    assert!(matches!(
        m.delete("root", &b, Confirm::No).await,
        Err(ModuleError::NeedsConfirmation(_))
    ));
    assert!(matches!(
        m.disable("root", &b, Confirm::No).await,
        Err(ModuleError::NeedsConfirmation(_))
    ));
    m.delete("root", &b, Confirm::LockoutAccepted)
        .await
        .unwrap();
    assert!(matches!(m.get(&b).await, Err(ModuleError::NotFound)));
    assert_eq!(m.login_target().await.unwrap(), LoginTarget::HostLoginPage);
    // The trail outlives the module.
    assert_eq!(
        m.audit(&b).await.unwrap().last().unwrap().action,
        AuditAction::Deleted
    );
}

#[tokio::test]
async fn every_change_is_audited_with_who_when_and_old_and_new_values() {
    let fx = fx();
    let m = fx.fed.modules();
    let id = ModuleId::new("corp").unwrap();
    m.create("carol", Some(id.clone()), oauth2()).await.unwrap();
    fx.clock.advance(60);
    let mut s = oauth2();
    s.scopes = ModuleSettings::parse_scopes("profile email groups");
    s.client_secret = ProviderSecret::new("rotated-secret");
    s.user_creation = true;
    let revision = m.get(&id).await.unwrap().revision;
    // A form filled from an older revision is refused, not applied over someone's change.
    assert!(matches!(
        m.update("dave", &id, revision + 1, s.clone()).await,
        Err(ModuleError::Conflict)
    ));
    m.update("dave", &id, revision, s).await.unwrap();
    m.rename("dave", &id, "Corporate SSO", Some("corp.png".into()))
        .await
        .unwrap();
    m.enable("erin", &id).await.unwrap();

    let trail = m.audit(&id).await.unwrap();
    let actions: Vec<_> = trail.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::Created,
            AuditAction::Updated,
            AuditAction::Renamed,
            AuditAction::Enabled
        ]
    );
    assert_eq!(trail[0].actor, "carol");
    assert_eq!(trail[0].at.0, NOW);
    assert_eq!(trail[1].actor, "dave");
    assert_eq!(trail[1].at.0, NOW + 60);
    let change = |i: usize, field: &str| {
        trail[i]
            .changes
            .iter()
            .find(|c| c.field == field)
            .cloned()
            .unwrap_or_else(|| panic!("{field} not in {:?}", trail[i].changes))
    };
    let scopes = change(1, "scopes");
    assert_eq!(scopes.old.as_deref(), Some("profile email"));
    assert_eq!(scopes.new.as_deref(), Some("profile email groups"));
    assert_eq!(change(1, "user_creation").new.as_deref(), Some("true"));
    let secret = change(1, "client_secret");
    assert_eq!(secret.old.as_deref(), Some("<redacted>"));
    assert_eq!(secret.new.as_deref(), Some("<redacted>"));
    assert_eq!(change(2, "name").new.as_deref(), Some("Corporate SSO"));
    assert_eq!(change(2, "icon").new.as_deref(), Some("corp.png"));
    assert_eq!(
        trail[2].changes.len(),
        2,
        "a rename changes name and icon only"
    );
    assert_eq!(change(3, "enabled").new.as_deref(), Some("true"));
    // No secret anywhere in the trail or in a module's Debug.
    let everything = format!("{trail:?} {:?}", m.get(&id).await.unwrap());
    for secret in ["s3cret", "rotated-secret"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    assert!(
        serde_json::to_string(&trail)
            .unwrap()
            .find("rotated")
            .is_none(),
        "serialized trail leaks the secret"
    );
}

#[tokio::test]
async fn the_logout_url_is_where_to_go_after_the_hosts_own_logout() {
    let fx = fx();
    let id = enabled(&fx, "a", oauth2()).await;
    assert_eq!(fx.fed.modules().logout_url(&id).await.unwrap(), None);
    let mut s = oauth2();
    s.endpoints.logout = Some(url("https://idp.example.com/logout"));
    let revision = fx.fed.modules().get(&id).await.unwrap().revision;
    fx.fed
        .modules()
        .update("root", &id, revision, s)
        .await
        .unwrap();
    assert_eq!(
        fx.fed
            .modules()
            .logout_url(&id)
            .await
            .unwrap()
            .unwrap()
            .as_str(),
        "https://idp.example.com/logout"
    );
}

#[test]
fn the_catalogue_lists_each_preset_and_the_generic_types() {
    let names: Vec<_> = catalogue().iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "Bitbucket Cloud",
            "GitHub",
            "GitLab",
            "Google",
            "Microsoft Entra ID",
            "OpenID Connect",
            "OAuth 2.0"
        ]
    );
    let bitbucket = catalogue()[0];
    assert_eq!(
        bitbucket.module_type,
        ModuleType::Preset(Preset::BitbucketCloud)
    );
    assert_eq!(bitbucket.icon, "bitbucket");
    assert!(catalogue().iter().all(|e| !e.icon.is_empty()));
}

#[tokio::test]
async fn every_preset_makes_a_valid_module() {
    use portcullis::federation::PresetOptions;
    let fx = fx();
    let options = PresetOptions {
        tenant: Some("9122040d-6c67-4c5b-b112-36a304b66dad".into()),
    };
    for entry in catalogue() {
        let ModuleType::Preset(preset) = entry.module_type else {
            continue;
        };
        let s = preset
            .settings("id", ProviderSecret::new("secret"), &options)
            .unwrap();
        assert_eq!(s.name, entry.name);
        fx.fed.modules().create("root", None, s).await.unwrap();
    }
    // Entra ID needs its tenant, and a tenant cannot add to the URL's path.
    for tenant in [
        None,
        Some("a/b".to_owned()),
        Some(String::new()),
        Some("common".to_owned()),
        Some("contoso.onmicrosoft.com".to_owned()),
    ] {
        let r = Preset::MicrosoftEntraId.settings(
            "id",
            ProviderSecret::new("s"),
            &PresetOptions { tenant },
        );
        assert!(matches!(
            r,
            Err(ModuleError::Invalid {
                field: "tenant",
                ..
            })
        ));
    }
}
