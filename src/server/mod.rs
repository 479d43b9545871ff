//! The authorization server: one value a host builds once and calls from each endpoint.
//!
//! ```text
//! GET  /authorize   -> AuthorizationServer::authorize / authorize_with_consent -> Authorize
//! POST /token       -> AuthorizationServer::token      -> EndpointResponse
//! POST /introspect  -> AuthorizationServer::introspect -> EndpointResponse
//! POST /revoke      -> AuthorizationServer::revoke     -> EndpointResponse
//! GET  /.well-known/oauth-authorization-server -> AuthorizationServer::metadata
//! ```

mod authorize;
mod cimd;
mod exchange;
mod introspect;
mod metadata;
mod params;
mod rotations;
mod throttle;
mod token;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use url::Url;

pub use authorize::{Authorize, ConsentPrompt, LoginPrompt};
pub use exchange::{ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE, TokenExchange};
pub use introspect::AccessTokenInfo;
pub use params::Params;
pub use token::{ClientAuth, EndpointResponse};

use crate::client::{ClientId, ClientRegistry, OAuthClient};
use crate::clock::{Clock, SystemClock, Timestamp};
pub use crate::error::MAX_ECHO_CHARS;
use crate::error::{ErrorCode, InvalidField, OAuthError, echo};
use crate::events::{NoSecurityEvents, SecurityEvents};
use crate::random;
use crate::scope::Scope;
use crate::settings::ServerSettings;
use crate::store::HttpFetcher;
use crate::store::memory::{MemoryClientStore, MemoryTokenStore};
use crate::store::{
    ClientStore, Consent, ConsentOwner, Grant, GrantId, StoreError, TokenHash, TokenKind,
    TokenRecord, TokenStore,
};
use crate::token::{AccessClaims, TokenFormat};
use crate::users::UserDirectory;

/// A grant type added to the token endpoint (RFC 6749 §4.5). RFC 8693 token exchange
/// ([`TokenExchange`]) is one, registered by default; a host adds its own (an assertion grant,
/// say) with [`AuthorizationServerBuilder::extension_grant`].
///
/// The server authenticates the client first and issues the tokens afterwards; the grant only
/// decides who the token is for, with which scope, and in which family. The scope is narrowed
/// to the client's scopes and the user's permissions whatever the grant says. A client may use
/// an extension grant only when an administrator lists its `grant_type` in the client's
/// [`crate::client::ClientSettings::extension_grants`]; for any other client the server answers
/// `unauthorized_client` without calling the grant.
///
/// A grant that issues a token for the user named in a (host-verified) assertion:
///
/// ```
/// use portcullis::server::{ExtensionGrant, GrantContext, GrantDecision};
/// use portcullis::{OAuthClient, OAuthError, Params, Scope, async_trait};
///
/// struct Assertion;
///
/// #[async_trait]
/// impl ExtensionGrant for Assertion {
///     fn grant_type(&self) -> &str {
///         "urn:example:grant-type:assertion"
///     }
///     async fn grant(
///         &self,
///         _ctx: &GrantContext<'_>,
///         _client: &OAuthClient,
///         params: &Params<'_>,
///     ) -> Result<GrantDecision, OAuthError> {
///         let user = params.required("assertion")?; // a real grant verifies a signature here
///         Ok(GrantDecision {
///             subject: Some(user.to_owned()),
///             scope: Scope::parse("read").map_err(|e| OAuthError::invalid_request(e.to_string()))?,
///             ..GrantDecision::default()
///         })
///     }
/// }
/// ```
#[async_trait]
pub trait ExtensionGrant: Send + Sync {
    /// The `grant_type` value, an absolute URI.
    fn grant_type(&self) -> &str;

    /// Checks the request's parameters for the authenticated `client` and says what to issue.
    async fn grant(
        &self,
        ctx: &GrantContext<'_>,
        client: &OAuthClient,
        params: &Params<'_>,
    ) -> Result<GrantDecision, OAuthError>;
}

/// What the server lends an [`ExtensionGrant`]: the token store (to look up a presented
/// token) and the time.
pub struct GrantContext<'a> {
    /// The server's token store.
    pub tokens: &'a dyn TokenStore,
    /// The server's client store (to check that a presented token's client still exists).
    pub clients: &'a dyn ClientStore,
    /// The current time.
    pub now: Timestamp,
}

impl GrantContext<'_> {
    /// The live access token whose text is `token`: stored, an access token (not a code or a
    /// refresh token), and not expired. `None` for anything else.
    pub async fn access_token(
        &self,
        token: &str,
    ) -> Result<Option<crate::store::TokenRecord>, crate::store::StoreError> {
        Ok(self
            .tokens
            .get(&crate::store::TokenHash::of(token))
            .await?
            .filter(|r| r.kind == crate::store::TokenKind::AccessToken && !r.is_expired(self.now)))
    }
}

/// What an [`ExtensionGrant`] allows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GrantDecision {
    /// The user the token acts for; `None` for the client itself.
    pub subject: Option<String>,
    /// The scope to grant (still narrowed to the client's scopes and the user's permissions).
    pub scope: Scope,
    /// Issue a refresh token too.
    pub refresh_token: bool,
    /// `issued_token_type` for the response (RFC 8693 §2.2.1), if any.
    pub issued_token_type: Option<String>,
    /// The family the tokens join, so revoking it revokes them; `None` starts a new one.
    pub grant: Option<GrantId>,
    /// Targets besides the request's `resource` parameters (RFC 8693's `audience`), checked
    /// like them (the default audience counts as known).
    pub resources: Vec<String>,
    /// No token issued outlives this (token exchange: the subject token's expiry).
    pub not_after: Option<Timestamp>,
    /// Answer with this token, issued by someone else (an identity provider), instead of
    /// issuing one; `scope`, `refresh_token`, `grant`, `resources` and `not_after` are then
    /// unused.
    pub external: Option<ExternalToken>,
}

/// A token another server issued, handed out by an extension grant (the provider access
/// token of [`crate::federation::ProviderTokenGrant`]). `Debug` redacts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalToken {
    /// The token.
    pub access_token: crate::federation::ProviderSecret,
    /// Seconds until it expires, if known.
    pub expires_in: Option<u64>,
    /// Its scope at its issuer, if known.
    pub scope: Option<String>,
}

/// An OAuth 2.0 authorization server over the host's stores. Cheap to share: wrap it in an
/// `Arc` and call it from every route.
pub struct AuthorizationServer {
    settings: ServerSettings,
    clients: ClientRegistry,
    tokens: Arc<dyn TokenStore>,
    users: Arc<dyn UserDirectory>,
    clock: Arc<dyn Clock>,
    extensions: HashMap<String, Arc<dyn ExtensionGrant>>,
    events: Arc<dyn SecurityEvents>,
    password_throttle: throttle::PasswordThrottle,
    /// Failed client authentications per existing client since its last success, for the
    /// security events. Bounded by the number of clients.
    auth_failures: Mutex<HashMap<ClientId, u64>>,
    /// The audience of tokens requested without `resource`, shared by all of them.
    default_audience: Arc<[String]>,
    /// The issuer form-encoded, as every authorization response carries it (RFC 9207).
    encoded_issuer: String,
    /// Successor responses of refresh tokens rotated within `refresh_reuse_interval`.
    recent_rotations: rotations::RecentRotations,
    /// Automatic registration from metadata documents, switched at run time.
    cimd_on: std::sync::atomic::AtomicBool,
    /// Fetches metadata documents.
    fetcher: Arc<dyn HttpFetcher>,
    /// Metadata documents kept between fetches.
    documents: crate::cimd::DocumentCache,
    /// Client assertion IDs seen, for replay detection (RFC 7523 §3).
    seen_assertions: token::SeenAssertions,
}

impl std::fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.settings.issuer())
            .finish_non_exhaustive()
    }
}

/// Builds an [`AuthorizationServer`].
pub struct AuthorizationServerBuilder {
    settings: ServerSettings,
    clients: Arc<dyn ClientStore>,
    tokens: Arc<dyn TokenStore>,
    users: Arc<dyn UserDirectory>,
    clock: Arc<dyn Clock>,
    extensions: Vec<Arc<dyn ExtensionGrant>>,
    events: Arc<dyn SecurityEvents>,
    fetcher: Arc<dyn HttpFetcher>,
}

impl AuthorizationServerBuilder {
    /// How the server fetches Client ID Metadata Documents (default: it cannot, and a client
    /// that names itself by a document's URL is refused). Feature `reqwest` will provide one
    /// with the SSRF guard a production server needs; see [`HttpFetcher`]'s contract.
    pub fn fetcher(mut self, fetcher: Arc<dyn HttpFetcher>) -> Self {
        self.fetcher = fetcher;
        self
    }

    /// The client store (default: in memory).
    pub fn clients(mut self, store: Arc<dyn ClientStore>) -> Self {
        self.clients = store;
        self
    }

    /// The token store (default: in memory).
    pub fn tokens(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.tokens = store;
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adds an extension grant type. Token exchange is registered already; call
    /// [`Self::without_extension_grants`] first to drop it. Either way a client uses one only
    /// once it is listed in the client's `extension_grants`.
    pub fn extension_grant(mut self, grant: Arc<dyn ExtensionGrant>) -> Self {
        self.extensions.push(grant);
        self
    }

    /// Where security events go (default: nowhere). See [`crate::events`].
    pub fn security_events(mut self, events: Arc<dyn SecurityEvents>) -> Self {
        self.events = events;
        self
    }

    /// Removes every extension grant, token exchange included.
    pub fn without_extension_grants(mut self) -> Self {
        self.extensions.clear();
        self
    }

    /// The server; fails, naming the field, if a setting is out of range
    /// ([`ServerSettings::validate`]) or an extension grant type is not an absolute URI,
    /// clashes with a built-in one, or is registered twice.
    pub fn build(self) -> Result<AuthorizationServer, InvalidField> {
        self.settings.validate()?;
        let users = self.users;
        let mut extensions = HashMap::new();
        for grant in self.extensions {
            let name = grant.grant_type().to_owned();
            if Url::parse(&name).is_err()
                || token::BUILT_IN_GRANTS.contains(&name.as_str())
                || extensions.contains_key(&name)
            {
                return Err(InvalidField::new(
                    "grant_type",
                    format!("`{name}` must be an absolute URI not used by a built-in grant"),
                ));
            }
            extensions.insert(name, grant);
        }
        let default_audience = Arc::from([self.settings.default_audience().to_owned()]);
        let (cimd_enabled, cimd) = (self.settings.cimd_enabled, self.settings.cimd.clone());
        let mut reserved = vec![
            self.settings.issuer().to_owned(),
            self.settings.default_audience().to_owned(),
        ];
        reserved.extend(self.settings.resources.iter().cloned());
        let events = crate::trace::events(self.events);
        let password_throttle = throttle::PasswordThrottle::new(
            self.settings.password_max_failures,
            self.settings.password_lockout,
        );
        Ok(AuthorizationServer {
            default_audience,
            encoded_issuer: authorize::form_encoded(self.settings.issuer()),
            settings: self.settings,
            clients: ClientRegistry::for_server(
                self.clients,
                self.tokens.clone(),
                reserved,
                events.clone(),
            ),
            password_throttle,
            tokens: self.tokens,
            users,
            clock: self.clock,
            extensions,
            events,
            auth_failures: Mutex::default(),
            recent_rotations: rotations::RecentRotations::default(),
            cimd_on: std::sync::atomic::AtomicBool::new(cimd_enabled),
            fetcher: self.fetcher,
            documents: crate::cimd::DocumentCache::new(cimd.cache, cimd.fetch),
            seen_assertions: token::SeenAssertions::default(),
        })
    }
}

/// The value of the `gty` JWT claim and introspection member on tokens a client holds for
/// itself (RFC 9068 §5: such tokens must be distinguishable from users' tokens).
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// The most `resource` values one request may carry (RFC 8707 allows several; an unbounded
/// number would let an anonymous request make the server do unbounded lookups).
pub const MAX_RESOURCES: usize = 10;

/// The distinct `resource` values of a request, in order of first appearance; more than
/// [`MAX_RESOURCES`] of them is `invalid_target`.
pub(crate) fn distinct_resources<'a>(resources: &[&'a str]) -> Result<Vec<&'a str>, OAuthError> {
    let mut distinct: Vec<&str> = Vec::with_capacity(resources.len().min(MAX_RESOURCES));
    for &r in resources {
        if !distinct.contains(&r) {
            if distinct.len() == MAX_RESOURCES {
                return Err(OAuthError::new(
                    ErrorCode::InvalidTarget,
                    format!("resource: at most {MAX_RESOURCES} distinct values are accepted"),
                ));
            }
            distinct.push(r);
        }
    }
    Ok(distinct)
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A store or RNG failure becomes `server_error`; the detail is not the client's business.
/// A grant revoked while tokens were being issued from it is the replay it signals.
impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::GrantRevoked => OAuthError::new(
                ErrorCode::InvalidGrant,
                "the grant was revoked while tokens were being issued",
            ),
            _ => OAuthError::server_error(),
        }
    }
}

impl From<crate::RandomError> for OAuthError {
    fn from(_: crate::RandomError) -> Self {
        OAuthError::server_error()
    }
}

/// What [`AuthorizationServer::mint`] issues.
pub(crate) struct Issue<'a> {
    client_id: &'a ClientId,
    /// The user the tokens act for; `None` for the client itself.
    subject: Option<Arc<str>>,
    /// The access token's scope.
    scope: &'a Scope,
    /// The access token's audience.
    audience: &'a Arc<[String]>,
    /// The family the tokens join; `None` starts a new one.
    grant: Option<&'a GrantId>,
    /// A refresh token to issue beside the access token, if any.
    refresh: Option<RefreshGrant<'a>>,
    /// No token outlives this (an exchanged token: its subject token's expiry).
    not_after: Option<Timestamp>,
    /// The time of the request, read once per request.
    now: Timestamp,
}

/// What a refresh token carries. RFC 6749 §6: a refresh token stands for the whole grant, so
/// it keeps the grant's scope and audience when the access token beside it was narrowed.
pub(crate) struct RefreshGrant<'a> {
    scope: &'a Scope,
    audience: &'a Arc<[String]>,
    /// The end of the grant's absolute lifetime; `None` starts it now.
    grant_expires_at: Option<Timestamp>,
}

impl<'a> RefreshGrant<'a> {
    /// The refresh token of the grant `rec` (a code or refresh token) stands for.
    fn of(rec: &'a TokenRecord) -> Self {
        RefreshGrant {
            scope: &rec.grant.scope,
            audience: &rec.grant.audience,
            grant_expires_at: rec.grant.ends_at,
        }
    }

    /// The refresh token of a grant that starts now.
    fn starting(scope: &'a Scope, audience: &'a Arc<[String]>) -> Self {
        RefreshGrant {
            scope,
            audience,
            grant_expires_at: None,
        }
    }
}

/// Tokens made but not yet stored: the response, and the records to store with it.
pub(crate) struct Minted {
    issued: Issued,
    records: Vec<(TokenHash, TokenRecord)>,
}

/// An access token's text: opaque tokens live inline, JWTs are as long as their claims.
#[derive(Clone)]
pub(crate) enum AccessTokenText {
    Opaque(random::TokenText),
    Signed(String),
}

/// Tokens are secrets: `Debug` never shows them.
impl std::fmt::Debug for AccessTokenText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessTokenText(<redacted>)")
    }
}

impl AccessTokenText {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            AccessTokenText::Opaque(t) => t.as_bytes(),
            AccessTokenText::Signed(s) => s.as_bytes(),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            AccessTokenText::Opaque(t) => t.as_str(),
            AccessTokenText::Signed(s) => s,
        }
    }
}

/// Tokens just issued, before they are written into a response.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    access_token: AccessTokenText,
    refresh_token: Option<random::TokenText>,
    expires_in: u64,
    scope: Scope,
}

impl AuthorizationServer {
    /// Starts building a server with these settings and the host's user directory (who holds
    /// which scopes; a token never carries more).
    pub fn builder(
        settings: ServerSettings,
        users: Arc<dyn UserDirectory>,
    ) -> AuthorizationServerBuilder {
        let clients = Arc::new(MemoryClientStore::default());
        let tokens = Arc::new(MemoryTokenStore::default());
        AuthorizationServerBuilder {
            settings,
            clients,
            tokens,
            users,
            clock: Arc::new(SystemClock),
            extensions: vec![Arc::new(TokenExchange)],
            events: Arc::new(NoSecurityEvents),
            fetcher: Arc::new(cimd::NoFetcher),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &ServerSettings {
        &self.settings
    }

    /// The client registry, for administration pages.
    pub fn clients(&self) -> &ClientRegistry {
        &self.clients
    }

    /// The token store.
    pub fn tokens(&self) -> &Arc<dyn TokenStore> {
        &self.tokens
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The client registered as `id`.
    async fn client(&self, id: &str) -> Result<Option<Arc<OAuthClient>>, StoreError> {
        self.clients.store().get(id).await
    }

    /// Stores new codes or tokens, all or none where the store can.
    async fn store_records(&self, records: &[(TokenHash, TokenRecord)]) -> Result<(), StoreError> {
        match records {
            [(hash, record)] => self.tokens.insert(*hash, record.clone()).await,
            _ => self.tokens.insert_all(records).await,
        }
    }

    /// [`TokenStore::get`].
    async fn record(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.tokens.get(hash).await
    }

    /// [`TokenStore::take_and_insert`].
    async fn take_and_store(
        &self,
        hash: &TokenHash,
        check: crate::store::TakeCheck<'_>,
        records: &[(TokenHash, TokenRecord)],
    ) -> Result<crate::store::Take, StoreError> {
        self.tokens.take_and_insert(hash, check, records).await
    }

    /// [`TokenStore::take_if`].
    async fn take_record_if(
        &self,
        hash: &TokenHash,
        check: crate::store::TakeCheck<'_>,
    ) -> Result<crate::store::Take, StoreError> {
        self.tokens.take_if(hash, check).await
    }

    /// Deletes clients and revokes their codes, tokens and consents (as
    /// [`ClientRegistry::delete`] on [`Self::clients`] does).
    pub async fn delete_clients(&self, ids: &[ClientId]) -> Result<usize, StoreError> {
        let (deleted, _revoked) = self.clients.delete_counting(ids).await?;
        Ok(deleted)
    }

    /// The consents of a user or a client.
    pub async fn consents(&self, owner: &ConsentOwner) -> Result<Vec<Consent>, StoreError> {
        self.tokens.consents(owner).await
    }

    /// Revokes the consents of a user or a client; they will be asked again.
    pub async fn revoke_consents(&self, owner: &ConsentOwner) -> Result<usize, StoreError> {
        self.tokens.revoke_consents(owner).await
    }

    /// Removes expired codes and tokens; call it now and then (a timer, or every N requests).
    pub async fn purge_expired(&self) -> Result<usize, StoreError> {
        let now = self.now();
        let interval = self.settings.refresh_reuse_interval;
        self.recent_rotations.purge(now, interval);
        self.tokens.purge_expired(now).await
    }

    /// The protected resource metadata (RFC 9728) of `resource`, one of this server's
    /// resources, with this server as its authorization server and the advertised scopes
    /// filled in.
    pub fn protected_resource(
        &self,
        resource: &str,
    ) -> Result<crate::resource::ProtectedResourceMetadata, InvalidField> {
        Ok(crate::resource::ProtectedResourceMetadata::new(resource)?
            .authorization_server(self.settings.issuer())
            .scopes(self.settings.scopes_supported.iter().cloned()))
    }

    /// The JWKS document with the JWT signer's public key (empty for opaque tokens or HMAC).
    pub fn jwks(&self) -> serde_json::Value {
        crate::token::jwks(&self.settings.token_format)
    }

    /// Checks each `resource` (RFC 8707 §2): an absolute URI without a fragment that is one of
    /// the host's resources or the home or a base URL of a registered client. No resource
    /// means the default audience. At most [`MAX_RESOURCES`] distinct values; repeats are
    /// dropped before anything is looked up, and the client store is asked once for all.
    async fn audiences(&self, resources: &[&str]) -> Result<Arc<[String]>, OAuthError> {
        if resources.is_empty() {
            return Ok(self.default_audience.clone());
        }
        let distinct = distinct_resources(resources)?;
        let target = |resource: &str, why: &str| {
            OAuthError::new(
                ErrorCode::InvalidTarget,
                format!("resource: `{}` {why}", echo(resource)),
            )
        };
        // (the resource as given, its parsed form) of those the settings do not name.
        let mut unknown: Vec<(&str, String)> = Vec::new();
        for &resource in &distinct {
            let url = Url::parse(resource)
                .map_err(|_| target(resource, "is not an absolute URI (RFC 8707 section 2)"))?;
            if url.fragment().is_some() {
                return Err(target(
                    resource,
                    "must not contain a fragment (RFC 8707 section 2)",
                ));
            }
            // The default audience is what a request without `resource` gets, so naming it is
            // no wider than not naming anything.
            let default = self.settings.default_audience();
            let known = default == resource
                || default == url.as_str()
                || self
                    .settings
                    .resources
                    .iter()
                    .any(|r| r == resource || r == url.as_str());
            if !known {
                unknown.push((resource, url.into()));
            }
        }
        if !unknown.is_empty() {
            let urls: Vec<&str> = unknown.iter().map(|(_, u)| u.as_str()).collect();
            let found = self.clients.store().known_site_urls(&urls).await?;
            for (i, (resource, _)) in unknown.iter().enumerate() {
                if !found.get(i).copied().unwrap_or(false) {
                    return Err(target(
                        resource,
                        "is not a resource this server issues tokens for",
                    ));
                }
            }
        }
        Ok(distinct.into_iter().map(str::to_owned).collect())
    }

    /// Issues and stores an access token (and optionally a refresh token) of one grant.
    async fn issue(&self, what: Issue<'_>) -> Result<Issued, OAuthError> {
        let minted = self.mint(what)?;
        self.store_records(&minted.records).await?;
        Ok(minted.issued)
    }

    /// Makes an access token (and optionally a refresh token) of one grant, and the records
    /// to store for them; a new grant (`None`) takes its ID from the access token.
    fn mint(&self, what: Issue<'_>) -> Result<Minted, OAuthError> {
        let Issue {
            client_id,
            subject,
            scope,
            audience,
            grant,
            refresh,
            not_after,
            now,
        } = what;
        let lifetime = match not_after {
            Some(end) => self
                .settings
                .access_token_lifetime
                .min(end.0.saturating_sub(now.0)),
            None => self.settings.access_token_lifetime,
        };
        let (random_part, refresh_token) = if refresh.is_some() {
            let (a, r) = random::token_pair()?;
            (a, Some(r))
        } else {
            (random::token()?, None)
        };
        let access_token = match &self.settings.token_format {
            TokenFormat::Opaque => AccessTokenText::Opaque(random_part),
            TokenFormat::Jwt(signer) => {
                let scope_text = scope.as_str();
                let claims = AccessClaims {
                    iss: self.settings.issuer(),
                    // RFC 9068 §2.2: without a user, the subject is the client itself.
                    sub: subject.as_deref().unwrap_or(client_id.as_str()),
                    aud: audience,
                    client_id: client_id.as_str(),
                    iat: now.0,
                    exp: now.plus_seconds(lifetime).0,
                    jti: random_part.as_str(),
                    scope: scope_text,
                    gty: subject.is_none().then_some(CLIENT_CREDENTIALS),
                };
                AccessTokenText::Signed(
                    signer
                        .sign(&claims)
                        .map_err(|_| OAuthError::server_error())?,
                )
            }
        };
        let access_hash = TokenHash::of_bytes(access_token.as_bytes());
        let grant = grant
            .cloned()
            .unwrap_or_else(|| GrantId::derived_from(&access_hash));
        let grant_of = |scope: &Scope, audience: &Arc<[String]>, ends_at| {
            Arc::new(Grant {
                id: grant.clone(),
                client_id: client_id.clone(),
                subject: subject.clone(),
                scope: scope.clone(),
                audience: audience.clone(),
                issued_at: now,
                ends_at,
                code: None,
            })
        };
        let mut records = Vec::with_capacity(2);
        // Both or neither, stored together: an access token whose refresh token was lost
        // would strand the client when it expires.
        if let (Some(token), Some(refresh)) = (&refresh_token, &refresh) {
            let grant_end = refresh
                .grant_expires_at
                .unwrap_or_else(|| now.plus_seconds(self.settings.refresh_family_lifetime));
            // Sliding, but never past the grant's absolute end, nor the issue's `not_after`.
            let mut expires_at = now
                .plus_seconds(self.settings.refresh_token_lifetime)
                .min(grant_end);
            if let Some(end) = not_after {
                expires_at = expires_at.min(end);
            }
            let for_refresh = grant_of(refresh.scope, refresh.audience, Some(grant_end));
            // The pair shares one grant unless the access token was narrowed (RFC 6749 §6,
            // RFC 8707 §2.2), which is the common case's memory halved.
            let for_access = if refresh.scope == scope && refresh.audience == audience {
                for_refresh.clone()
            } else {
                grant_of(scope, audience, Some(grant_end))
            };
            records.push((
                access_hash,
                TokenRecord {
                    kind: TokenKind::AccessToken,
                    expires_at: now.plus_seconds(lifetime),
                    grant: for_access,
                },
            ));
            records.push((
                TokenHash::of_bytes(token.as_bytes()),
                TokenRecord {
                    kind: TokenKind::RefreshToken,
                    expires_at,
                    grant: for_refresh,
                },
            ));
        } else {
            records.push((
                access_hash,
                TokenRecord {
                    kind: TokenKind::AccessToken,
                    expires_at: now.plus_seconds(lifetime),
                    grant: grant_of(scope, audience, None),
                },
            ));
        }
        Ok(Minted {
            issued: Issued {
                access_token,
                refresh_token,
                expires_in: lifetime,
                scope: scope.clone(),
            },
            records,
        })
    }
}
