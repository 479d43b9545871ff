//! Clients that register themselves from their Client ID Metadata Documents
//! (draft-ietf-oauth-client-id-metadata-document), at the authorization endpoint.

use std::sync::atomic::Ordering;

use super::{AuthorizationServer, LoginPrompt};
use crate::cimd::{AuthMethod, MetadataDocument, MetadataUrl};
use crate::client::{
    ApplicationInfo, ClientError, ClientId, ClientSettings, ClientType, Flow, NewClient,
    OAuthClient, Registration,
};
use crate::error::OAuthError;

impl AuthorizationServer {
    /// Turns automatic registration from Client ID Metadata Documents on or off, at run time.
    /// Off stops new registrations and refetches; clients registered while it was on keep
    /// working as stored until an administrator deletes them.
    pub fn set_cimd_enabled(&self, on: bool) {
        self.cimd_on.store(on, Ordering::Relaxed);
    }

    /// Whether automatic registration is on.
    pub fn cimd_enabled(&self) -> bool {
        self.cimd_on.load(Ordering::Relaxed)
    }

    /// For a URL-shaped `client_id` while registration is on: checks the URL and the host's
    /// lists, and for a logged-in user registers the client from its document, or refreshes
    /// it when the document changed. `Some(prompt)`: nobody is logged in and the client is not
    /// registered yet, so the user logs in first; an anonymous request fetches nothing and
    /// writes nothing.
    pub(super) async fn register_from_document(
        &self,
        raw_id: &str,
        user: Option<&str>,
    ) -> Result<Option<LoginPrompt>, OAuthError> {
        let settings = &self.settings.cimd;
        let refused = |reason: String| OAuthError::invalid_request(format!("client_id: {reason}"));
        let admitted = |url: &MetadataUrl| {
            if settings.admits(url.as_str(), url.host()) {
                Ok(())
            } else {
                Err(refused(format!(
                    "this server does not register clients from `{}`",
                    url.host()
                )))
            }
        };
        let now = self.now();
        // The usual request, for a client whose document is kept, fresh: that document's
        // client ID is this very text, which passed every rule when it was fetched.
        if user.is_some()
            && let Some(document) = self.documents.fresh(raw_id, now)
        {
            admitted(&document.client_id)?;
            let stored = self.client(raw_id).await?;
            self.apply_document(stored.as_deref(), &document)
                .await
                .map_err(|e| refused(e.to_string()))?;
            return Ok(None);
        }
        // Every rule is checked before anything is fetched.
        let url =
            MetadataUrl::parse(raw_id, &settings.url_policy).map_err(|e| refused(e.to_string()))?;
        admitted(&url)?;
        let stored = self.client(raw_id).await?;
        if user.is_none() {
            return Ok(match stored {
                Some(_) => None,
                None => Some(LoginPrompt {
                    client_id: ClientId::new(raw_id).map_err(|e| refused(e.reason))?,
                    client_name: url.host().to_owned(),
                }),
            });
        }
        let document = self
            .documents
            .get(&*self.fetcher, &url, now)
            .await
            .map_err(|e| refused(e.to_string()))?;
        self.apply_document(stored.as_deref(), &document)
            .await
            .map_err(|e| refused(e.to_string()))?;
        Ok(None)
    }

    /// Registers the client `document` describes, or brings a registered one up to date with
    /// it. What came from the document (name, URLs, redirect URIs) is the document's; the rest
    /// of the client's settings are the administrator's and stay as they are.
    async fn apply_document(
        &self,
        stored: Option<&OAuthClient>,
        document: &MetadataDocument,
    ) -> Result<(), ClientError> {
        // A client that publishes keys authenticates with them (RFC 7523): confidential, with
        // no secret; one that does not is public.
        let client_type = match document.auth_method {
            AuthMethod::PrivateKeyJwt(_) => ClientType::Confidential,
            _ => ClientType::Public,
        };
        if let Some(client) = stored
            && client.client_type() != client_type
        {
            return Err(ClientError::InvalidField(crate::error::InvalidField::new(
                "token_endpoint_auth_method",
                "changed since the client registered; an administrator must delete the client \
                 for it to register again",
            )));
        }
        let from_document = |mut settings: ClientSettings| {
            settings.name = document
                .client_name
                .clone()
                .unwrap_or_else(|| document.client_id.host().to_owned());
            settings.home_url = document.client_uri.clone();
            settings.icon = document.logo_uri.clone();
            settings.redirect_uris = document.redirect_uris.clone();
            settings
        };
        match stored {
            Some(client) => {
                // The usual case, a document unchanged since the client was stored, costs a
                // comparison and no copy.
                let s = client.settings();
                let name = document
                    .client_name
                    .as_deref()
                    .unwrap_or(document.client_id.host());
                let unchanged = s.name == name
                    && s.home_url == document.client_uri
                    && s.icon == document.logo_uri
                    && s.redirect_uris == document.redirect_uris
                    && client.application().is_some_and(|a| states(a, document));
                if !unchanged {
                    let updated = from_document(s.clone());
                    self.clients
                        .refresh_from_document(client.id(), updated, application(document))
                        .await?;
                }
                Ok(())
            }
            None => {
                let settings = from_document(ClientSettings {
                    flows: [Flow::AuthorizationCode].into_iter().collect(),
                    require_pkce: true,
                    require_consent: true,
                    scopes: self.settings.cimd.scopes.clone(),
                    ..ClientSettings::default()
                });
                let new = NewClient {
                    client_id: Some(
                        ClientId::new(document.client_id.as_str())
                            .map_err(ClientError::InvalidField)?,
                    ),
                    client_type,
                    registration: Registration::Cimd,
                    application: Some(application(document)),
                    settings,
                };
                match self.clients.create_without_secret(new).await {
                    // Another request registered it at the same moment.
                    Ok(_) | Err(ClientError::Exists(_)) => Ok(()),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// The read-only application facts a document states.
fn application(document: &MetadataDocument) -> ApplicationInfo {
    ApplicationInfo {
        name: document.client_name.clone(),
        version: document.software_version.clone(),
        vendor: None,
        release_date: None,
        software_id: document.software_id.clone(),
        tos_uri: document.tos_uri.clone(),
        policy_uri: document.policy_uri.clone(),
        contacts: document.contacts.clone(),
    }
}

/// Whether `info` says what [`application`] would make of `document`, compared in place.
fn states(info: &ApplicationInfo, document: &MetadataDocument) -> bool {
    info.name == document.client_name
        && info.version == document.software_version
        && info.vendor.is_none()
        && info.release_date.is_none()
        && info.software_id == document.software_id
        && info.tos_uri == document.tos_uri
        && info.policy_uri == document.policy_uri
        && info.contacts == document.contacts
}

/// A shared fetcher that answers nothing: the default until the host sets one.
#[derive(Debug, Default)]
pub(super) struct NoFetcher;

#[async_trait::async_trait]
impl crate::store::HttpFetcher for NoFetcher {
    async fn fetch(
        &self,
        request: crate::store::HttpRequest,
    ) -> Result<crate::store::HttpResponse, crate::store::FetchError> {
        Err(crate::store::FetchError::Connect(format!(
            "no HttpFetcher is set on this server, so {} cannot be fetched",
            request.url
        )))
    }
}
