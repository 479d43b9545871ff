//! Federated login end to end: two instances of the example server on loopback, the first
//! with an auth module whose identity provider is the second, driven over real HTTP by a
//! scripted browser.

#[path = "../examples/server/app.rs"]
#[allow(dead_code)]
mod app;

use std::collections::HashMap;
use std::sync::Arc;

use oauth2::reqwest;
use portcullis::SystemClock;
use serde_json::{Value, json};

const HOST_SECRET: &str = "host-secret-0123456789abcdef0123456789";

/// The provider's seed: carol, and the host registered as its client.
fn idp_seed(host: &str) -> Value {
    json!({
        "users": [{
            "username": "carol", "password": "carol-password",
            "permissions": ["openid", "profile", "email", "read"],
            "full_name": "Carol Jones", "email": "carol@idp.example", "email_verified": true,
            "groups": ["idp-admins", "idp-staff"]
        }],
        "clients": [{
            "client_id": "host", "client_secret": HOST_SECRET, "name": "Host",
            "redirect_uris": [format!("{host}/login/idp/callback")],
            "flows": ["authorization_code"], "require_pkce": true,
            "scopes": ["openid", "profile", "email", "read"]
        }]
    })
}

/// The host's seed: a client app, groups with permissions, and the auth module `module`.
fn host_seed(module: Value) -> Value {
    json!({
        "users": [{"username": "alice", "password": "alice-password", "permissions": ["read"],
                   "email": "alice@host.example", "email_verified": true}],
        "groups": {"admins": ["read", "write"], "everyone": ["read"]},
        "clients": [{
            "client_id": "app", "name": "App", "redirect_uris": ["http://127.0.0.1/callback"],
            "flows": ["authorization_code"], "scopes": ["read", "write"]
        }],
        "auth_modules": [module]
    })
}

fn common_module(idp: &str, kind: &str) -> Value {
    let mut m = json!({
        "id": "idp", "name": "Demo IdP", "type": kind,
        "client_id": "host", "client_secret": HOST_SECRET,
        "mapping": {
            "user_id": "sub", "username": "preferred_username", "full_name": "name",
            "email": "email", "email_verified": "email_verified", "groups": "groups"
        },
        "group_mappings": {"idp-admins": ["admins"]},
        "user_creation": true, "auto_join_groups": ["everyone"], "credentials": "basic"
    });
    if kind == "oauth2" {
        m["scopes"] = json!("openid profile email read");
        m["endpoints"] = json!({
            "authorization": format!("{idp}/authorize"),
            "token": format!("{idp}/token"),
            "user_info": format!("{idp}/userinfo")
        });
    } else {
        // The list form of `scopes`, as a script may write it.
        m["scopes"] = json!(["openid", "profile", "email", "read"]);
        m["issuer"] = json!(idp);
    }
    m
}

struct Browser {
    http: reqwest::Client,
    /// Cookies per origin: two servers on one address must not share them here.
    cookies: HashMap<String, HashMap<String, String>>,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

fn origin(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    u.origin().ascii_serialization()
}

impl Browser {
    fn new() -> Self {
        Browser {
            http: reqwest::ClientBuilder::new()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self, url: &str) -> String {
        self.cookies
            .get(&origin(url))
            .map(|c| {
                c.iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    async fn send(&mut self, req: reqwest::RequestBuilder, url: &str) -> Page {
        let r = req
            .header("cookie", self.cookie_header(url))
            .send()
            .await
            .unwrap();
        let jar = self.cookies.entry(origin(url)).or_default();
        for v in r.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            jar.insert(k.to_owned(), v.to_owned());
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        Page {
            status,
            location,
            body: r.text().await.unwrap(),
        }
    }

    async fn get(&mut self, url: &str) -> Page {
        let req = self.http.get(url);
        self.send(req, url).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(url).form(form);
        self.send(req, url).await
    }
}

/// Resolves a Location against the URL it came from.
fn follow(from: &str, location: &str) -> String {
    url::Url::parse(from)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

async fn serve(listener: tokio::net::TcpListener, seed: Value, base: &str) -> Arc<app::App> {
    let seed: app::Seed = serde_json::from_value(seed).unwrap();
    let (router, app) = app::build(seed, base, Arc::new(SystemClock)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    app
}

/// Starts the provider, then the host with `kind`'s module pointing at it.
async fn two_servers(kind: &str) -> (String, String, Arc<app::App>) {
    let idp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp = format!("http://{}", idp_listener.local_addr().unwrap());
    let host = format!("http://{}", host_listener.local_addr().unwrap());
    serve(idp_listener, idp_seed(&host), &idp).await;
    let host_app = serve(host_listener, host_seed(common_module(&idp, kind)), &host).await;
    (idp, host, host_app)
}

/// From the host's authorization request, through the provider's login, back to the host's
/// client with a code; then the account page.
async fn federated_login(kind: &str) -> Value {
    let (idp, host, _app) = two_servers(kind).await;
    let mut b = Browser::new();
    let authorize = "response_type=code&client_id=app\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&scope=read&state=app-state\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    // The host's login page offers the module, carrying the authorization request.
    let login = b.get(&format!("{host}/authorize?{authorize}")).await;
    assert_eq!(login.status, 200);
    assert!(
        login.body.contains("Sign in with Demo IdP"),
        "{}",
        login.body
    );
    let start = format!(
        "{host}/login/idp?query={}",
        url::form_urlencoded::byte_serialize(authorize.as_bytes()).collect::<String>()
    );
    let to_idp = b.get(&start).await;
    assert_eq!(to_idp.status, 303);
    let idp_authorize = to_idp.location.unwrap();
    assert!(
        idp_authorize.starts_with(&format!("{idp}/authorize?")),
        "{idp_authorize}"
    );
    // At the provider: log in as carol.
    let page = b.get(&idp_authorize).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let idp_query = idp_authorize.split_once('?').unwrap().1.to_owned();
    let logged_in = b
        .post(
            &format!("{idp}/login"),
            &[
                ("username", "carol"),
                ("password", "carol-password"),
                ("query", &idp_query),
            ],
        )
        .await;
    assert_eq!(logged_in.status, 303);
    let back = follow(&format!("{idp}/login"), &logged_in.location.unwrap());
    let to_host = b.get(&back).await;
    assert_eq!(to_host.status, 303, "{}", to_host.body);
    let callback = to_host.location.unwrap();
    assert!(
        callback.starts_with(&format!("{host}/login/idp/callback?")),
        "{callback}"
    );
    // Back at the host: the callback logs carol in and continues the app's request.
    let done = b.get(&callback).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let resumed = follow(&callback, &done.location.unwrap());
    assert!(resumed.contains("/authorize?"), "{resumed}");
    let to_app = b.get(&resumed).await;
    assert_eq!(to_app.status, 303, "{}", to_app.body);
    let app_redirect = to_app.location.unwrap();
    assert!(
        app_redirect.starts_with("http://127.0.0.1:9/callback?code="),
        "{app_redirect}"
    );
    assert!(app_redirect.contains("state=app-state"));
    // The account, as created by the login.
    let account = b.get(&format!("{host}/account")).await;
    assert_eq!(account.status, 200, "{}", account.body);
    // Without a session, no account.
    let anonymous = Browser::new().get(&format!("{host}/account")).await;
    assert_eq!(anonymous.status, 401);
    serde_json::from_str(&account.body).unwrap()
}

fn assert_carol(account: &Value) {
    assert_eq!(account["username"], "carol");
    assert_eq!(account["full_name"], "Carol Jones");
    assert_eq!(account["email"], "carol@idp.example");
    assert_eq!(account["email_verified"], true);
    // Auto-join, and idp-admins mapped to admins; idp-staff maps to nothing.
    assert_eq!(account["groups"], json!(["admins", "everyone"]));
    assert_eq!(
        account["linked_modules"],
        json!([{"module": "idp", "user_id": "carol"}])
    );
}

#[tokio::test]
async fn a_generic_oauth2_module_logs_a_user_in_through_another_instance() {
    assert_carol(&federated_login("oauth2").await);
}

#[tokio::test]
async fn a_generic_openid_connect_module_checks_the_id_token() {
    assert_carol(&federated_login("oidc").await);
}

#[tokio::test]
async fn a_bad_auth_module_in_the_seed_names_its_json_path() {
    let cases = [
        (
            json!({"id": "x", "type": "oauth2", "client_id": "c",
                "endpoints": {"authorization": "https://a.example/a", "token": "https://a.example/t",
                              "user_info": "https://a.example/u"},
                "mapping": {"user_id": "id ?: "}}),
            "auth_modules[0].mapping.user_id: at position",
        ),
        (
            json!({"id": "Bad Id", "type": "oauth2", "client_id": "c"}),
            "auth_modules[0].id",
        ),
        (
            json!({"id": "x", "client_id": "c"}),
            "auth_modules[0].preset",
        ),
        (
            json!({"id": "x", "type": "oauth2", "client_id": "c"}),
            "auth_modules[0].endpoints",
        ),
        (
            json!({"id": "x", "type": "oauth2", "client_id": "c",
                "endpoints": {"authorization": "http://a.example/a", "token": "https://a.example/t",
                              "user_info": "https://a.example/u"},
                "mapping": {"user_id": "id"}}),
            "auth_modules[0].endpoints.authorization",
        ),
        (
            json!({"id": "x", "preset": "github", "client_id": "c", "credentials": "header"}),
            "auth_modules[0].credentials",
        ),
    ];
    for (module, expected) in cases {
        let seed = host_seed(module);
        let text = seed.to_string();
        let de = &mut serde_json::Deserializer::from_str(&text);
        let error = match serde_path_to_error::deserialize::<_, app::Seed>(de) {
            Err(e) => format!("{}: {}", e.path(), e.inner()),
            Ok(seed) => app::build(seed, "http://127.0.0.1:1", Arc::new(SystemClock))
                .await
                .err()
                .expect("a bad module is refused"),
        };
        assert!(error.starts_with(expected), "{expected}: {error}");
    }
}

#[tokio::test]
async fn the_modules_timeouts_bound_a_provider_that_never_answers() {
    use portcullis::federation::{
        AuthModules, Endpoints, Federation, LoginError, MappingText, ModuleId, ModuleSettings,
        ModuleType,
    };
    use std::time::Duration;
    // A token endpoint that takes the connection and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let fetcher =
        portcullis::store::ReqwestFetcher::allowing_loopback(Duration::from_secs(2)).unwrap();
    let modules = AuthModules::new(
        Arc::new(portcullis::store::memory::MemoryAuthModuleStore::default()),
        Arc::new(SystemClock),
        url::Url::parse("https://host.example.com").unwrap(),
    );
    let federation = Federation::new(modules, Arc::new(fetcher));
    let u = |p: &str| url::Url::parse(&format!("{at}{p}")).unwrap();
    let mut s = ModuleSettings::generic(
        "Silent",
        ModuleType::OAuth2,
        Endpoints {
            user_info: Some(u("/user")),
            ..Endpoints::new(u("/authorize"), u("/token"))
        },
    );
    s.client_id = "host".into();
    s.mapping = MappingText {
        user_id: Some("id".into()),
        ..MappingText::default()
    }
    .parse()
    .unwrap();
    s.connect_timeout = Duration::from_millis(200);
    s.read_timeout = Duration::from_millis(300);
    let id = ModuleId::new("silent").unwrap();
    federation
        .modules()
        .create("root", Some(id.clone()), s)
        .await
        .unwrap();
    federation.modules().enable("root", &id).await.unwrap();
    let start = federation.start_login(&id).await.unwrap();
    let state = start
        .authorization_url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    // With the library's default limits (10 s) this would outlast the bound below.
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        federation.complete_login(
            &start.pending.module,
            &start.pending,
            &format!("code=c&state={state}"),
        ),
    )
    .await
    .expect("the module's timeouts end the call");
    assert_eq!(
        result.unwrap_err(),
        LoginError::Timeout { endpoint: "token" }
    );
}
