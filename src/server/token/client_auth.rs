//! Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3),
//! and the count of failures a host rate-limits on.

use super::*;

/// How the client authenticated (RFC 6749 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with form-encoded ID and secret.
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the body.
    Post,
    /// `none`: a public client identified by `client_id` only.
    None,
    /// `private_key_jwt`: a JWT signed with a key the client's metadata document publishes
    /// (RFC 7523 §2.2).
    PrivateKeyJwt,
}

fn invalid_client(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

/// Decodes one `application/x-www-form-urlencoded` component (RFC 6749 §2.3.1 encodes the ID
/// and secret this way before Basic-encoding them): `+` is a space, then percent-decoding.
fn form_decode(part: &str) -> Option<String> {
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// The ID and secret of an `Authorization: Basic` header; `Ok(None)` without the header.
fn basic_credentials(header: Option<&str>) -> Result<Option<(String, String)>, OAuthError> {
    let Some(header) = header else {
        return Ok(None);
    };
    let bad =
        || invalid_client("Authorization: malformed Basic credentials (RFC 6749 section 2.3.1)");
    let (scheme, value) = header.trim().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_request(
            "Authorization: only the Basic scheme authenticates clients here",
        ));
    }
    let decoded = BASE64_STANDARD.decode(value.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    Ok(Some((
        form_decode(id).ok_or_else(bad)?,
        form_decode(secret).ok_or_else(bad)?,
    )))
}

impl AuthorizationServer {
    /// Authenticates the client of a token, introspection or revocation request with exactly
    /// one method (RFC 6749 §2.3).
    pub(crate) async fn authenticate(
        &self,
        authorization: Option<&str>,
        form: &Form<'_>,
    ) -> Result<(Arc<OAuthClient>, ClientAuth), OAuthError> {
        let basic = basic_credentials(authorization)?;
        let form_id = form.client_id.get("client_id")?;
        let form_secret = form.client_secret.get("client_secret")?;
        let assertion_type = form.client_assertion_type.get("client_assertion_type")?;
        let assertion = form.client_assertion.get("client_assertion")?;
        if assertion_type.is_some() || assertion.is_some() {
            if basic.is_some() || form_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "client_assertion: sent with a client secret; use one authentication \
                     method (RFC 6749 section 2.3)",
                ));
            }
            if assertion_type != Some(assertion::JWT_BEARER) {
                return Err(OAuthError::invalid_request(format!(
                    "client_assertion_type: must be `{}` (RFC 7523 section 2.2)",
                    assertion::JWT_BEARER
                )));
            }
            let assertion = assertion.ok_or_else(|| {
                OAuthError::invalid_request("client_assertion: is required with its type")
            })?;
            let client = self.authenticate_assertion(form_id, assertion).await?;
            return Ok((client, ClientAuth::PrivateKeyJwt));
        }
        let (id, secret, method) = match (basic, form_secret) {
            (Some(_), Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "client_secret: sent in both the Authorization header and the body; use one \
                     authentication method (RFC 6749 section 2.3)",
                ));
            }
            (Some((id, secret)), None) => {
                if form_id.is_some_and(|f| f != id) {
                    return Err(OAuthError::invalid_request(
                        "client_id: differs from the one in the Authorization header",
                    ));
                }
                (Cow::Owned(id), Some(Cow::Owned(secret)), ClientAuth::Basic)
            }
            (None, Some(secret)) => {
                let id = form_id.ok_or_else(|| invalid_client("client_id: is required"))?;
                (
                    Cow::Borrowed(id),
                    Some(Cow::Borrowed(secret)),
                    ClientAuth::Post,
                )
            }
            (None, None) => {
                let id = form_id.ok_or_else(|| {
                    invalid_client("client authentication is required (client_id is missing)")
                })?;
                (Cow::Borrowed(id), None, ClientAuth::None)
            }
        };
        let failed = || invalid_client("client authentication failed");
        let client = match ClientId::check(&id) {
            Ok(()) => self.client(&id).await?,
            Err(_) => None,
        };
        let Some(client) = client else {
            // Same work as a real check, so timing does not reveal which IDs exist.
            SecretHash::spend_equal_time(secret.as_deref().unwrap_or_default());
            self.events
                .report(&SecurityEvent::ClientAuthenticationFailed {
                    client_id: echo(&id).into_owned(),
                    known: false,
                    failures: 0,
                });
            return Err(failed());
        };
        // A client that publishes keys is confidential without a secret, so neither `none`
        // nor a secret authenticates it: it must sign (draft-ietf-oauth-client-id-metadata-
        // document §8.2).
        let authenticated = match (client.client_type(), &secret) {
            (ClientType::Public, None) => true,
            // Same answer as for an unknown ID, so the response does not tell which IDs
            // exist.
            (ClientType::Confidential, None) => false,
            // The secret is compared in constant time against its salted hash.
            (_, Some(secret)) => client.verify_secret(secret),
        };
        if !authenticated {
            self.authentication_failed(client.id());
            return Err(failed());
        }
        crate::trace::client(client.id().as_str());
        if secret.is_some() {
            lock(&self.auth_failures).remove(client.id());
        }
        let method = if secret.is_some() {
            method
        } else {
            ClientAuth::None
        };
        Ok((client, method))
    }

    /// Counts a failed authentication of an existing client and reports it. RFC 6749 §2.3.1
    /// asks for protection against brute force: secrets the server generates have 256 bits,
    /// keyed-in ones a minimum length, and checks run in constant time; rate limiting by
    /// address is the host's (the events tell it when). The client is never locked out: that
    /// would let anyone who knows a client ID disable the client.
    pub(super) fn authentication_failed(&self, client_id: &ClientId) {
        let failures = {
            let mut counts = lock(&self.auth_failures);
            let n = counts.entry(client_id.clone()).or_default();
            *n = n.saturating_add(1);
            *n
        };
        self.events
            .report(&SecurityEvent::ClientAuthenticationFailed {
                client_id: client_id.as_str().to_owned(),
                known: true,
                failures,
            });
    }
}
