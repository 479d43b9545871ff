//! A token request whose future is dropped at any await point (a client that disconnects)
//! never leaves a code or refresh token used up with nothing issued: the retry succeeds
//! instead of being taken for a replay that revokes the grant.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use portcullis::client::{ClientSettings, ClientType, Flow, NewClient};
use portcullis::clock::Timestamp;
use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
use portcullis::store::memory::MemoryTokenStore;
use portcullis::store::{
    Consent, ConsentOwner, GrantId, StoreError, Take, TakeCheck, TokenHash, TokenRecord, TokenStore,
};
use portcullis::users::MemoryUserDirectory;
use portcullis::{
    AuthorizationServer, Authorize, ClientId, EndpointResponse, Params, Scope, ServerSettings,
};

/// A token store whose every call waits once before doing anything, as a database round trip
/// does: each call is a point where a dropped future stops. With `.1` set, `take_and_insert`
/// also waits after it has done its work, as a database's answer arrives after its commit.
struct SlowTokens(MemoryTokenStore, bool);

async fn pause() {
    tokio::task::yield_now().await;
}

#[async_trait]
impl TokenStore for SlowTokens {
    async fn insert(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError> {
        pause().await;
        self.0.insert(hash, record).await
    }
    async fn insert_all(&self, records: &[(TokenHash, TokenRecord)]) -> Result<(), StoreError> {
        pause().await;
        self.0.insert_all(records).await
    }
    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        pause().await;
        self.0.get(hash).await
    }
    async fn take(&self, hash: &TokenHash) -> Result<Take, StoreError> {
        pause().await;
        self.0.take(hash).await
    }
    async fn take_if(&self, hash: &TokenHash, check: TakeCheck<'_>) -> Result<Take, StoreError> {
        pause().await;
        self.0.take_if(hash, check).await
    }
    /// One transaction, as the trait asks of a store that can.
    async fn take_and_insert(
        &self,
        hash: &TokenHash,
        check: TakeCheck<'_>,
        records: &[(TokenHash, TokenRecord)],
    ) -> Result<Take, StoreError> {
        pause().await;
        let done = self.0.take_and_insert(hash, check, records).await;
        if self.1 {
            pause().await;
        }
        done
    }
    async fn remove(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        pause().await;
        self.0.remove(hash).await
    }
    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError> {
        pause().await;
        self.0.revoke_grant(grant).await
    }
    async fn revoke_subject(
        &self,
        user: &str,
        client: Option<&ClientId>,
    ) -> Result<usize, StoreError> {
        self.0.revoke_subject(user, client).await
    }
    async fn revoke_client(&self, client: &ClientId) -> Result<usize, StoreError> {
        self.0.revoke_client(client).await
    }
    async fn purge_expired(&self, now: Timestamp) -> Result<usize, StoreError> {
        self.0.purge_expired(now).await
    }
    async fn put_consent(&self, consent: Consent) -> Result<(), StoreError> {
        self.0.put_consent(consent).await
    }
    async fn consent(&self, user: &str, client: &ClientId) -> Result<Option<Consent>, StoreError> {
        self.0.consent(user, client).await
    }
    async fn consents(&self, owner: &ConsentOwner) -> Result<Vec<Consent>, StoreError> {
        self.0.consents(owner).await
    }
    async fn revoke_consents(&self, owner: &ConsentOwner) -> Result<usize, StoreError> {
        self.0.revoke_consents(owner).await
    }
}

/// Polls `fut` at most `polls` times; `None` if it was still pending when dropped.
fn poll_then_drop<F: Future>(fut: F, polls: usize) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..polls {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Some(out);
        }
    }
    None
}

async fn server() -> (AuthorizationServer, ClientId) {
    server_with(0, false).await
}

const CONF_SECRET: &str = "conf-secret-0123456789abcdef0123456789";

async fn server_with(reuse_interval: u64, late_answers: bool) -> (AuthorizationServer, ClientId) {
    let users = MemoryUserDirectory::default();
    users
        .insert("alice", "pw", Scope::parse("read").unwrap())
        .unwrap();
    let mut settings = ServerSettings::new("https://as.example").unwrap();
    settings.refresh_reuse_interval = reuse_interval;
    settings.password_grant = true;
    let server = AuthorizationServer::builder(settings, Arc::new(users))
        .tokens(Arc::new(SlowTokens(
            MemoryTokenStore::default(),
            late_answers,
        )))
        .build()
        .unwrap();
    let mut new = NewClient::manual(
        ClientType::Public,
        ClientSettings {
            name: "App".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            flows: [Flow::AuthorizationCode].into_iter().collect(),
            scopes: vec!["read".into()],
            ..ClientSettings::default()
        },
    );
    new.client_id = Some(ClientId::new("app").unwrap());
    server.clients().create(new).await.unwrap();
    let mut conf = NewClient::manual(
        ClientType::Confidential,
        ClientSettings {
            name: "Conf".into(),
            flows: [Flow::ResourceOwner].into_iter().collect(),
            scopes: vec!["read".into()],
            ..ClientSettings::default()
        },
    );
    conf.client_id = Some(ClientId::new("conf").unwrap());
    server
        .clients()
        .create_with_secret(
            conf,
            portcullis::client::SecretChange::KeyIn {
                secret: CONF_SECRET.into(),
                confirmation: CONF_SECRET.into(),
            },
        )
        .await
        .unwrap();
    (server, ClientId::new("app").unwrap())
}

async fn code(server: &AuthorizationServer) -> (String, String) {
    let verifier = CodeVerifier::generate().unwrap();
    let challenge = CodeChallenge::from_verifier(&verifier, PkceMethod::S256);
    let q = format!(
        "response_type=code&client_id=app&redirect_uri=https://app.example/cb\
         &code_challenge={}&code_challenge_method=S256",
        challenge.as_str()
    );
    let Authorize::Redirect(location) = server.authorize(&Params::parse(&q), Some("alice")).await
    else {
        panic!("expected a redirect")
    };
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_owned();
    (code, verifier.secret().to_owned())
}

fn redeem_form(code: &str, verifier: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https://app.example/cb\
         &client_id=app&code_verifier={verifier}"
    )
}

fn ok(r: &EndpointResponse) -> serde_json::Value {
    assert_eq!(r.status(), 200, "{}", r.body());
    r.json()
}

#[tokio::test]
async fn a_code_redemption_dropped_at_any_await_point_can_be_retried() {
    let (server, _) = server().await;
    let mut completed_at = None;
    for polls in 0..20 {
        let (code, verifier) = code(&server).await;
        let form = redeem_form(&code, &verifier);
        let params = Params::parse(&form);
        if let Some(done) = poll_then_drop(server.token(None, &params), polls) {
            ok(&done);
            completed_at = Some(polls);
            break;
        }
        // Dropped before it finished: the code must still be good for the retry.
        let retried = server.token(None, &params).await;
        ok(&retried);
    }
    assert!(
        completed_at.is_some_and(|n| n > 1),
        "the request has await points"
    );
}

#[tokio::test]
async fn a_refresh_dropped_at_any_await_point_can_be_retried() {
    let (server, _) = server().await;
    let (code, verifier) = code(&server).await;
    let first = ok(&server
        .token(None, &Params::parse(&redeem_form(&code, &verifier)))
        .await);
    let mut refresh = first["refresh_token"].as_str().unwrap().to_owned();
    let mut completed_at = None;
    for polls in 0..20 {
        let form = format!("grant_type=refresh_token&refresh_token={refresh}&client_id=app");
        let params = Params::parse(&form);
        if let Some(done) = poll_then_drop(server.token(None, &params), polls) {
            ok(&done);
            completed_at = Some(polls);
            break;
        }
        let retried = ok(&server.token(None, &params).await);
        refresh = retried["refresh_token"].as_str().unwrap().to_owned();
    }
    assert!(
        completed_at.is_some_and(|n| n > 1),
        "the request has await points"
    );
}

/// Two refreshes of one token, the second looked at the token before the first took it.
async fn interleaved_refreshes(reuse_interval: u64) -> (EndpointResponse, EndpointResponse) {
    let (server, _) = server_with(reuse_interval, false).await;
    let login = format!(
        "grant_type=password&username=alice&password=pw&client_id=conf&client_secret={CONF_SECRET}"
    );
    let first = ok(&server.token(None, &Params::parse(&login)).await);
    let form = format!(
        "grant_type=refresh_token&refresh_token={}&client_id=conf&client_secret={CONF_SECRET}",
        first["refresh_token"].as_str().unwrap()
    );
    let params = Params::parse(&form);
    let mut cx = Context::from_waker(Waker::noop());
    let mut late = pin!(server.token(None, &params));
    // The late request looks (`get`) and stops at its take.
    for _ in 0..2 {
        assert!(late.as_mut().poll(&mut cx).is_pending());
    }
    let early = server.token(None, &params).await;
    let late = loop {
        if let Poll::Ready(r) = late.as_mut().poll(&mut cx) {
            break r;
        }
    };
    (early, late)
}

#[tokio::test]
async fn a_refresh_that_loses_the_race_gets_the_same_successor_within_the_interval() {
    let (early, late) = interleaved_refreshes(10).await;
    ok(&early);
    assert_eq!(late.body(), early.body(), "{}", late.body());
}

#[tokio::test]
async fn without_the_interval_a_refresh_that_loses_the_race_revokes_the_family() {
    let (early, late) = interleaved_refreshes(0).await;
    let successor = ok(&early);
    assert_eq!(late.json()["error"], "invalid_grant", "{}", late.body());
    let _ = successor;
}

#[tokio::test]
async fn a_refresh_whose_answer_was_lost_is_not_taken_for_a_theft_within_the_interval() {
    let (server, _) = server_with(10, true).await;
    let login = format!(
        "grant_type=password&username=alice&password=pw&client_id=conf&client_secret={CONF_SECRET}"
    );
    let first = ok(&server.token(None, &Params::parse(&login)).await);
    let form = format!(
        "grant_type=refresh_token&refresh_token={}&client_id=conf&client_secret={CONF_SECRET}",
        first["refresh_token"].as_str().unwrap()
    );
    let params = Params::parse(&form);
    // Dropped while waiting for the store's answer to the take, which the store has done.
    assert!(poll_then_drop(server.token(None, &params), 3).is_none());
    let retry = server.token(None, &params).await;
    assert_eq!(retry.status(), 503, "{}", retry.body());
    assert_eq!(retry.json()["error"], "temporarily_unavailable");
    // The family was not revoked: the first access token still works.
    assert!(
        server
            .validate_access_token(
                first["access_token"].as_str().unwrap(),
                "https://as.example"
            )
            .await
            .is_ok()
    );
}
