//! The client credentials grant (RFC 6749 §4.4).

use super::*;

impl AuthorizationServer {
    pub(super) async fn client_credentials_grant(
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
}
