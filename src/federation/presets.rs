//! Presets: modules for well-known providers with endpoints, scopes and mapping filled in,
//! and the catalogue a host shows in its "new module" picker.

use serde::{Deserialize, Serialize};
use url::Url;

use super::module::{
    Endpoints, MappingText, ModuleError, ModuleSettings, ModuleType, ProviderSecret,
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
    /// Microsoft Entra ID: the tenant ID (a GUID). Required there; ignored elsewhere. A domain
    /// name will not do: Entra ID's ID tokens always name the tenant by its GUID in `iss`.
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
                rule: "must be the tenant ID, a GUID",
            })
        };
        let (scopes, endpoints, mapping) = match self {
            // Bitbucket's /2.0/user has no email: the emails endpoint lists each address with
            // is_primary and is_confirmed. Permissions to grant: Account: Email and Read.
            Preset::BitbucketCloud => (
                "account email",
                Endpoints {
                    user_info: Some(url("https://api.bitbucket.org/2.0/user")?),
                    email: Some(url("https://api.bitbucket.org/2.0/user/emails")?),
                    ..Endpoints::new(
                        url("https://bitbucket.org/site/oauth2/authorize")?,
                        url("https://bitbucket.org/site/oauth2/access_token")?,
                    )
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
                    user_info: Some(url("https://api.github.com/user")?),
                    email: Some(url("https://api.github.com/user/emails")?),
                    ..Endpoints::new(
                        url("https://github.com/login/oauth/authorize")?,
                        url("https://github.com/login/oauth/access_token")?,
                    )
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
                    user_info: Some(url("https://gitlab.com/api/v4/user")?),
                    ..Endpoints::new(
                        url("https://gitlab.com/oauth/authorize")?,
                        url("https://gitlab.com/oauth/token")?,
                    )
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
                    user_info: Some(url("https://openidconnect.googleapis.com/v1/userinfo")?),
                    jwks: Some(url("https://www.googleapis.com/oauth2/v3/certs")?),
                    issuer: Some("https://accounts.google.com".into()),
                    ..Endpoints::new(
                        url("https://accounts.google.com/o/oauth2/v2/auth")?,
                        url("https://oauth2.googleapis.com/token")?,
                    )
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
                // One tenant, by its ID: `common`, `organizations` and `consumers` accept any
                // tenant's users, and no single issuer could be checked.
                let tenant = options.tenant.as_deref().unwrap_or_default();
                let guid = tenant.len() == 36
                    && tenant.bytes().enumerate().all(|(i, b)| match i {
                        8 | 13 | 18 | 23 => b == b'-',
                        _ => b.is_ascii_hexdigit(),
                    });
                if !guid {
                    return Err(ModuleError::Invalid {
                        field: "tenant",
                        rule: "must be the tenant ID, a GUID",
                    });
                }
                let base = format!("https://login.microsoftonline.com/{tenant}");
                (
                    "openid profile email",
                    Endpoints {
                        user_info: Some(url("https://graph.microsoft.com/oidc/userinfo")?),
                        logout: Some(url(&format!("{base}/oauth2/v2.0/logout"))?),
                        jwks: Some(url(&format!("{base}/discovery/v2.0/keys"))?),
                        issuer: Some(format!("{base}/v2.0")),
                        ..Endpoints::new(
                            url(&format!("{base}/oauth2/v2.0/authorize"))?,
                            url(&format!("{base}/oauth2/v2.0/token"))?,
                        )
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
        let mut settings =
            ModuleSettings::generic(self.display_name(), ModuleType::Preset(self), endpoints);
        settings.icon = Some(self.icon().to_owned());
        settings.client_id = client_id.into();
        settings.client_secret = client_secret;
        settings.scopes = ModuleSettings::parse_scopes(scopes);
        settings.mapping = mapping.parse()?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::federation::module::ModuleId;

    const TENANT: &str = "9122040d-6c67-4c5b-b112-36a304b66dad";
    use crate::federation::profile::{EmailVerification, map_profile, primary_email};

    fn settings(preset: Preset) -> ModuleSettings {
        let options = PresetOptions {
            tenant: Some(TENANT.into()),
        };
        preset
            .settings("client", ProviderSecret::new("secret"), &options)
            .unwrap()
    }

    fn map(preset: Preset, profile: &Value) -> crate::federation::ExternalProfile {
        let s = settings(preset);
        s.validate().unwrap();
        map_profile(
            &ModuleId::new("m").unwrap(),
            &s.mapping,
            profile,
            s.email_auto_verify,
        )
        .unwrap()
    }

    /// Bitbucket Cloud's `GET /2.0/user` and `GET /2.0/user/emails`, as its API reference
    /// shows them.
    #[test]
    fn bitbucket_cloud() {
        let user = json!({
            "type": "user",
            "uuid": "{d301aafa-d676-4ee0-88be-962be7417567}",
            "account_id": "557058:c0b72ad0-1cb5-4018-9cdc-0cde8492c443",
            "nickname": "evzijst",
            "display_name": "Erik van Zijst",
            "username": "evzijst",
            "created_on": "2010-12-13T21:33:09+00:00",
            "links": {
                "self": {"href": "https://api.bitbucket.org/2.0/users/%7Bd301aafa-d676-4ee0-88be-962be7417567%7D"},
                "avatar": {"href": "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/557058:c0b72ad0/128"}
            }
        });
        let p = map(Preset::BitbucketCloud, &user);
        assert_eq!(p.user_id, "{d301aafa-d676-4ee0-88be-962be7417567}");
        assert_eq!(p.username.as_deref(), Some("evzijst"));
        assert_eq!(p.full_name.as_deref(), Some("Erik van Zijst"));
        assert!(p.avatar_url.unwrap().ends_with("/557058:c0b72ad0/128"));
        assert_eq!(p.email, None, "Bitbucket's profile has no email");
        let emails = json!({
            "pagelen": 10,
            "values": [
                {"is_primary": true, "is_confirmed": true, "type": "email", "email": "erik@example.com",
                 "links": {"self": {"href": "https://api.bitbucket.org/2.0/user/emails/erik@example.com"}}},
                {"is_primary": false, "is_confirmed": false, "type": "email", "email": "old@example.com"}
            ],
            "page": 1, "size": 2
        });
        assert_eq!(
            primary_email(&emails),
            Some(("erik@example.com".into(), Some(true)))
        );
        let s = settings(Preset::BitbucketCloud);
        assert_eq!(s.scope_text(), "account email");
        assert!(s.endpoints.email.is_some());
    }

    /// GitHub's `GET /user` and `GET /user/emails`: a numeric ID, a public email that may be
    /// null.
    #[test]
    fn github() {
        let user = json!({
            "login": "octocat",
            "id": 583231,
            "node_id": "MDQ6VXNlcjU4MzIzMQ==",
            "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
            "type": "User",
            "name": null,
            "company": "@github",
            "email": null,
            "two_factor_authentication": true
        });
        let p = map(Preset::GitHub, &user);
        assert_eq!(p.user_id, "583231");
        assert_eq!(p.username.as_deref(), Some("octocat"));
        assert_eq!(
            p.full_name.as_deref(),
            Some("octocat"),
            "name is null: the login"
        );
        assert_eq!(
            p.avatar_url.as_deref(),
            Some("https://avatars.githubusercontent.com/u/583231?v=4")
        );
        let emails = json!([
            {"email": "octocat@github.com", "verified": true, "primary": false, "visibility": "public"},
            {"email": "octocat@users.noreply.github.com", "verified": true, "primary": true, "visibility": null}
        ]);
        assert_eq!(
            primary_email(&emails),
            Some(("octocat@users.noreply.github.com".into(), Some(true)))
        );
    }

    /// GitLab's `GET /api/v4/user` for the authenticated user.
    #[test]
    fn gitlab() {
        let user = json!({
            "id": 1,
            "username": "john_smith",
            "email": "john@example.com",
            "name": "John Smith",
            "state": "active",
            "avatar_url": "http://localhost:3000/uploads/user/avatar/1/index.jpg",
            "web_url": "http://localhost:3000/john_smith",
            "confirmed_at": "2012-05-23T09:05:22Z",
            "two_factor_enabled": true
        });
        let p = map(Preset::GitLab, &user);
        assert_eq!(p.user_id, "1");
        assert_eq!(p.username.as_deref(), Some("john_smith"));
        assert_eq!(p.full_name.as_deref(), Some("John Smith"));
        assert_eq!(p.email.as_deref(), Some("john@example.com"));
        assert_eq!(p.email_verification, EmailVerification::Unknown);
    }

    /// Google's OpenID Connect user info (`https://openidconnect.googleapis.com/v1/userinfo`).
    #[test]
    fn google() {
        let user = json!({
            "sub": "110169484474386276334",
            "name": "Jane Doe",
            "given_name": "Jane",
            "family_name": "Doe",
            "picture": "https://lh3.googleusercontent.com/a/photo.jpg",
            "email": "jane.doe@gmail.com",
            "email_verified": true,
            "locale": "en"
        });
        let p = map(Preset::Google, &user);
        assert_eq!(p.user_id, "110169484474386276334", "a long ID kept as text");
        assert_eq!(p.email.as_deref(), Some("jane.doe@gmail.com"));
        assert_eq!(p.email_verification, EmailVerification::Verified);
        assert_eq!(
            p.avatar_url.as_deref(),
            Some("https://lh3.googleusercontent.com/a/photo.jpg")
        );
        let s = settings(Preset::Google);
        assert_eq!(
            s.endpoints.issuer.as_deref(),
            Some("https://accounts.google.com")
        );
        assert!(s.module_type.is_openid_connect());
    }

    /// Microsoft Entra ID: ID token claims (v2.0) overlaid with Graph's OIDC user info. It
    /// never says whether an email is verified.
    #[test]
    fn microsoft_entra_id() {
        let claims = json!({
            "aud": "6cb04018-a3f5-46a7-b995-940c78f5aef3",
            "iss": "https://login.microsoftonline.com/9122040d-6c67-4c5b-b112-36a304b66dad/v2.0",
            "oid": "00000000-0000-0000-66f3-3332eca7ea81",
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
            "tid": "9122040d-6c67-4c5b-b112-36a304b66dad",
            "name": "Abe Lincoln",
            "preferred_username": "AbeLi@microsoft.com",
            "email": "AbeLi@microsoft.com",
            "family_name": "Lincoln",
            "given_name": "Abe"
        });
        let p = map(Preset::MicrosoftEntraId, &claims);
        assert_eq!(
            p.user_id, "00000000-0000-0000-66f3-3332eca7ea81",
            "oid, stable across apps"
        );
        assert_eq!(p.username.as_deref(), Some("AbeLi@microsoft.com"));
        assert_eq!(p.full_name.as_deref(), Some("Abe Lincoln"));
        assert_eq!(p.email_verification, EmailVerification::Unknown);
        let s = settings(Preset::MicrosoftEntraId);
        assert_eq!(
            s.endpoints.issuer.as_deref(),
            Some("https://login.microsoftonline.com/9122040d-6c67-4c5b-b112-36a304b66dad/v2.0")
        );
        assert_eq!(
            s.endpoints.token.as_str(),
            "https://login.microsoftonline.com/9122040d-6c67-4c5b-b112-36a304b66dad/oauth2/v2.0/token"
        );
    }
}
