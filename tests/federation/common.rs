//! Shared fixtures for the federation tests: a scripted provider at https://idp.example.com.
#![allow(dead_code)]

use std::sync::Arc;

use portcullis::federation::{
    AuthModules, Endpoints, FederatedLogin, Federation, LoginError, LoginStart, MappingText,
    MemoryAccounts, ModuleId, ModuleSettings, ModuleType, ProviderSecret,
};
use portcullis::store::memory::{MemoryAuthModuleStore, MemoryFetcher};
use portcullis::store::{HttpMethod, HttpResponse};
use portcullis::{ManualClock, Timestamp};
use serde_json::{Value, json};
use url::Url;

pub const BASE: &str = "https://host.example.com";
pub const IDP: &str = "https://idp.example.com";
pub const TOKEN: &str = "https://idp.example.com/token";
pub const USER_INFO: &str = "https://idp.example.com/user";
pub const EMAILS: &str = "https://idp.example.com/emails";
pub const AVATAR: &str = "https://idp.example.com/avatar";
pub const JWKS: &str = "https://idp.example.com/jwks";
pub const NOW: u64 = 1_800_000_000;

pub struct Fx {
    pub fed: Federation,
    pub fetcher: Arc<MemoryFetcher>,
    pub clock: ManualClock,
    pub accounts: MemoryAccounts,
}

pub fn fx() -> Fx {
    let clock = ManualClock::new(Timestamp(NOW));
    let fetcher = Arc::new(MemoryFetcher::default());
    let modules = AuthModules::new(
        Arc::new(MemoryAuthModuleStore::default()),
        Arc::new(clock.clone()),
        Url::parse(BASE).unwrap(),
    );
    Fx {
        fed: Federation::new(modules, fetcher.clone()),
        fetcher,
        clock,
        accounts: MemoryAccounts::default(),
    }
}

pub fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// A generic OAuth 2.0 module: user info with id, login, name, email, email_verified,
/// avatar and groups.
pub fn oauth2() -> ModuleSettings {
    let mut s = ModuleSettings::generic(
        "Example IdP",
        ModuleType::OAuth2,
        Endpoints {
            authorization: url("https://idp.example.com/authorize?tenant=t1"),
            token: url(TOKEN),
            user_info: Some(url(USER_INFO)),
            logout: None,
            email: None,
            avatar: None,
            jwks: None,
            issuer: None,
            iss_required: false,
        },
    );
    s.client_id = "host-at-idp".into();
    s.client_secret = ProviderSecret::new("s3cret&=+");
    s.scopes = ModuleSettings::parse_scopes("profile  email");
    s.mapping = MappingText {
        user_id: Some("id".into()),
        username: Some("login".into()),
        full_name: Some("name ?: login".into()),
        email: Some("email".into()),
        email_verified: Some("email_verified".into()),
        avatar: Some("avatar_url".into()),
        image_url_pattern: None,
        groups: Some("groups".into()),
    }
    .parse()
    .unwrap();
    s
}

/// A fresh fixture with one enabled module, `idp`: the generic one, changed by `change`.
pub async fn fx_with(change: impl FnOnce(&mut ModuleSettings)) -> (Fx, ModuleId) {
    let fx = fx();
    let mut s = oauth2();
    change(&mut s);
    let id = enabled(&fx, "idp", s).await;
    (fx, id)
}

pub async fn enabled(fx: &Fx, id: &str, settings: ModuleSettings) -> ModuleId {
    let id = ModuleId::new(id).unwrap();
    let m = fx.fed.modules();
    m.create("admin", Some(id.clone()), settings).await.unwrap();
    m.enable("admin", &id).await.unwrap();
    id
}

pub fn json_response(status: u16, body: &Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: serde_json::to_vec(body).unwrap(),
    }
}

pub fn route_json(fx: &Fx, method: HttpMethod, at: &str, status: u16, body: Value) {
    fx.fetcher
        .route(method, at, Ok(json_response(status, &body)));
}

pub fn token_ok(fx: &Fx) {
    route_json(
        fx,
        HttpMethod::Post,
        TOKEN,
        200,
        json!({"access_token": "provider-at", "token_type": "Bearer", "expires_in": 3600,
               "refresh_token": "provider-rt"}),
    );
}

pub fn alice() -> Value {
    json!({
        "id": 4242,
        "login": "alice",
        "name": "Alice Liddell",
        "email": "alice@example.com",
        "email_verified": true,
        "avatar_url": "https://img.example.com/a.png",
        "groups": ["idp-devs", "idp-staff"]
    })
}

/// The state a started login put in its authorization URL.
pub fn state_of(authorization_url: &Url) -> String {
    authorization_url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

/// Completes `start` with a callback carrying a code, its state, and `extra` parameters.
pub async fn callback(
    fx: &Fx,
    start: &LoginStart,
    extra: &str,
) -> Result<FederatedLogin, LoginError> {
    let state = state_of(&start.authorization_url);
    fx.fed
        .complete_login(
            &start.pending.module,
            &start.pending,
            &format!("code=c&state={state}{extra}"),
        )
        .await
}

/// A whole login through `id` with the provider answering `profile`.
pub async fn login_as(
    fx: &Fx,
    id: &ModuleId,
    profile: Value,
) -> Result<FederatedLogin, LoginError> {
    token_ok(fx);
    route_json(fx, HttpMethod::Get, USER_INFO, 200, profile);
    let start = fx.fed.start_login(id).await?;
    callback(fx, &start, "").await
}
