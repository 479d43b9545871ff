//! A login through an auth module: the redirect to the provider, and the callback that
//! exchanges the code, reads the profile and maps it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::admin::AuthModules;
use super::error::LoginError;
use super::id_token;
use super::module::{AuthModule, ModuleId, ModuleSettings, ProviderSecret};
use super::profile::{self, ExternalProfile};
use super::provider::{self, ProviderTokens};
use crate::clock::Timestamp;
use crate::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
use crate::server::Params;
use crate::store::{HttpFetcher, ProviderTokenStore};

/// How long a started login may take to come back.
pub const LOGIN_TIMEOUT_SECONDS: u64 = 600;

/// What the host keeps in the user's session between the redirect and the callback. It holds
/// secrets (the PKCE verifier): keep it server-side, never in a URL. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The module the login goes through.
    pub module: ModuleId,
    state: String,
    verifier: String,
    nonce: Option<String>,
    started_at: Timestamp,
    test: bool,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("module", &self.module)
            .field("started_at", &self.started_at)
            .field("test", &self.test)
            .finish_non_exhaustive()
    }
}

impl PendingLogin {
    /// Whether this is an administrator's test login.
    pub fn is_test(&self) -> bool {
        self.test
    }
}

/// A started login: send the browser to `authorization_url`, keep `pending` in the session.
#[derive(Debug, Clone)]
pub struct LoginStart {
    /// The provider's authorization URL with every parameter on it.
    pub authorization_url: Url,
    /// What the callback needs.
    pub pending: PendingLogin,
}

/// A completed login: who the user is at the provider, and the provider's tokens.
#[derive(Debug, Clone)]
pub struct FederatedLogin {
    /// The mapped profile.
    pub profile: ExternalProfile,
    /// The provider's tokens, for the extension grant.
    pub tokens: ProviderTokens,
    /// The JSON the mapping read (ID token claims overlaid with user info, and the emails
    /// endpoint's answer under `emails`), for the test login's report.
    pub raw_profile: Value,
}

/// One step of a login, as the test login reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginStep {
    /// The callback's `state`, `iss` and `error`.
    Callback,
    /// The token request.
    Token,
    /// The ID token's checks.
    IdToken,
    /// The user-info read.
    UserInfo,
    /// The emails endpoint.
    Email,
    /// The avatar endpoint.
    Avatar,
    /// The attribute mapping.
    Mapping,
}

/// The identity-federation side: logins through the host's auth modules.
#[derive(Clone)]
pub struct Federation {
    modules: AuthModules,
    fetcher: Arc<dyn HttpFetcher>,
    provider_tokens: Option<Arc<dyn ProviderTokenStore>>,
    key_sets: Arc<id_token::KeySets>,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation")
            .field("modules", &self.modules)
            .finish_non_exhaustive()
    }
}

pub(crate) type Steps = Vec<(LoginStep, Result<(), LoginError>)>;

impl Federation {
    /// Logins through `modules`, calling providers through `fetcher`.
    pub fn new(modules: AuthModules, fetcher: Arc<dyn HttpFetcher>) -> Self {
        Federation {
            modules,
            fetcher,
            provider_tokens: None,
            key_sets: Arc::default(),
        }
    }

    /// Keeps each signed-in user's provider tokens in `store`, for modules with an extension
    /// grant type ([`super::ProviderTokenGrant`]). Without it, provider tokens are dropped
    /// once the login completes.
    pub fn with_provider_tokens(mut self, store: Arc<dyn ProviderTokenStore>) -> Self {
        self.provider_tokens = Some(store);
        self
    }

    pub(crate) fn provider_tokens(&self) -> Option<&Arc<dyn ProviderTokenStore>> {
        self.provider_tokens.as_ref()
    }

    /// The modules, for the administrator's operations.
    pub fn modules(&self) -> &AuthModules {
        &self.modules
    }

    /// The fetcher providers are called through.
    pub fn fetcher(&self) -> &Arc<dyn HttpFetcher> {
        &self.fetcher
    }

    fn now(&self) -> Timestamp {
        self.modules.clock().now()
    }

    /// Starts a login through an enabled module.
    pub async fn start_login(&self, id: &ModuleId) -> Result<LoginStart, LoginError> {
        let module = self.module(id).await?;
        if !module.enabled {
            return Err(LoginError::ModuleDisabled);
        }
        self.start(module, false)
    }

    /// Starts an administrator's test login; the module may be disabled.
    pub async fn start_test_login(&self, id: &ModuleId) -> Result<LoginStart, LoginError> {
        let module = self.module(id).await?;
        self.start(module, true)
    }

    pub(crate) async fn module(&self, id: &ModuleId) -> Result<AuthModule, LoginError> {
        self.modules
            .store()
            .get(id)
            .await?
            .ok_or(LoginError::UnknownModule)
    }

    fn start(&self, module: AuthModule, test: bool) -> Result<LoginStart, LoginError> {
        let settings = &module.settings;
        // RFC 9700 §2.1.1: PKCE S256 on every login, and an unguessable state bound to the
        // browser's session against login CSRF (RFC 6749 §10.12).
        let verifier = CodeVerifier::generate()?;
        let challenge = CodeChallenge::from_verifier(&verifier, PkceMethod::S256);
        let state = crate::random::token_256()?;
        let nonce = if settings.module_type.is_openid_connect() {
            Some(crate::random::token_256()?)
        } else {
            None
        };
        let redirect_uri = self.modules.redirect_uri(&module.id);
        let mut url = settings.endpoints.authorization.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &settings.client_id)
                .append_pair("redirect_uri", redirect_uri.as_str())
                .append_pair("state", &state)
                .append_pair("code_challenge", challenge.as_str())
                .append_pair("code_challenge_method", "S256");
            if !settings.scopes.is_empty() {
                query.append_pair("scope", &settings.scope_text());
            }
            if let Some(nonce) = &nonce {
                query.append_pair("nonce", nonce);
            }
        }
        Ok(LoginStart {
            authorization_url: url,
            pending: PendingLogin {
                module: module.id,
                state,
                verifier: verifier.secret().to_owned(),
                nonce,
                started_at: self.now(),
                test,
            },
        })
    }

    /// Completes a login from the callback's raw query string. `callback_module` is the
    /// module whose redirect URI the callback arrived at: it must be the one the login was
    /// started with (each provider has its own redirect URI, RFC 9700 §4.4.2, against
    /// mix-up attacks). The module must still be enabled.
    pub async fn complete_login(
        &self,
        callback_module: &ModuleId,
        pending: &PendingLogin,
        callback_query: &str,
    ) -> Result<FederatedLogin, LoginError> {
        if &pending.module != callback_module {
            return Err(LoginError::WrongCallback);
        }
        if pending.test {
            return Err(LoginError::TestLoginOnly);
        }
        let module = self.module(&pending.module).await?;
        if !module.enabled {
            return Err(LoginError::ModuleDisabled);
        }
        self.complete(&module, pending, callback_query, &mut Vec::new())
            .await
    }

    pub(crate) async fn complete(
        &self,
        module: &AuthModule,
        pending: &PendingLogin,
        callback_query: &str,
        steps: &mut Steps,
    ) -> Result<FederatedLogin, LoginError> {
        let settings = &module.settings;
        let code = record(
            steps,
            LoginStep::Callback,
            self.callback(settings, pending, callback_query),
        )?;
        let redirect_uri = self.modules.redirect_uri(&module.id);
        let grant = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ];
        let tokens = record(
            steps,
            LoginStep::Token,
            provider::token_request(&*self.fetcher, settings, &grant, self.now()).await,
        )?;
        let mut raw = Value::Object(Default::default());
        // An OpenID Connect module needs an ID token. An OAuth 2.0 module that is sent one
        // anyway checks it too when it knows the provider's keys and issuer: a token that
        // fails its checks is a sign of a mix-up or forgery, never something to ignore.
        let verifiable = settings.endpoints.jwks.is_some() && settings.endpoints.issuer.is_some();
        if settings.module_type.is_openid_connect() || (tokens.id_token.is_some() && verifiable) {
            let checked = match tokens.id_token.as_ref().map(ProviderSecret::secret) {
                None => Err(LoginError::IdToken(
                    "missing from the token response".into(),
                )),
                // A login started before the module became OpenID Connect sent no nonce: its
                // ID token cannot be tied to this browser.
                Some(_) if settings.module_type.is_openid_connect() && pending.nonce.is_none() => {
                    Err(LoginError::IdToken(
                        "nonce: the login was started without one; start again".into(),
                    ))
                }
                Some(token) => {
                    id_token::check(
                        &*self.fetcher,
                        &self.key_sets,
                        settings,
                        token,
                        pending.nonce.as_deref(),
                        self.now(),
                    )
                    .await
                }
            };
            raw = record(steps, LoginStep::IdToken, checked)?;
        }
        if let Some(url) = &settings.endpoints.user_info {
            let info = provider::read_json(
                &*self.fetcher,
                settings,
                "user_info",
                url,
                Some(&tokens.access_token),
            )
            .await
            .and_then(|info| overlay(&mut raw, info));
            record(steps, LoginStep::UserInfo, info)?;
        }
        let mut emails = None;
        if let Some(url) = &settings.endpoints.email {
            let body = provider::read_json(
                &*self.fetcher,
                settings,
                "email",
                url,
                Some(&tokens.access_token),
            )
            .await;
            let body = record(steps, LoginStep::Email, body)?;
            emails = profile::primary_email(&body);
            if let Value::Object(o) = &mut raw {
                o.insert("emails".into(), body);
            }
        }
        let mut mapped = record(
            steps,
            LoginStep::Mapping,
            profile::map_profile(
                &module.id,
                &settings.mapping,
                &raw,
                settings.email_auto_verify,
            ),
        )?;
        if let Some((email, verified)) = emails {
            mapped.email = Some(email);
            mapped.email_verification =
                profile::EmailVerification::settle(verified, settings.email_auto_verify);
        }
        if let Some(url) = &settings.endpoints.avatar {
            // A missing avatar never fails a login; the test login reports why it was refused.
            let image =
                provider::read_avatar(&*self.fetcher, settings, url, &tokens.access_token).await;
            mapped.avatar_image = image.as_ref().ok().cloned();
            steps.push((LoginStep::Avatar, image.map(|_| ())));
        }
        Ok(FederatedLogin {
            profile: mapped,
            tokens,
            raw_profile: raw,
        })
    }

    /// Checks the callback and returns its code.
    fn callback(
        &self,
        settings: &ModuleSettings,
        pending: &PendingLogin,
        query: &str,
    ) -> Result<String, LoginError> {
        let params = Params::parse(query);
        // A repeated parameter is ambiguous; reading the first of two `iss` values would let
        // a crafted callback skip the issuer check.
        for name in ["state", "code", "iss", "error"] {
            if params.all(name).len() > 1 {
                return Err(LoginError::RepeatedParameter(name));
            }
        }
        let one = |name: &str| params.one(name).ok().flatten();
        // The state is checked before anything else the callback says: an error or a code
        // on a callback this browser did not start is someone else's (login CSRF).
        let state = one("state").unwrap_or_default();
        if !crate::constant_time::eq(state.as_bytes(), pending.state.as_bytes()) {
            return Err(LoginError::StateMismatch);
        }
        if self.now().0 > pending.started_at.0.saturating_add(LOGIN_TIMEOUT_SECONDS) {
            return Err(LoginError::Expired);
        }
        // RFC 9207 §2.4: a provider that names itself must be the module's provider
        // (mix-up attacks, RFC 9700 §4.4).
        if settings.endpoints.iss_required && one("iss").is_none() {
            return Err(LoginError::IssuerMismatch);
        }
        if let (Some(iss), Some(expected)) = (one("iss"), settings.endpoints.issuer.as_deref())
            && iss != expected
        {
            return Err(LoginError::IssuerMismatch);
        }
        if let Some(error) = one("error") {
            return Err(LoginError::provider(error, one("error_description")));
        }
        match one("code") {
            Some(code) if !code.is_empty() => Ok(code.to_owned()),
            _ => Err(LoginError::MissingCode),
        }
    }
}

fn record<T>(
    steps: &mut Steps,
    step: LoginStep,
    result: Result<T, LoginError>,
) -> Result<T, LoginError> {
    steps.push((step, result.as_ref().map(|_| ()).map_err(Clone::clone)));
    result
}

/// Lays the user-info members over the ID token's claims. OpenID Connect Core §5.3.4: the
/// user-info `sub` must be the ID token's, or the answer is about someone else.
fn overlay(raw: &mut Value, info: Value) -> Result<(), LoginError> {
    let Value::Object(info) = info else {
        return Err(LoginError::BadResponse {
            endpoint: "user_info",
            problem: "the body is not a JSON object".into(),
        });
    };
    let Value::Object(claims) = raw else {
        return Ok(());
    };
    if !claims.is_empty() && claims.get("sub") != info.get("sub") {
        return Err(LoginError::BadResponse {
            endpoint: "user_info",
            problem: "sub: missing, or differs from the ID token's".into(),
        });
    }
    claims.extend(info);
    Ok(())
}
