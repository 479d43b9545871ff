//! The account a login becomes: linked, found by verified email, created, or refused; and the
//! groups and fields each login refreshes.

use std::collections::BTreeSet;

use portcullis::federation::{Account, AccountDecision, LoginStep, Refusal};
use serde_json::json;

use crate::common::*;

fn existing(fx: &Fx, id: &str, email: &str) {
    fx.accounts.insert(Account {
        id: id.into(),
        username: id.into(),
        email: Some(email.into()),
        email_verified: true,
        groups: ["local-team".to_owned()].into_iter().collect(),
        ..Account::default()
    });
}

async fn imported(fx: &Fx, id: &portcullis::federation::ModuleId) -> u64 {
    fx.fed.modules().get(id).await.unwrap().accounts_imported
}

#[tokio::test]
async fn a_verified_email_links_the_existing_account_and_counts_an_import() {
    let (fx, id) = fx_with(|_| {}).await;
    existing(&fx, "alice-local", "ALICE@example.com");
    let login = login_as(&fx, &id, alice()).await.unwrap();
    assert_eq!(
        fx.fed.decide(&login, &fx.accounts).await.unwrap(),
        AccountDecision::LinkByVerifiedEmail {
            account: "alice-local".into()
        }
    );
    let account = fx.fed.sign_in(&login, &fx.accounts).await.unwrap().unwrap();
    assert_eq!(account, "alice-local");
    assert_eq!(fx.accounts.get("alice-local").unwrap().links[&id], "4242");
    assert_eq!(imported(&fx, &id).await, 1);
    // The next login finds the link; it is no new import.
    let again = login_as(&fx, &id, alice()).await.unwrap();
    assert_eq!(
        fx.fed.decide(&again, &fx.accounts).await.unwrap(),
        AccountDecision::Linked {
            account: "alice-local".into()
        }
    );
    fx.fed.sign_in(&again, &fx.accounts).await.unwrap().unwrap();
    assert_eq!(imported(&fx, &id).await, 1);
}

#[tokio::test]
async fn an_unverified_email_matching_an_account_refuses_the_login() {
    for (said, auto) in [
        (json!(false), false),
        (json!(false), true),
        (json!(null), false),
    ] {
        let (fx, id) = fx_with(|s| {
            s.user_creation = true;
            s.email_auto_verify = auto;
        })
        .await;
        existing(&fx, "alice-local", "alice@example.com");
        let mut profile = alice();
        profile["email_verified"] = said.clone();
        let login = login_as(&fx, &id, profile).await.unwrap();
        let outcome = fx.fed.sign_in(&login, &fx.accounts).await.unwrap();
        assert_eq!(
            outcome,
            Err(Refusal::UnverifiedEmailInUse),
            "said {said}, auto {auto}"
        );
        // Never linked, never a second account.
        assert!(fx.accounts.get("alice-local").unwrap().links.is_empty());
        assert_eq!(fx.accounts.all().len(), 1);
        assert_eq!(imported(&fx, &id).await, 0);
    }
    // With the provider silent, auto-verification lets the address link.
    let (fx, id) = fx_with(|s| s.email_auto_verify = true).await;
    existing(&fx, "alice-local", "alice@example.com");
    let mut profile = alice();
    profile.as_object_mut().unwrap().remove("email_verified");
    let login = login_as(&fx, &id, profile).await.unwrap();
    assert_eq!(
        fx.fed.sign_in(&login, &fx.accounts).await.unwrap(),
        Ok("alice-local".into())
    );
}

#[tokio::test]
async fn users_are_identified_by_module_and_provider_id_not_by_email_or_username() {
    let (fx, id) = fx_with(|s| s.user_creation = true).await;
    let first = login_as(&fx, &id, alice()).await.unwrap();
    let account = fx.fed.sign_in(&first, &fx.accounts).await.unwrap().unwrap();
    // Same provider user, new username and address: the same account, refreshed.
    let mut renamed = alice();
    renamed["login"] = json!("alice2");
    renamed["email"] = json!("alice@new.example");
    renamed["name"] = json!("Alice Pleasance Liddell");
    let second = login_as(&fx, &id, renamed).await.unwrap();
    assert_eq!(
        fx.fed
            .sign_in(&second, &fx.accounts)
            .await
            .unwrap()
            .unwrap(),
        account
    );
    let a = fx.accounts.get(&account).unwrap();
    assert_eq!(a.full_name.as_deref(), Some("Alice Pleasance Liddell"));
    assert_eq!(a.email.as_deref(), Some("alice@new.example"));
    // Another provider user with alice's old username is somebody else.
    let mut other = alice();
    other["id"] = json!(7);
    other["email"] = json!("mallory@example.com");
    let third = login_as(&fx, &id, other).await.unwrap();
    assert_ne!(
        fx.fed.sign_in(&third, &fx.accounts).await.unwrap().unwrap(),
        account
    );
    assert_eq!(fx.accounts.all().len(), 2);
}

#[tokio::test]
async fn user_creation_decides_whether_an_unknown_user_gets_an_account() {
    let (fx, id) = fx_with(|s| s.user_creation = false).await;
    let login = login_as(&fx, &id, alice()).await.unwrap();
    assert_eq!(
        fx.fed.sign_in(&login, &fx.accounts).await.unwrap(),
        Err(Refusal::UserCreationOff)
    );
    assert!(fx.accounts.all().is_empty());

    let (fx, id) = fx_with(|s| s.user_creation = true).await;
    let login = login_as(&fx, &id, alice()).await.unwrap();
    let account = fx.fed.sign_in(&login, &fx.accounts).await.unwrap().unwrap();
    let a = fx.accounts.get(&account).unwrap();
    assert_eq!(a.username, "alice");
    assert_eq!(a.full_name.as_deref(), Some("Alice Liddell"));
    assert_eq!(a.email.as_deref(), Some("alice@example.com"));
    assert!(a.email_verified);
    assert_eq!(
        a.avatar_url.as_deref(),
        Some("https://img.example.com/a.png")
    );
    assert_eq!(a.links[&id], "4242");
    assert_eq!(imported(&fx, &id).await, 1);
}

#[tokio::test]
async fn auto_join_and_mapped_groups_are_synced_on_every_login() {
    let (fx, id) = fx_with(|s| {
        s.user_creation = true;
        s.auto_join_groups = vec!["everyone".into()];
        s.group_mappings = [
            ("idp-devs".to_owned(), vec!["developers".to_owned()]),
            (
                "idp-admins".to_owned(),
                vec!["administrators".to_owned(), "developers".to_owned()],
            ),
        ]
        .into_iter()
        .collect();
    })
    .await;
    let groups = |fx: &Fx, account: &str| fx.accounts.get(account).unwrap().groups;
    let set = |g: &[&str]| g.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();

    let login = login_as(&fx, &id, alice()).await.unwrap();
    let account = fx.fed.sign_in(&login, &fx.accounts).await.unwrap().unwrap();
    assert_eq!(groups(&fx, &account), set(&["developers", "everyone"]));

    // Promoted at the provider: the mapping adds administrators, nothing is duplicated.
    let mut promoted = alice();
    promoted["groups"] = json!(["idp-devs", "idp-admins"]);
    let login = login_as(&fx, &id, promoted).await.unwrap();
    fx.fed.sign_in(&login, &fx.accounts).await.unwrap().unwrap();
    assert_eq!(
        groups(&fx, &account),
        set(&["administrators", "developers", "everyone"])
    );

    // Removed from every provider group: mapped groups go, auto-join and local groups stay.
    fx.accounts.insert(Account::default()); // an unrelated account is untouched
    let mut removed = alice();
    removed["groups"] = json!([]);
    let login = login_as(&fx, &id, removed).await.unwrap();
    fx.fed.sign_in(&login, &fx.accounts).await.unwrap().unwrap();
    assert_eq!(groups(&fx, &account), set(&["everyone"]));
}

#[tokio::test]
async fn a_test_login_reports_every_step_and_changes_nothing() {
    let (fx, id) = fx_with(|s| s.user_creation = true).await;
    fx.fed
        .modules()
        .disable(
            "root",
            &id,
            portcullis::federation::Confirm::LockoutAccepted,
        )
        .await
        .unwrap();
    token_ok(&fx);
    route_json(
        &fx,
        portcullis::store::HttpMethod::Get,
        USER_INFO,
        200,
        alice(),
    );
    // A disabled module can be tested before it is enabled.
    let start = fx.fed.start_test_login(&id).await.unwrap();
    let state = state_of(&start.authorization_url);
    let query = format!("code=c&state={state}");
    // A test login's session cannot complete a real login, even once the module is enabled.
    fx.fed.modules().enable("root", &id).await.unwrap();
    assert_eq!(
        fx.fed
            .complete_login(&start.pending.module, &start.pending, &query)
            .await
            .unwrap_err(),
        portcullis::federation::LoginError::TestLoginOnly
    );
    assert!(fx.fetcher.requests().is_empty());
    let report = fx
        .fed
        .test_login(
            &start.pending.module,
            &start.pending,
            &query,
            Some(&fx.accounts),
        )
        .await
        .unwrap();
    assert!(report.succeeded(), "{report:?}");
    let steps: Vec<_> = report.steps.iter().map(|s| s.step).collect();
    assert_eq!(
        steps,
        [
            LoginStep::Callback,
            LoginStep::Token,
            LoginStep::UserInfo,
            LoginStep::Mapping
        ]
    );
    assert_eq!(report.profile.as_ref().unwrap().user_id, "4242");
    assert!(matches!(report.account, Some(AccountDecision::Create(_))));
    assert!(fx.accounts.all().is_empty(), "no account created");
    assert_eq!(imported(&fx, &id).await, 0);

    // A failing step is named with its reason, and the later steps are not run.
    route_json(
        &fx,
        portcullis::store::HttpMethod::Get,
        USER_INFO,
        200,
        json!({"login": "x"}),
    );
    let start = fx.fed.start_test_login(&id).await.unwrap();
    let state = state_of(&start.authorization_url);
    let report = fx
        .fed
        .test_login(
            &start.pending.module,
            &start.pending,
            &format!("code=c&state={state}"),
            None,
        )
        .await
        .unwrap();
    assert!(!report.succeeded());
    let last = report.steps.last().unwrap();
    assert_eq!(last.step, LoginStep::Mapping);
    assert!(
        last.error.as_deref().unwrap().contains("user ID"),
        "{last:?}"
    );
}

#[tokio::test]
async fn an_account_whose_own_email_is_unverified_is_never_linked_by_email() {
    // Mallory created an account holding alice's address, never verified.
    let (fx, id) = fx_with(|s| s.user_creation = true).await;
    fx.accounts.insert(Account {
        id: "mallory".into(),
        username: "mallory".into(),
        email: Some("alice@example.com".into()),
        email_verified: false,
        ..Account::default()
    });
    let login = login_as(&fx, &id, alice()).await.unwrap();
    let account = fx.fed.sign_in(&login, &fx.accounts).await.unwrap().unwrap();
    assert_ne!(
        account, "mallory",
        "alice's login must not open mallory's account"
    );
    assert!(fx.accounts.get("mallory").unwrap().links.is_empty());
}

#[tokio::test]
async fn an_account_linked_to_another_provider_user_is_not_relinked_by_email() {
    let (fx, id) = fx_with(|_| {}).await;
    existing(&fx, "alice-local", "alice@example.com");
    let login = login_as(&fx, &id, alice()).await.unwrap();
    fx.fed.sign_in(&login, &fx.accounts).await.unwrap().unwrap();
    // A second provider user who now has the same verified address.
    let mut other = alice();
    other["id"] = json!(99);
    let login = login_as(&fx, &id, other).await.unwrap();
    assert_eq!(
        fx.fed.sign_in(&login, &fx.accounts).await.unwrap(),
        Err(Refusal::LinkedToAnotherUser)
    );
    assert_eq!(fx.accounts.get("alice-local").unwrap().links[&id], "4242");
}

#[tokio::test]
async fn a_profile_that_says_nothing_about_groups_removes_none() {
    let (fx, id) = fx_with(|s| {
        s.user_creation = true;
        s.group_mappings = [("idp-devs".to_owned(), vec!["developers".to_owned()])]
            .into_iter()
            .collect();
    })
    .await;
    let login = login_as(&fx, &id, alice()).await.unwrap();
    let account = fx.fed.sign_in(&login, &fx.accounts).await.unwrap().unwrap();
    let mut silent = alice();
    silent.as_object_mut().unwrap().remove("groups");
    let login = login_as(&fx, &id, silent).await.unwrap();
    assert!(!login.profile.groups_reported);
    fx.fed.sign_in(&login, &fx.accounts).await.unwrap().unwrap();
    assert!(
        fx.accounts
            .get(&account)
            .unwrap()
            .groups
            .contains("developers")
    );
}
