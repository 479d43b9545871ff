//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14).

use super::*;

impl AuthorizationServer {
    pub(super) async fn refresh_grant(
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
                rec.grant.subject.as_deref(),
            )
            .await?;
        let minted = self.mint(Issue {
            client_id: client.id(),
            subject: rec.grant.subject.clone(),
            scope: &scope,
            audience: &audience,
            grant: Some(&rec.grant.id),
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
    pub(super) fn reuse_interval(&self, client: &OAuthClient) -> Option<u64> {
        let interval = self.settings.refresh_reuse_interval;
        (interval > 0 && client.client_type() == ClientType::Confidential).then_some(interval)
    }

    /// A refresh token that had been rotated out came back.
    pub(super) async fn refresh_replayed(
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
            self.tokens.revoke_grant(&rec.grant.id).await?;
            self.events.report(&SecurityEvent::RefreshReplayed {
                client_id: rec.grant.client_id.clone(),
                user: rec.grant.subject.as_deref().map(str::to_owned),
                grant: rec.grant.id.clone(),
            });
        }
        Err(invalid_grant(
            "refresh_token: was already used; every token of this grant is revoked",
        ))
    }

    /// The scope a refresh asks for: the original grant's, or a subset of it (RFC 6749 §6).
    pub(super) fn refresh_scope(
        &self,
        rec: &TokenRecord,
        form: &Form<'_>,
    ) -> Result<Scope, OAuthError> {
        let original = rec.grant.scope.clone();
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
}
