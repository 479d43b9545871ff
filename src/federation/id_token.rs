//! Checking an ID token (OpenID Connect Core §3.1.3.7): signature with the provider's keys,
//! issuer, audience, nonce and times on the library's clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use url::Url;

use super::error::LoginError;
use super::module::ModuleSettings;
use super::provider::read_json;
use crate::clock::Timestamp;
use crate::store::HttpFetcher;

/// Asymmetric algorithms only: an HMAC-signed ID token would be checked with the client
/// secret, which the host shares with nobody but would then have to trust as a signing key.
const ALGORITHMS: &[Algorithm] = crate::token::ASYMMETRIC_ALGORITHMS;

/// How far the provider's clock may be off.
const LEEWAY: u64 = 60;

fn bad(problem: impl Into<String>) -> LoginError {
    LoginError::IdToken(problem.into())
}

/// How long a provider's key set is used before it is read again.
const KEY_SET_SECONDS: u64 = 300;

/// The providers' key sets, read once per [`KEY_SET_SECONDS`] rather than on every login, and
/// again at once when a token names a key the cached set lacks (the provider rotated its
/// keys). Keyed by the key set's URL, which administrators configure: bounded by the modules.
#[derive(Default)]
pub(crate) struct KeySets {
    sets: Mutex<HashMap<String, (Timestamp, Arc<JwkSet>)>>,
}

impl KeySets {
    async fn get(
        &self,
        fetcher: &dyn HttpFetcher,
        settings: &ModuleSettings,
        url: &Url,
        kid: Option<&str>,
        now: Timestamp,
    ) -> Result<Arc<JwkSet>, LoginError> {
        let cached = self
            .sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url.as_str())
            .cloned();
        if let Some((at, set)) = cached {
            let fresh = now.0 < at.0.saturating_add(KEY_SET_SECONDS);
            let has_key = kid.is_none_or(|kid| set.find(kid).is_some());
            if fresh && has_key {
                return Ok(set);
            }
        }
        let set: JwkSet =
            serde_json::from_value(read_json(fetcher, settings, "jwks", url, None).await?)
                .map_err(|_| LoginError::BadResponse {
                    endpoint: "jwks",
                    problem: "not a JSON Web Key Set".into(),
                })?;
        let set = Arc::new(set);
        self.sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.as_str().to_owned(), (now, set.clone()));
        Ok(set)
    }
}

/// The claims of a valid ID token.
pub(crate) async fn check(
    fetcher: &dyn HttpFetcher,
    key_sets: &KeySets,
    settings: &ModuleSettings,
    token: &str,
    nonce: Option<&str>,
    now: Timestamp,
) -> Result<Value, LoginError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| bad("is not a JWT"))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(bad("must be signed with an asymmetric algorithm"));
    }
    let issuer = settings
        .endpoints
        .issuer
        .as_deref()
        .ok_or_else(|| bad("the module has no issuer to check it against"))?;
    let jwks_url = settings
        .endpoints
        .jwks
        .as_ref()
        .ok_or_else(|| bad("the module has no key set to check it with"))?;
    let keys = key_sets
        .get(fetcher, settings, jwks_url, header.kid.as_deref(), now)
        .await?;
    let mut validation = Validation::new(header.alg);
    // Times are checked below on the library's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    // OpenID Connect Core §3.1.3.7 (2, 3): `iss` and `aud` must be there, not merely match
    // when present.
    validation.set_required_spec_claims(&["iss", "aud", "sub"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[settings.client_id.as_str()]);
    let claims = keys
        .keys
        .iter()
        .filter(|k| header.kid.is_none() || k.common.key_id == header.kid)
        .find_map(|jwk| {
            let key = DecodingKey::from_jwk(jwk).ok()?;
            jsonwebtoken::decode::<Value>(token, &key, &validation).ok()
        })
        .map(|data| data.claims)
        .ok_or_else(|| {
            bad("its signature, issuer or audience does not check out against the provider's keys")
        })?;
    // An `iss` given as a list would pass the library's membership test; it must be the one
    // string.
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(bad("iss: is not the module's issuer"));
    }
    // OpenID Connect Core §3.1.3.7 (3): with several audiences, `azp` must be this client.
    if claims.get("aud").is_some_and(Value::is_array)
        && let Some(azp) = claims.get("azp").and_then(Value::as_str)
        && azp != settings.client_id
    {
        return Err(bad("azp: names another client"));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("exp: missing"))?;
    if exp.saturating_add(LEEWAY) <= now.0 {
        return Err(bad("exp: has expired"));
    }
    if claims
        .get("iat")
        .and_then(Value::as_u64)
        .is_some_and(|iat| iat > now.0.saturating_add(LEEWAY))
    {
        return Err(bad("iat: is in the future"));
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(bad("sub: missing"));
    }
    // The nonce ties the ID token to this browser's login (replay protection, §3.1.2.1).
    if let Some(expected) = nonce {
        let presented = claims
            .get("nonce")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !crate::constant_time::eq(presented.as_bytes(), expected.as_bytes()) {
            return Err(bad("nonce: does not match the login this browser started"));
        }
    }
    Ok(claims)
}
