//! The demo authorization server's routes, shared by `main.rs` and the interop tests.

#[path = "federation.rs"]
pub mod federation;
#[path = "oidc.rs"]
mod oidc;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Form, FromRef, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use portcullis::axum::{Bearer, ResourceGuard, well_known_routes};
use portcullis::client::{ClientSettings, ClientType, Flow, NewClient, SecretChange};
use portcullis::users::MemoryUserDirectory;
use portcullis::users::UserDirectory as _;
use portcullis::{
    AuthorizationServer, Authorize, ClientId, Clock, Params, Scope, ServerSettings, Timestamp,
};
use serde::Deserialize;

/// The seed file: demo users and clients. Documented in docs/example-server.md.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Server-wide switches, for the flows that are off unless turned on.
    #[serde(default)]
    pub server: SeedServer,
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub clients: Vec<SeedClient>,
    /// Host groups and the permissions each gives its members (federated accounts get their
    /// permissions this way).
    #[serde(default)]
    pub groups: HashMap<String, Vec<String>>,
    /// Auth modules: identity providers users can log in with.
    #[serde(default)]
    pub auth_modules: Vec<federation::SeedModule>,
}

/// The seed's `server` object.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedServer {
    /// Offer the implicit grant (off by default, RFC 9700 §2.1.2).
    #[serde(default)]
    pub implicit_grant: bool,
    /// Offer the resource owner password grant (off by default, RFC 9700 §2.4).
    #[serde(default)]
    pub password_grant: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    /// Host groups the user belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    pub client_id: String,
    /// Keyed in; absent for a public client.
    #[serde(default)]
    pub client_secret: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub home_url: Option<String>,
    #[serde(default)]
    pub base_urls: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub flows: Vec<Flow>,
    #[serde(default)]
    pub require_pkce: bool,
    #[serde(default)]
    pub require_consent: bool,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// Reads a seed file; errors name the file and the JSON path of the bad field.
pub fn load_seed(path: &str) -> Result<Seed, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| format!("{path}: {}: {}", e.path(), e.inner()))
}

/// Security events go to standard error, one line each (they never hold a secret).
struct LogSecurityEvents;

impl portcullis::events::SecurityEvents for LogSecurityEvents {
    fn report(&self, event: &portcullis::events::SecurityEvent) {
        eprintln!("security event: {event:?}");
    }
}

/// How long a login session lasts.
const SESSION_LIFETIME: u64 = 8 * 3600;
/// Failed logins per user before the login form refuses that user for a while.
const LOGIN_MAX_FAILURES: u32 = 5;
/// How long that while is.
const LOGIN_LOCKOUT: u64 = 300;

/// Everything the routes share.
pub struct App {
    pub server: Arc<AuthorizationServer>,
    users: Arc<DemoDirectory>,
    pub federation: portcullis::federation::Federation,
    pub accounts: Arc<portcullis::federation::MemoryAccounts>,
    pending_logins: Mutex<HashMap<String, federation::Pending>>,
    oidc: oidc::OidcProvider,
    sessions: Mutex<HashMap<String, Session>>,
    login_failures: Mutex<HashMap<String, (u32, Timestamp)>>,
    clock: Arc<dyn Clock>,
    pub issuer: String,
}

#[derive(Clone)]
struct Session {
    user: String,
    csrf: String,
    expires_at: Timestamp,
    /// The auth module the user logged in through, if any.
    module: Option<portcullis::federation::ModuleId>,
}

/// The demo's users: the seed's, with passwords, and federated accounts, whose permissions
/// come from their groups.
struct DemoDirectory {
    local: MemoryUserDirectory,
    accounts: Arc<portcullis::federation::MemoryAccounts>,
    groups: HashMap<String, Scope>,
}

#[portcullis::async_trait]
impl portcullis::users::UserDirectory for DemoDirectory {
    async fn permitted_scopes(&self, user: &str) -> Result<Scope, portcullis::store::StoreError> {
        let mut tokens: Vec<String> = self
            .local
            .permitted_scopes(user)
            .await?
            .iter()
            .map(str::to_owned)
            .collect();
        if let Some(account) = self.accounts.get(user) {
            for group in &account.groups {
                if let Some(scope) = self.groups.get(group) {
                    tokens.extend(scope.iter().map(str::to_owned));
                }
            }
        }
        tokens.sort();
        tokens.dedup();
        Scope::from_tokens(tokens).map_err(|e| portcullis::store::StoreError::Backend(e.into()))
    }

    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<String>, portcullis::store::StoreError> {
        self.local.verify_password(username, password).await
    }
}

/// The protected routes' state: the bearer guard and the app.
#[derive(Clone)]
struct ApiState {
    guard: ResourceGuard,
    app: Arc<App>,
}

impl FromRef<ApiState> for ResourceGuard {
    fn from_ref(s: &ApiState) -> Self {
        s.guard.clone()
    }
}

impl FromRef<ApiState> for Arc<App> {
    fn from_ref(s: &ApiState) -> Self {
        s.app.clone()
    }
}

impl App {
    /// The demo API's resource identifier (RFC 9728 §1.2): this server's own origin, so its
    /// metadata lives at the root well-known URL.
    pub fn api(&self) -> String {
        self.issuer.trim_end_matches('/').to_owned()
    }

    /// Drops expired codes, tokens, sessions and login lockouts; run it now and then.
    pub async fn purge(&self) {
        let _ = self.server.purge_expired().await;
        let now = self.clock.now();
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.retain(|_, s| s.expires_at > now);
        }
        if let Ok(mut failures) = self.login_failures.lock() {
            failures.retain(|_, (_, until)| *until > now);
        }
        self.purge_logins();
    }

    /// Starts a session for `user` and returns its cookie.
    fn new_session(
        &self,
        user: String,
        module: Option<portcullis::federation::ModuleId>,
    ) -> Option<HeaderValue> {
        let id = random_token();
        self.sessions.lock().ok()?.insert(
            id.clone(),
            Session {
                user,
                csrf: random_token(),
                expires_at: self.clock.now().plus_seconds(SESSION_LIFETIME),
                module,
            },
        );
        self.cookie("portcullis_session", &id, "/")
    }

    /// Ends the request's session, returning it.
    fn end_session(&self, headers: &HeaderMap) -> Option<Session> {
        let id = session_id(headers)?;
        self.sessions.lock().ok()?.remove(id)
    }

    fn locked_out(&self, user: &str) -> bool {
        let now = self.clock.now();
        self.login_failures
            .lock()
            .ok()
            .and_then(|f| f.get(user).copied())
            .is_some_and(|(count, until)| count >= LOGIN_MAX_FAILURES && until > now)
    }

    fn login_failed(&self, user: &str) {
        let now = self.clock.now();
        if let Ok(mut failures) = self.login_failures.lock() {
            let entry = failures.entry(user.to_owned()).or_insert((0, now));
            if entry.1 <= now {
                *entry = (0, now);
            }
            entry.0 += 1;
            entry.1 = now.plus_seconds(LOGIN_LOCKOUT);
        }
    }

    /// Whether a form POST comes from our own pages: browsers send `Origin` and
    /// `Sec-Fetch-Site` on cross-site POSTs, which is how a forged login (login CSRF) or
    /// consent would arrive. Requests without either (curl, scripts) are let through.
    fn same_origin(&self, headers: &HeaderMap) -> bool {
        let header = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        if let Some(site) = header("sec-fetch-site")
            && !matches!(site, "same-origin" | "none")
        {
            return false;
        }
        match header("origin") {
            Some(origin) => origin == self.issuer.trim_end_matches('/'),
            None => true,
        }
    }

    /// The demo API's protected resource metadata (RFC 9728).
    fn resource(&self) -> portcullis::resource::ProtectedResourceMetadata {
        self.server
            .protected_resource(&self.api())
            .map(|m| m.resource_name("portcullis demo API"))
            // The API is the issuer's origin, which `ServerSettings::new` checked.
            .expect("the demo API is an absolute URL")
    }

    fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let id = session_id(headers)?;
        let session = self.sessions.lock().ok()?.get(id).cloned()?;
        (session.expires_at > self.clock.now()).then_some(session)
    }
}

fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::COOKIE)?
        .to_str()
        .ok()?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == "portcullis_session")
        .map(|(_, v)| v)
}

fn random_token() -> String {
    use rand::TryRng as _;
    let mut b = [0u8; 32];
    // The OS generator failing is not something a demo can recover from.
    rand::rngs::SysRng
        .try_fill_bytes(&mut b)
        .expect("OS random generator");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What the command line turns on besides the seed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `--allow-cimd`: clients may register themselves from a Client ID Metadata Document.
    pub allow_cimd: bool,
    /// `--cimd-insecure-loopback`: also accept `http://` client ID URLs on loopback hosts and
    /// fetch documents from loopback addresses. Development only.
    pub cimd_insecure_loopback: bool,
}

/// Builds the server and its routes from a seed. Errors name the seed's JSON path.
#[allow(dead_code)] // The binary calls `build_with`; tests/interop.rs calls this.
pub async fn build(
    seed: Seed,
    issuer: &str,
    clock: Arc<dyn Clock>,
) -> Result<(Router, Arc<App>), String> {
    build_with(seed, issuer, clock, Options::default()).await
}

/// [`build`], with the command line's options.
pub async fn build_with(
    mut seed: Seed,
    issuer: &str,
    clock: Arc<dyn Clock>,
    options: Options,
) -> Result<(Router, Arc<App>), String> {
    let mut settings =
        ServerSettings::new(issuer).map_err(|e| format!("--issuer: {}", e.reason))?;
    // The demo API is served by this server, under its own origin as resource identifier.
    let api = issuer.trim_end_matches('/').to_owned();
    settings.resources = vec![api.clone()];
    settings.default_resource = Some(api);
    settings.implicit_grant = seed.server.implicit_grant;
    settings.password_grant = seed.server.password_grant;

    let local = MemoryUserDirectory::default();
    let mut scopes = std::collections::BTreeSet::new();
    for (i, u) in seed.users.iter().enumerate() {
        let perms = Scope::from_tokens(u.permissions.iter().cloned())
            .map_err(|e| format!("users[{i}].permissions: {e}"))?;
        scopes.extend(perms.iter().map(str::to_owned));
        local
            .insert(&u.username, &u.password, perms)
            .map_err(|e| e.to_string())?;
    }
    let mut groups = HashMap::new();
    for (name, perms) in &seed.groups {
        let perms =
            Scope::from_tokens(perms.iter().cloned()).map_err(|e| format!("groups.{name}: {e}"))?;
        scopes.extend(perms.iter().map(str::to_owned));
        groups.insert(name.clone(), perms);
    }
    let accounts = Arc::new(federation::local_accounts(&seed.users));
    let users = Arc::new(DemoDirectory {
        local,
        accounts: accounts.clone(),
        groups,
    });
    for c in &seed.clients {
        scopes.extend(c.scopes.iter().cloned());
    }
    settings.scopes_supported = scopes.into_iter().collect();
    // Self-registered clients may ask for any scope the demo knows; what they get is still
    // capped by the user's permissions, and the user is always asked.
    settings.cimd_enabled = options.allow_cimd;
    settings.cimd.scopes = settings.scopes_supported.clone();
    settings.cimd.url_policy.insecure_loopback = options.cimd_insecure_loopback;
    let connect = std::time::Duration::from_millis(2500);
    let fetcher = if options.cimd_insecure_loopback {
        portcullis::store::ReqwestFetcher::allowing_loopback(connect)
    } else {
        portcullis::store::ReqwestFetcher::new(connect)
    }
    .map_err(|e| e.to_string())?;

    // Auth modules call the providers the administrator named: public addresses, and any
    // address the seed writes as a literal (a provider on this machine or the local network).
    let provider_fetcher: Arc<dyn portcullis::store::HttpFetcher> = Arc::new(
        portcullis::store::ReqwestFetcher::allowing(
            federation::literal_addresses(&seed.auth_modules),
            connect,
        )
        .map_err(|e| e.to_string())?,
    );
    let provider_tokens = Arc::new(portcullis::store::memory::MemoryProviderTokenStore::default());
    let modules = std::mem::take(&mut seed.auth_modules);
    let federated = federation::create_modules(modules, issuer, clock.clone(), provider_fetcher)
        .await?
        .with_provider_tokens(provider_tokens.clone());
    let mut builder = AuthorizationServer::builder(settings, users.clone())
        .clock(clock.clone())
        .security_events(Arc::new(LogSecurityEvents))
        .fetcher(Arc::new(fetcher));
    for m in federated
        .modules()
        .list()
        .await
        .map_err(|e| e.to_string())?
    {
        if let Some(grant_type) = m.settings.extension_grant_type.clone() {
            builder =
                builder.extension_grant(Arc::new(portcullis::federation::ProviderTokenGrant::new(
                    federated.clone(),
                    m.id.clone(),
                    grant_type,
                    federation::PROVIDER_TOKEN_SCOPE,
                    provider_tokens.clone(),
                )));
        }
    }
    let server = builder.build().map_err(|e| e.to_string())?;
    for (i, c) in seed.clients.into_iter().enumerate() {
        let at = |field: &str| format!("clients[{i}].{field}");
        let id = ClientId::new(c.client_id.clone())
            .map_err(|e| format!("{}: {}", at("client_id"), e.reason))?;
        let settings = ClientSettings {
            name: c.name,
            description: c.description,
            home_url: c.home_url,
            base_urls: c.base_urls,
            redirect_uris: c.redirect_uris,
            flows: c.flows.into_iter().collect(),
            require_pkce: c.require_pkce,
            require_consent: c.require_consent,
            scopes: c.scopes,
            ..ClientSettings::default()
        };
        let client_type = if c.client_secret.is_some() {
            ClientType::Confidential
        } else {
            ClientType::Public
        };
        let mut new = NewClient::manual(client_type, settings);
        new.client_id = Some(id);
        let registry = server.clients();
        let created = match c.client_secret {
            Some(secret) => registry
                .create_with_secret(
                    new,
                    SecretChange::KeyIn {
                        secret: secret.clone(),
                        confirmation: secret,
                    },
                )
                .await
                .map(|c| c.warnings()),
            None => registry.create(new).await.map(|c| c.warnings),
        };
        created
            .map_err(|e| match e {
                portcullis::client::ClientError::InvalidField(f) => {
                    format!("{}: {}", at(&f.field), f.reason)
                }
                // Its message starts with the field's name already: name it once.
                portcullis::client::ClientError::Secret(s) => format!("clients[{i}].{s}"),
                portcullis::client::ClientError::Exists(_) => {
                    format!("{}: is listed twice", at("client_id"))
                }
                other => format!("clients[{i}]: {other}"),
            })
            .map(|warnings| {
                for w in warnings {
                    eprintln!("warning: clients[{i}]: {w}");
                }
            })?;
    }

    let app = Arc::new(App {
        server: Arc::new(server),
        users,
        federation: federated,
        accounts,
        pending_logins: Mutex::default(),
        oidc: oidc::OidcProvider::new()?,
        sessions: Mutex::default(),
        login_failures: Mutex::default(),
        clock,
        issuer: issuer.to_owned(),
    });
    let server = app.server.clone();
    let api = app.resource();
    // The demo API: a route that runs only with a valid token for it (the extractor answers
    // the RFC 6750 challenge, pointing at the API's RFC 9728 metadata, by itself).
    let protected = Router::new()
        .route("/api/me", get(me))
        .route("/userinfo", get(oidc::user_info))
        .with_state(ApiState {
            guard: ResourceGuard::new(server.clone(), api.clone()),
            app: app.clone(),
        });
    let router = Router::new()
        .route("/", get(index))
        .route("/authorize", get(authorize))
        .route("/login", post(login))
        .route("/consent", post(consent))
        .route("/token", post(token))
        .route("/introspect", post(introspect))
        .route("/revoke", post(revoke))
        .route("/login/{id}", get(federation::start))
        .route("/login/{id}/callback", get(federation::callback))
        .route("/account", get(federation::account))
        .route("/logout", get(federation::logout))
        .route(
            "/.well-known/openid-configuration",
            get(oidc::configuration),
        )
        .route("/oidc/jwks.json", get(oidc::jwks))
        .with_state(app.clone())
        .merge(protected)
        // RFC 8414 and RFC 9728 metadata, and the JWKS when tokens are JWTs.
        .merge(well_known_routes(server, &[api]))
        .layer(axum::middleware::map_response(secure_headers))
        .layer(axum::middleware::from_fn(log_request));
    Ok((router, app))
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(page(
            "Forbidden",
            "<p>The form is stale or came from another site; try again.</p>",
        )),
    )
        .into_response()
}

/// RFC 9700 §4.16: pages that grant access must not be framed by other sites (clickjacking);
/// pages with per-session tokens must not be cached.
/// One line per request on standard error: method, path (never the query, which can carry a
/// code or token), status, and how long it took.
async fn log_request(req: Request, next: axum::middleware::Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let start = std::time::Instant::now();
    let r = next.run(req).await;
    eprintln!(
        "{method} {path} {} {} us",
        r.status().as_u16(),
        start.elapsed().as_micros()
    );
    r
}

async fn secure_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

fn from_http(r: axum::http::Response<Vec<u8>>) -> Response {
    r.map(Body::from).into_response()
}

/// Text for HTML: escapes the five characters that matter.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:32em;margin:3em auto}}</style></head>\
         <body><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    )
}

async fn index(State(app): State<Arc<App>>) -> Html<String> {
    let base = app.issuer.trim_end_matches('/');
    Html(page(
        "portcullis demo",
        &format!(
            "<p>An OAuth 2.0 authorization server. Metadata: \
             <a href=\"{b}/.well-known/oauth-authorization-server\">{b}/.well-known/oauth-authorization-server</a></p>",
            b = esc(base)
        ),
    ))
}

fn login_page(query: &str, client_name: &str, error: Option<&str>, buttons: &str) -> Html<String> {
    let error = error
        .map(|e| format!("<p style=\"color:#b00\">{}</p>", esc(e)))
        .unwrap_or_default();
    Html(page(
        "Sign in",
        &format!(
            "<p><b>{c}</b> wants to access your account.</p>{error}\
             <form method=\"post\" action=\"/login\">\
             <input type=\"hidden\" name=\"query\" value=\"{q}\">\
             <p><label>Username <input name=\"username\" autocomplete=\"username\"></label></p>\
             <p><label>Password <input name=\"password\" type=\"password\"></label></p>\
             <p><button type=\"submit\">Sign in</button></p></form>{buttons}",
            c = esc(client_name),
            q = esc(query)
        ),
    ))
}

async fn outcome(app: &App, query: &str, session: Option<&Session>, out: Authorize) -> Response {
    match out {
        Authorize::Redirect(location) => {
            if let Some(s) = session {
                app.oidc
                    .code_issued(query, &s.user, &location, app.clock.now());
            }
            from_http(portcullis::http::redirect(&location))
        }
        Authorize::Login(prompt) => {
            // No session: the default module's provider if there is one, else our own page.
            if let Ok(portcullis::federation::LoginTarget::Module(id)) =
                app.federation.modules().login_target().await
            {
                let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
                return from_http(portcullis::http::redirect(&format!(
                    "/login/{id}?query={q}"
                )));
            }
            let buttons = federation::module_buttons(app, query).await;
            login_page(query, &prompt.client_name, None, &buttons).into_response()
        }
        Authorize::Consent(ask) => {
            let csrf = session.map(|s| s.csrf.as_str()).unwrap_or_default();
            let scopes: String = ask
                .scopes
                .iter()
                .map(|s| format!("<li><code>{}</code></li>", esc(s)))
                .collect();
            let home = ask
                .home_url
                .as_deref()
                .map(|h| format!("<p>Home page: <a href=\"{h}\">{h}</a></p>", h = esc(h)))
                .unwrap_or_default();
            // MCP authorization spec: show where the grant goes; RFC 8252 §8.6: warn when that
            // is only ever this device, where any program could be listening.
            let destination = format!(
                "<p>You will be sent back to <b>{}</b>.</p>{}",
                esc(&ask.redirect_host),
                if ask.loopback_only {
                    "<p><b>Warning:</b> this application only ever receives access on your own \
                     computer, where any program could pose as it. Allow only if you just \
                     started it yourself.</p>"
                } else {
                    ""
                }
            );
            // draft-ietf-oauth-client-id-metadata-document §8.5: a client that registered
            // itself is vouched for only by the host its metadata document is on.
            let vouched = ask
                .auto_registered_by
                .as_deref()
                .map(|host| {
                    format!(
                        "<p>This application registered itself; its description comes from \
                         <b>{}</b>. Allow only if you trust that site.</p>",
                        esc(host)
                    )
                })
                .unwrap_or_default();
            Html(page(
                "Allow access?",
                &format!(
                    "<p><b>{c}</b> asks to act for <b>{u}</b> with these scopes:</p><ul>{scopes}</ul>{vouched}{home}{destination}\
                     <form method=\"post\" action=\"/consent\">\
                     <input type=\"hidden\" name=\"query\" value=\"{q}\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                     <button name=\"decision\" value=\"allow\">Allow</button> \
                     <button name=\"decision\" value=\"deny\">Deny</button></form>",
                    c = esc(&ask.client_name),
                    u = esc(&ask.user),
                    q = esc(query),
                    csrf = esc(csrf)
                ),
            ))
            .into_response()
        }
        Authorize::Refused(e) => {
            let _ = app;
            (
                StatusCode::BAD_REQUEST,
                Html(page(
                    "Request refused",
                    &format!(
                        "<p><code>{}</code>: {}</p>",
                        esc(e.code.as_str()),
                        esc(&e.description)
                    ),
                )),
            )
                .into_response()
        }
        // An outcome added in a later version: refuse rather than guess.
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "unsupported outcome").into_response(),
    }
}

async fn authorize(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query.unwrap_or_default();
    let session = app.session(&headers);
    let out = app
        .server
        .authorize(
            &Params::parse(&query),
            session.as_ref().map(|s| s.user.as_str()),
        )
        .await;
    outcome(&app, &query, session.as_ref(), out).await
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    query: String,
}

async fn login(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !app.same_origin(&headers) {
        return forbidden();
    }
    let verified = if app.locked_out(&form.username) {
        None
    } else {
        app.users
            .verify_password(&form.username, &form.password)
            .await
            .ok()
            .flatten()
    };
    match verified {
        Some(user) => {
            let mut r = from_http(portcullis::http::redirect(&format!(
                "/authorize?{}",
                form.query
            )));
            if let Some(v) = app.new_session(user, None) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        None => {
            app.login_failed(&form.username);
            let name = Params::parse(&form.query)
                .one("client_id")
                .ok()
                .flatten()
                .unwrap_or("An application")
                .to_owned();
            let buttons = federation::module_buttons(&app, &form.query).await;
            (
                StatusCode::UNAUTHORIZED,
                login_page(
                    &form.query,
                    &name,
                    Some("Wrong username or password, or too many attempts."),
                    &buttons,
                ),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct ConsentForm {
    query: String,
    csrf: String,
    decision: String,
}

async fn consent(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    form: Result<Form<ConsentForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    // A form without its fields (the CSRF token among them) is a forged or stale one: the
    // same page as a wrong token, not the framework's plain-text rejection.
    let Ok(Form(form)) = form else {
        return forbidden();
    };
    let Some(session) = app.session(&headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Html(page("Session expired", "<p>Sign in again.</p>")),
        )
            .into_response();
    };
    // The consent form is the one place a forged POST could grant access: check the token
    // bound to this session.
    if !app.same_origin(&headers)
        || !bool::from(subtle::ConstantTimeEq::ct_eq(
            form.csrf.as_bytes(),
            session.csrf.as_bytes(),
        ))
    {
        return forbidden();
    }
    let params = Params::parse(&form.query);
    let out = app
        .server
        .authorize_with_consent(&params, &session.user, form.decision == "allow")
        .await;
    outcome(&app, &form.query, Some(&session), out).await
}

/// Reads a body up to the server's limit (one byte more tells "too large") and rebuilds the
/// request for the `http` glue.
async fn buffered(app: &App, req: Request) -> Result<axum::http::Request<Vec<u8>>, Response> {
    let (parts, body) = req.into_parts();
    let limit = app.server.settings().max_body_bytes;
    match to_bytes(body, limit + 1).await {
        Ok(bytes) if bytes.len() <= limit => Ok(axum::http::Request::from_parts(parts, bytes.to_vec())),
        _ => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"error\":\"invalid_request\",\"error_description\":\"the request body exceeds {limit} bytes\"}}"),
        )
            .into_response()),
    }
}

async fn token(State(app): State<Arc<App>>, req: Request) -> Response {
    match buffered(&app, req).await {
        Ok(req) => {
            let form = req.body().clone();
            let mut answer = portcullis::http::token(&app.server, req).await;
            if answer.status() == StatusCode::OK
                && let Some(body) =
                    app.oidc
                        .add_id_token(&app.issuer, &form, answer.body(), app.clock.now())
            {
                *answer.body_mut() = body;
            }
            from_http(answer)
        }
        Err(r) => r,
    }
}

async fn introspect(State(app): State<Arc<App>>, req: Request) -> Response {
    match buffered(&app, req).await {
        Ok(req) => from_http(portcullis::http::introspect(&app.server, req).await),
        Err(r) => r,
    }
}

async fn revoke(State(app): State<Arc<App>>, req: Request) -> Response {
    match buffered(&app, req).await {
        Ok(req) => from_http(portcullis::http::revoke(&app.server, req).await),
        Err(r) => r,
    }
}

/// The demo protected API: who the token acts for.
async fn me(Bearer(info): Bearer) -> Response {
    axum::Json(serde_json::json!({
        "sub": info.subject.as_deref().unwrap_or(info.client_id.as_str()),
        "client_id": info.client_id.as_str(),
        "scope": info.scope.to_string(),
    }))
    .into_response()
}
