//! OAuth 2.0 Token Exchange (RFC 8693), the first extension grant: a confidential client (a
//! resource server, typically) trades a user's access token for one of its own, never wider.

use async_trait::async_trait;

use super::introspect::{addressed_to, same_resource};
use super::params::{Field, Reader, Slot};
use super::{ExtensionGrant, GrantContext, GrantDecision, Params};
use crate::client::{ClientType, OAuthClient};
use crate::error::{ErrorCode, OAuthError};
use crate::scope::Scope;

/// The parameters of a token exchange request (RFC 8693 §2.1).
#[derive(Default)]
struct ExchangeRequest<'p> {
    subject_token: Field<'p>,
    subject_token_type: Field<'p>,
    actor_token: Field<'p>,
    actor_token_type: Field<'p>,
    requested_token_type: Field<'p>,
    scope: Field<'p>,
    /// `resource` and `audience`, which may repeat: the targets of the new token.
    targets: Vec<&'p str>,
}

impl<'p> Reader<'p> for ExchangeRequest<'p> {
    fn slot(&mut self, name: &str) -> Slot<'_, 'p> {
        Slot::One(match name {
            "subject_token" => &mut self.subject_token,
            "subject_token_type" => &mut self.subject_token_type,
            "actor_token" => &mut self.actor_token,
            "actor_token_type" => &mut self.actor_token_type,
            "requested_token_type" => &mut self.requested_token_type,
            "scope" => &mut self.scope,
            "resource" | "audience" => return Slot::Many(&mut self.targets),
            _ => return Slot::Unknown,
        })
    }
}

/// The token exchange grant type (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The token type URI of an access token (RFC 8693 §3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// RFC 8693 token exchange of this server's own access tokens, without delegation
/// (`actor_token`). Off for every client until an administrator lists [`TOKEN_EXCHANGE`] in
/// the client's `extension_grants`.
///
/// A confidential client may trade a token it holds, or one addressed to it as a resource
/// server (it is marked `resource_server` and its home or a base URL is the token's audience):
/// the usual case of a resource server calling another on the user's behalf. The new token
/// acts for the same user, carries at most the subject token's scope and audience (or targets
/// on the client's `exchange_audiences` list), lives no longer than the subject token, and
/// joins its grant, so revoking the original revokes the exchanged one too.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenExchange;

#[async_trait]
impl ExtensionGrant for TokenExchange {
    fn grant_type(&self) -> &str {
        TOKEN_EXCHANGE
    }

    async fn grant(
        &self,
        ctx: &GrantContext<'_>,
        client: &OAuthClient,
        params: &Params<'_>,
    ) -> Result<GrantDecision, OAuthError> {
        // A public client could be anyone; exchanging tokens needs to know who asks.
        if client.client_type() == ClientType::Public {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "grant_type: token exchange needs a confidential client",
            ));
        }
        let (request, _) = params.read::<ExchangeRequest>();
        let subject_token = request.subject_token.required("subject_token")?;
        let token_type = request.subject_token_type.required("subject_token_type")?;
        if token_type != ACCESS_TOKEN_TYPE {
            return Err(OAuthError::invalid_request(format!(
                "subject_token_type: only `{ACCESS_TOKEN_TYPE}` is supported"
            )));
        }
        // RFC 8693 §2.1: `actor_token_type` is required with `actor_token` and must not be
        // sent without it.
        let actor = request.actor_token.get("actor_token")?;
        if actor.is_none() && request.actor_token_type.get("actor_token_type")?.is_some() {
            return Err(OAuthError::invalid_request(
                "actor_token_type: must not be sent without actor_token (RFC 8693 section 2.1)",
            ));
        }
        if actor.is_some() {
            return Err(OAuthError::invalid_request(
                "actor_token: delegation is not supported",
            ));
        }
        if let Some(t) = request.requested_token_type.get("requested_token_type")?
            && t != ACCESS_TOKEN_TYPE
        {
            return Err(OAuthError::invalid_request(format!(
                "requested_token_type: only `{ACCESS_TOKEN_TYPE}` can be issued"
            )));
        }
        // RFC 8693 §2.2.2: a subject token that is invalid, or unacceptable to this caller,
        // is `invalid_request`, with one answer for both so nobody learns which tokens exist.
        let unacceptable = || {
            OAuthError::invalid_request(
                "subject_token: is invalid, expired or revoked, or neither held by nor addressed \
                 to this client",
            )
        };
        let rec = ctx
            .access_token(subject_token)
            .await?
            .ok_or_else(unacceptable)?;
        // Only the token's holder, or a resource server the token is addressed to, may trade
        // it: otherwise any client that saw a user's token could mint its own for that user
        // (RFC 8693 §5; RFC 9700 §2.3 on audience restriction).
        if &rec.grant.client_id != client.id() && !addressed_to(&rec.grant.audience, client) {
            return Err(unacceptable());
        }
        // A token never outlives its client: introspection says a deleted or inactive
        // client's token is inactive, so it cannot be exchanged either.
        let holder_active = ctx
            .clients
            .get(rec.grant.client_id.as_str())
            .await?
            .is_some_and(|c| !c.flows().is_empty());
        if !holder_active {
            return Err(unacceptable());
        }
        // A token the client holds for itself names no user. Exchanging it would issue the
        // caller a token of its own that passes for a client-credentials one (RFC 9068 §5)
        // and drops the original client's identity: only users' tokens are exchanged.
        let Some(subject) = rec.grant.subject.as_deref() else {
            return Err(OAuthError::invalid_request(
                "subject_token: is a client's own token (it acts for no user); only a user's \
                 token can be exchanged",
            ));
        };
        let scope = match request.scope.get("scope")? {
            Some(s) => Scope::parse(s)
                .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?
                .intersection(&rec.grant.scope),
            None => rec.grant.scope.clone(),
        };
        // The new token's audience: what the request names (`resource` and `audience`), each
        // within the subject token's audience or the client's allow-list; by default the
        // subject token's own. Never any other resource the server knows (RFC 8693 §5: an
        // exchange must not widen what a token is good for).
        let targets = super::distinct_resources(&request.targets)?;
        let allowed = &client.settings().exchange_audiences;
        for target in &targets {
            let within = rec.grant.audience.iter().any(|a| same_resource(a, target))
                || allowed.iter().any(|a| same_resource(a, target));
            if !within {
                return Err(OAuthError::new(
                    ErrorCode::InvalidTarget,
                    format!(
                        "audience: `{}` is outside the subject token's audience and the \
                         client's exchange audiences",
                        crate::error::echo(target)
                    ),
                ));
            }
        }
        let resources = if targets.is_empty() {
            rec.grant.audience.to_vec()
        } else {
            targets.into_iter().map(str::to_owned).collect()
        };
        Ok(GrantDecision {
            subject: Some(subject.to_owned()),
            scope,
            refresh_token: false,
            issued_token_type: Some(ACCESS_TOKEN_TYPE.into()),
            grant: Some(rec.grant.id.clone()),
            resources,
            // Never outlives the token it was exchanged for.
            not_after: Some(rec.expires_at),
            external: None,
        })
    }
}
