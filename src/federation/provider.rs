//! The calls to the provider: the token request and the JSON and image reads, with the
//! quirks real providers have.

use base64::Engine as _;
use serde_json::Value;
use url::Url;

use super::error::LoginError;
use super::module::{CredentialsIn, ModuleSettings, ProviderSecret};
use crate::clock::Timestamp;
use crate::store::{FetchError, HttpFetcher, HttpMethod, HttpRequest, HttpResponse};

/// The most a provider's JSON answer may be.
const MAX_JSON_BYTES: usize = 256 * 1024;
/// The most an avatar image may be.
pub const MAX_AVATAR_BYTES: usize = 1024 * 1024;

/// The tokens the provider issued for a user.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderTokens {
    /// The provider access token.
    pub access_token: ProviderSecret,
    /// The refresh token, if the provider issued one.
    pub refresh_token: Option<ProviderSecret>,
    /// When the access token expires, if the provider said.
    pub expires_at: Option<Timestamp>,
    /// The scope granted, if the provider said.
    pub scope: Option<String>,
    /// The ID token, for OpenID Connect.
    pub id_token: Option<ProviderSecret>,
}

impl std::fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

fn request(settings: &ModuleSettings, method: HttpMethod, url: Url) -> HttpRequest {
    let mut request = HttpRequest::get(url);
    request.method = method;
    request.connect_timeout = settings.connect_timeout;
    request.read_timeout = settings.read_timeout;
    request.deadline = settings.connect_timeout + settings.read_timeout;
    request.max_response_bytes = MAX_JSON_BYTES;
    request
        .headers
        .push(("Accept".into(), "application/json".into()));
    // GitHub's API refuses requests without a User-Agent.
    request.headers.push((
        "User-Agent".into(),
        concat!("portcullis/", env!("CARGO_PKG_VERSION")).into(),
    ));
    request
}

async fn send(
    fetcher: &dyn HttpFetcher,
    endpoint: &'static str,
    request: HttpRequest,
) -> Result<HttpResponse, LoginError> {
    fetcher.fetch(request).await.map_err(|e| match e {
        FetchError::ConnectTimeout(_) | FetchError::ReadTimeout(_) | FetchError::Deadline(_) => {
            LoginError::Timeout { endpoint }
        }
        FetchError::TooLarge { limit } => LoginError::BadResponse {
            endpoint,
            problem: format!("the answer is larger than {limit} bytes"),
        },
        _ => LoginError::Unreachable { endpoint },
    })
}

/// The token request (RFC 6749 §4.1.3), or a refresh (§6) when `grant` says so.
pub(crate) async fn token_request(
    fetcher: &dyn HttpFetcher,
    settings: &ModuleSettings,
    grant: &[(&str, &str)],
    now: Timestamp,
) -> Result<ProviderTokens, LoginError> {
    let mut request = request(settings, HttpMethod::Post, settings.endpoints.token.clone());
    let (body, authorization) = token_form(settings, grant);
    if let Some(value) = authorization {
        request.headers.push(("Authorization".into(), value));
    }
    request.headers.push((
        "Content-Type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    request.body = body.into_bytes();
    let response = send(fetcher, "token", request).await?;
    let body: Value =
        serde_json::from_slice(&response.body).map_err(|_| LoginError::BadResponse {
            endpoint: "token",
            problem: format!("status {}, and the body is not JSON", response.status),
        })?;
    // Some providers (GitHub) answer errors with status 200: the body decides.
    if let Some(error) = body.get("error").and_then(Value::as_str) {
        return Err(LoginError::provider(
            error,
            body.get("error_description").and_then(Value::as_str),
        ));
    }
    if response.status != 200 {
        return Err(LoginError::BadResponse {
            endpoint: "token",
            problem: format!("status {}", response.status),
        });
    }
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    let access_token = text("access_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| LoginError::BadResponse {
            endpoint: "token",
            problem: "access_token: missing".into(),
        })?;
    if let Some(kind) = text("token_type") {
        // RFC 6749 §7.1: the type is case-insensitive; only bearer tokens can be used here.
        if !kind.eq_ignore_ascii_case("bearer") {
            return Err(LoginError::BadResponse {
                endpoint: "token",
                problem: format!("token_type: {kind} is not bearer"),
            });
        }
    }
    // `expires_in` arrives as a number or, from some providers, as a string of digits.
    let expires_in = match body.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    Ok(ProviderTokens {
        access_token: ProviderSecret::new(access_token),
        refresh_token: text("refresh_token")
            .filter(|t| !t.is_empty())
            .map(ProviderSecret::new),
        expires_at: expires_in.map(|s| now.plus_seconds(s)),
        scope: text("scope"),
        id_token: text("id_token").map(ProviderSecret::new),
    })
}

/// The token request's form body and, for HTTP Basic, its `Authorization` value.
fn token_form(settings: &ModuleSettings, grant: &[(&str, &str)]) -> (String, Option<String>) {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in grant {
        form.append_pair(name, value);
    }
    let authorization = match settings.credentials {
        // A client without a secret (a public client at the provider) names itself in the
        // body (RFC 6749 §3.2.1); an empty Basic password is not a credential.
        CredentialsIn::Basic if settings.client_secret.is_empty() => {
            form.append_pair("client_id", &settings.client_id);
            None
        }
        CredentialsIn::Basic => {
            // RFC 6749 §2.3.1: each part is form-encoded before joining and base64.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!(
                "{}:{}",
                enc(&settings.client_id),
                enc(settings.client_secret.secret())
            );
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ))
        }
        CredentialsIn::Body => {
            form.append_pair("client_id", &settings.client_id);
            if !settings.client_secret.is_empty() {
                form.append_pair("client_secret", settings.client_secret.secret());
            }
            None
        }
    };
    (form.finish(), authorization)
}

/// A GET with the access token, answered with JSON.
pub(crate) async fn read_json(
    fetcher: &dyn HttpFetcher,
    settings: &ModuleSettings,
    endpoint: &'static str,
    url: &Url,
    access_token: Option<&ProviderSecret>,
) -> Result<Value, LoginError> {
    let mut request = request(settings, HttpMethod::Get, url.clone());
    if let Some(token) = access_token {
        request
            .headers
            .push(("Authorization".into(), format!("Bearer {}", token.secret())));
    }
    let response = send(fetcher, endpoint, request).await?;
    if response.status != 200 {
        return Err(LoginError::BadResponse {
            endpoint,
            problem: format!("status {}", response.status),
        });
    }
    let value: Value =
        serde_json::from_slice(&response.body).map_err(|_| LoginError::BadResponse {
            endpoint,
            problem: "the body is not JSON".into(),
        })?;
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        return Err(LoginError::provider(
            error,
            value.get("error_description").and_then(Value::as_str),
        ));
    }
    Ok(value)
}

/// An avatar read from the avatar endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct AvatarImage {
    /// The image's media type (`image/png`, `image/jpeg`, `image/gif` or `image/webp`).
    pub content_type: String,
    /// The image, at most [`MAX_AVATAR_BYTES`].
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for AvatarImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvatarImage")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Raster image types only: an SVG can carry script, and the host will serve these bytes
/// from its own origin.
const IMAGE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Reads the avatar endpoint; anything but a raster image within the cap is refused.
pub(crate) async fn read_avatar(
    fetcher: &dyn HttpFetcher,
    settings: &ModuleSettings,
    url: &Url,
    access_token: &ProviderSecret,
) -> Result<AvatarImage, LoginError> {
    let mut request = request(settings, HttpMethod::Get, url.clone());
    request.max_response_bytes = MAX_AVATAR_BYTES;
    if let Some(accept) = request.headers.iter_mut().find(|(n, _)| n == "Accept") {
        accept.1 = IMAGE_TYPES.join(", ");
    }
    request.headers.push((
        "Authorization".into(),
        format!("Bearer {}", access_token.secret()),
    ));
    let response = send(fetcher, "avatar", request).await?;
    if response.status != 200 {
        return Err(LoginError::BadResponse {
            endpoint: "avatar",
            problem: format!("status {}", response.status),
        });
    }
    let content_type = response
        .header("content-type")
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !IMAGE_TYPES.contains(&content_type.as_str()) {
        return Err(LoginError::BadResponse {
            endpoint: "avatar",
            problem: "Content-Type: not a PNG, JPEG, GIF or WebP image".into(),
        });
    }
    if response.body.len() > MAX_AVATAR_BYTES {
        return Err(LoginError::BadResponse {
            endpoint: "avatar",
            problem: format!("the image is larger than {MAX_AVATAR_BYTES} bytes"),
        });
    }
    Ok(AvatarImage {
        content_type,
        bytes: response.body,
    })
}
