//! The demo server's auth modules: the seed's `auth_modules`, the login routes
//! (`/login/<id>`, `/login/<id>/callback`), and `/account`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use portcullis::federation::{
    Account, AuthModules, CredentialsIn, Endpoints, Federation, LoginError, MappingText,
    MemoryAccounts, ModuleId, ModuleSettings, ModuleType, PendingLogin, Preset, PresetOptions,
    ProviderSecret,
};
use portcullis::store::HttpFetcher;
use portcullis::store::memory::MemoryAuthModuleStore;
use portcullis::{Clock, Timestamp};
use serde::Deserialize;
use url::Url;

use super::{App, esc, page, random_token};

/// The seed's `auth_modules` entries. Documented in docs/example-server.md.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedModule {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub icon: Option<String>,
    /// A preset: `bitbucket_cloud`, `github`, `gitlab`, `google`, `microsoft_entra_id`.
    #[serde(default)]
    pub preset: Option<Preset>,
    /// A generic module: `oauth2` or `oidc`.
    #[serde(default, rename = "type")]
    pub module_type: Option<SeedType>,
    /// Microsoft Entra ID's tenant.
    #[serde(default)]
    pub tenant: Option<String>,
    /// OpenID Connect: the issuer, whose discovery document gives the endpoints.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Explicit endpoints (a generic OAuth 2.0 module needs them).
    #[serde(default)]
    pub endpoints: Option<SeedEndpoints>,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: String,
    /// Space-separated (or a list); a preset's scopes when absent.
    #[serde(default)]
    pub scopes: Option<SeedScopes>,
    /// Attribute paths; each one given replaces the preset's.
    #[serde(default)]
    pub mapping: MappingText,
    #[serde(default)]
    pub group_mappings: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub user_creation: bool,
    #[serde(default)]
    pub auto_join_groups: Vec<String>,
    #[serde(default)]
    pub credentials: CredentialsIn,
    #[serde(default)]
    pub email_auto_verify: bool,
    #[serde(default)]
    pub extension_grant_type: Option<String>,
    #[serde(default)]
    pub connect_timeout_ms: Option<u64>,
    #[serde(default)]
    pub read_timeout_ms: Option<u64>,
    #[serde(default)]
    pub default: bool,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// A module's `scopes`: `"openid email"` as an administrator types it, or `["openid", "email"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SeedScopes {
    Text(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedType {
    Oauth2,
    Oidc,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedEndpoints {
    pub authorization: Url,
    pub token: Url,
    #[serde(default)]
    pub user_info: Option<Url>,
    #[serde(default)]
    pub logout: Option<Url>,
    #[serde(default)]
    pub email: Option<Url>,
    #[serde(default)]
    pub avatar: Option<Url>,
    #[serde(default)]
    pub jwks: Option<Url>,
}

/// The scope a host token needs for a module's extension grant in this demo.
pub const PROVIDER_TOKEN_SCOPE: &str = "provider_token";

/// The addresses written as literals in the modules' URLs: an administrator's provider on a
/// loopback or private address is reachable, nothing else outside the public internet is.
pub fn literal_addresses(modules: &[SeedModule]) -> Vec<IpAddr> {
    let mut urls: Vec<String> = Vec::new();
    for m in modules {
        urls.extend(m.issuer.clone());
        if let Some(e) = &m.endpoints {
            urls.extend(
                [
                    &Some(e.authorization.clone()),
                    &Some(e.token.clone()),
                    &e.user_info,
                    &e.email,
                    &e.avatar,
                    &e.jwks,
                ]
                .into_iter()
                .flatten()
                .map(|u| u.to_string()),
            );
        }
    }
    urls.iter()
        .filter_map(|u| Url::parse(u).ok())
        .filter_map(|u| match u.host() {
            Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
            _ => None,
        })
        .collect()
}

/// Creates the seed's modules. Errors name the JSON path.
pub async fn create_modules(
    seed: Vec<SeedModule>,
    issuer: &str,
    clock: Arc<dyn Clock>,
    fetcher: Arc<dyn HttpFetcher>,
) -> Result<Federation, String> {
    let base = Url::parse(issuer).map_err(|e| format!("--issuer: {e}"))?;
    let modules = AuthModules::new(Arc::new(MemoryAuthModuleStore::default()), clock, base);
    let federation = Federation::new(modules, fetcher.clone());
    let mut defaults = 0;
    for (i, m) in seed.into_iter().enumerate() {
        let at = |field: &str| format!("auth_modules[{i}].{field}");
        let id = ModuleId::new(m.id.clone()).map_err(|e| format!("{}: {e}", at("id")))?;
        let settings = module_settings(&m, &*fetcher)
            .await
            .map_err(|e| format!("auth_modules[{i}].{e}"))?;
        let admin = federation.modules();
        admin
            .create("seed", Some(id.clone()), settings)
            .await
            .map_err(|e| match e {
                portcullis::federation::ModuleError::Duplicate => {
                    format!("{}: is listed twice", at("id"))
                }
                e => format!("auth_modules[{i}].{e}"),
            })?;
        if m.enabled {
            admin.enable("seed", &id).await.map_err(|e| e.to_string())?;
        }
        if m.default {
            defaults += 1;
            if defaults > 1 {
                return Err(format!(
                    "{}: only one module can be the default",
                    at("default")
                ));
            }
            admin
                .set_default("seed", &id, true)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(federation)
}

async fn module_settings(
    m: &SeedModule,
    fetcher: &dyn HttpFetcher,
) -> Result<ModuleSettings, String> {
    let secret = ProviderSecret::new(m.client_secret.clone());
    let mut s = match (m.preset, m.module_type) {
        (Some(_), Some(_)) => return Err("type: give a preset or a type, not both".into()),
        (None, None) => return Err("preset: give a preset or a type (`oauth2` or `oidc`)".into()),
        (Some(preset), None) => preset
            .settings(
                m.client_id.clone(),
                secret,
                &PresetOptions {
                    tenant: m.tenant.clone(),
                },
            )
            .map_err(|e| e.to_string())?,
        (None, Some(kind)) => {
            let module_type = match kind {
                SeedType::Oauth2 => ModuleType::OAuth2,
                SeedType::Oidc => ModuleType::OpenIdConnect,
            };
            let endpoints = match (&m.endpoints, &m.issuer) {
                (Some(e), issuer) => Endpoints {
                    authorization: e.authorization.clone(),
                    token: e.token.clone(),
                    user_info: e.user_info.clone(),
                    logout: e.logout.clone(),
                    email: e.email.clone(),
                    avatar: e.avatar.clone(),
                    jwks: e.jwks.clone(),
                    issuer: issuer.clone(),
                    iss_required: false,
                },
                (None, Some(issuer)) => portcullis::federation::discover(fetcher, issuer)
                    .await
                    .map_err(|e| format!("issuer: {e}"))?,
                (None, None) => {
                    return Err(
                        "endpoints: give the endpoints, or an issuer to discover them".into(),
                    );
                }
            };
            let mut s = ModuleSettings::generic(
                m.name.clone().unwrap_or_else(|| m.id.clone()),
                module_type,
                endpoints,
            );
            s.client_id = m.client_id.clone();
            s.client_secret = secret;
            s
        }
    };
    if let Some(name) = &m.name {
        s.name = name.clone();
    }
    if m.icon.is_some() {
        s.icon = m.icon.clone();
    }
    match &m.scopes {
        Some(SeedScopes::Text(text)) => s.scopes = ModuleSettings::parse_scopes(text),
        Some(SeedScopes::List(list)) => s.scopes = list.clone(),
        None => {}
    }
    let mut text = s.mapping.text();
    let given = &m.mapping;
    for (slot, value) in [
        (&mut text.user_id, &given.user_id),
        (&mut text.username, &given.username),
        (&mut text.full_name, &given.full_name),
        (&mut text.email, &given.email),
        (&mut text.email_verified, &given.email_verified),
        (&mut text.avatar, &given.avatar),
        (&mut text.image_url_pattern, &given.image_url_pattern),
        (&mut text.groups, &given.groups),
    ] {
        if value.is_some() {
            slot.clone_from(value);
        }
    }
    s.mapping = text.parse().map_err(|e| e.to_string())?;
    s.group_mappings = m.group_mappings.clone();
    s.user_creation = m.user_creation;
    s.auto_join_groups = m.auto_join_groups.clone();
    s.credentials = m.credentials;
    s.email_auto_verify = m.email_auto_verify;
    s.extension_grant_type = m.extension_grant_type.clone();
    if let Some(ms) = m.connect_timeout_ms {
        s.connect_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = m.read_timeout_ms {
        s.read_timeout = Duration::from_millis(ms);
    }
    Ok(s)
}

/// At most this many logins may be in flight: starting one is an anonymous request, and what
/// it writes must stay bounded. When full, the oldest is dropped (its user starts again).
const MAX_PENDING_LOGINS: usize = 10_000;
/// The longest authorization request a login may carry along.
const MAX_QUERY_BYTES: usize = 4096;

/// A started login: what the callback needs, and the authorization request to continue.
pub struct Pending {
    login: PendingLogin,
    query: String,
    started: Timestamp,
}

impl App {
    /// Drops logins that can no longer complete.
    pub(crate) fn purge_logins(&self) {
        let now = self.clock.now();
        if let Ok(mut pending) = self.pending_logins.lock() {
            pending.retain(|_, p| {
                now.0 <= p.started.0 + portcullis::federation::LOGIN_TIMEOUT_SECONDS
            });
        }
    }

    /// A session-scoped cookie; `Secure` whenever the issuer is https (the cookie is the
    /// login).
    pub(crate) fn cookie(&self, name: &str, value: &str, path: &str) -> Option<HeaderValue> {
        let secure = if self.issuer.starts_with("https:") {
            "; Secure"
        } else {
            ""
        };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path={path}; HttpOnly; SameSite=Lax{secure}"
        ))
        .ok()
    }
}

fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(header::COOKIE)?
        .to_str()
        .ok()?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    (
        status,
        Html(page(title, &format!("<p>{}</p>", esc(message)))),
    )
        .into_response()
}

/// The login page's buttons: one per enabled module, carrying the authorization request.
pub async fn module_buttons(app: &App, query: &str) -> String {
    let modules = app.federation.modules().enabled().await.unwrap_or_default();
    modules
        .iter()
        .map(|m| {
            let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
            format!(
                "<p><a class=\"module\" href=\"/login/{id}?query={q}\">Sign in with {name}</a></p>",
                id = esc(m.id.as_str()),
                name = esc(&m.settings.name),
            )
        })
        .collect()
}

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    query: String,
}

/// `GET /login/<module id>?query=...`: off to the provider.
pub async fn start(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<StartQuery>,
) -> Response {
    let Ok(id) = ModuleId::new(id) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "Unknown login method",
            "No such login method.",
        );
    };
    if q.query.len() > MAX_QUERY_BYTES {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Login failed",
            "query: the authorization request to continue is too long.",
        );
    }
    let started = match app.federation.start_login(&id).await {
        Ok(s) => s,
        Err(e @ (LoginError::UnknownModule | LoginError::ModuleDisabled)) => {
            return error_page(
                StatusCode::NOT_FOUND,
                "Unknown login method",
                &e.to_string(),
            );
        }
        Err(e) => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Login failed",
                &e.to_string(),
            );
        }
    };
    let key = random_token();
    {
        let Ok(mut pending) = app.pending_logins.lock() else {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Login failed",
                "try again",
            );
        };
        if pending.len() >= MAX_PENDING_LOGINS
            && let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, p)| p.started)
                .map(|(k, _)| k.clone())
        {
            pending.remove(&oldest);
        }
        pending.insert(
            key.clone(),
            Pending {
                login: started.pending,
                query: q.query,
                started: app.clock.now(),
            },
        );
    }
    let mut r = super::from_http(portcullis::http::redirect(
        started.authorization_url.as_str(),
    ));
    if let Some(v) = app.cookie("portcullis_login", &key, "/login") {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `GET /login/<module id>/callback`: the provider sends the browser back here.
pub async fn callback(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query.unwrap_or_default();
    let Ok(callback_module) = ModuleId::new(id) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "Unknown login method",
            "No such login method.",
        );
    };
    // The pending login is taken, whatever happens next: a callback is used once.
    let pending = cookie_value(&headers, "portcullis_login")
        .and_then(|key| app.pending_logins.lock().ok()?.remove(key));
    let Some(pending) = pending else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Login failed",
            "This browser did not start a login here, or it expired; start again.",
        );
    };
    let login = match app
        .federation
        .complete_login(&callback_module, &pending.login, &query)
        .await
    {
        Ok(l) => l,
        Err(e) => return error_page(StatusCode::FORBIDDEN, "Login failed", &e.to_string()),
    };
    let account = match app.federation.sign_in(&login, &*app.accounts).await {
        Ok(Ok(account)) => account,
        Ok(Err(refusal)) => {
            return error_page(StatusCode::FORBIDDEN, "Login refused", &refusal.to_string());
        }
        Err(e) => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Login failed",
                &e.to_string(),
            );
        }
    };
    let target = if pending.query.is_empty() {
        "/account".to_owned()
    } else {
        format!("/authorize?{}", pending.query)
    };
    let mut r = super::from_http(portcullis::http::redirect(&target));
    if let Some(v) = app.new_session(account, Some(login.profile.module)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Some(v) = app.cookie("portcullis_login", "", "/login") {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `GET /account`: the logged-in account as JSON.
pub async fn account(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let Some(session) = app.session(&headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "not logged in"})),
        )
            .into_response();
    };
    let a = app.accounts.get(&session.user).unwrap_or(Account {
        id: session.user.clone(),
        username: session.user.clone(),
        ..Account::default()
    });
    let linked: Vec<_> = a
        .links
        .iter()
        .map(|(module, user_id)| serde_json::json!({"module": module, "user_id": user_id}))
        .collect();
    axum::Json(serde_json::json!({
        "username": a.username,
        "full_name": a.full_name,
        "email": a.email,
        "email_verified": a.email_verified,
        "avatar_url": a.avatar_url,
        "groups": a.groups,
        "linked_modules": linked,
    }))
    .into_response()
}

/// `GET /logout`: ends the session, then on to the provider's logout URL when the session came
/// from a module that has one.
pub async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let session = app.end_session(&headers);
    let mut target = "/".to_owned();
    if let Some(module) = session.and_then(|s| s.module)
        && let Ok(Some(url)) = app.federation.modules().logout_url(&module).await
    {
        target = url.to_string();
    }
    let mut r = super::from_http(portcullis::http::redirect(&target));
    if let Some(v) = app.cookie("portcullis_session", "", "/") {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// Local accounts for the seed's users, so a federated login can link to them by verified
/// email.
pub fn local_accounts(users: &[super::SeedUser]) -> MemoryAccounts {
    let accounts = MemoryAccounts::default();
    for u in users {
        accounts.insert(Account {
            id: u.username.clone(),
            username: u.username.clone(),
            full_name: u.full_name.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            groups: u.groups.iter().cloned().collect(),
            ..Account::default()
        });
    }
    accounts
}
