//! The authorization code grant (RFC 6749 §4.1.3; RFC 7636 §4.6; RFC 9700 §4.5).

use super::*;

impl AuthorizationServer {
    /// RFC 6749 §4.1.3 and RFC 7636 §4.6: the code's redirect URI and PKCE challenge.
    pub(super) fn check_code_binding(
        &self,
        rec: &TokenRecord,
        form: &Form<'_>,
    ) -> Result<(), OAuthError> {
        let Some(binding) = &rec.grant.code else {
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

    pub(super) async fn code_grant(
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
            subject: rec.grant.subject.clone(),
            scope: &rec.grant.scope,
            audience: &audience,
            grant: Some(&rec.grant.id),
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
    pub(super) async fn code_replayed(&self, rec: &TokenRecord) -> OAuthError {
        if rec.kind == TokenKind::AuthorizationCode {
            match self.tokens.revoke_grant(&rec.grant.id).await {
                Ok(()) => self.events.report(&SecurityEvent::CodeReplayed {
                    client_id: rec.grant.client_id.clone(),
                    user: rec.grant.subject.as_deref().map(str::to_owned),
                    grant: rec.grant.id.clone(),
                }),
                Err(e) => return e.into(),
            }
        }
        invalid_grant("code: has already been used; the tokens issued from it are revoked")
    }
}
