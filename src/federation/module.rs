//! An auth module: the settings of one identity provider the host's users can log in with.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::clock::Timestamp;
use crate::mapping::{AttributePath, PathError};
use crate::redact::REDACTED;

use super::presets::Preset;

/// A module's identifier: it appears in the module's redirect URI, so it is 1 to 64 characters
/// of lowercase letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModuleId(std::sync::Arc<str>);

impl ModuleId {
    /// Checks `id`.
    pub fn new(id: impl Into<String>) -> Result<Self, ModuleError> {
        let id = id.into();
        let valid = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            // Shared, not copied: every profile and pending login names its module.
            Ok(ModuleId(id.into()))
        } else {
            Err(ModuleError::Invalid {
                field: "id",
                rule: "must be 1 to 64 characters of a-z, 0-9, '-' and '_'",
            })
        }
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ModuleId {
    type Error = ModuleError;
    fn try_from(s: String) -> Result<Self, ModuleError> {
        ModuleId::new(s)
    }
}

impl From<ModuleId> for String {
    fn from(id: ModuleId) -> String {
        id.0.to_string()
    }
}

/// What kind of provider a module talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleType {
    /// A preset for a known provider: endpoints, scopes and mapping filled in.
    Preset(Preset),
    /// Any OAuth 2.0 provider with a user-info endpoint.
    OAuth2,
    /// Any OpenID Connect provider: an ID token is required and checked.
    OpenIdConnect,
}

impl ModuleType {
    /// Whether logins through this module are OpenID Connect logins (ID token and nonce).
    pub fn is_openid_connect(self) -> bool {
        match self {
            ModuleType::Preset(p) => p.is_openid_connect(),
            ModuleType::OAuth2 => false,
            ModuleType::OpenIdConnect => true,
        }
    }

    /// The name shown as the module's type.
    pub fn display_name(self) -> &'static str {
        match self {
            ModuleType::Preset(p) => p.display_name(),
            ModuleType::OAuth2 => "OAuth 2.0",
            ModuleType::OpenIdConnect => "OpenID Connect",
        }
    }
}

/// The client secret the host holds at the provider. The library must send it as it is, so
/// it is kept in clear (the host's store should encrypt it at rest); `Debug`, audit events and
/// the host's pages see it redacted.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderSecret(String);

impl ProviderSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        ProviderSecret(secret.into())
    }

    /// The secret, for the token request.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Whether no secret is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ProviderSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// The provider's endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    /// Where the user's browser is sent to log in.
    pub authorization: Url,
    /// Where the code is exchanged for tokens.
    pub token: Url,
    /// The profile of the user the access token belongs to.
    pub user_info: Option<Url>,
    /// Where to send the browser after the host's own logout, to end the provider's session.
    pub logout: Option<Url>,
    /// The user's email addresses, for providers whose profile has none (Bitbucket, GitHub).
    pub email: Option<Url>,
    /// The avatar's image, for providers whose profile has no picture URL.
    pub avatar: Option<Url>,
    /// The provider's signing keys, for checking ID tokens.
    pub jwks: Option<Url>,
    /// The provider's issuer identifier: an ID token's `iss` must equal it, and so must a
    /// callback's `iss` parameter (RFC 9207) when it has one.
    pub issuer: Option<String>,
    /// The provider sends `iss` with every authorization response (its metadata says
    /// `authorization_response_iss_parameter_supported`): a callback without one is refused
    /// (RFC 9207 §2.4).
    #[serde(default)]
    pub iss_required: bool,
}

impl Endpoints {
    /// The two endpoints every provider has; the others unset.
    pub fn new(authorization: Url, token: Url) -> Self {
        Endpoints {
            authorization,
            token,
            user_info: None,
            logout: None,
            email: None,
            avatar: None,
            jwks: None,
            issuer: None,
            iss_required: false,
        }
    }
}

/// Where each account attribute is read from in the provider's profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttributeMapping {
    /// The provider's ID for the user: the key accounts are linked by.
    pub user_id: Option<AttributePath>,
    /// The username.
    pub username: Option<AttributePath>,
    /// The full name.
    pub full_name: Option<AttributePath>,
    /// The email address.
    pub email: Option<AttributePath>,
    /// Whether the provider verified the email address.
    pub email_verified: Option<AttributePath>,
    /// The avatar: a URL, or an ID for the image URL pattern.
    pub avatar: Option<AttributePath>,
    /// A URL with a `<picture-id>` placeholder the avatar value fills.
    pub image_url_pattern: Option<String>,
    /// The groups the user belongs to at the provider.
    pub groups: Option<AttributePath>,
}

/// The mapping as text, as an administrator writes it; [`Self::parse`] checks every path.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MappingText {
    /// See [`AttributeMapping::user_id`].
    pub user_id: Option<String>,
    /// See [`AttributeMapping::username`].
    pub username: Option<String>,
    /// See [`AttributeMapping::full_name`].
    pub full_name: Option<String>,
    /// See [`AttributeMapping::email`].
    pub email: Option<String>,
    /// See [`AttributeMapping::email_verified`].
    pub email_verified: Option<String>,
    /// See [`AttributeMapping::avatar`].
    pub avatar: Option<String>,
    /// See [`AttributeMapping::image_url_pattern`].
    pub image_url_pattern: Option<String>,
    /// See [`AttributeMapping::groups`].
    pub groups: Option<String>,
}

impl MappingText {
    /// Parses every path; the error names the attribute and the position.
    pub fn parse(&self) -> Result<AttributeMapping, ModuleError> {
        fn path(
            name: &'static str,
            text: &Option<String>,
        ) -> Result<Option<AttributePath>, ModuleError> {
            match text.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(t) => AttributePath::parse(t)
                    .map(Some)
                    .map_err(|error| ModuleError::Path {
                        attribute: name,
                        error,
                    }),
            }
        }
        Ok(AttributeMapping {
            user_id: path("user_id", &self.user_id)?,
            username: path("username", &self.username)?,
            full_name: path("full_name", &self.full_name)?,
            email: path("email", &self.email)?,
            email_verified: path("email_verified", &self.email_verified)?,
            avatar: path("avatar", &self.avatar)?,
            image_url_pattern: self
                .image_url_pattern
                .clone()
                .filter(|p| !p.trim().is_empty()),
            groups: path("groups", &self.groups)?,
        })
    }
}

impl AttributeMapping {
    /// Reads `profile` (the provider's user-info JSON) into the profile of a user of
    /// `module`; `email_auto_verify` decides only when the profile says nothing on whether
    /// the email is verified. Fails when the user ID is missing or not exact.
    pub fn map(
        &self,
        module: &ModuleId,
        profile: &serde_json::Value,
        email_auto_verify: bool,
    ) -> Result<super::ExternalProfile, super::LoginError> {
        super::profile::map_profile(module, self, profile, email_auto_verify)
    }

    /// The mapping as text.
    pub fn text(&self) -> MappingText {
        let t = |p: &Option<AttributePath>| p.as_ref().map(|p| p.as_str().to_owned());
        MappingText {
            user_id: t(&self.user_id),
            username: t(&self.username),
            full_name: t(&self.full_name),
            email: t(&self.email),
            email_verified: t(&self.email_verified),
            avatar: t(&self.avatar),
            image_url_pattern: self.image_url_pattern.clone(),
            groups: t(&self.groups),
        }
    }
}

impl Serialize for AttributeMapping {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.text().serialize(s)
    }
}

impl<'de> Deserialize<'de> for AttributeMapping {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        MappingText::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// How the host authenticates to the provider's token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialsIn {
    /// HTTP Basic (`client_secret_basic`, RFC 6749 §2.3.1's preferred way).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the request body (`client_secret_post`).
    Body,
}

/// Everything an administrator sets on a module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleSettings {
    /// The name shown in the module list and on the login button.
    pub name: String,
    /// The login button's image (a URL or an icon name the host knows).
    pub icon: Option<String>,
    /// The provider kind.
    pub module_type: ModuleType,
    /// The client ID the provider issued to the host.
    pub client_id: String,
    /// The client secret the provider issued to the host.
    pub client_secret: ProviderSecret,
    /// The scopes requested from the provider.
    pub scopes: Vec<String>,
    /// The provider's endpoints.
    pub endpoints: Endpoints,
    /// Where account attributes are read from.
    pub mapping: AttributeMapping,
    /// Provider group → host groups; synced on every login.
    pub group_mappings: BTreeMap<String, Vec<String>>,
    /// Create an account for a provider user who has none.
    pub user_creation: bool,
    /// Host groups every user logging in through this module joins.
    pub auto_join_groups: Vec<String>,
    /// How the client credentials reach the token endpoint.
    pub credentials: CredentialsIn,
    /// Whether an email is verified when the provider says nothing about it. Never overrides
    /// a provider's explicit `false`.
    pub email_auto_verify: bool,
    /// The `grant_type` with which a host token is exchanged for the user's provider token.
    pub extension_grant_type: Option<String>,
    /// How long to wait for a connection to the provider.
    pub connect_timeout: Duration,
    /// How long to wait for the provider's answer.
    pub read_timeout: Duration,
}

/// The default connection and read timeouts: 5000 ms each.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(5000);

impl ModuleSettings {
    /// Settings for a generic module with the given endpoints; everything else at its default.
    pub fn generic(name: impl Into<String>, module_type: ModuleType, endpoints: Endpoints) -> Self {
        ModuleSettings {
            name: name.into(),
            icon: None,
            module_type,
            client_id: String::new(),
            client_secret: ProviderSecret::default(),
            scopes: Vec::new(),
            endpoints,
            mapping: AttributeMapping::default(),
            group_mappings: BTreeMap::new(),
            user_creation: false,
            auto_join_groups: Vec::new(),
            credentials: CredentialsIn::Basic,
            email_auto_verify: false,
            extension_grant_type: None,
            connect_timeout: DEFAULT_TIMEOUT,
            read_timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Parses a space-separated scope list, as the administrator's form has it.
    pub fn parse_scopes(text: &str) -> Vec<String> {
        text.split_ascii_whitespace().map(str::to_owned).collect()
    }

    /// The scopes space-separated, as sent to the provider.
    pub fn scope_text(&self) -> String {
        self.scopes.join(" ")
    }

    /// Checks the settings; the error names the field and the rule.
    pub fn validate(&self) -> Result<(), ModuleError> {
        let invalid = |field, rule| Err(ModuleError::Invalid { field, rule });
        if self.name.trim().is_empty() {
            return invalid("name", "must not be empty");
        }
        if self.client_id.is_empty() {
            return invalid("client_id", "must not be empty");
        }
        for (field, url) in [
            (
                "endpoints.authorization",
                Some(&self.endpoints.authorization),
            ),
            ("endpoints.token", Some(&self.endpoints.token)),
            ("endpoints.user_info", self.endpoints.user_info.as_ref()),
            ("endpoints.email", self.endpoints.email.as_ref()),
            ("endpoints.avatar", self.endpoints.avatar.as_ref()),
            ("endpoints.jwks", self.endpoints.jwks.as_ref()),
        ] {
            // RFC 9700 §2.6 / RFC 6749 §3.1: credentials and codes travel only over TLS;
            // plain http is allowed for loopback development providers.
            if let Some(url) = url
                && url.scheme() != "https"
                && !(url.scheme() == "http" && is_loopback(url))
            {
                return invalid(field, "must be https (http only for a loopback host)");
            }
            // Credentials belong in the client secret, which is redacted; a URL is shown and
            // logged as it is.
            if let Some(url) = url
                && (!url.username().is_empty() || url.password().is_some())
            {
                return invalid(field, "must not carry a user name or password");
            }
        }
        // OpenID Connect Discovery §3: the issuer is an https URL (http on loopback, for
        // development).
        if let Some(issuer) = &self.endpoints.issuer {
            let ok = Url::parse(issuer)
                .is_ok_and(|u| u.scheme() == "https" || (u.scheme() == "http" && is_loopback(&u)));
            if !ok {
                return invalid(
                    "endpoints.issuer",
                    "must be an https URL (http only for a loopback host)",
                );
            }
        }
        if let Some(logout) = &self.endpoints.logout
            && !matches!(logout.scheme(), "https" | "http")
        {
            return invalid("endpoints.logout", "must be an http(s) URL");
        }
        if self.mapping.user_id.is_none() {
            return invalid("mapping.user_id", "must be set: accounts are linked by it");
        }
        if self.endpoints.iss_required && self.endpoints.issuer.is_none() {
            return invalid("endpoints.issuer", "must be set when iss_required is on");
        }
        if self.module_type.is_openid_connect() {
            if self.endpoints.issuer.is_none() {
                return invalid("endpoints.issuer", "must be set for OpenID Connect");
            }
            if self.endpoints.jwks.is_none() {
                return invalid("endpoints.jwks", "must be set for OpenID Connect");
            }
        } else if self.endpoints.user_info.is_none() {
            return invalid("endpoints.user_info", "must be set for OAuth 2.0");
        }
        if let Some(grant_type) = &self.extension_grant_type {
            // RFC 6749 §4.5: an extension grant type is an absolute URI.
            if Url::parse(grant_type).is_err() {
                return invalid("extension_grant_type", "must be an absolute URI");
            }
        }
        if self.connect_timeout.is_zero() {
            return invalid("connect_timeout", "must be more than zero");
        }
        if self.read_timeout.is_zero() {
            return invalid("read_timeout", "must be more than zero");
        }
        if let Some(pattern) = &self.mapping.image_url_pattern
            && !pattern.contains(crate::mapping::PICTURE_ID)
        {
            return invalid("mapping.image_url_pattern", "must contain <picture-id>");
        }
        Ok(())
    }
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// A stored module: its settings and the state the store keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthModule {
    /// The module's ID.
    pub id: ModuleId,
    /// The administrator's settings.
    pub settings: ModuleSettings,
    /// Whether users can log in through it.
    pub enabled: bool,
    /// Whether it is the default module (at most one is). Kept by the store.
    pub default: bool,
    /// Accounts created or linked through it (test logins never count). Kept by the store.
    pub accounts_imported: u64,
    /// When it was created.
    pub created_at: Timestamp,
    /// Bumped by every update, for optimistic concurrency.
    pub revision: u64,
}

/// Why an administrative action on a module was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// A setting broke a rule.
    #[error("{field}: {rule}")]
    Invalid {
        /// The setting.
        field: &'static str,
        /// The rule it broke.
        rule: &'static str,
    },
    /// A mapping path did not parse.
    #[error("mapping.{attribute}: {error}")]
    Path {
        /// The attribute.
        attribute: &'static str,
        /// Where and why.
        error: PathError,
    },
    /// No module has this ID.
    #[error("no auth module with this ID")]
    NotFound,
    /// A module with this ID exists already.
    #[error("an auth module with this ID exists already")]
    Duplicate,
    /// The module was changed since the administrator read it; read it again.
    #[error("the auth module was changed by someone else; reload it and try again")]
    Conflict,
    /// The action could lock users out and was not confirmed.
    #[error("{0}; repeat with confirmation to proceed")]
    NeedsConfirmation(&'static str),
    /// OpenID Connect discovery failed.
    #[error("discovery: {0}")]
    Discovery(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The random generator failed.
    #[error(transparent)]
    Random(#[from] crate::RandomError),
}
