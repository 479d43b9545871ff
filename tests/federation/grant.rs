//! The extension grant: a client trades a host access token for the provider access token of
//! the user behind it.

use std::sync::Arc;

use portcullis::client::{ClientSettings, ClientType, Flow, NewClient, SecretChange};
use portcullis::federation::{Account, ModuleId, ProviderTokenGrant};
use portcullis::store::memory::MemoryProviderTokenStore;
use portcullis::store::{HttpMethod, ProviderTokenStore};
use portcullis::users::MemoryUserDirectory;
use portcullis::{AuthorizationServer, Params, Scope, ServerSettings};
use serde_json::json;

use crate::common::*;

const GRANT: &str = "urn:example:grant:provider-token";
const SECRET: &str = "app-secret-0123456789abcdef0123456789";

struct Env {
    fx: Fx,
    fed: portcullis::federation::Federation,
    server: AuthorizationServer,
    store: Arc<MemoryProviderTokenStore>,
    module: ModuleId,
    users: Arc<MemoryUserDirectory>,
}

async fn env(extension_grants: &[&str]) -> Env {
    let fx = fx();
    let mut s = oauth2();
    s.extension_grant_type = Some(GRANT.into());
    let module = enabled(&fx, "idp", s).await;
    let store = Arc::new(MemoryProviderTokenStore::default());
    let fed = fx.fed.clone().with_provider_tokens(store.clone());
    let users = Arc::new(MemoryUserDirectory::default());
    users
        .insert("alice", "alice-pw", Scope::parse("read provider").unwrap())
        .unwrap();
    users
        .insert("bob", "bob-pw", Scope::parse("read provider").unwrap())
        .unwrap();
    // The password grant is the shortest way to a host token in a test.
    let mut settings = ServerSettings::new(BASE).unwrap();
    settings.password_grant = true;
    let server = AuthorizationServer::builder(settings, users.clone())
        .clock(Arc::new(fx.clock.clone()))
        .extension_grant(Arc::new(ProviderTokenGrant::new(
            fed.clone(),
            module.clone(),
            GRANT,
            "provider",
            store.clone(),
        )))
        .build()
        .unwrap();
    for id in ["app", "other-app"] {
        let mut new = NewClient::manual(
            ClientType::Confidential,
            ClientSettings {
                name: id.into(),
                flows: [Flow::ResourceOwner].into_iter().collect(),
                scopes: vec!["read".into(), "provider".into()],
                extension_grants: extension_grants.iter().map(|s| s.to_string()).collect(),
                ..ClientSettings::default()
            },
        );
        new.client_id = Some(portcullis::ClientId::new(id).unwrap());
        server
            .clients()
            .create_with_secret(
                new,
                SecretChange::KeyIn {
                    secret: SECRET.into(),
                    confirmation: SECRET.into(),
                },
            )
            .await
            .unwrap();
    }
    fx.accounts.insert(Account {
        id: "alice".into(),
        username: "alice".into(),
        email: Some("alice@example.com".into()),
        email_verified: true,
        ..Account::default()
    });
    Env {
        fx,
        fed,
        server,
        store,
        users,
        module,
    }
}

async fn host_token(e: &Env, client: &str, user: &str, scope: &str) -> String {
    let form = format!(
        "grant_type=password&username={user}&password={user}-pw&scope={scope}\
         &client_id={client}&client_secret={SECRET}"
    );
    let r = e.server.token(None, &Params::parse(&form)).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    r.json()["access_token"].as_str().unwrap().to_owned()
}

async fn trade(e: &Env, client: &str, token: &str) -> portcullis::EndpointResponse {
    let form = format!(
        "grant_type={}&subject_token={token}&client_id={client}&client_secret={SECRET}",
        url::form_urlencoded::byte_serialize(GRANT.as_bytes()).collect::<String>()
    );
    e.server.token(None, &Params::parse(&form)).await
}

/// Alice logs in through the module: her provider tokens are kept.
async fn alice_logs_in(e: &Env, expires_in: u64) {
    route_json(
        &e.fx,
        HttpMethod::Post,
        TOKEN,
        200,
        json!({"access_token": "alice-at-idp", "token_type": "Bearer",
               "expires_in": expires_in, "refresh_token": "alice-rt-idp", "scope": "profile"}),
    );
    route_json(&e.fx, HttpMethod::Get, USER_INFO, 200, alice());
    let start = e.fed.start_login(&e.module).await.unwrap();
    let state = state_of(&start.authorization_url);
    let login = e
        .fed
        .complete_login(
            &start.pending.module,
            &start.pending,
            &format!("code=c&state={state}"),
        )
        .await
        .unwrap();
    assert_eq!(
        e.fed.sign_in(&login, &e.fx.accounts).await.unwrap(),
        Ok("alice".to_owned())
    );
}

#[tokio::test]
async fn a_host_token_is_traded_for_the_users_provider_token() {
    let e = env(&[GRANT]).await;
    alice_logs_in(&e, 3600).await;
    let token = host_token(&e, "app", "alice", "read provider").await;
    let r = trade(&e, "app", &token).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let body = r.json();
    assert_eq!(body["access_token"], "alice-at-idp");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "profile");
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert!(
        body.get("refresh_token").is_none(),
        "the provider's refresh token stays here"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // Kept tokens never show in Debug.
    let kept = e.store.get("alice", &e.module).await.unwrap().unwrap();
    assert!(!format!("{kept:?}").contains("alice-at-idp"));
    assert!(!format!("{kept:?}").contains("alice-rt-idp"));
}

#[tokio::test]
async fn an_expired_provider_token_is_refreshed_at_the_provider() {
    let e = env(&[GRANT]).await;
    alice_logs_in(&e, 60).await;
    e.fx.clock.advance(120);
    route_json(
        &e.fx,
        HttpMethod::Post,
        TOKEN,
        200,
        json!({"access_token": "alice-at-2", "token_type": "bearer", "expires_in": "3600"}),
    );
    let token = host_token(&e, "app", "alice", "read provider").await;
    let r = trade(&e, "app", &token).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(r.json()["access_token"], "alice-at-2");
    let refresh = e.fx.fetcher.requests().pop().unwrap();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&refresh.body)
        .into_owned()
        .collect();
    assert!(form.contains(&("grant_type".into(), "refresh_token".into())));
    assert!(form.contains(&("refresh_token".into(), "alice-rt-idp".into())));
    // The provider did not rotate its refresh token: the old one is kept for next time.
    let kept = e.store.get("alice", &e.module).await.unwrap().unwrap();
    assert_eq!(kept.refresh_token.unwrap().secret(), "alice-rt-idp");
    assert_eq!(kept.access_token.secret(), "alice-at-2");
}

#[tokio::test]
async fn the_grant_is_refused_without_its_conditions() {
    let e = env(&[GRANT]).await;
    alice_logs_in(&e, 3600).await;
    let error = |r: portcullis::EndpointResponse| {
        assert_eq!(r.status(), 400, "{}", r.body());
        let body = r.json();
        (
            body["error"].as_str().unwrap().to_owned(),
            body["error_description"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    // A host token without the grant's scope.
    let narrow = host_token(&e, "app", "alice", "read").await;
    let (code, why) = error(trade(&e, "app", &narrow).await);
    assert_eq!(code, "invalid_scope");
    assert!(why.contains("provider"), "{why}");
    // Another client's token.
    let theirs = host_token(&e, "other-app", "alice", "read provider").await;
    assert_eq!(error(trade(&e, "app", &theirs).await).0, "invalid_grant");
    // A user who never logged in through the module.
    let bobs = host_token(&e, "app", "bob", "read provider").await;
    let (code, why) = error(trade(&e, "app", &bobs).await);
    assert_eq!(code, "invalid_grant");
    assert!(why.contains("log in"), "{why}");
    // Garbage, and no token at all.
    assert_eq!(
        error(trade(&e, "app", "not-a-token").await).0,
        "invalid_grant"
    );
    // An expired provider token without a refresh token.
    e.store
        .put(
            "alice",
            &e.module,
            portcullis::federation::ProviderTokens {
                refresh_token: None,
                expires_at: Some(portcullis::Timestamp(NOW - 1)),
                ..e.store.get("alice", &e.module).await.unwrap().unwrap()
            },
        )
        .await
        .unwrap();
    let token = host_token(&e, "app", "alice", "read provider").await;
    assert_eq!(error(trade(&e, "app", &token).await).0, "invalid_grant");
    // A disabled module offers nothing.
    e.fed
        .modules()
        .disable(
            "root",
            &e.module,
            portcullis::federation::Confirm::LockoutAccepted,
        )
        .await
        .unwrap();
    assert_eq!(
        error(trade(&e, "app", &token).await).0,
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn a_client_uses_the_grant_only_once_an_administrator_lists_it() {
    let e = env(&[]).await;
    alice_logs_in(&e, 3600).await;
    let token = host_token(&e, "app", "alice", "read provider").await;
    let r = trade(&e, "app", &token).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json()["error"], "unauthorized_client");
}

#[tokio::test]
async fn without_an_extension_grant_type_no_provider_token_is_kept() {
    let e = env(&[GRANT]).await;
    let current = e.fed.modules().get(&e.module).await.unwrap();
    let (revision, mut s) = (current.revision, current.settings);
    s.extension_grant_type = None;
    e.fed
        .modules()
        .update("root", &e.module, revision, s)
        .await
        .unwrap();
    alice_logs_in(&e, 3600).await;
    assert!(e.store.get("alice", &e.module).await.unwrap().is_none());
}

#[tokio::test]
async fn a_refresh_without_scope_keeps_it_and_a_nearly_expired_token_is_refreshed_early() {
    let e = env(&[GRANT]).await;
    alice_logs_in(&e, 3600).await;
    // 20 seconds before expiry: refreshed rather than handed out to die on the way.
    e.fx.clock.advance(3600 - 20);
    route_json(
        &e.fx,
        HttpMethod::Post,
        TOKEN,
        200,
        json!({"access_token": "alice-at-2", "token_type": "Bearer", "expires_in": 3600}),
    );
    let token = host_token(&e, "app", "alice", "read provider").await;
    let r = trade(&e, "app", &token).await;
    assert_eq!(r.json()["access_token"], "alice-at-2", "{}", r.body());
    assert_eq!(
        r.json()["scope"],
        "profile",
        "RFC 6749 §5.1: an omitted scope is unchanged"
    );
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_is_temporarily_unavailable() {
    let e = env(&[GRANT]).await;
    alice_logs_in(&e, 60).await;
    e.fx.clock.advance(120);
    e.fx.fetcher.route(
        HttpMethod::Post,
        TOKEN,
        Err(portcullis::store::FetchError::ReadTimeout("idp".into())),
    );
    let token = host_token(&e, "app", "alice", "read provider").await;
    let r = trade(&e, "app", &token).await;
    assert_eq!(r.json()["error"], "temporarily_unavailable", "{}", r.body());
}

#[tokio::test]
async fn a_user_who_lost_the_scope_gets_no_provider_token() {
    let e = env(&[GRANT]).await;
    alice_logs_in(&e, 3600).await;
    let token = host_token(&e, "app", "alice", "read provider").await;
    // The host takes the permission away; the host token is still live.
    e.users
        .insert("alice", "alice-pw", Scope::parse("read").unwrap())
        .unwrap();
    let r = trade(&e, "app", &token).await;
    assert_eq!(r.status(), 400, "{}", r.body());
    assert_eq!(r.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn tokens_the_provider_refuses_to_refresh_are_forgotten() {
    let e = env(&[GRANT]).await;
    alice_logs_in(&e, 60).await;
    e.fx.clock.advance(120);
    route_json(
        &e.fx,
        HttpMethod::Post,
        TOKEN,
        400,
        json!({"error": "invalid_grant"}),
    );
    let token = host_token(&e, "app", "alice", "read provider").await;
    let r = trade(&e, "app", &token).await;
    assert_eq!(r.json()["error"], "invalid_grant", "{}", r.body());
    assert!(e.store.get("alice", &e.module).await.unwrap().is_none());
    // The next call does not ask the provider again.
    let asked = e.fx.fetcher.requests().len();
    let r = trade(&e, "app", &token).await;
    assert_eq!(r.json()["error"], "invalid_grant");
    assert_eq!(e.fx.fetcher.requests().len(), asked);
}

/// A fetcher whose token endpoint waits until released, so two refreshes can overlap.
struct Gate {
    inner: Arc<portcullis::store::memory::MemoryFetcher>,
    open: tokio::sync::Notify,
}

#[portcullis::async_trait]
impl portcullis::store::HttpFetcher for Gate {
    async fn fetch(
        &self,
        request: portcullis::store::HttpRequest,
    ) -> Result<portcullis::store::HttpResponse, portcullis::store::FetchError> {
        if request.url.as_str() == TOKEN
            && url::form_urlencoded::parse(&request.body)
                .any(|(k, v)| k == "grant_type" && v == "refresh_token")
        {
            self.open.notified().await;
        }
        self.inner.fetch(request).await
    }
}

#[tokio::test]
async fn one_refresh_at_a_time_per_user_and_module() {
    let e = env(&[GRANT]).await;
    alice_logs_in(&e, 60).await;
    e.fx.clock.advance(120);
    route_json(
        &e.fx,
        HttpMethod::Post,
        TOKEN,
        200,
        json!({"access_token": "alice-at-2", "token_type": "Bearer", "expires_in": 3600}),
    );
    // The grant again, over a fetcher that holds refreshes until released.
    let gate = Arc::new(Gate {
        inner: e.fx.fetcher.clone(),
        open: tokio::sync::Notify::new(),
    });
    let fed = portcullis::federation::Federation::new(e.fed.modules().clone(), gate.clone());
    let grant = ProviderTokenGrant::new(fed, e.module.clone(), GRANT, "provider", e.store.clone());
    let token = host_token(&e, "app", "alice", "read provider").await;
    let ctx = portcullis::server::GrantContext {
        tokens: e.server.tokens().as_ref(),
        clients: e.server.clients().store().as_ref(),
        now: portcullis::Timestamp(NOW + 120),
    };
    let client = e
        .server
        .clients()
        .get(&portcullis::ClientId::new("app").unwrap())
        .await
        .unwrap();
    let form = format!("subject_token={token}");
    let params = Params::parse(&form);
    use portcullis::server::ExtensionGrant as _;
    let first = grant.grant(&ctx, &client, &params);
    tokio::pin!(first);
    // Start the first refresh, which waits at the gate.
    assert!(futures_poll_once(first.as_mut()).await.is_none());
    // A second request meanwhile does not refresh again.
    // (Bounded, so that a broken rule fails the test instead of hanging it at the gate.)
    let second = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        grant.grant(&ctx, &client, &params),
    )
    .await
    .expect("a second refresh must not start while one is in flight");
    assert_eq!(
        second.unwrap_err().code,
        portcullis::ErrorCode::TemporarilyUnavailable
    );
    gate.open.notify_one();
    let done = first.await.unwrap();
    assert_eq!(done.external.unwrap().access_token.secret(), "alice-at-2");
}

/// Polls a future once: `Some` if it finished.
async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
    let mut f = f;
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut f).poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

#[tokio::test]
async fn only_a_live_access_token_is_traded() {
    let e = env(&[GRANT]).await;
    alice_logs_in(&e, 86_400).await;
    let form = format!(
        "grant_type=password&username=alice&password=alice-pw&scope=read%20provider\
         &client_id=app&client_secret={SECRET}"
    );
    let issued = e.server.token(None, &Params::parse(&form)).await.json();
    // A refresh token is not an access token, whatever it may be traded for elsewhere.
    let refresh = issued["refresh_token"].as_str().expect("a refresh token");
    let r = trade(&e, "app", refresh).await;
    assert_eq!(r.json()["error"], "invalid_grant", "{}", r.body());
    // An access token past its expiry is no token at all.
    let access = issued["access_token"].as_str().unwrap();
    let lifetime = issued["expires_in"].as_u64().unwrap();
    e.fx.clock.advance(lifetime + 1);
    let r = trade(&e, "app", access).await;
    assert_eq!(r.json()["error"], "invalid_grant", "{}", r.body());
}
