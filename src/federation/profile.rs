//! From the provider's JSON to an external profile: the mapping applied, the email endpoint
//! read, the verification state settled.

use serde::Serialize;
use serde_json::Value;

use super::error::LoginError;
use super::module::{AttributeMapping, ModuleId};
use super::provider::AvatarImage;
use crate::mapping::image_url;

/// Who the provider says the user is. Users are identified by `(module, user_id)`, never by
/// email or username.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalProfile {
    /// The module the user logged in through.
    pub module: ModuleId,
    /// The provider's ID for the user, exactly as the provider wrote it.
    pub user_id: String,
    /// The username.
    pub username: Option<String>,
    /// The full name.
    pub full_name: Option<String>,
    /// The email address.
    pub email: Option<String>,
    /// Whether the email is verified, and who said so.
    pub email_verification: EmailVerification,
    /// The avatar's URL, from the profile (through the image URL pattern when there is one).
    pub avatar_url: Option<String>,
    /// The avatar's image, from the avatar endpoint.
    #[serde(skip)]
    pub avatar_image: Option<AvatarImage>,
    /// The provider groups the user belongs to.
    pub groups: Vec<String>,
    /// Whether the profile had a value at the groups path (an empty list counts). When it
    /// had none, group mappings add groups but remove none.
    pub groups_reported: bool,
}

/// Whether an email address is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailVerification {
    /// The provider said it is verified.
    Verified,
    /// The provider said it is not verified.
    Unverified,
    /// The provider said nothing, and the module's auto-verification counts it verified.
    AutoVerified,
    /// The provider said nothing, and auto-verification is off.
    Unknown,
}

impl EmailVerification {
    /// The provider's word when it gave one; the module's auto-verification only when it did
    /// not. An explicit `false` is never overridden.
    pub fn settle(provider_said: Option<bool>, auto_verify: bool) -> Self {
        match (provider_said, auto_verify) {
            (Some(true), _) => EmailVerification::Verified,
            (Some(false), _) => EmailVerification::Unverified,
            (None, true) => EmailVerification::AutoVerified,
            (None, false) => EmailVerification::Unknown,
        }
    }

    /// Whether the email counts as verified.
    pub fn is_verified(self) -> bool {
        matches!(
            self,
            EmailVerification::Verified | EmailVerification::AutoVerified
        )
    }
}

/// The address an emails endpoint marks primary and verified (or, failing that, primary),
/// with its verification flag. Bitbucket answers `{"values": [{"email", "is_primary",
/// "is_confirmed"}]}`, GitHub `[{"email", "primary", "verified"}]`.
pub(crate) fn primary_email(body: &Value) -> Option<(String, Option<bool>)> {
    let list = match body {
        Value::Array(items) => items,
        Value::Object(o) => o.get("values")?.as_array()?,
        _ => return None,
    };
    let flag = |item: &Value, names: &[&str]| {
        names
            .iter()
            .find_map(|n| item.get(*n))
            .and_then(|v| match v {
                Value::Bool(b) => Some(*b),
                Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
                Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
                _ => None,
            })
    };
    let entries: Vec<(String, bool, Option<bool>)> = list
        .iter()
        .filter_map(|item| {
            let email = item.get("email")?.as_str()?.to_owned();
            let primary = flag(item, &["primary", "is_primary"]).unwrap_or(false);
            let verified = flag(item, &["verified", "is_confirmed"]);
            Some((email, primary, verified))
        })
        .collect();
    entries
        .iter()
        .find(|(_, primary, verified)| *primary && *verified == Some(true))
        .or_else(|| entries.iter().find(|(_, primary, _)| *primary))
        .map(|(email, _, verified)| (email.clone(), *verified))
}

/// Applies the mapping to `profile`.
pub(crate) fn map_profile(
    module: &ModuleId,
    mapping: &AttributeMapping,
    profile: &Value,
    email_auto_verify: bool,
) -> Result<ExternalProfile, LoginError> {
    let user_id = match mapping.user_id.as_ref().and_then(|p| p.find(profile)) {
        Some(Value::String(s)) => s.clone(),
        // A numeric ID is kept as the provider wrote it; one that only a float could hold
        // would be rounded, and two users could end up with the same ID.
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(Value::Number(_)) => {
            return Err(LoginError::UserId("is a number too large to keep exactly"));
        }
        Some(_) => return Err(LoginError::UserId("is not a string or an integer")),
        None => return Err(LoginError::UserId("missing from the provider's profile")),
    };
    let text =
        |p: &Option<crate::mapping::AttributePath>| p.as_ref().and_then(|p| p.string(profile));
    let avatar_url = match (&mapping.avatar, &mapping.image_url_pattern) {
        (Some(path), Some(pattern)) => path.find(profile).and_then(|v| match v {
            Value::String(s) => Some(image_url(pattern, s)),
            Value::Number(n) => Some(image_url(pattern, &n.to_string())),
            _ => None,
        }),
        (path, None) => text(path),
        (None, Some(_)) => None,
    }
    // The host will put this URL in an `<img>`: only web URLs, never `javascript:` or `data:`.
    .filter(|url| {
        let scheme = |s: &str| {
            url.get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
        };
        scheme("https://") || scheme("http://")
    });
    let groups = mapping
        .groups
        .as_ref()
        .map(|p| p.strings(profile))
        .unwrap_or_default();
    let provider_said = mapping
        .email_verified
        .as_ref()
        .and_then(|p| p.boolean(profile));
    Ok(ExternalProfile {
        module: module.clone(),
        user_id,
        username: text(&mapping.username),
        full_name: text(&mapping.full_name),
        email: text(&mapping.email),
        email_verification: EmailVerification::settle(provider_said, email_auto_verify),
        avatar_url,
        avatar_image: None,
        // Only an empty result needs the second look: was it `[]`, or nothing at all?
        groups_reported: !groups.is_empty()
            || mapping.groups.as_ref().is_some_and(|p| p.present(profile)),
        groups,
    })
}
