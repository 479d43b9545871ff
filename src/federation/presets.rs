//! Presets: modules for well-known providers with endpoints, scopes and mapping filled in,
//! and the catalogue a host shows in its "new module" picker.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

use super::module::{
    CredentialsIn, DEFAULT_TIMEOUT, Endpoints, MappingText, ModuleError, ModuleSettings,
    ModuleType, ProviderSecret,
};

/// A provider the library knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Preset {
    /// Bitbucket Cloud (OAuth 2.0; email from the emails endpoint).
    BitbucketCloud,
    /// GitHub (OAuth 2.0; email from the emails endpoint).
    #[serde(rename = "github")]
    GitHub,
    /// GitLab.com (OAuth 2.0).
    #[serde(rename = "gitlab")]
    GitLab,
    /// Google (OpenID Connect).
    Google,
    /// Microsoft Entra ID, for one tenant (OpenID Connect).
    MicrosoftEntraId,
}

/// One entry of the catalogue: what a picker shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CatalogueEntry {
    /// The provider's name.
    pub name: &'static str,
    /// The default button icon (a name the host maps to an image).
    pub icon: &'static str,
    /// The module type it creates.
    pub module_type: ModuleType,
}

/// Every module type a host can offer: the presets, then generic OpenID Connect and OAuth 2.0.
pub fn catalogue() -> Vec<CatalogueEntry> {
    let presets = [
        Preset::BitbucketCloud,
        Preset::GitHub,
        Preset::GitLab,
        Preset::Google,
        Preset::MicrosoftEntraId,
    ];
    presets
        .into_iter()
        .map(|p| CatalogueEntry {
            name: p.display_name(),
            icon: p.icon(),
            module_type: ModuleType::Preset(p),
        })
        .chain([
            CatalogueEntry {
                name: "OpenID Connect",
                icon: "openid",
                module_type: ModuleType::OpenIdConnect,
            },
            CatalogueEntry {
                name: "OAuth 2.0",
                icon: "oauth",
                module_type: ModuleType::OAuth2,
            },
        ])
        .collect()
}

/// What a preset needs besides the client credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresetOptions {
    /// Microsoft Entra ID: the tenant (a GUID or domain). Required there; ignored elsewhere.
    pub tenant: Option<String>,
}

impl Preset {
    /// The provider's name.
    pub fn display_name(self) -> &'static str {
        match self {
            Preset::BitbucketCloud => "Bitbucket Cloud",
            Preset::GitHub => "GitHub",
            Preset::GitLab => "GitLab",
            Preset::Google => "Google",
            Preset::MicrosoftEntraId => "Microsoft Entra ID",
        }
    }

    /// The default icon name.
    pub fn icon(self) -> &'static str {
        match self {
            Preset::BitbucketCloud => "bitbucket",
            Preset::GitHub => "github",
            Preset::GitLab => "gitlab",
            Preset::Google => "google",
            Preset::MicrosoftEntraId => "microsoft",
        }
    }

    /// Whether the provider is used through OpenID Connect.
    pub fn is_openid_connect(self) -> bool {
        matches!(self, Preset::Google | Preset::MicrosoftEntraId)
    }

    /// The settings this preset fills in, for the given client credentials. An administrator
    /// may still change any of them.
    pub fn settings(
        self,
        client_id: impl Into<String>,
        client_secret: ProviderSecret,
        options: &PresetOptions,
    ) -> Result<ModuleSettings, ModuleError> {
        let url = |s: &str| {
            Url::parse(s).map_err(|_| ModuleError::Invalid {
                field: "tenant",
                rule: "must be a tenant ID or domain name",
            })
        };
        let (scopes, endpoints, mapping) = match self {
            // Bitbucket's /2.0/user has no email: the emails endpoint lists each address with
            // is_primary and is_confirmed. Permissions to grant: Account: Email and Read.
            Preset::BitbucketCloud => (
                "account email",
                Endpoints {
                    authorization: url("https://bitbucket.org/site/oauth2/authorize")?,
                    token: url("https://bitbucket.org/site/oauth2/access_token")?,
                    user_info: Some(url("https://api.bitbucket.org/2.0/user")?),
                    logout: None,
                    email: Some(url("https://api.bitbucket.org/2.0/user/emails")?),
                    avatar: None,
                    jwks: None,
                    issuer: None,
                },
                MappingText {
                    user_id: Some("uuid ?: account_id".into()),
                    username: Some("username ?: nickname".into()),
                    full_name: Some("display_name ?: nickname".into()),
                    avatar: Some("links/avatar/href".into()),
                    ..MappingText::default()
                },
            ),
            // GitHub's /user shows only the public email; the emails endpoint (scope
            // user:email) has every address with primary and verified.
            Preset::GitHub => (
                "read:user user:email",
                Endpoints {
                    authorization: url("https://github.com/login/oauth/authorize")?,
                    token: url("https://github.com/login/oauth/access_token")?,
                    user_info: Some(url("https://api.github.com/user")?),
                    logout: None,
                    email: Some(url("https://api.github.com/user/emails")?),
                    avatar: None,
                    jwks: None,
                    issuer: None,
                },
                MappingText {
                    user_id: Some("id".into()),
                    username: Some("login".into()),
                    full_name: Some("name ?: login".into()),
                    avatar: Some("avatar_url".into()),
                    ..MappingText::default()
                },
            ),
            // GitLab's /api/v4/user is the authenticated user, with the primary email, which
            // GitLab requires to be confirmed before it can be primary.
            Preset::GitLab => (
                "read_user",
                Endpoints {
                    authorization: url("https://gitlab.com/oauth/authorize")?,
                    token: url("https://gitlab.com/oauth/token")?,
                    user_info: Some(url("https://gitlab.com/api/v4/user")?),
                    logout: None,
                    email: None,
                    avatar: None,
                    jwks: None,
                    issuer: None,
                },
                MappingText {
                    user_id: Some("id".into()),
                    username: Some("username".into()),
                    full_name: Some("name ?: username".into()),
                    email: Some("email".into()),
                    avatar: Some("avatar_url".into()),
                    ..MappingText::default()
                },
            ),
            Preset::Google => (
                "openid email profile",
                Endpoints {
                    authorization: url("https://accounts.google.com/o/oauth2/v2/auth")?,
                    token: url("https://oauth2.googleapis.com/token")?,
                    user_info: Some(url("https://openidconnect.googleapis.com/v1/userinfo")?),
                    logout: None,
                    email: None,
                    avatar: None,
                    jwks: Some(url("https://www.googleapis.com/oauth2/v3/certs")?),
                    issuer: Some("https://accounts.google.com".into()),
                },
                MappingText {
                    user_id: Some("sub".into()),
                    username: Some("email".into()),
                    full_name: Some("name ?: email".into()),
                    email: Some("email".into()),
                    email_verified: Some("email_verified".into()),
                    avatar: Some("picture".into()),
                    ..MappingText::default()
                },
            ),
            // Entra ID says nothing on whether an email is verified (its `email` claim is
            // whatever the tenant typed), so no mapping reads one: with auto-verification off,
            // a login is never linked to an existing account by that email.
            Preset::MicrosoftEntraId => {
                let tenant = options.tenant.as_deref().unwrap_or_default();
                let valid = !tenant.is_empty()
                    && tenant
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
                if !valid {
                    return Err(ModuleError::Invalid {
                        field: "tenant",
                        rule: "must be a tenant ID or domain name",
                    });
                }
                let base = format!("https://login.microsoftonline.com/{tenant}");
                (
                    "openid profile email",
                    Endpoints {
                        authorization: url(&format!("{base}/oauth2/v2.0/authorize"))?,
                        token: url(&format!("{base}/oauth2/v2.0/token"))?,
                        user_info: Some(url("https://graph.microsoft.com/oidc/userinfo")?),
                        logout: Some(url(&format!("{base}/oauth2/v2.0/logout"))?),
                        email: None,
                        avatar: None,
                        jwks: Some(url(&format!("{base}/discovery/v2.0/keys"))?),
                        issuer: Some(format!("{base}/v2.0")),
                    },
                    MappingText {
                        user_id: Some("oid ?: sub".into()),
                        username: Some("preferred_username ?: email".into()),
                        full_name: Some("name".into()),
                        email: Some("email ?: preferred_username".into()),
                        ..MappingText::default()
                    },
                )
            }
        };
        Ok(ModuleSettings {
            name: self.display_name().to_owned(),
            icon: Some(self.icon().to_owned()),
            module_type: ModuleType::Preset(self),
            client_id: client_id.into(),
            client_secret,
            scopes: ModuleSettings::parse_scopes(scopes),
            endpoints,
            mapping: mapping.parse()?,
            group_mappings: BTreeMap::new(),
            user_creation: false,
            auto_join_groups: Vec::new(),
            credentials: CredentialsIn::Basic,
            email_auto_verify: false,
            extension_grant_type: None,
            connect_timeout: DEFAULT_TIMEOUT,
            read_timeout: DEFAULT_TIMEOUT,
        })
    }
}
