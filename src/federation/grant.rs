//! The extension grant that trades a host access token for the provider access token of the
//! user behind it (the seed's "extension grant type").

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::login::Federation;
use super::module::ModuleId;
use super::provider;
use crate::OAuthClient;
use crate::error::{ErrorCode, OAuthError};
use crate::server::{ExtensionGrant, ExternalToken, GrantContext, GrantDecision, Params};
use crate::store::ProviderTokenStore;

/// `POST /token` with `grant_type` set to a module's extension grant type and
/// `subject_token` set to a host access token answers with the provider access token of the
/// user the host token acts for, kept from their last login through that module (and
/// refreshed at the provider when it has expired).
///
/// Register one per module with [`crate::server::AuthorizationServerBuilder::extension_grant`];
/// a client uses it only once an administrator lists the grant type in the client's
/// `extension_grants`, and only with a host token that it holds itself and that carries
/// `required_scope`.
pub struct ProviderTokenGrant {
    refreshing: Mutex<HashSet<(String, ModuleId)>>,
    federation: Federation,
    module: ModuleId,
    grant_type: String,
    required_scope: String,
    tokens: Arc<dyn ProviderTokenStore>,
}

impl std::fmt::Debug for ProviderTokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTokenGrant")
            .field("module", &self.module)
            .field("grant_type", &self.grant_type)
            .field("required_scope", &self.required_scope)
            .finish_non_exhaustive()
    }
}

impl ProviderTokenGrant {
    /// The grant for `module`, answering to `grant_type` (the module's configured extension
    /// grant type), for host tokens carrying the scope token `required_scope`.
    pub fn new(
        federation: Federation,
        module: ModuleId,
        grant_type: impl Into<String>,
        required_scope: impl Into<String>,
        tokens: Arc<dyn ProviderTokenStore>,
    ) -> Self {
        ProviderTokenGrant {
            refreshing: Mutex::default(),
            federation,
            module,
            grant_type: grant_type.into(),
            required_scope: required_scope.into(),
            tokens,
        }
    }
}

/// A refresh in flight for one user and module; dropping it (also when the request is
/// cancelled) lets the next one start.
struct RefreshGuard<'a> {
    set: &'a Mutex<HashSet<(String, ModuleId)>>,
    key: (String, ModuleId),
}

impl<'a> RefreshGuard<'a> {
    fn take(
        set: &'a Mutex<HashSet<(String, ModuleId)>>,
        user: &str,
        module: &ModuleId,
    ) -> Option<Self> {
        let key = (user.to_owned(), module.clone());
        let fresh = set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone());
        fresh.then_some(RefreshGuard { set, key })
    }
}

impl Drop for RefreshGuard<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

/// How long before its expiry a provider token is refreshed rather than handed out.
const REFRESH_MARGIN_SECONDS: u64 = 30;

fn invalid_grant(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

#[async_trait]
impl ExtensionGrant for ProviderTokenGrant {
    fn grant_type(&self) -> &str {
        &self.grant_type
    }

    async fn grant(
        &self,
        ctx: &GrantContext<'_>,
        client: &OAuthClient,
        params: &Params<'_>,
    ) -> Result<GrantDecision, OAuthError> {
        let subject_token = params.required("subject_token")?;
        // One answer for every unusable token, so nobody learns which tokens exist.
        let unusable = || {
            invalid_grant(
                "subject_token: is invalid, expired or revoked, or not held by this client",
            )
        };
        let rec = ctx
            .access_token(subject_token)
            .await?
            .ok_or_else(unusable)?;
        // Only the token's own holder: a resource server that was sent a user's token must
        // not turn it into that user's credentials at the provider.
        if &rec.grant.client_id != client.id() {
            return Err(unusable());
        }
        let Some(user) = rec.grant.subject.as_deref() else {
            return Err(invalid_grant(
                "subject_token: acts for no user, so there is no provider token",
            ));
        };
        if !rec.grant.scope.contains(&self.required_scope) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!(
                    "subject_token: lacks the scope `{}` this grant needs",
                    self.required_scope
                ),
            ));
        }
        let module = self
            .federation
            .modules()
            .store()
            .get(&self.module)
            .await?
            .filter(|m| {
                m.enabled && m.settings.extension_grant_type.as_deref() == Some(&self.grant_type)
            })
            .ok_or_else(|| {
                OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    "grant_type: the auth module behind it is disabled or no longer offers it",
                )
            })?;
        let Some(mut tokens) = self.tokens.get(user, &module.id).await? else {
            return Err(invalid_grant(
                "subject_token: its user has no provider token from this auth module; they \
                 must log in through it first",
            ));
        };
        // Refreshed a little early, so the client does not receive a token that dies on its
        // way to the provider.
        if tokens
            .expires_at
            .is_some_and(|at| at.0 <= ctx.now.0.saturating_add(REFRESH_MARGIN_SECONDS))
        {
            let Some(refresh) = tokens.refresh_token.clone() else {
                return Err(invalid_grant(
                    "the provider token has expired and there is no refresh token; the user \
                     must log in through the auth module again",
                ));
            };
            // One refresh at a time per user and module: two requests presenting the same
            // refresh token to a provider that rotates them would look like a stolen token
            // (RFC 9700 §4.14.2) and could revoke the user's whole grant there.
            let Some(_refreshing) = RefreshGuard::take(&self.refreshing, user, &module.id) else {
                return Err(OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "the provider token is being refreshed; try again in a moment",
                ));
            };
            let grant = [
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.secret()),
            ];
            let fresh = provider::token_request(
                &**self.federation.fetcher(),
                &module.settings,
                &grant,
                ctx.now,
            )
            .await;
            let fresh = match fresh {
                Ok(fresh) => fresh,
                // The provider is slow or away: the client may try again later (RFC 6749
                // §5.2 has no code for it; `temporarily_unavailable` says it best).
                Err(
                    e @ (super::LoginError::Timeout { .. } | super::LoginError::Unreachable { .. }),
                ) => {
                    return Err(OAuthError::new(
                        ErrorCode::TemporarilyUnavailable,
                        format!("the provider could not refresh the token: {e}"),
                    ));
                }
                // Refused: the tokens are dead, and asking again would only ask again.
                Err(e) => {
                    self.tokens.remove(user, &module.id).await?;
                    return Err(invalid_grant(&format!(
                        "the provider refused the refresh ({e}); the user must log in through \
                         the auth module again"
                    )));
                }
            };
            tokens = super::ProviderTokens {
                // A provider that does not rotate refresh tokens keeps the old one valid, and
                // one that leaves out `scope` kept it unchanged (RFC 6749 §5.1).
                refresh_token: fresh.refresh_token.clone().or(Some(refresh)),
                scope: fresh.scope.clone().or(tokens.scope),
                ..fresh
            };
            self.tokens.put(user, &module.id, tokens.clone()).await?;
        }
        Ok(GrantDecision {
            subject: Some(user.to_owned()),
            // Checked by the server against the user's permissions now: a user who lost the
            // scope since the host token was issued gets no provider token.
            scope: crate::Scope::from_tokens([self.required_scope.as_str()]).unwrap_or_default(),
            issued_token_type: Some(crate::server::ACCESS_TOKEN_TYPE.to_owned()),
            external: Some(ExternalToken {
                access_token: tokens.access_token.clone(),
                expires_in: tokens.expires_at.map(|at| at.0.saturating_sub(ctx.now.0)),
                scope: tokens.scope.clone(),
            }),
            ..GrantDecision::default()
        })
    }
}
