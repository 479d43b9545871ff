//! The administrator's operations on OAuth clients, over a [`ClientStore`].

use std::sync::Arc;

use super::model::{
    ApplicationInfo, Badge, ClientId, ClientSettings, ClientType, ClientWarning, NewClient,
    OAuthClient, Registration,
};
use super::secret::{ClientSecret, SecretChange, SecretChangeError, SecretError, SecretHash};
use crate::error::InvalidField;
use crate::events::{NoSecurityEvents, SecurityEvent, SecurityEvents};
use crate::random::RandomError;
use crate::redirect::{RedirectRejection, TrustedRedirectUri};
use crate::store::{ClientQuery, ClientStore, ConsentOwner, StoreError, TokenStore};

/// Why a registry operation failed. Each message names the field or client involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A setting broke a rule.
    #[error(transparent)]
    InvalidField(#[from] InvalidField),
    /// No client has this ID.
    #[error("client_id: no client `{0}` exists")]
    NotFound(ClientId),
    /// A client with this ID exists already.
    #[error("client_id: a client `{0}` exists already")]
    Exists(ClientId),
    /// A public client has no secret to change.
    #[error("client_secret: client `{0}` is public and has no secret")]
    PublicClient(ClientId),
    /// A keyed-in secret broke a rule.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A redirect URI was refused or is not awaiting review.
    #[error(transparent)]
    Redirect(#[from] RedirectRejection),
    /// `trust`/`dismiss` named a URI that is not in the review list.
    #[error("redirect_uri: `{0}` is not among the client's untrusted redirect URIs")]
    NotUnderReview(String),
    /// The OS generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SecretChangeError> for ClientError {
    fn from(e: SecretChangeError) -> Self {
        match e {
            SecretChangeError::Invalid(e) => ClientError::Secret(e),
            SecretChangeError::Random(e) => ClientError::Random(e),
        }
    }
}

/// Whether two URLs name the same resource, comparing parsed forms so that
/// `https://api.example.com` and `https://api.example.com/` agree.
fn same_url(a: &str, b: &str) -> bool {
    a == b || matches!((url::Url::parse(a), url::Url::parse(b)), (Ok(x), Ok(y)) if x == y)
}

/// Which clients [`ClientRegistry::list`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFilter {
    /// Only clients whose name contains this text, ignoring case.
    pub name_contains: Option<String>,
    /// Only clients showing this badge.
    pub badge: Option<Badge>,
}

/// A newly created client, with its secret in clear text: the only time it is available.
#[derive(Debug)]
pub struct CreatedClient {
    /// The client as stored.
    pub client: OAuthClient,
    /// The secret of a confidential client; `None` for a public one.
    pub secret: Option<ClientSecret>,
    /// What the administrator should reconsider ([`OAuthClient::warnings`]).
    pub warnings: Vec<ClientWarning>,
}

/// Creates, edits, lists and deletes OAuth clients.
#[derive(Clone)]
pub struct ClientRegistry {
    store: Arc<dyn ClientStore>,
    /// Audiences no client may claim as its home or base URL unless marked as their resource
    /// server: the server's issuer, default audience and configured resources.
    reserved: Arc<[String]>,
    /// Where the codes, tokens and consents of deleted clients are revoked, if the registry
    /// belongs to a server.
    tokens: Option<Arc<dyn TokenStore>>,
    events: Arc<dyn SecurityEvents>,
}

impl std::fmt::Debug for ClientRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRegistry").finish_non_exhaustive()
    }
}

impl ClientRegistry {
    /// A registry over `store`, on its own. A server's registry
    /// ([`crate::AuthorizationServer::clients`]) also revokes what deleted clients held and
    /// keeps the server's own audiences from being claimed.
    pub fn new(store: Arc<dyn ClientStore>) -> Self {
        ClientRegistry {
            store,
            reserved: Arc::from([]),
            tokens: None,
            events: Arc::new(NoSecurityEvents),
        }
    }

    /// The registry of a server: `reserved` are the audiences (issuer, default audience,
    /// configured resources) that only a client marked `resource_server` may have as its home
    /// or a base URL, deleting a client revokes its codes, tokens and consents in `tokens`,
    /// and deletions and recorded redirect URIs are reported to `events`.
    pub(crate) fn for_server(
        store: Arc<dyn ClientStore>,
        tokens: Arc<dyn TokenStore>,
        reserved: Vec<String>,
        events: Arc<dyn SecurityEvents>,
    ) -> Self {
        ClientRegistry {
            store,
            reserved: reserved.into(),
            tokens: Some(tokens),
            events,
        }
    }

    /// A URL equal to one of the server's own audiences becomes a client's site URL only with
    /// the administrator's `resource_server` mark: a site URL is a token audience, so without
    /// this anyone registering a client could claim the server's API as its own and read the
    /// tokens addressed there (RFC 9700 §2.3, audience restriction).
    fn check_reserved(&self, settings: &ClientSettings) -> Result<(), InvalidField> {
        if settings.resource_server {
            return Ok(());
        }
        let urls = settings
            .home_url
            .iter()
            .map(|u| ("home_url".to_owned(), u))
            .chain(
                settings
                    .base_urls
                    .iter()
                    .enumerate()
                    .map(|(i, u)| (format!("base_urls[{i}]"), u)),
            );
        for (field, url) in urls {
            if self.reserved.iter().any(|r| same_url(r, url)) {
                return Err(InvalidField::new(
                    field,
                    format!(
                        "`{}` is one of this server's own audiences; only a client marked as \
                         its resource server may have it",
                        crate::error::echo(url)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn ClientStore> {
        &self.store
    }

    /// Creates a client. A confidential client gets a generated secret, returned here once and
    /// stored only as a salted hash.
    pub async fn create(&self, new: NewClient) -> Result<CreatedClient, ClientError> {
        let secret = match new.client_type {
            ClientType::Confidential => Some(ClientSecret::generate()?),
            ClientType::Public => None,
        };
        let client = self.insert(new, secret.as_ref()).await?;
        Ok(CreatedClient {
            warnings: client.warnings(),
            client,
            secret,
        })
    }

    /// Creates a client without a secret whatever its type: a client registered from its
    /// metadata document that authenticates with its published keys.
    pub(crate) async fn create_without_secret(
        &self,
        new: NewClient,
    ) -> Result<OAuthClient, ClientError> {
        self.insert(new, None).await
    }

    /// Creates a confidential client with a secret the administrator keyed in (for seeding and
    /// migration); the secret must pass the key-in rules.
    pub async fn create_with_secret(
        &self,
        new: NewClient,
        secret: SecretChange,
    ) -> Result<OAuthClient, ClientError> {
        let secret = secret.into_secret()?;
        let new = NewClient {
            client_type: ClientType::Confidential,
            ..new
        };
        self.insert(new, Some(&secret)).await
    }

    async fn insert(
        &self,
        new: NewClient,
        secret: Option<&ClientSecret>,
    ) -> Result<OAuthClient, ClientError> {
        let id = match new.client_id.clone() {
            Some(id) => id,
            None => ClientId::generate()?,
        };
        self.check_reserved(&new.settings)?;
        let hash = secret.map(SecretHash::new).transpose()?;
        let client = OAuthClient::new(id, new, hash)?;
        match self.store.insert(client.clone()).await {
            Ok(()) => Ok(client),
            Err(StoreError::Duplicate) => Err(ClientError::Exists(client.id().clone())),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads a client, applies `change`, and writes it back, starting again from a fresh read
    /// when someone else wrote in between, so that concurrent edits of different fields all
    /// survive.
    async fn modify<T>(
        &self,
        id: &ClientId,
        mut change: impl FnMut(&mut OAuthClient) -> Result<T, ClientError>,
    ) -> Result<(OAuthClient, T), ClientError> {
        const ATTEMPTS: usize = 5;
        for _ in 0..ATTEMPTS {
            let mut client = self.get(id).await?;
            let out = change(&mut client)?;
            match self.store.update(client.clone()).await {
                Ok(()) => {
                    client.set_revision(client.revision().wrapping_add(1));
                    return Ok((client, out));
                }
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => return Err(ClientError::NotFound(id.clone())),
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// The client with this ID.
    pub async fn get(&self, id: &ClientId) -> Result<OAuthClient, ClientError> {
        self.store
            .get(id.as_str())
            .await?
            .map(Arc::unwrap_or_clone)
            .ok_or_else(|| ClientError::NotFound(id.clone()))
    }

    /// Replaces a client's editable settings. Application information, type, secret and
    /// registration are not settings and stay as they are. For a client registered from its
    /// metadata document, what came from the document (name, home URL, icon, redirect URIs)
    /// is read-only here: the document is its only source, and a change to it is read at the
    /// client's next authorization.
    pub async fn update_settings(
        &self,
        id: &ClientId,
        settings: ClientSettings,
    ) -> Result<OAuthClient, ClientError> {
        self.check_reserved(&settings)?;
        let (client, ()) = self
            .modify(id, |client| {
                if client.registration() == Registration::Cimd {
                    let now = client.settings();
                    let changed = [
                        ("name", now.name != settings.name),
                        ("home_url", now.home_url != settings.home_url),
                        ("icon", now.icon != settings.icon),
                        ("redirect_uris", now.redirect_uris != settings.redirect_uris),
                    ];
                    if let Some((field, _)) = changed.iter().find(|(_, c)| *c) {
                        return Err(ClientError::InvalidField(InvalidField::new(
                            *field,
                            "comes from the client's metadata document and cannot be changed \
                             here",
                        )));
                    }
                }
                Ok(client.update_settings(settings.clone())?)
            })
            .await?;
        Ok(client)
    }

    /// Brings a client registered from its metadata document up to date with it: the one way
    /// its document's fields change.
    pub(crate) async fn refresh_from_document(
        &self,
        id: &ClientId,
        settings: ClientSettings,
        application: ApplicationInfo,
    ) -> Result<OAuthClient, ClientError> {
        self.check_reserved(&settings)?;
        let (client, ()) = self
            .modify(id, |client| {
                client.update_settings(settings.clone())?;
                client.set_application(Some(application.clone()));
                Ok(())
            })
            .await?;
        Ok(client)
    }

    /// Replaces a confidential client's secret; returns the new one, shown once.
    pub async fn change_secret(
        &self,
        id: &ClientId,
        change: SecretChange,
    ) -> Result<ClientSecret, ClientError> {
        if self.get(id).await?.client_type() == ClientType::Public {
            return Err(ClientError::PublicClient(id.clone()));
        }
        let secret = change.into_secret()?;
        let hash = SecretHash::new(&secret)?;
        self.modify(id, |client| {
            client.set_secret_hash(hash.clone());
            Ok(())
        })
        .await?;
        Ok(secret)
    }

    /// Whether `presented` is the secret of client `id`. An unknown or public client is
    /// `false`, after the same hashing work, so timing does not reveal which IDs exist.
    pub async fn verify_secret(&self, id: &ClientId, presented: &str) -> Result<bool, ClientError> {
        Ok(match self.store.get(id.as_str()).await? {
            Some(client) => client.verify_secret(presented),
            None => {
                SecretHash::spend_equal_time(presented);
                false
            }
        })
    }

    /// Deletes the clients with these IDs; returns how many existed. A server's registry
    /// first revokes their codes, tokens and consents, so nothing a deleted client held stays
    /// usable (and a client registered again under the same ID inherits nothing).
    pub async fn delete(&self, ids: &[ClientId]) -> Result<usize, ClientError> {
        Ok(self.delete_counting(ids).await?.0)
    }

    /// [`Self::delete`], also returning how many codes and tokens were revoked per client.
    pub(crate) async fn delete_counting(
        &self,
        ids: &[ClientId],
    ) -> Result<(usize, Vec<usize>), StoreError> {
        let mut revoked = Vec::with_capacity(ids.len());
        if let Some(tokens) = &self.tokens {
            for id in ids {
                revoked.push(tokens.revoke_client(id).await?);
                tokens
                    .revoke_consents(&ConsentOwner::Client(id.clone()))
                    .await?;
            }
        }
        let mut deleted = 0;
        for (i, id) in ids.iter().enumerate() {
            if self.store.delete_many(std::slice::from_ref(id)).await? > 0 {
                deleted += 1;
                self.events.report(&SecurityEvent::ClientDeleted {
                    client_id: id.clone(),
                    tokens_revoked: revoked.get(i).copied().unwrap_or(0),
                });
            }
        }
        Ok((deleted, revoked))
    }

    /// The clients matching `filter`, ordered by name.
    pub async fn list(&self, filter: &ClientFilter) -> Result<Vec<OAuthClient>, ClientError> {
        let query = ClientQuery {
            name_contains: filter.name_contains.clone(),
        };
        let mut clients = self.store.list(&query).await?;
        if let Some(badge) = filter.badge {
            clients.retain(|c| c.has_badge(badge));
        }
        Ok(clients)
    }

    /// Decides whether a user agent may be sent to `requested` for `client`; an unregistered
    /// but well-formed URI is recorded on the client for an administrator to review.
    pub async fn check_redirect_uri(
        &self,
        client: &OAuthClient,
        requested: &str,
    ) -> Result<TrustedRedirectUri, ClientError> {
        self.check_redirect_uri_by(client, requested, None).await
    }

    /// [`Self::check_redirect_uri`] for a request of `user`, whom the event names.
    pub(crate) async fn check_redirect_uri_by(
        &self,
        client: &OAuthClient,
        requested: &str,
        user: Option<&str>,
    ) -> Result<TrustedRedirectUri, ClientError> {
        match client.check_redirect_uri(requested) {
            Ok(trusted) => Ok(trusted),
            Err(rejection) => {
                // One already under review changes nothing: no write, no revision bump.
                let listed = client
                    .untrusted_redirect_uris()
                    .iter()
                    .any(|u| u == requested);
                if rejection.is_reviewable()
                    && !listed
                    && self
                        .store
                        .record_untrusted_redirect_uri(client.id(), requested)
                        .await?
                {
                    self.events
                        .report(&SecurityEvent::UntrustedRedirectUriRecorded {
                            client_id: client.id().clone(),
                            user: user.map(str::to_owned),
                            redirect_uri: requested.to_owned(),
                        });
                }
                Err(rejection.into())
            }
        }
    }

    /// Moves an untrusted redirect URI into the client's redirect URIs. It must pass the
    /// registration rules like any other redirect URI.
    pub async fn trust_redirect_uri(
        &self,
        id: &ClientId,
        uri: &str,
    ) -> Result<OAuthClient, ClientError> {
        let (client, ()) = self
            .modify(id, |client| {
                if !client.untrusted_redirect_uris().iter().any(|u| u == uri) {
                    return Err(ClientError::NotUnderReview(uri.to_owned()));
                }
                // Such a client's redirect URIs come from its document and nowhere else.
                if client.registration() == Registration::Cimd {
                    return Err(ClientError::InvalidField(InvalidField::new(
                        "redirect_uri",
                        "the client's redirect URIs come from its metadata document; its \
                         owner must publish this one there",
                    )));
                }
                let mut settings = client.settings().clone();
                settings.redirect_uris.push(uri.to_owned());
                // Updating re-checks every untrusted URI, so this one leaves the review list.
                // The error names the parameter the administrator gave, not a list index.
                client.update_settings(settings).map_err(|e| InvalidField {
                    field: "redirect_uri".into(),
                    reason: e.reason,
                })?;
                Ok(())
            })
            .await?;
        Ok(client)
    }

    /// Removes an untrusted redirect URI from review without trusting it.
    pub async fn dismiss_redirect_uri(
        &self,
        id: &ClientId,
        uri: &str,
    ) -> Result<OAuthClient, ClientError> {
        let (client, ()) = self
            .modify(id, |client| {
                if client.take_untrusted_redirect_uri(uri) {
                    Ok(())
                } else {
                    Err(ClientError::NotUnderReview(uri.to_owned()))
                }
            })
            .await?;
        Ok(client)
    }
}
