//! Extension grants (RFC 6749 §4.5), token exchange among them: the server's side of a grant a
//! host or the crate plugs in.

use super::*;

impl AuthorizationServer {
    pub(super) async fn extension_grant(
        &self,
        client: &OAuthClient,
        params: &Params<'_>,
        form: &Form<'_>,
        ext: &dyn crate::server::ExtensionGrant,
    ) -> Result<String, OAuthError> {
        let ctx = crate::server::GrantContext {
            tokens: self.tokens.as_ref(),
            clients: self.clients.store().as_ref(),
            now: self.now(),
        };
        let decision = ext.grant(&ctx, client, params).await?;
        if let Some(external) = &decision.external {
            // A token from elsewhere is still handed out for a user: the user must hold, now,
            // every scope the grant relied on (a user removed or narrowed since the host token
            // was issued gets nothing).
            let still_held = decision.scope.is_empty()
                || decision.scope.is_subset(
                    &self
                        .for_user(decision.scope.clone(), decision.subject.as_deref())
                        .await
                        .unwrap_or_default(),
                );
            if !still_held {
                return Err(OAuthError::new(
                    crate::error::ErrorCode::InvalidGrant,
                    "subject_token: its user no longer holds the scope this grant needs",
                ));
            }
            return Ok(super::response::external_body(
                external,
                decision.issued_token_type.as_deref(),
            ));
        }
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
