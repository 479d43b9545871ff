//! Introspection (RFC 7662), revocation (RFC 7009), and access-token validation for resource
//! servers in the same process.

use serde::Serialize;
use url::Url;

use super::params::Form;
use super::token::{ClientAuth, EndpointResponse};
use super::{AuthorizationServer, Params};
use crate::client::{ClientId, ClientType, OAuthClient};
use crate::clock::Timestamp;
use crate::error::{ErrorCode, OAuthError};
use crate::scope::Scope;
use crate::store::{TokenHash, TokenKind, TokenRecord};

/// What a valid access token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenInfo {
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The user it acts for; `None` when the client acts for itself.
    pub subject: Option<String>,
    /// The granted scope.
    pub scope: Scope,
    /// The resources it is good for.
    pub audience: Vec<String>,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// An introspection response (RFC 7662 §2.2): `active`, and for an active token what the
/// caller may see of it.
#[derive(Serialize, Default)]
struct Introspection<'a> {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gty: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
}

impl Introspection<'_> {
    /// `{"active": false}`: all a caller learns of a token it may not see (RFC 7662 §2.2).
    fn inactive() -> String {
        Introspection::default().to_json()
    }

    fn to_json(&self) -> String {
        // Strings and numbers only: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn invalid_token(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, description)
}

/// Whether a token with `audience` is meant for `client` as a resource server: an
/// administrator marked the client as a resource server, and one of the audiences is its home
/// URL or one of its base URLs. Without the mark a home URL is only where the application
/// lives: anyone registering a client (CIMD) could otherwise claim another service's URL and
/// read or exchange the tokens addressed there.
pub(crate) fn addressed_to(audience: &[String], client: &OAuthClient) -> bool {
    if !client.settings().resource_server {
        return false;
    }
    let mut urls = client.home_url().into_iter().chain(client.base_urls());
    urls.any(|u| audience.iter().any(|a| same_resource(a, u.as_str())))
}

/// Whether `audience` names `target`, comparing URLs in their parsed form so that
/// `https://api.example.com` and `https://api.example.com/` agree.
pub(crate) fn same_resource(audience: &str, target: &str) -> bool {
    audience == target
        || matches!((Url::parse(audience), Url::parse(target)), (Ok(a), Ok(b)) if a == b)
}

impl AuthorizationServer {
    /// Handles an introspection request (RFC 7662 §2). Only confidential clients may
    /// introspect, and only tokens they hold or that are addressed to them (their home or a
    /// base URL is an audience); anything else is `active: false` (RFC 7662 §2.2, §4), so a
    /// client cannot scan for other clients' tokens. A refresh token is described only to the
    /// client that holds it.
    pub async fn introspect(
        &self,
        authorization: Option<&str>,
        params: &Params<'_>,
    ) -> EndpointResponse {
        let call = crate::trace::Call::start("introspect", params);
        match call.run(self.introspect_inner(authorization, params)).await {
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

    async fn introspect_inner(
        &self,
        authorization: Option<&str>,
        params: &Params<'_>,
    ) -> Result<String, OAuthError> {
        let form = Form::read(params);
        let (client, method) = self.authenticate(authorization, &form).await?;
        if method == ClientAuth::None || client.client_type() == ClientType::Public {
            return Err(OAuthError::new(
                ErrorCode::InvalidClient,
                "introspection requires a confidential client (RFC 7662 section 2.1)",
            ));
        }
        let token = form.token.required("token")?;
        form.token_type_hint.get("token_type_hint")?;
        let inactive = Ok(Introspection::inactive());
        let Some(rec) = self.tokens.get(&TokenHash::of(token)).await? else {
            return inactive;
        };
        if rec.is_expired(self.now()) || !self.issued_to_active_client(&rec).await? {
            return inactive;
        }
        let holder = &rec.grant.client_id == client.id();
        let token_type = match rec.kind {
            TokenKind::AccessToken if holder || addressed_to(&rec.grant.audience, &client) => {
                Some("Bearer")
            }
            TokenKind::RefreshToken if holder => None,
            _ => return inactive,
        };
        Ok(Introspection {
            active: true,
            token_type,
            client_id: Some(rec.grant.client_id.as_str()),
            sub: Some(
                rec.grant
                    .subject
                    .as_deref()
                    .unwrap_or(rec.grant.client_id.as_str()),
            ),
            username: rec.grant.subject.as_deref(),
            // RFC 9068 §5: a client's own token must not pass for a user's, even where a
            // client ID equals a username.
            gty: rec
                .grant
                .subject
                .is_none()
                .then_some(super::CLIENT_CREDENTIALS),
            scope: Some(rec.grant.scope.as_str()),
            aud: Some(&rec.grant.audience),
            iss: Some(self.settings.issuer()),
            iat: Some(rec.grant.issued_at.0),
            exp: Some(rec.expires_at.0),
        }
        .to_json())
    }

    /// Handles a revocation request (RFC 7009 §2). Answers 200 whether or not the token was
    /// known, so it reveals nothing; revoking a refresh token also revokes the access tokens
    /// of its grant (RFC 7009 §2.1).
    pub async fn revoke(
        &self,
        authorization: Option<&str>,
        params: &Params<'_>,
    ) -> EndpointResponse {
        let call = crate::trace::Call::start("revoke", params);
        match call.run(self.revoke_inner(authorization, params)).await {
            Ok(()) => {
                call.finish("ok");
                EndpointResponse::empty()
            }
            Err(e) => {
                call.finish(e.code.as_str());
                EndpointResponse::error(&e, self.settings.issuer())
            }
        }
    }

    async fn revoke_inner(
        &self,
        authorization: Option<&str>,
        params: &Params<'_>,
    ) -> Result<(), OAuthError> {
        let form = Form::read(params);
        let (client, _) = self.authenticate(authorization, &form).await?;
        let token = form.token.required("token")?;
        form.token_type_hint.get("token_type_hint")?;
        let hash = TokenHash::of(token);
        let Some(rec) = self.tokens.get(&hash).await? else {
            return Ok(());
        };
        // RFC 7009 §2.1: only the client the token was issued to may revoke it; for anyone
        // else the request is a no-op that looks like success.
        if &rec.grant.client_id != client.id() {
            return Ok(());
        }
        match rec.kind {
            TokenKind::RefreshToken => {
                self.tokens.revoke_grant(&rec.grant.id).await?;
            }
            TokenKind::AccessToken => {
                self.tokens.remove(&hash).await?;
            }
            TokenKind::AuthorizationCode => {}
        }
        Ok(())
    }

    async fn active_access_token(&self, token: &str) -> Result<TokenRecord, OAuthError> {
        let rec = self
            .tokens
            .get(&TokenHash::of(token))
            .await?
            .filter(|r| r.kind == TokenKind::AccessToken)
            .ok_or_else(|| invalid_token("the access token is invalid or revoked"))?;
        if rec.is_expired(self.now()) {
            return Err(invalid_token("the access token has expired"));
        }
        if !self.issued_to_active_client(&rec).await? {
            return Err(invalid_token("the access token is invalid or revoked"));
        }
        Ok(rec)
    }

    /// Whether the client a token was issued to still exists and is active. Deleting a client
    /// revokes its tokens, but a host store may have missed that (a crash between the two
    /// calls, a replica behind): a token never outlives its client.
    async fn issued_to_active_client(&self, rec: &TokenRecord) -> Result<bool, OAuthError> {
        Ok(self
            .client(rec.grant.client_id.as_str())
            .await?
            .is_some_and(|c| !c.flows().is_empty()))
    }

    fn info(rec: &TokenRecord) -> Result<AccessTokenInfo, OAuthError> {
        Ok(AccessTokenInfo {
            scope: rec.grant.scope.clone(),
            client_id: rec.grant.client_id.clone(),
            subject: rec.grant.subject.as_deref().map(str::to_owned),
            audience: rec.grant.audience.to_vec(),
            expires_at: rec.expires_at,
        })
    }

    /// Checks a bearer token for a resource server identified by `audience` (RFC 6750,
    /// RFC 8707): active, unexpired, and issued for that audience. Errors are `invalid_token`.
    pub async fn validate_access_token(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<AccessTokenInfo, OAuthError> {
        let rec = self.active_access_token(token).await?;
        if !rec
            .grant
            .audience
            .iter()
            .any(|a| same_resource(a, audience))
        {
            return Err(invalid_token(
                "the access token is not meant for this resource",
            ));
        }
        Self::info(&rec)
    }

    /// Checks a bearer token for the resource server that is the registered client `client`:
    /// the token's audience must be the client's home URL or one of its base URLs.
    pub async fn validate_access_token_for_client(
        &self,
        token: &str,
        client: &ClientId,
    ) -> Result<AccessTokenInfo, OAuthError> {
        let rec = self.active_access_token(token).await?;
        let resource_server = self
            .clients
            .store()
            .get(client.as_str())
            .await?
            .ok_or_else(|| invalid_token("the resource server is not a registered client"))?;
        if !addressed_to(&rec.grant.audience, &resource_server) {
            return Err(invalid_token(
                "the access token is not meant for this resource",
            ));
        }
        Self::info(&rec)
    }
}
