//! The OAuth client: its identity, settings, and the state derived from them.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use url::Url;

use super::secret::SecretHash;
use super::uri_pattern::UriPattern;
use crate::error::InvalidField;
use crate::random::{self, RandomError};
use crate::redirect::{
    RedirectRejection, RedirectRules, RedirectUriKind, RegisteredRedirectUri, TrustedRedirectUri,
};
use crate::scope::Scope;

/// The longest client ID accepted. Generated IDs are 36 characters; CIMD client IDs are URLs.
pub const MAX_CLIENT_ID_LEN: usize = 1024;

/// How many untrusted redirect URIs a client keeps for review; the oldest goes first, so a
/// flood of junk cannot grow the record without bound.
pub const MAX_UNTRUSTED_REDIRECT_URIS: usize = 20;

/// A client identifier (RFC 6749 §2.2): printable ASCII (RFC 6749 Appendix A.1), 1 to
/// [`MAX_CLIENT_ID_LEN`] characters. Cheap to clone: every code and token record carries one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(Arc<str>);

impl ClientId {
    /// Checks a client ID's syntax.
    pub fn new(value: impl AsRef<str>) -> Result<Self, InvalidField> {
        let value = value.as_ref();
        Self::check(value)?;
        Ok(ClientId(value.into()))
    }

    /// Checks a client ID's syntax without keeping it: what [`ClientId::new`] checks.
    pub fn check(value: &str) -> Result<(), InvalidField> {
        if value.is_empty() {
            return Err(InvalidField::new("client_id", "must not be empty"));
        }
        if value.len() > MAX_CLIENT_ID_LEN {
            return Err(InvalidField::new(
                "client_id",
                format!("must be at most {MAX_CLIENT_ID_LEN} characters long"),
            ));
        }
        // RFC 6749 Appendix A.1 allows the space too; it is refused here because a client ID
        // is shown, logged and pasted, and a space in one is read as two words (and a `+` in
        // a form-encoded ID decodes to one).
        if !value.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(InvalidField::new(
                "client_id",
                "may contain only printable ASCII characters, no space or control character \
                 (RFC 6749 Appendix A.1)",
            ));
        }
        Ok(())
    }

    /// A fresh random ID in UUID version 4 form.
    pub fn generate() -> Result<Self, RandomError> {
        let mut b = random::bytes::<16>()?;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        let part = |r: std::ops::Range<usize>| hex.get(r).unwrap_or_default().to_owned();
        Ok(ClientId(
            format!(
                "{}-{}-{}-{}-{}",
                part(0..8),
                part(8..12),
                part(12..16),
                part(16..20),
                part(20..32)
            )
            .into(),
        ))
    }

    /// The ID's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Maps keyed by `ClientId` can be searched with the ID's text (hashes and comparisons are
/// those of the text).
impl std::borrow::Borrow<str> for ClientId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = InvalidField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ClientId::new(&value)
    }
}

impl From<ClientId> for String {
    fn from(id: ClientId) -> String {
        id.0.as_ref().to_owned()
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An OAuth flow a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Flow {
    /// The client acts for itself with its own credentials (RFC 6749 §4.4).
    ClientCredentials,
    /// A user authorizes in the browser and the client exchanges a code (RFC 6749 §4.1).
    AuthorizationCode,
    /// Deprecated: the token is returned in the redirect (RFC 6749 §4.2; RFC 9700 §2.1.2).
    Implicit,
    /// Deprecated: the client collects the user's password (RFC 6749 §4.3; RFC 9700 §2.4).
    ResourceOwner,
}

impl Flow {
    /// Every flow, in the order settings pages show them.
    pub const ALL: [Flow; 4] = [
        Flow::ClientCredentials,
        Flow::AuthorizationCode,
        Flow::Implicit,
        Flow::ResourceOwner,
    ];

    fn bit(self) -> u8 {
        match self {
            Flow::ClientCredentials => 1,
            Flow::AuthorizationCode => 2,
            Flow::Implicit => 4,
            Flow::ResourceOwner => 8,
        }
    }
}

/// The set of flows a client has enabled. Serialized as a list of flow names.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "Vec<Flow>", into = "Vec<Flow>")]
pub struct Flows(u8);

impl Flows {
    /// No flow: the client is inactive.
    pub const NONE: Flows = Flows(0);

    /// Whether `flow` is enabled.
    pub fn contains(self, flow: Flow) -> bool {
        self.0 & flow.bit() != 0
    }

    /// These flows plus `flow`.
    pub fn with(self, flow: Flow) -> Flows {
        Flows(self.0 | flow.bit())
    }

    /// Whether no flow is enabled.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The enabled flows.
    pub fn iter(self) -> impl Iterator<Item = Flow> {
        Flow::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Flow> for Flows {
    fn from_iter<I: IntoIterator<Item = Flow>>(iter: I) -> Self {
        iter.into_iter().fold(Flows::NONE, Flows::with)
    }
}

impl From<Vec<Flow>> for Flows {
    fn from(v: Vec<Flow>) -> Self {
        v.into_iter().collect()
    }
}

impl From<Flows> for Vec<Flow> {
    fn from(f: Flows) -> Self {
        f.iter().collect()
    }
}

impl fmt::Debug for Flows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Whether a client can keep a secret (RFC 6749 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    /// Runs on a server and authenticates with its secret.
    Confidential,
    /// Runs on a device or in a browser; has no secret and must use PKCE.
    Public,
}

/// Read-only facts about the external application, set by whoever registered the client (for
/// example from a Client ID Metadata Document), never by a settings update.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationInfo {
    /// The application's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The application's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Who makes the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// When this version was released, as the application states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_date: Option<String>,
    /// A stable identifier of the software, the same in every installation (RFC 7591 §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    /// The application's terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    /// The application's privacy policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// Whom to contact about the application (usually email addresses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
}

/// How the client came to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// Created by an administrator.
    #[default]
    Manual,
    /// Registered automatically from a Client ID Metadata Document.
    Cimd,
}

/// Something about a client's settings an administrator should reconsider, reported by
/// [`OAuthClient::warnings`] (and with every created client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ClientWarning {
    /// A public client with loopback redirect URIs and consent turned off: any program on a
    /// user's machine can use the client ID and obtain tokens without the user noticing
    /// (RFC 8252 §8.6). Turn consent on.
    SilentLoopbackTokens,
}

impl fmt::Display for ClientWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientWarning::SilentLoopbackTokens => f.write_str(
                "a public client with loopback redirect URIs and no consent: any local program \
                 can obtain tokens with its client ID without the user noticing (RFC 8252 \
                 section 8.6); require consent",
            ),
        }
    }
}

/// Whether a registered redirect URI is on the user's own device: a loopback IP literal or
/// `localhost`.
fn on_this_device(uri: &RegisteredRedirectUri) -> bool {
    uri.kind() == RedirectUriKind::Loopback
        || Url::parse(uri.as_str()).is_ok_and(|url| match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        })
}

/// A status badge shown beside a client, derived from its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Badge {
    /// No flow is enabled, so the client can obtain nothing.
    Inactive,
    /// The client was registered from a Client ID Metadata Document.
    AutoRegistered,
}

/// The settings an administrator edits, as entered; [`OAuthClient`] holds them validated.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    /// Display name; must not be blank.
    pub name: String,
    /// Optional description.
    #[serde(default)]
    pub description: String,
    /// Optional icon: an http(s) URL or a `data:image/...` URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// The application's absolute home URL: an audience for its tokens and a base for relative
    /// redirect URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_url: Option<String>,
    /// More trusted base URLs, with the same two roles as the home URL.
    #[serde(default)]
    pub base_urls: Vec<String>,
    /// Registered redirect URIs: absolute, loopback, private-use, or relative.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// The enabled flows; none makes the client inactive.
    #[serde(default)]
    pub flows: Flows,
    /// Require PKCE for the authorization code flow even for a confidential client.
    #[serde(default)]
    pub require_pkce: bool,
    /// Ask users to approve access before the client acts for them.
    #[serde(default)]
    pub require_consent: bool,
    /// The scopes the client may request; also what it gets when a request names none
    /// (RFC 6749 §3.3).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The client is the resource server at its home and base URLs: it may introspect, and
    /// exchange, the tokens addressed there. Only an administrator sets this; without it a
    /// client's URLs give it no rights over anyone's tokens.
    ///
    /// This and the next two fields are administrator settings: a registration path fed by
    /// untrusted input (CIMD, a self-service page) must set them itself, never take them from
    /// the registrant.
    #[serde(default)]
    pub resource_server: bool,
    /// The extension grant types (absolute URIs) the client may use at the token endpoint,
    /// such as [`crate::server::TOKEN_EXCHANGE`]; none by default.
    #[serde(default)]
    pub extension_grants: Vec<String>,
    /// Audiences the client may request in a token exchange besides the subject token's own.
    #[serde(default)]
    pub exchange_audiences: Vec<String>,
    /// Never issue refresh tokens to this client: each authorization yields one access token,
    /// and refresh tokens it holds already are refused.
    #[serde(default)]
    pub no_refresh_tokens: bool,
    /// Template linking to a user in the application (`{id}`, `{login}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_uri_pattern: Option<String>,
    /// Template linking to a group in the application (`{id}`, `{login}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_uri_pattern: Option<String>,
}

/// The longest name accepted.
const MAX_NAME_LEN: usize = 200;
/// The longest description accepted.
const MAX_DESCRIPTION_LEN: usize = 4000;
/// The longest icon accepted (a `data:` URI carries the image itself).
const MAX_ICON_LEN: usize = 64 * 1024;

/// Settings after validation: what [`OAuthClient`] keeps besides its identity.
#[derive(Debug, Clone)]
struct ValidSettings {
    raw: ClientSettings,
    redirects: RedirectRules,
    scopes: Scope,
    /// Each of `scopes`' tokens as a scope of its own, so that a grant of one scope shares
    /// the client's text instead of keeping a copy of it (every code and token pair holds
    /// its scope for as long as it lives).
    single_scopes: Vec<Scope>,
    user_uri_pattern: Option<UriPattern>,
    group_uri_pattern: Option<UriPattern>,
}

impl ClientSettings {
    fn validate(self, client_type: ClientType) -> Result<ValidSettings, InvalidField> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(InvalidField::new("name", "must not be empty"));
        }
        if name.chars().count() > MAX_NAME_LEN {
            return Err(InvalidField::new(
                "name",
                format!("must be at most {MAX_NAME_LEN} characters long"),
            ));
        }
        if self.description.chars().count() > MAX_DESCRIPTION_LEN {
            return Err(InvalidField::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION_LEN} characters long"),
            ));
        }
        // RFC 6749 §4.4: only a client that can authenticate may act for itself.
        if client_type == ClientType::Public && self.flows.contains(Flow::ClientCredentials) {
            return Err(InvalidField::new(
                "flows",
                "a public client cannot use the client credentials flow (RFC 6749 section 4.4)",
            ));
        }
        if let Some(icon) = &self.icon {
            if icon.len() > MAX_ICON_LEN {
                return Err(InvalidField::new(
                    "icon",
                    format!("must be at most {MAX_ICON_LEN} bytes long"),
                ));
            }
            check_icon(icon).map_err(|reason| InvalidField::new("icon", reason))?;
        }
        let redirects = RedirectRules::compile(
            self.home_url.as_deref(),
            &self.base_urls,
            &self.redirect_uris,
        )?;
        let pattern = |field: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|p| UriPattern::parse(p).map_err(|reason| InvalidField::new(field, reason)))
                .transpose()
        };
        let scopes = Scope::from_tokens(self.scopes.iter().cloned()).map_err(|e| {
            InvalidField::new("scopes", format!("`{}` is not a valid scope token", e.0))
        })?;
        let single_scopes = scopes
            .iter()
            .filter_map(|token| Scope::parse(token).ok())
            .collect();
        let user_uri_pattern = pattern("user_uri_pattern", &self.user_uri_pattern)?;
        let group_uri_pattern = pattern("group_uri_pattern", &self.group_uri_pattern)?;
        Ok(ValidSettings {
            raw: ClientSettings {
                name: name.to_owned(),
                ..self
            },
            redirects,
            scopes,
            single_scopes,
            user_uri_pattern,
            group_uri_pattern,
        })
    }
}

fn check_icon(icon: &str) -> Result<(), String> {
    if icon.starts_with("data:image/") {
        return Ok(());
    }
    match Url::parse(icon) {
        Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(()),
        _ => Err("must be an http(s) URL or a `data:image/...` URI".into()),
    }
}

/// A registered OAuth client.
///
/// Only ever holds validated settings: it is built by [`crate::client::ClientRegistry`], changed by
/// [`OAuthClient::update_settings`], and re-validated when deserialized from a store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "ClientRecord", into = "ClientRecord")]
pub struct OAuthClient {
    id: ClientId,
    client_type: ClientType,
    secret_hash: Option<SecretHash>,
    registration: Registration,
    application: Option<ApplicationInfo>,
    settings: ValidSettings,
    untrusted_redirect_uris: Vec<String>,
    revision: u64,
}

/// The stored form of an [`OAuthClient`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientRecord {
    client_id: ClientId,
    client_type: ClientType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_hash: Option<SecretHash>,
    #[serde(default)]
    registration: Registration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    application: Option<ApplicationInfo>,
    settings: ClientSettings,
    #[serde(default)]
    untrusted_redirect_uris: Vec<String>,
    #[serde(default)]
    revision: u64,
}

impl TryFrom<ClientRecord> for OAuthClient {
    type Error = InvalidField;
    fn try_from(r: ClientRecord) -> Result<Self, InvalidField> {
        if (r.client_type == ClientType::Confidential) != r.secret_hash.is_some() {
            return Err(InvalidField::new(
                "secret_hash",
                "a confidential client has a secret hash and a public one has none",
            ));
        }
        Ok(OAuthClient {
            id: r.client_id,
            client_type: r.client_type,
            secret_hash: r.secret_hash,
            registration: r.registration,
            application: r.application,
            settings: r.settings.validate(r.client_type)?,
            untrusted_redirect_uris: r.untrusted_redirect_uris,
            revision: r.revision,
        })
    }
}

impl From<OAuthClient> for ClientRecord {
    fn from(c: OAuthClient) -> Self {
        ClientRecord {
            client_id: c.id,
            client_type: c.client_type,
            secret_hash: c.secret_hash,
            registration: c.registration,
            application: c.application,
            settings: c.settings.raw,
            untrusted_redirect_uris: c.untrusted_redirect_uris,
            revision: c.revision,
        }
    }
}

/// Everything needed to create a client besides its settings.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// The ID to use; `None` generates one. CIMD registration passes the document's URL.
    pub client_id: Option<ClientId>,
    /// Confidential clients get a secret.
    pub client_type: ClientType,
    /// How the client is being registered.
    pub registration: Registration,
    /// Read-only application facts, if the registrar knows them.
    pub application: Option<ApplicationInfo>,
    /// The editable settings.
    pub settings: ClientSettings,
}

impl NewClient {
    /// An administrator-created client with these settings.
    pub fn manual(client_type: ClientType, settings: ClientSettings) -> Self {
        NewClient {
            client_id: None,
            client_type,
            registration: Registration::Manual,
            application: None,
            settings,
        }
    }
}

impl OAuthClient {
    /// Builds a client from validated parts; the registry calls this and creates the secret.
    pub(crate) fn new(
        id: ClientId,
        new: NewClient,
        secret_hash: Option<SecretHash>,
    ) -> Result<Self, InvalidField> {
        match new.registration {
            // Nobody may take the identity a document's owner could claim later.
            Registration::Manual if crate::cimd::is_url_shaped(id.as_str()) => {
                return Err(InvalidField::new(
                    "client_id",
                    "is a URL, which only a client registered from its metadata document \
                     (CIMD) may have as its ID",
                ));
            }
            Registration::Cimd if !crate::cimd::is_url_shaped(id.as_str()) => {
                return Err(InvalidField::new(
                    "client_id",
                    "must be the URL of the client's metadata document",
                ));
            }
            _ => {}
        }
        Ok(OAuthClient {
            id,
            client_type: new.client_type,
            secret_hash,
            registration: new.registration,
            application: new.application,
            settings: new.settings.validate(new.client_type)?,
            untrusted_redirect_uris: Vec::new(),
            revision: 0,
        })
    }

    /// Replaces the read-only application facts: only their source (a metadata document
    /// fetched again) does this.
    pub(crate) fn set_application(&mut self, application: Option<ApplicationInfo>) {
        self.application = application;
    }

    /// Replaces the editable settings after validating them; nothing changes on error.
    /// Untrusted redirect URIs that the new settings now trust are dropped from review.
    pub fn update_settings(&mut self, settings: ClientSettings) -> Result<(), InvalidField> {
        self.settings = settings.validate(self.client_type)?;
        let rules = &self.settings.redirects;
        self.untrusted_redirect_uris
            .retain(|uri| rules.check(uri).is_err());
        Ok(())
    }

    /// Decides whether a user agent may be sent to `requested` (see [`crate::redirect`]).
    pub fn check_redirect_uri(
        &self,
        requested: &str,
    ) -> Result<TrustedRedirectUri, RedirectRejection> {
        self.settings.redirects.check(requested)
    }

    /// Adds `uri` to the untrusted redirect URIs for review: once only, and at most
    /// [`MAX_UNTRUSTED_REDIRECT_URIS`] of them, dropping the oldest. Returns whether the list
    /// changed.
    pub fn record_untrusted_redirect_uri(&mut self, uri: &str) -> bool {
        if self.untrusted_redirect_uris.iter().any(|u| u == uri) {
            return false;
        }
        if self.untrusted_redirect_uris.len() >= MAX_UNTRUSTED_REDIRECT_URIS {
            self.untrusted_redirect_uris.remove(0);
        }
        self.untrusted_redirect_uris.push(uri.to_owned());
        true
    }

    pub(crate) fn take_untrusted_redirect_uri(&mut self, uri: &str) -> bool {
        let before = self.untrusted_redirect_uris.len();
        self.untrusted_redirect_uris.retain(|u| u != uri);
        before != self.untrusted_redirect_uris.len()
    }

    pub(crate) fn set_secret_hash(&mut self, hash: SecretHash) {
        self.secret_hash = Some(hash);
    }

    /// Whether every registered redirect URI is on the user's own device (a loopback address
    /// or `localhost`). False for a client with none.
    pub fn loopback_only(&self) -> bool {
        let uris = self.redirect_uris();
        !uris.is_empty() && uris.iter().all(on_this_device)
    }

    /// What an administrator should reconsider about this client's settings.
    pub fn warnings(&self) -> Vec<ClientWarning> {
        let mut out = Vec::new();
        if self.client_type == ClientType::Public
            && !self.requires_consent()
            && self.redirect_uris().iter().any(on_this_device)
        {
            out.push(ClientWarning::SilentLoopbackTokens);
        }
        out
    }

    /// How many times the stored client has been changed; a [`crate::store::ClientStore`]
    /// uses it to refuse a write based on a stale read.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Sets the revision; only store implementations call this, after a successful write.
    pub fn set_revision(&mut self, revision: u64) {
        self.revision = revision;
    }

    /// The client ID.
    pub fn id(&self) -> &ClientId {
        &self.id
    }

    /// Confidential or public.
    pub fn client_type(&self) -> ClientType {
        self.client_type
    }

    /// The hash of the client's secret; `None` for a public client.
    pub fn secret_hash(&self) -> Option<&SecretHash> {
        self.secret_hash.as_ref()
    }

    /// Whether `presented` is this client's secret, in constant time. Always false for a
    /// public client.
    pub fn verify_secret(&self, presented: &str) -> bool {
        match &self.secret_hash {
            Some(hash) => hash.verify(presented),
            None => {
                // Same work either way, so timing does not tell public from confidential.
                SecretHash::spend_equal_time(presented);
                false
            }
        }
    }

    /// How the client was registered.
    pub fn registration(&self) -> Registration {
        self.registration
    }

    /// Read-only application information.
    pub fn application(&self) -> Option<&ApplicationInfo> {
        self.application.as_ref()
    }

    /// The settings as entered (validated).
    pub fn settings(&self) -> &ClientSettings {
        &self.settings.raw
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.settings.raw.name
    }

    /// The enabled flows.
    pub fn flows(&self) -> Flows {
        self.settings.raw.flows
    }

    /// Whether the client may use `flow`.
    pub fn allows(&self, flow: Flow) -> bool {
        self.settings.raw.flows.contains(flow)
    }

    /// Whether the authorization code flow needs PKCE: always for a public client (RFC 9700
    /// §2.1.1), and for a confidential one when Require PKCE is set.
    pub fn requires_pkce(&self) -> bool {
        self.client_type == ClientType::Public || self.settings.raw.require_pkce
    }

    /// Whether users must approve access.
    pub fn requires_consent(&self) -> bool {
        self.settings.raw.require_consent
    }

    /// The home URL.
    pub fn home_url(&self) -> Option<&Url> {
        self.settings.redirects.home_url()
    }

    /// The base URLs.
    pub fn base_urls(&self) -> &[Url] {
        self.settings.redirects.base_urls()
    }

    /// The registered redirect URIs.
    pub fn redirect_uris(&self) -> &[RegisteredRedirectUri] {
        self.settings.redirects.registered()
    }

    /// Redirect URIs that requests used but nobody registered, oldest first.
    pub fn untrusted_redirect_uris(&self) -> &[String] {
        &self.untrusted_redirect_uris
    }

    /// The scopes the client may request (and gets when it names none).
    pub fn scopes(&self) -> &Scope {
        &self.settings.scopes
    }

    /// `scope` itself, or the equal scope this client already holds (all its scopes, or one
    /// of them), which costs a grant no copy of the text.
    pub(crate) fn shared_scope(&self, scope: Scope) -> Scope {
        if scope == self.settings.scopes {
            return self.settings.scopes.clone();
        }
        self.settings
            .single_scopes
            .iter()
            .find(|single| **single == scope)
            .cloned()
            .unwrap_or(scope)
    }

    /// The user URI pattern.
    pub fn user_uri_pattern(&self) -> Option<&UriPattern> {
        self.settings.user_uri_pattern.as_ref()
    }

    /// The group URI pattern.
    pub fn group_uri_pattern(&self) -> Option<&UriPattern> {
        self.settings.group_uri_pattern.as_ref()
    }

    /// The client's status badges.
    pub fn badges(&self) -> Vec<Badge> {
        let mut badges = Vec::new();
        if self.flows().is_empty() {
            badges.push(Badge::Inactive);
        }
        if self.registration == Registration::Cimd {
            badges.push(Badge::AutoRegistered);
        }
        badges
    }

    /// Whether the client shows `badge`.
    pub fn has_badge(&self, badge: Badge) -> bool {
        match badge {
            Badge::Inactive => self.flows().is_empty(),
            Badge::AutoRegistered => self.registration == Registration::Cimd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ClientSettings {
        ClientSettings {
            name: "Build bot".into(),
            home_url: Some("https://ci.example.com/".into()),
            redirect_uris: vec!["/oauth/cb".into()],
            flows: [Flow::AuthorizationCode].into_iter().collect(),
            ..ClientSettings::default()
        }
    }

    fn client(settings: ClientSettings) -> Result<OAuthClient, InvalidField> {
        OAuthClient::new(
            ClientId::new("c1").unwrap(),
            NewClient::manual(ClientType::Public, settings),
            None,
        )
    }

    #[test]
    fn a_grant_of_one_or_all_of_the_clients_scopes_shares_its_text() {
        let c = client(ClientSettings {
            scopes: vec!["write".into(), "read".into()],
            ..settings()
        })
        .unwrap();
        let same = |a: &Scope, b: &Scope| std::ptr::eq(a.as_str().as_ptr(), b.as_str().as_ptr());
        let all = c.shared_scope(Scope::parse("read write").unwrap());
        assert!(same(&all, c.scopes()));
        let one = c.shared_scope(Scope::parse("read").unwrap());
        assert_eq!(one.as_str(), "read");
        assert!(same(&one, &c.shared_scope(Scope::parse("read").unwrap())));
        let other = Scope::parse("admin").unwrap();
        assert!(
            same(&c.shared_scope(other.clone()), &other),
            "not the client's: kept"
        );
    }

    #[test]
    fn url_shaped_ids_belong_to_metadata_document_clients_only() {
        for id in [
            "https://app.example.com/client.json",
            "HTTP://app.example.com/c",
        ] {
            let manual = OAuthClient::new(
                ClientId::new(id).unwrap(),
                NewClient::manual(ClientType::Public, settings()),
                None,
            );
            assert_eq!(manual.unwrap_err().field, "client_id", "{id}");
            let mut cimd = NewClient::manual(ClientType::Public, settings());
            cimd.registration = Registration::Cimd;
            assert!(OAuthClient::new(ClientId::new(id).unwrap(), cimd, None).is_ok());
        }
        let mut cimd = NewClient::manual(ClientType::Public, settings());
        cimd.registration = Registration::Cimd;
        let plain = OAuthClient::new(ClientId::new("demo").unwrap(), cimd, None);
        assert_eq!(plain.unwrap_err().field, "client_id");
        // Not URL-shaped: an administrator may use it.
        assert!(client(settings()).is_ok());
    }

    #[test]
    fn client_id_syntax() {
        assert!(ClientId::new("abc").is_ok());
        assert!(ClientId::new("https://app.example.com/client.json").is_ok());
        for bad in [
            "",
            "tab\there",
            "two words",
            "nul\0",
            "del\x7f",
            "é",
            &"x".repeat(MAX_CLIENT_ID_LEN + 1),
        ] {
            let e = ClientId::new(bad).unwrap_err();
            assert_eq!(e.field, "client_id", "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_are_uuid_v4_and_unique() {
        let a = ClientId::generate().unwrap();
        let b = ClientId::generate().unwrap();
        assert_ne!(a, b);
        let s = a.as_str();
        assert_eq!(s.len(), 36);
        assert_eq!(s.as_bytes()[14], b'4');
        assert_eq!(s.matches('-').count(), 4);
    }

    #[test]
    fn flows_serialize_as_names() {
        let flows: Flows = [Flow::Implicit, Flow::ClientCredentials]
            .into_iter()
            .collect();
        assert_eq!(
            serde_json::to_string(&flows).unwrap(),
            r#"["client_credentials","implicit"]"#
        );
        let back: Flows = serde_json::from_str(r#"["resource_owner"]"#).unwrap();
        assert!(back.contains(Flow::ResourceOwner) && !back.contains(Flow::Implicit));
        assert!(serde_json::from_str::<Flows>(r#"["magic"]"#).is_err());
    }

    #[test]
    fn invalid_settings_name_the_field() {
        let cases: Vec<(ClientSettings, &str)> = vec![
            (
                ClientSettings {
                    name: "  ".into(),
                    ..settings()
                },
                "name",
            ),
            (
                ClientSettings {
                    home_url: Some("/relative".into()),
                    ..settings()
                },
                "home_url",
            ),
            (
                ClientSettings {
                    base_urls: vec!["https://a.example/#top".into()],
                    ..settings()
                },
                "base_urls[0]",
            ),
            (
                ClientSettings {
                    redirect_uris: vec!["javascript:alert(1)".into()],
                    ..settings()
                },
                "redirect_uris[0]",
            ),
            (
                ClientSettings {
                    icon: Some("ftp://x/i.png".into()),
                    ..settings()
                },
                "icon",
            ),
            (
                ClientSettings {
                    user_uri_pattern: Some("https://a/{who}".into()),
                    ..settings()
                },
                "user_uri_pattern",
            ),
            (
                ClientSettings {
                    group_uri_pattern: Some("groups/{id}".into()),
                    ..settings()
                },
                "group_uri_pattern",
            ),
            (
                ClientSettings {
                    description: "d".repeat(MAX_DESCRIPTION_LEN + 1),
                    ..settings()
                },
                "description",
            ),
        ];
        for (s, field) in cases {
            assert_eq!(client(s).unwrap_err().field, field);
        }
    }

    #[test]
    fn badges_follow_state() {
        let active = client(settings()).unwrap();
        assert!(active.badges().is_empty());
        let inactive = client(ClientSettings {
            flows: Flows::NONE,
            ..settings()
        })
        .unwrap();
        assert_eq!(inactive.badges(), vec![Badge::Inactive]);
        let mut new = NewClient::manual(
            ClientType::Public,
            ClientSettings {
                flows: Flows::NONE,
                ..settings()
            },
        );
        new.registration = Registration::Cimd;
        let auto = OAuthClient::new(
            ClientId::new("https://c2.example/client.json").unwrap(),
            new,
            None,
        )
        .unwrap();
        assert_eq!(auto.badges(), vec![Badge::Inactive, Badge::AutoRegistered]);
        assert!(auto.has_badge(Badge::AutoRegistered));
    }

    #[test]
    fn untrusted_list_is_deduplicated_and_bounded() {
        let mut c = client(settings()).unwrap();
        assert!(c.record_untrusted_redirect_uri("https://x.example/0"));
        assert!(!c.record_untrusted_redirect_uri("https://x.example/0"));
        for i in 1..=MAX_UNTRUSTED_REDIRECT_URIS {
            c.record_untrusted_redirect_uri(&format!("https://x.example/{i}"));
        }
        assert_eq!(
            c.untrusted_redirect_uris().len(),
            MAX_UNTRUSTED_REDIRECT_URIS
        );
        assert_eq!(c.untrusted_redirect_uris()[0], "https://x.example/1");
    }

    #[test]
    fn update_keeps_old_settings_on_error_and_drops_newly_trusted_uris() {
        let mut c = client(settings()).unwrap();
        c.record_untrusted_redirect_uri("https://ci.example.com/other");
        let bad = ClientSettings {
            name: String::new(),
            ..settings()
        };
        assert!(c.update_settings(bad).is_err());
        assert_eq!(c.name(), "Build bot");
        let mut s = settings();
        s.redirect_uris.push("/other".into());
        c.update_settings(s).unwrap();
        assert!(c.untrusted_redirect_uris().is_empty());
        assert!(c.check_redirect_uri("https://ci.example.com/other").is_ok());
    }

    #[test]
    fn serde_round_trip_revalidates_and_rebuilds_the_index() {
        let c = client(settings()).unwrap();
        let json = serde_json::to_value(&c).unwrap();
        let back: OAuthClient = serde_json::from_value(json.clone()).unwrap();
        assert!(
            back.check_redirect_uri("https://ci.example.com/oauth/cb")
                .is_ok()
        );
        let mut tampered = json;
        tampered["settings"]["home_url"] = "not a url".into();
        assert!(serde_json::from_value::<OAuthClient>(tampered).is_err());
    }

    #[test]
    fn pkce_is_required_for_public_clients_and_on_request() {
        assert!(client(settings()).unwrap().requires_pkce());
        let conf = OAuthClient::new(
            ClientId::new("c3").unwrap(),
            NewClient::manual(ClientType::Confidential, settings()),
            None,
        )
        .unwrap();
        assert!(!conf.requires_pkce());
    }
}
