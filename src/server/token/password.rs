//! The resource owner password credentials grant (RFC 6749 §4.3), off unless the host turns it
//! on (RFC 9700 §2.4), throttled per user.

use super::*;

impl AuthorizationServer {
    pub(super) async fn password_grant(
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
}
