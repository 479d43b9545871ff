//! The demo server as an OpenID Connect provider, so that one instance can be another's
//! identity provider: discovery, the signing keys, user info, and an ID token added to the
//! token response of a code issued for the `openid` scope.
//!
//! A demo only: the key is a fixed test key from `examples/data`, and the ID token is added
//! around the library's token endpoint rather than by it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis::Timestamp;
use portcullis::axum::Bearer;
use serde_json::{Value, json};

use super::App;

const KEY_PEM: &[u8] = include_bytes!("../data/demo-idp-es256.pem");
const KID: &str = "demo-idp";
/// How long an ID token is valid.
const ID_TOKEN_LIFETIME: u64 = 300;
/// How long a code's binding is kept (codes themselves live shorter).
const BINDING_LIFETIME: u64 = 600;

/// What an ID token for a code needs: who authorized it, for which client, and the nonce.
struct Binding {
    user: String,
    client_id: String,
    nonce: Option<String>,
    at: Timestamp,
}

/// The provider's key and the codes issued for `openid`.
pub struct OidcProvider {
    key: EncodingKey,
    jwk: Value,
    codes: Mutex<HashMap<String, Binding>>,
}

impl OidcProvider {
    pub fn new() -> Result<Self, String> {
        let signer = portcullis::token::JwtSigner::es256_pem(KID, KEY_PEM)
            .map_err(|e| format!("demo OpenID Connect key: {}", e.reason))?;
        let jwk = serde_json::to_value(signer.public_jwk()).map_err(|e| e.to_string())?;
        let key = EncodingKey::from_ec_pem(KEY_PEM).map_err(|e| e.to_string())?;
        Ok(OidcProvider {
            key,
            jwk,
            codes: Mutex::default(),
        })
    }

    /// Called with each authorization response: a code issued for `openid` is remembered with
    /// the request's nonce.
    pub fn code_issued(&self, query: &str, user: &str, location: &str, now: Timestamp) {
        let request = portcullis::Params::parse(query);
        let one = |name: &str| request.one(name).ok().flatten().map(str::to_owned);
        let openid = one("scope").is_some_and(|s| s.split(' ').any(|s| s == "openid"));
        let code = url::Url::parse(location).ok().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
        });
        let (Some(code), Some(client_id), true) = (code, one("client_id"), openid) else {
            return;
        };
        if let Ok(mut codes) = self.codes.lock() {
            codes.retain(|_, b| b.at.0 + BINDING_LIFETIME > now.0);
            codes.insert(
                code,
                Binding {
                    user: user.to_owned(),
                    client_id,
                    nonce: one("nonce"),
                    at: now,
                },
            );
        }
    }

    /// Adds an ID token to a successful token response for a code issued for `openid`.
    pub fn add_id_token(
        &self,
        issuer: &str,
        form: &[u8],
        body: &[u8],
        now: Timestamp,
    ) -> Option<Vec<u8>> {
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(form).into_owned().collect();
        if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return None;
        }
        let binding = self.codes.lock().ok()?.remove(form.get("code")?)?;
        let mut answer: Value = serde_json::from_slice(body).ok()?;
        let mut claims = json!({
            "iss": issuer,
            "sub": binding.user,
            "aud": binding.client_id,
            "iat": now.0,
            "exp": now.0 + ID_TOKEN_LIFETIME,
            "auth_time": binding.at.0,
        });
        if let Some(nonce) = binding.nonce {
            claims["nonce"] = json!(nonce);
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(KID.into());
        let token = jsonwebtoken::encode(&header, &claims, &self.key).ok()?;
        answer["id_token"] = json!(token);
        serde_json::to_vec(&answer).ok()
    }
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery §4).
pub async fn configuration(State(app): State<Arc<App>>) -> Response {
    let base = app.issuer.trim_end_matches('/');
    axum::Json(json!({
        "issuer": app.issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/oidc/jwks.json"),
        "end_session_endpoint": format!("{base}/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        // The library puts `iss` on every authorization response (RFC 9207).
        "authorization_response_iss_parameter_supported": true,
        "scopes_supported": app.server.settings().scopes_supported,
    }))
    .into_response()
}

/// `GET /oidc/jwks.json`: the ID token key.
pub async fn jwks(State(app): State<Arc<App>>) -> Response {
    axum::Json(json!({"keys": [app.oidc.jwk]})).into_response()
}

/// `GET /userinfo`: the profile of the user the bearer token acts for.
pub async fn user_info(State(app): State<Arc<App>>, Bearer(info): Bearer) -> Response {
    // OpenID Connect Core §5.3: user info is for tokens issued for `openid`.
    if !info.scope.contains("openid") {
        return (
            axum::http::StatusCode::FORBIDDEN,
            [(
                axum::http::header::WWW_AUTHENTICATE,
                "Bearer error=\"insufficient_scope\", scope=\"openid\"",
            )],
            axum::Json(json!({"error": "insufficient_scope", "error_description": "scope: user info needs `openid`"})),
        )
            .into_response();
    }
    let Some(user) = info.subject.as_deref() else {
        return (
            axum::http::StatusCode::FORBIDDEN,
            axum::Json(json!({"error": "insufficient_scope", "error_description": "the token acts for no user"})),
        )
            .into_response();
    };
    let account = app.accounts.get(user);
    axum::Json(json!({
        "sub": user,
        "preferred_username": account.as_ref().map(|a| a.username.clone()).unwrap_or_else(|| user.to_owned()),
        "name": account.as_ref().and_then(|a| a.full_name.clone()),
        "email": account.as_ref().and_then(|a| a.email.clone()),
        "email_verified": account.as_ref().map(|a| a.email_verified),
        "groups": account.as_ref().map(|a| a.groups.iter().cloned().collect::<Vec<_>>()).unwrap_or_default(),
    }))
    .into_response()
}
