//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3), for clients registered from
//! a metadata document that publishes their public keys (draft-ietf-oauth-client-id-metadata-
//! document §8.2: such a client must authenticate this way on every request).

use std::collections::HashMap;
use std::sync::Mutex;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::*;
use crate::cimd::{AuthMethod, ClientKeys, MetadataUrl};
use crate::client::Registration;
use crate::store::HttpRequest;

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may be valid for: it is a one-time proof, not a credential to keep.
const MAX_LIFETIME: u64 = 300;

/// How many assertion IDs are remembered for replay detection at most.
const MAX_REMEMBERED: usize = 100_000;

/// The signature algorithms accepted: asymmetric only. A document cannot share a secret, so an
/// HMAC "signature" would be keyed by something public.
const ALGORITHMS: &[Algorithm] = crate::token::ASYMMETRIC_ALGORITHMS;

/// The names `token_endpoint_auth_signing_alg_values_supported` lists.
pub(crate) const ALGORITHM_NAMES: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// Assertion IDs seen, per client, until their assertion expires (RFC 7523 §3 item 7).
#[derive(Debug, Default)]
pub(crate) struct SeenAssertions(Mutex<HashMap<(ClientId, String), u64>>);

impl SeenAssertions {
    /// Remembers `jti` until `expires`; false if it was seen already.
    fn first_use(&self, client: &ClientId, jti: &str, expires: u64, now: u64) -> bool {
        let mut seen = lock(&self.0);
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, until| *until > now);
        }
        if seen.len() >= MAX_REMEMBERED {
            // Full of live assertions: refuse rather than forget one that could be replayed.
            return false;
        }
        let key = (client.clone(), jti.to_owned());
        match seen.get(&key) {
            Some(until) if *until > now => false,
            _ => {
                seen.insert(key, expires);
                true
            }
        }
    }
}

/// The claims RFC 7523 §3 requires.
#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    iat: Option<u64>,
    jti: String,
}

fn invalid(description: impl AsRef<str>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

impl AuthorizationServer {
    /// Authenticates the client of a request by its `client_assertion`.
    pub(super) async fn authenticate_assertion(
        &self,
        form_id: Option<&str>,
        assertion: &str,
    ) -> Result<Arc<OAuthClient>, OAuthError> {
        let header = jsonwebtoken::decode_header(assertion)
            .map_err(|_| invalid("client_assertion: is not a JWT (RFC 7523 section 3)"))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(invalid(
                "client_assertion: must be signed with an asymmetric algorithm",
            ));
        }
        // Which client it claims to be, before its signature can be checked with that
        // client's keys; nothing is trusted until then.
        let claimed: Claims =
            jsonwebtoken::dangerous::insecure_decode_claims(assertion).map_err(|_| {
                invalid("client_assertion: lacks `sub`, `exp` or `jti` (RFC 7523 section 3)")
            })?;
        if form_id.is_some_and(|id| id != claimed.sub) {
            return Err(OAuthError::invalid_request(
                "client_id: differs from the client_assertion's `sub`",
            ));
        }
        let failed = || invalid("client authentication failed");
        let client = match ClientId::check(&claimed.sub) {
            Ok(()) => self.client(&claimed.sub).await?,
            Err(_) => None,
        };
        let Some(client) = client else {
            return Err(failed());
        };
        if client.registration() != Registration::Cimd
            || client.client_type() != ClientType::Confidential
        {
            self.authentication_failed(client.id());
            return Err(failed());
        }
        let keys = self.client_keys(&client).await.inspect_err(|_| {
            self.authentication_failed(client.id());
        })?;
        let mut validation = Validation::new(header.alg);
        // Times are checked below against the server's clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[client.id().as_str()]);
        validation.sub = Some(client.id().as_str().to_owned());
        // RFC 7523 §3: the audience identifies the authorization server; its token endpoint
        // URL serves too.
        validation.set_audience(&[self.settings.issuer(), &self.settings.token_endpoint]);
        let candidates = keys
            .keys
            .iter()
            .filter(|k| header.kid.is_none() || k.common.key_id == header.kid);
        let verified = candidates.into_iter().any(|jwk| {
            DecodingKey::from_jwk(jwk)
                .ok()
                .and_then(|key| jsonwebtoken::decode::<Claims>(assertion, &key, &validation).ok())
                .is_some()
        });
        if !verified {
            self.authentication_failed(client.id());
            return Err(invalid(
                "client_assertion: its signature, issuer, subject or audience does not check \
                 out against the client's published keys (RFC 7523 section 3)",
            ));
        }
        let now = self.now().0;
        let times_ok = claimed.exp > now
            && claimed.exp <= now.saturating_add(MAX_LIFETIME)
            && claimed.nbf.is_none_or(|nbf| nbf <= now)
            && claimed.iat.is_none_or(|iat| iat <= now.saturating_add(60));
        if !times_ok {
            self.authentication_failed(client.id());
            return Err(invalid(format!(
                "client_assertion: expired, not yet valid, or valid for more than \
                 {MAX_LIFETIME} seconds"
            )));
        }
        if !self
            .seen_assertions
            .first_use(client.id(), &claimed.jti, claimed.exp, now)
        {
            self.authentication_failed(client.id());
            return Err(invalid(
                "client_assertion: was used already (RFC 7523 section 3, `jti`)",
            ));
        }
        lock(&self.auth_failures).remove(client.id());
        crate::trace::client(client.id().as_str());
        Ok(client)
    }

    /// The public keys a client's metadata document publishes, in it or at its `jwks_uri`.
    async fn client_keys(&self, client: &OAuthClient) -> Result<JwkSet, OAuthError> {
        let no_keys = || invalid("client authentication failed");
        let url = MetadataUrl::parse(client.id().as_str(), &self.settings.cimd.url_policy)
            .map_err(|_| no_keys())?;
        let document = self
            .documents
            .get(&*self.fetcher, &url, self.now())
            .await
            .map_err(|e| invalid(format!("client_assertion: {e}")))?;
        let keys = match &document.auth_method {
            AuthMethod::PrivateKeyJwt(keys) => keys,
            _ => return Err(no_keys()),
        };
        let set = match keys {
            ClientKeys::Jwks(set) => set.clone(),
            ClientKeys::JwksUri(uri) => {
                let limits = self.settings.cimd.fetch;
                let mut request = HttpRequest::get(uri.clone());
                request.connect_timeout = limits.deadline;
                request.read_timeout = limits.deadline;
                request.deadline = limits.deadline;
                request.max_response_bytes = limits.max_bytes;
                let response = self
                    .fetcher
                    .fetch(request)
                    .await
                    .map_err(|e| invalid(format!("client_assertion: jwks_uri: {e}")))?;
                if response.status != 200 {
                    return Err(invalid(format!(
                        "client_assertion: jwks_uri answered with status {}",
                        response.status
                    )));
                }
                serde_json::from_slice(&response.body)
                    .map_err(|_| invalid("client_assertion: jwks_uri is not a JSON key set"))?
            }
        };
        serde_json::from_value(set).map_err(|_| invalid("client_assertion: unusable key set"))
    }
}
