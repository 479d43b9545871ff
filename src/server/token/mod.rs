//! The token endpoint (RFC 6749 §3.2, §4–§6; RFC 8693): the dispatch by grant type and what
//! the grants share. Client authentication, each grant, and the response bodies have a module
//! each.

mod assertion;

pub(crate) use assertion::{ALGORITHM_NAMES, SeenAssertions};
mod client_auth;
mod client_credentials;
mod code;
mod extension;
mod password;
mod refresh;
mod response;

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

pub use client_auth::ClientAuth;
pub use response::EndpointResponse;
use response::token_body;

pub(crate) const BUILT_IN_GRANTS: &[&str] = &[
    "authorization_code",
    "client_credentials",
    "password",
    "refresh_token",
];

/// What became of a presented code or refresh token.
enum Redeemed<T> {
    /// This request took it, and the checks worked out `T`.
    Taken(TokenRecord, T),
    /// It had been taken before: a replay.
    Replayed(TokenRecord),
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

/// A presented code or refresh token (`param`) must be of its kind, issued to this client, and
/// unexpired. One answer for the first two, so a client learns nothing of others' codes.
fn check_presented(
    rec: &TokenRecord,
    kind: TokenKind,
    client: &OAuthClient,
    now: crate::clock::Timestamp,
    param: &str,
) -> Result<(), OAuthError> {
    if rec.kind != kind || &rec.grant.client_id != client.id() {
        return Err(invalid_grant(format!(
            "{param}: is invalid, expired, revoked, or was issued to another client"
        )));
    }
    if rec.is_expired(now) {
        return Err(invalid_grant(format!("{param}: has expired")));
    }
    Ok(())
}

/// The request's `scope` parameter, parsed once; a malformed token fails the whole parameter.
fn asked_scope(form: &Form<'_>) -> Result<Option<Scope>, OAuthError> {
    form.scope
        .get("scope")?
        .map(|s| Scope::parse(s).map_err(|e| invalid_scope(e.to_string())))
        .transpose()
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
        records: &[(TokenHash, TokenRecord)],
    ) -> Result<Option<TokenRecord>, OAuthError> {
        // Records never change, so the one checked is the one taken, or it was replaced.
        let same = |rec: &TokenRecord| rec == seen;
        match self.take_and_store(hash, &same, records).await? {
            Take::Taken(_) => Ok(None),
            Take::AlreadyTaken(rec) => Ok(Some(rec)),
            Take::Missing | Take::Refused(_) => Err(invalid_grant(missing)),
        }
    }

    fn narrow_audience(
        &self,
        rec: &TokenRecord,
        resources: &[&str],
    ) -> Result<Arc<[String]>, OAuthError> {
        if resources.is_empty() {
            return Ok(rec.grant.audience.clone());
        }
        super::distinct_resources(resources)?
            .iter()
            .map(|r| {
                // Compared as URLs, as every other audience check is; the grant's own spelling
                // is what the new token carries.
                if let Some(a) = rec
                    .grant
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
}
