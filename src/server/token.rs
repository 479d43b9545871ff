//! The token endpoint (RFC 6749 §3.2, §4–§6; RFC 8693): client authentication and the grants.

use std::borrow::Cow;
use std::sync::Arc;

use base64::prelude::{BASE64_STANDARD, Engine as _};
use serde::Serialize;

use super::params::Form;
use super::rotations::Reuse;
use super::throttle::{self, Attempt};
use super::{AuthorizationServer, Issue, Issued, Params, RefreshGrant, echo, lock};
use crate::client::{ClientId, ClientType, Flow, OAuthClient, SecretHash};
use crate::error::{ErrorCode, OAuthError};
use crate::events::SecurityEvent;
use crate::scope::Scope;
use crate::store::{Take, TokenHash, TokenKind, TokenRecord};

pub(crate) const BUILT_IN_GRANTS: &[&str] = &[
    "authorization_code",
    "client_credentials",
    "password",
    "refresh_token",
];

/// A JSON answer of the token, introspection or revocation endpoint, ready to send. `Debug`
/// redacts the tokens in the body.
#[derive(Clone, PartialEq)]
pub struct EndpointResponse {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl std::fmt::Debug for EndpointResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &crate::redact::json_body(&self.body))
            .finish()
    }
}

impl EndpointResponse {
    /// A 200 answer whose body must not be cached (RFC 6749 §5.1).
    pub(crate) fn no_store(body: String) -> Self {
        EndpointResponse {
            status: 200,
            // RFC 6749 §5.1: token responses must not be cached; `Pragma` for HTTP/1.0 caches.
            headers: vec![
                ("Cache-Control", "no-store".to_owned()),
                ("Pragma", "no-cache".to_owned()),
            ],
            body,
        }
    }

    /// A 200 answer with no body and no headers (a revocation, RFC 7009 §2.2).
    pub(crate) fn empty() -> Self {
        EndpointResponse {
            status: 200,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers to set besides `Content-Type: application/json`.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// The JSON body as text, ready to send; empty for no body (send no `Content-Type`
    /// then).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The body, taken out of the response.
    pub fn into_body(self) -> String {
        self.body
    }

    /// An error answer (RFC 6749 §5.2). `invalid_client` is a 401 with a Basic challenge: RFC
    /// 6749 §5.2 requires it when Basic was tried, and RFC 9110 §15.5.2 requires a challenge on
    /// every 401.
    pub(crate) fn error(e: &OAuthError, realm: &str) -> Self {
        let body = ErrorResponse {
            error: e.code.as_str(),
            error_description: &e.description,
        };
        // Serializing two strings cannot fail.
        let mut r = EndpointResponse::no_store(serde_json::to_string(&body).unwrap_or_default());
        r.status = e.code.status();
        if e.code == ErrorCode::InvalidClient {
            let realm = realm.replace(['"', '\\'], "");
            r.headers
                .push(("WWW-Authenticate", format!("Basic realm=\"{realm}\"")));
        }
        r
    }

    /// The body parsed as JSON (`Null` when empty), for tests and hosts that want to inspect it.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The value of a header this response sets.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What became of a presented code or refresh token.
enum Redeemed<T> {
    /// This request took it, and the checks worked out `T`.
    Taken(Arc<TokenRecord>, T),
    /// It had been taken before: a replay.
    Replayed(Arc<TokenRecord>),
}

/// How the client authenticated (RFC 6749 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with form-encoded ID and secret.
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the body.
    Post,
    /// `none`: a public client identified by `client_id` only.
    None,
}

fn invalid_client(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

fn invalid_grant(description: impl AsRef<str>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

fn invalid_scope(description: impl AsRef<str>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidScope, description)
}

fn unauthorized(description: impl AsRef<str>) -> OAuthError {
    OAuthError::new(ErrorCode::UnauthorizedClient, description)
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

/// A presented code or refresh token (`param`) must be of its kind, issued to this client, and
/// unexpired. One answer for the first two, so a client learns nothing of others' codes.
fn check_presented(
    rec: &TokenRecord,
    kind: TokenKind,
    client: &OAuthClient,
    now: crate::clock::Timestamp,
    param: &str,
) -> Result<(), OAuthError> {
    if rec.kind != kind || &rec.client_id != client.id() {
        return Err(invalid_grant(format!(
            "{param}: is invalid, expired, revoked, or was issued to another client"
        )));
    }
    if rec.is_expired(now) {
        return Err(invalid_grant(format!("{param}: has expired")));
    }
    Ok(())
}

/// RFC 6749 §5.1: the scope is returned when it differs from the one requested.
fn scope_json<'a>(issued: &'a Issued, requested: Option<&Scope>) -> Option<&'a str> {
    (requested != Some(&issued.scope)).then(|| issued.scope.as_str())
}

/// The request's `scope` parameter, parsed once; a malformed token fails the whole parameter.
fn asked_scope(form: &Form<'_>) -> Result<Option<Scope>, OAuthError> {
    form.scope
        .get("scope")?
        .map(|s| Scope::parse(s).map_err(|e| invalid_scope(e.to_string())))
        .transpose()
}

/// An error response (RFC 6749 §5.2).
#[derive(Serialize)]
struct ErrorResponse<'a> {
    error: &'static str,
    error_description: &'a str,
}

/// A successful token response (RFC 6749 §5.1; RFC 8693 §2.2.1).
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_token_type: Option<&'a str>,
}

/// The JSON text of a successful token response.
fn token_body(
    issued: &Issued,
    requested_scope: Option<&Scope>,
    issued_token_type: Option<&str>,
) -> String {
    let body = TokenResponse {
        access_token: issued.access_token.as_str(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
        refresh_token: issued.refresh_token.as_ref().map(|t| t.as_str()),
        scope: scope_json(issued, requested_scope),
        issued_token_type,
    };
    // Serializing strings and a number into a string cannot fail.
    serde_json::to_string(&body).unwrap_or_default()
}

impl AuthorizationServer {
    /// Handles a token request: the `Authorization` header, if any, and the form body.
    pub async fn token(
        &self,
        authorization: Option<&str>,
        params: &Params<'_>,
    ) -> EndpointResponse {
        let call = crate::trace::Call::start("token", params);
        let result = call.run(self.token_inner(authorization, params)).await;
        match result {
            Ok(body) => {
                call.finish("ok");
                EndpointResponse::no_store(body)
            }
            Err(e) => {
                call.finish(e.code.as_str());
                EndpointResponse::error(&e, self.settings.issuer())
            }
        }
    }

    async fn token_inner(
        &self,
        authorization: Option<&str>,
        params: &Params<'_>,
    ) -> Result<String, OAuthError> {
        let form = Form::read(params);
        let (client, _) = self.authenticate(authorization, &form).await?;
        let grant_type = form.grant_type.required("grant_type")?;
        if client.flows().is_empty() {
            return Err(unauthorized(
                "client_id: the client is inactive (no flow is enabled)",
            ));
        }
        match grant_type {
            "authorization_code" => self.code_grant(&client, &form).await,
            "client_credentials" => self.client_credentials_grant(&client, &form).await,
            // RFC 9700 §2.4: the password grant is off unless the host turns it on.
            "password" if self.settings.password_grant => self.password_grant(&client, &form).await,
            "refresh_token" => self.refresh_grant(&client, &form).await,
            other if BUILT_IN_GRANTS.contains(&other) => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type: `{other}` is turned off on this server"),
            )),
            other => match self.extensions.get(other).cloned() {
                // Extension grants are off for a client until an administrator lists them:
                // token exchange mints tokens from other tokens, which no client should get
                // by default.
                Some(_)
                    if !client
                        .settings()
                        .extension_grants
                        .iter()
                        .any(|g| g == other) =>
                {
                    Err(unauthorized(format!(
                        "grant_type: the client may not use `{}`",
                        super::echo(other)
                    )))
                }
                Some(ext) => {
                    self.extension_grant(&client, params, &form, ext.as_ref())
                        .await
                }
                None => Err(OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("grant_type: `{}` is not supported", super::echo(other)),
                )),
            },
        }
    }

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
    fn authentication_failed(&self, client_id: &ClientId) {
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

    /// What the client asked for (its own scopes when it named none, RFC 6749 §3.3), narrowed
    /// to what it may request.
    fn requested_scope(client: &OAuthClient, asked: Option<&Scope>) -> Scope {
        asked
            .unwrap_or_else(|| client.scopes())
            .intersection(client.scopes())
    }

    /// Narrows `scope` to what `user` holds now; empty is `invalid_scope`.
    async fn for_user(&self, scope: Scope, user: Option<&str>) -> Result<Scope, OAuthError> {
        let scope = match user {
            Some(user) => scope.intersection(&self.users.permitted_scopes(user).await?),
            None => scope,
        };
        if scope.is_empty() {
            return Err(invalid_scope(
                "scope: nothing requested is both allowed for the client and held by the user",
            ));
        }
        Ok(scope)
    }

    /// Looks up a presented code or refresh token and runs `check` on it, taking nothing: a
    /// request that fails a check (another client's, expired, wrong verifier, wider scope), or
    /// fails afterwards (a directory or store error), does not use it up. What the check
    /// worked out comes back with the record; [`Self::commit`] takes it.
    async fn peek<T>(
        &self,
        hash: &TokenHash,
        missing: &'static str,
        check: impl Fn(&TokenRecord) -> Result<T, OAuthError>,
    ) -> Result<Redeemed<T>, OAuthError> {
        if let Some(rec) = self.record(hash).await? {
            let value = check(&rec)?;
            return Ok(Redeemed::Taken(rec, value));
        }
        // Not there to use: taken before (a replay), or never issued. A check that refuses
        // everything tells the two apart without taking anything.
        match self.take_record_if(hash, &|_| false).await? {
            Take::AlreadyTaken(rec) => Ok(Redeemed::Replayed(rec)),
            _ => Err(invalid_grant(missing)),
        }
    }

    /// Takes the record [`Self::peek`] saw and stores what was minted for it, in one store
    /// call: a future dropped before it has used nothing up, one dropped after it has issued
    /// everything. `Ok(None)` when it was taken meanwhile by a concurrent request: a replay.
    async fn commit(
        &self,
        hash: &TokenHash,
        seen: &TokenRecord,
        missing: &'static str,
        records: &[(TokenHash, Arc<TokenRecord>)],
    ) -> Result<Option<Arc<TokenRecord>>, OAuthError> {
        // Records never change, so the one checked is the one taken, or it was replaced.
        let same = |rec: &TokenRecord| rec == seen;
        match self.take_and_store(hash, &same, records).await? {
            Take::Taken(_) => Ok(None),
            Take::AlreadyTaken(rec) => Ok(Some(rec)),
            Take::Missing | Take::Refused(_) => Err(invalid_grant(missing)),
        }
    }

    /// RFC 6749 §4.1.3 and RFC 7636 §4.6: the code's redirect URI and PKCE challenge.
    fn check_code_binding(&self, rec: &TokenRecord, form: &Form<'_>) -> Result<(), OAuthError> {
        let Some(binding) = &rec.code else {
            return Err(invalid_grant("code: is invalid, expired or revoked"));
        };
        if let Some(expected) = &binding.redirect_uri
            && form.redirect_uri.get("redirect_uri")? != Some(expected.as_ref())
        {
            return Err(invalid_grant(
                "redirect_uri: must be the one of the authorization request (RFC 6749 section 4.1.3)",
            ));
        }
        match (
            &binding.code_challenge,
            form.code_verifier.get("code_verifier")?,
        ) {
            (Some(challenge), Some(verifier)) => {
                if !challenge.verify_str(verifier) {
                    return Err(invalid_grant(
                        "code_verifier: does not match the code_challenge (RFC 7636 section 4.6)",
                    ));
                }
            }
            (Some(_), None) => {
                return Err(invalid_grant(
                    "code_verifier: is required because the authorization request had a code_challenge",
                ));
            }
            (None, Some(_)) => {
                // RFC 9700 §2.1.1: a verifier for a code issued without a challenge is a PKCE
                // downgrade attempt.
                return Err(invalid_grant(
                    "code_verifier: the authorization request had no code_challenge (PKCE downgrade)",
                ));
            }
            (None, None) => {}
        }
        Ok(())
    }

    async fn code_grant(
        &self,
        client: &OAuthClient,
        form: &Form<'_>,
    ) -> Result<String, OAuthError> {
        if !client.allows(Flow::AuthorizationCode) {
            return Err(unauthorized(
                "grant_type: the client may not use the authorization code flow",
            ));
        }
        let code = form.code.required("code")?;
        let hash = TokenHash::of(code);
        let now = self.now();
        const MISSING: &str = "code: is invalid, expired or revoked";
        let check = |rec: &TokenRecord| {
            check_presented(rec, TokenKind::AuthorizationCode, client, now, "code")?;
            self.check_code_binding(rec, form)?;
            // RFC 8707 §2.2: a `resource` here may narrow the audiences of the authorization
            // request, never add to them.
            self.narrow_audience(rec, &form.resources)
        };
        let (rec, audience) = match self.peek(&hash, MISSING, check).await? {
            Redeemed::Taken(rec, audience) => (rec, audience),
            Redeemed::Replayed(rec) => return Err(self.code_replayed(&rec).await),
        };
        let minted = self.mint(Issue {
            client_id: client.id(),
            subject: rec.subject.clone(),
            scope: &rec.scope,
            audience: &audience,
            grant: Some(&rec.grant_id),
            // The refresh token stands for the whole authorization, whatever `resource`
            // narrowed the access token to.
            refresh: (!client.settings().no_refresh_tokens).then(|| RefreshGrant::of(&rec)),
            not_after: None,
            now,
        })?;
        if let Some(replayed) = self.commit(&hash, &rec, MISSING, &minted.records).await? {
            return Err(self.code_replayed(&replayed).await);
        }
        Ok(token_body(&minted.issued, None, None))
    }

    /// RFC 6749 §4.1.2 and RFC 9700 §4.5: a replayed code means it leaked; revoke everything
    /// issued from it.
    async fn code_replayed(&self, rec: &TokenRecord) -> OAuthError {
        if rec.kind == TokenKind::AuthorizationCode {
            match self.tokens.revoke_grant(&rec.grant_id).await {
                Ok(revoked) => self.events.report(&SecurityEvent::CodeReplayed {
                    client_id: rec.client_id.clone(),
                    user: rec.subject.as_deref().map(str::to_owned),
                    revoked,
                }),
                Err(e) => return e.into(),
            }
        }
        invalid_grant("code: has already been used; the tokens issued from it are revoked")
    }

    async fn client_credentials_grant(
        &self,
        client: &OAuthClient,
        form: &Form<'_>,
    ) -> Result<String, OAuthError> {
        if client.client_type() == ClientType::Public {
            return Err(unauthorized(
                "grant_type: a public client cannot use client credentials (RFC 6749 section 4.4)",
            ));
        }
        if !client.allows(Flow::ClientCredentials) {
            return Err(unauthorized(
                "grant_type: the client may not use the client credentials flow",
            ));
        }
        let asked = asked_scope(form)?;
        let scope = self
            .for_user(Self::requested_scope(client, asked.as_ref()), None)
            .await?;
        let audience = self.audiences(&form.resources).await?;
        let issued = self
            .issue(Issue {
                client_id: client.id(),
                subject: None,
                scope: &scope,
                audience: &audience,
                grant: None,
                refresh: None,
                not_after: None,
                now: self.now(),
            })
            .await?;
        Ok(token_body(&issued, asked.as_ref(), None))
    }

    async fn password_grant(
        &self,
        client: &OAuthClient,
        form: &Form<'_>,
    ) -> Result<String, OAuthError> {
        if !client.allows(Flow::ResourceOwner) {
            return Err(unauthorized(
                "grant_type: the client may not use the resource owner password flow",
            ));
        }
        let asked = asked_scope(form)?;
        let username = form.username.required("username")?;
        let password = form.password.required("password")?;
        let now = self.now();
        let key = throttle::normalise(username);
        match self.password_throttle.begin(&key, now) {
            Attempt::Allowed => {}
            Attempt::Locked { newly } => {
                if newly {
                    self.events.report(&SecurityEvent::PasswordLockout {
                        client_id: client.id().clone(),
                        username: echo(&key).into_owned(),
                    });
                }
                return Err(invalid_grant(
                    "username: too many failed attempts; try again later (RFC 6749 section 4.3.2)",
                ));
            }
            Attempt::Full => {
                return Err(OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "username: too many users are being throttled; try again later",
                ));
            }
        }
        // The attempt is counted already; only a right password takes it back.
        let Some(user) = self.users.verify_password(username, password).await? else {
            return Err(invalid_grant("username or password is wrong"));
        };
        self.password_throttle.succeeded(&key);
        let scope = self
            .for_user(Self::requested_scope(client, asked.as_ref()), Some(&user))
            .await?;
        let audience = self.audiences(&form.resources).await?;
        let issued = self
            .issue(Issue {
                client_id: client.id(),
                subject: Some(user.into()),
                scope: &scope,
                audience: &audience,
                grant: None,
                refresh: (!client.settings().no_refresh_tokens)
                    .then(|| RefreshGrant::starting(&scope, &audience)),
                not_after: None,
                now: self.now(),
            })
            .await?;
        Ok(token_body(&issued, asked.as_ref(), None))
    }

    async fn refresh_grant(
        &self,
        client: &OAuthClient,
        form: &Form<'_>,
    ) -> Result<String, OAuthError> {
        // Refresh tokens come from the code and password flows; a client that has lost both
        // has lost what its refresh tokens stood for.
        if !(client.allows(Flow::AuthorizationCode) || client.allows(Flow::ResourceOwner)) {
            return Err(unauthorized(
                "grant_type: the client no longer uses a flow that issues refresh tokens",
            ));
        }
        if client.settings().no_refresh_tokens {
            return Err(unauthorized(
                "grant_type: the client is set not to receive refresh tokens",
            ));
        }
        let presented = form.refresh_token.required("refresh_token")?;
        let hash = TokenHash::of(presented);
        let now = self.now();
        const MISSING: &str = "refresh_token: is invalid, expired or revoked";
        let check = |rec: &TokenRecord| {
            check_presented(rec, TokenKind::RefreshToken, client, now, "refresh_token")?;
            Ok((
                self.refresh_scope(rec, form)?,
                self.narrow_audience(rec, &form.resources)?,
            ))
        };
        let (rec, (requested, audience)) = match self.peek(&hash, MISSING, check).await? {
            Redeemed::Taken(rec, checked) => (rec, checked),
            Redeemed::Replayed(rec) => {
                return self.refresh_replayed(client, &hash, &rec, now).await;
            }
        };
        // Every read that can fail happens before the refresh token is taken, so a failure
        // leaves it usable and the client's retry is not mistaken for a replay. The client
        // and the user may both have lost scopes since the grant: never carry them forward.
        let scope = self
            .for_user(
                requested.intersection(client.scopes()),
                rec.subject.as_deref(),
            )
            .await?;
        let minted = self.mint(Issue {
            client_id: client.id(),
            subject: rec.subject.clone(),
            scope: &scope,
            audience: &audience,
            grant: Some(&rec.grant_id),
            // RFC 6749 §6: narrowing `scope` (or `resource`) narrows the new access token;
            // the rotated refresh token keeps the grant's, as a refresh token not rotated
            // would.
            refresh: Some(RefreshGrant::of(&rec)),
            not_after: None,
            now,
        })?;
        // Marked before the take, so that a second presentation arriving after the store took
        // the token, but before this request has the store's answer, is told to retry rather
        // than revoking the family it would otherwise suspect.
        let interval = self.reuse_interval(client);
        if let Some(interval) = interval {
            self.recent_rotations
                .begin(hash, client.id(), now, interval);
        }
        let committed = self.commit(&hash, &rec, MISSING, &minted.records).await;
        let replayed = match committed {
            Ok(None) => None,
            Ok(Some(replayed)) => Some(replayed),
            Err(e) => {
                self.recent_rotations.abandon(&hash);
                return Err(e);
            }
        };
        if let Some(replayed) = replayed {
            // Taken between this request's look and its take: by a concurrent presentation.
            return self.refresh_replayed(client, &hash, &replayed, now).await;
        }
        // Without a `scope`, the request asked for the original grant's (RFC 6749 §6).
        let body = token_body(&minted.issued, Some(&requested), None);
        if let Some(interval) = interval {
            self.recent_rotations
                .complete(hash, client.id(), body.clone(), now, interval);
        }
        Ok(body)
    }

    /// The refresh reuse interval for `client`: confidential clients only (see
    /// [`crate::ServerSettings::refresh_reuse_interval`] for why).
    fn reuse_interval(&self, client: &OAuthClient) -> Option<u64> {
        let interval = self.settings.refresh_reuse_interval;
        (interval > 0 && client.client_type() == ClientType::Confidential).then_some(interval)
    }

    /// A refresh token that had been rotated out came back.
    async fn refresh_replayed(
        &self,
        client: &OAuthClient,
        hash: &TokenHash,
        rec: &TokenRecord,
        now: crate::clock::Timestamp,
    ) -> Result<String, OAuthError> {
        if let Some(interval) = self.reuse_interval(client) {
            match self.recent_rotations.get(hash, client.id(), now, interval) {
                Some(Reuse::Successor(body)) => return Ok(body),
                Some(Reuse::Pending) => {
                    return Err(OAuthError::new(
                        ErrorCode::TemporarilyUnavailable,
                        "refresh_token: is being rotated by a concurrent request; retry",
                    ));
                }
                None => {}
            }
        }
        // RFC 9700 §4.14.2: a rotated-out refresh token came back, so one of the two holders
        // is an attacker; end the whole family.
        if rec.kind == TokenKind::RefreshToken {
            let revoked = self.tokens.revoke_grant(&rec.grant_id).await?;
            self.events.report(&SecurityEvent::RefreshReplayed {
                client_id: rec.client_id.clone(),
                user: rec.subject.as_deref().map(str::to_owned),
                revoked,
            });
        }
        Err(invalid_grant(
            "refresh_token: was already used; every token of this grant is revoked",
        ))
    }

    /// The scope a refresh asks for: the original grant's, or a subset of it (RFC 6749 §6).
    fn refresh_scope(&self, rec: &TokenRecord, form: &Form<'_>) -> Result<Scope, OAuthError> {
        let original = rec.scope.clone();
        match form.scope.get("scope")? {
            Some(s) => {
                let asked = Scope::parse(s).map_err(|e| invalid_scope(e.to_string()))?;
                if !asked.is_subset(&original) {
                    return Err(invalid_scope(
                        "scope: may only narrow the scope of the original grant (RFC 6749 section 6)",
                    ));
                }
                Ok(asked)
            }
            None => Ok(original),
        }
    }

    fn narrow_audience(
        &self,
        rec: &TokenRecord,
        resources: &[&str],
    ) -> Result<Arc<[String]>, OAuthError> {
        if resources.is_empty() {
            return Ok(rec.audience.clone());
        }
        super::distinct_resources(resources)?
            .iter()
            .map(|r| {
                // Compared as URLs, as every other audience check is; the grant's own spelling
                // is what the new token carries.
                if let Some(a) = rec
                    .audience
                    .iter()
                    .find(|a| super::introspect::same_resource(a, r))
                {
                    Ok(a.clone())
                } else {
                    Err(OAuthError::new(
                        ErrorCode::InvalidTarget,
                        format!(
                            "resource: `{}` was not part of the original grant",
                            super::echo(r)
                        ),
                    ))
                }
            })
            .collect()
    }

    async fn extension_grant(
        &self,
        client: &OAuthClient,
        params: &Params<'_>,
        form: &Form<'_>,
        ext: &dyn super::ExtensionGrant,
    ) -> Result<String, OAuthError> {
        let ctx = super::GrantContext {
            tokens: self.tokens.as_ref(),
            clients: self.clients.store().as_ref(),
            now: self.now(),
        };
        let decision = ext.grant(&ctx, client, params).await?;
        // Whatever the grant decides, a token never exceeds the client's scopes or the user's.
        let scope = decision.scope.intersection(client.scopes());
        let scope = self.for_user(scope, decision.subject.as_deref()).await?;
        let mut targets = form.resources.clone();
        targets.extend(decision.resources.iter().map(String::as_str));
        let audience = self.audiences(&targets).await?;
        let issued = self
            .issue(Issue {
                client_id: client.id(),
                subject: decision.subject.as_deref().map(Arc::from),
                scope: &scope,
                audience: &audience,
                grant: decision.grant.as_ref(),
                refresh: (decision.refresh_token && !client.settings().no_refresh_tokens)
                    .then(|| RefreshGrant::starting(&scope, &audience)),
                not_after: decision.not_after,
                now: self.now(),
            })
            .await?;
        Ok(token_body(
            &issued,
            asked_scope(form)?.as_ref(),
            decision.issued_token_type.as_deref(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random;

    fn issued(scope: &str, refresh: bool) -> Issued {
        Issued {
            access_token: super::super::AccessTokenText::Signed("a.b-c_d".into()),
            refresh_token: refresh.then(|| random::token().unwrap()),
            expires_in: 3600,
            scope: Scope::parse(scope).unwrap(),
        }
    }

    #[test]
    fn token_bodies_are_json_with_the_members_of_rfc_6749_section_5_1() {
        let i = issued("read write", true);
        let body: serde_json::Value = serde_json::from_str(&token_body(&i, None, None)).unwrap();
        assert_eq!(body["access_token"], "a.b-c_d");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
        assert_eq!(body["scope"], "read write");
        assert!(body.get("issued_token_type").is_none());

        // The scope is left out when it is the one requested; the token type is added.
        let asked = Scope::parse("write read").unwrap();
        let i = issued("read write", false);
        let text = token_body(&i, Some(&asked), Some(crate::server::ACCESS_TOKEN_TYPE));
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(body.get("scope").is_none() && body.get("refresh_token").is_none());
        assert_eq!(body["issued_token_type"], crate::server::ACCESS_TOKEN_TYPE);

        // Whatever an extension grant names as the issued token type is escaped.
        for kind in ["quo\"te", "back\\slash", "new\nline", "caf\u{e9}"] {
            let body: serde_json::Value =
                serde_json::from_str(&token_body(&i, None, Some(kind))).unwrap();
            assert_eq!(body["issued_token_type"], kind);
        }
    }

    #[test]
    fn issued_tokens_never_show_in_debug() {
        let i = issued("read", true);
        let shown = format!("{i:?}");
        assert!(!shown.contains("a.b-c_d"), "{shown}");
        let refresh = i.refresh_token.unwrap();
        assert!(!shown.contains(refresh.as_str()), "{shown}");
    }
}
