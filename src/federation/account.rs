//! Which host account a federated login is: linked, found by verified email, created, or
//! refused. The host applies the decision through its own [`AccountDirectory`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use serde::Serialize;

use super::error::LoginError;
use super::login::{FederatedLogin, Federation};
use super::module::{ModuleId, ModuleSettings};
use crate::store::StoreError;

/// The host's accounts, as a federated login needs them. Account IDs are the host's.
#[async_trait]
pub trait AccountDirectory: Send + Sync {
    /// The account linked to this provider user through this module.
    async fn find_linked(
        &self,
        module: &ModuleId,
        provider_user_id: &str,
    ) -> Result<Option<String>, StoreError>;

    /// The account whose **verified** email address this is (compared as the host compares
    /// addresses). An account whose address is not verified must not be returned: whoever
    /// put the address there never proved they own it, and linking to that account would
    /// hand it the real owner's login (a pre-account takeover).
    async fn find_by_email(&self, email: &str) -> Result<Option<String>, StoreError>;

    /// Creates an account and returns its ID.
    async fn create(&self, account: &NewAccount) -> Result<String, StoreError>;

    /// Links an account to a provider user through a module. An account already linked to
    /// another user of the same module is not relinked: answer [`StoreError::Duplicate`].
    async fn link(
        &self,
        account: &str,
        module: &ModuleId,
        provider_user_id: &str,
    ) -> Result<(), StoreError>;

    /// Refreshes what the provider says about an account on every login.
    async fn refresh(&self, account: &str, update: &AccountUpdate) -> Result<(), StoreError>;
}

/// An account to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAccount {
    /// The username (the provider's, or its user ID when it has none).
    pub username: String,
    /// The full name.
    pub full_name: Option<String>,
    /// The email address.
    pub email: Option<String>,
    /// Whether the email is verified.
    pub email_verified: bool,
}

/// What every login refreshes on the account.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AccountUpdate {
    /// The mapped full name, when the provider gave one.
    pub full_name: Option<String>,
    /// The mapped email, when the provider gave one, and whether it is verified.
    pub email: Option<(String, bool)>,
    /// The avatar's URL, when the provider gave one.
    pub avatar_url: Option<String>,
    /// The avatar's image, when the avatar endpoint gave an acceptable one.
    #[serde(skip)]
    pub avatar_image: Option<super::AvatarImage>,
    /// Groups to be a member of: auto-join groups and the groups the mappings give.
    pub join: BTreeSet<String>,
    /// Groups the mappings manage that the provider no longer gives.
    pub leave: BTreeSet<String>,
}

/// What a login becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum AccountDecision {
    /// The account already linked to this provider user.
    Linked {
        /// The account.
        account: String,
    },
    /// An existing account with the same email, which the provider verified: link it.
    LinkByVerifiedEmail {
        /// The account.
        account: String,
    },
    /// A new account (user creation is on).
    Create(NewAccount),
    /// No account.
    Refuse(Refusal),
}

/// Why a login gets no account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// An existing account has this email, but the email is not verified: linking would hand
    /// that account to whoever typed its address at the provider, and creating a second
    /// account would split the user in two.
    #[error(
        "an account with this email exists, but the provider has not verified the email; \
         log in to that account another way"
    )]
    UnverifiedEmailInUse,
    /// The account with this verified email is linked to another user of this provider.
    #[error(
        "the account with this email is linked to another account at this provider; log in \
         with that one"
    )]
    LinkedToAnotherUser,
    /// No account, and user creation is off.
    #[error("there is no account for this user, and this login method does not create accounts")]
    UserCreationOff,
}

impl Federation {
    /// Decides which account `login` is, reading the directory but changing nothing.
    pub async fn decide(
        &self,
        login: &FederatedLogin,
        accounts: &dyn AccountDirectory,
    ) -> Result<AccountDecision, LoginError> {
        let module = self.module(&login.profile.module).await?;
        decide(&module.settings, login, accounts).await
    }

    /// Decides and applies: links or creates the account, counts an import, refreshes the
    /// mapped fields and groups. Returns the account ID, or the refusal.
    pub async fn sign_in(
        &self,
        login: &FederatedLogin,
        accounts: &dyn AccountDirectory,
    ) -> Result<Result<String, Refusal>, LoginError> {
        let module = self.module(&login.profile.module).await?;
        if !module.enabled {
            return Err(LoginError::ModuleDisabled);
        }
        let profile = &login.profile;
        let account = match decide(&module.settings, login, accounts).await? {
            AccountDecision::Refuse(why) => return Ok(Err(why)),
            AccountDecision::Linked { account } => account,
            AccountDecision::LinkByVerifiedEmail { account } => {
                match accounts.link(&account, &module.id, &profile.user_id).await {
                    Err(StoreError::Duplicate) => return Ok(Err(Refusal::LinkedToAnotherUser)),
                    other => other?,
                }
                self.modules().count_import(&module.id).await?;
                account
            }
            AccountDecision::Create(new) => {
                let account = accounts.create(&new).await?;
                accounts
                    .link(&account, &module.id, &profile.user_id)
                    .await?;
                self.modules().count_import(&module.id).await?;
                account
            }
        };
        accounts
            .refresh(&account, &update(&module.settings, login))
            .await?;
        // Provider tokens are kept only where a client can ask for them: a token nobody can
        // use is a liability in the store.
        if let (Some(store), Some(_)) = (
            self.provider_tokens(),
            &module.settings.extension_grant_type,
        ) {
            store
                .put(&account, &module.id, login.tokens.clone())
                .await?;
        }
        Ok(Ok(account))
    }
}

async fn decide(
    settings: &ModuleSettings,
    login: &FederatedLogin,
    accounts: &dyn AccountDirectory,
) -> Result<AccountDecision, LoginError> {
    let profile = &login.profile;
    // Users are identified by (module, provider user ID): never by email or username, which
    // a user can change at the provider.
    if let Some(account) = accounts
        .find_linked(&profile.module, &profile.user_id)
        .await?
    {
        return Ok(AccountDecision::Linked { account });
    }
    if let Some(email) = profile.email.as_deref().filter(|e| !e.is_empty())
        && let Some(account) = accounts.find_by_email(email).await?
    {
        // RFC 9700 §4.17 spirit (and the "nOAuth" takeovers): an address the provider has
        // not verified proves nothing about who owns the account that has it.
        return Ok(if profile.email_verification.is_verified() {
            AccountDecision::LinkByVerifiedEmail { account }
        } else {
            AccountDecision::Refuse(Refusal::UnverifiedEmailInUse)
        });
    }
    if !settings.user_creation {
        return Ok(AccountDecision::Refuse(Refusal::UserCreationOff));
    }
    Ok(AccountDecision::Create(NewAccount {
        username: profile
            .username
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| profile.user_id.clone()),
        full_name: profile.full_name.clone(),
        email: profile.email.clone(),
        email_verified: profile.email_verification.is_verified(),
    }))
}

/// What every login refreshes: mapped fields, auto-join groups, and the groups the mappings
/// manage, synced to what the provider says now.
fn update(settings: &ModuleSettings, login: &FederatedLogin) -> AccountUpdate {
    let profile = &login.profile;
    let mapped: BTreeSet<String> = profile
        .groups
        .iter()
        .filter_map(|g| settings.group_mappings.get(g))
        .flatten()
        .cloned()
        .collect();
    let join: BTreeSet<String> = settings
        .auto_join_groups
        .iter()
        .cloned()
        .chain(mapped)
        .collect();
    // A profile that says nothing about groups (the scope was not granted, or the provider
    // left them out) removes nobody from anything.
    let leave = settings
        .group_mappings
        .values()
        .flatten()
        .filter(|g| profile.groups_reported && !join.contains(*g))
        .cloned()
        .collect();
    AccountUpdate {
        full_name: profile.full_name.clone(),
        email: profile
            .email
            .clone()
            .map(|e| (e, profile.email_verification.is_verified())),
        avatar_url: profile.avatar_url.clone(),
        avatar_image: profile.avatar_image.clone(),
        join,
        leave,
    }
}

/// An account in [`MemoryAccounts`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Account {
    /// The account ID.
    pub id: String,
    /// The username.
    pub username: String,
    /// The full name.
    pub full_name: Option<String>,
    /// The email address.
    pub email: Option<String>,
    /// Whether the email is verified.
    pub email_verified: bool,
    /// The avatar's URL.
    pub avatar_url: Option<String>,
    /// The avatar's image, from the provider's avatar endpoint.
    #[serde(skip)]
    pub avatar_image: Option<super::AvatarImage>,
    /// Group memberships.
    pub groups: BTreeSet<String>,
    /// Linked modules and the provider user ID in each.
    pub links: BTreeMap<ModuleId, String>,
}

/// Accounts in a map: for examples and tests.
#[derive(Debug, Default)]
pub struct MemoryAccounts {
    accounts: Mutex<Vec<Account>>,
}

impl MemoryAccounts {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Account>> {
        self.accounts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds an account (a local one, not from a provider).
    pub fn insert(&self, account: Account) {
        self.lock().push(account);
    }

    /// An account by ID.
    pub fn get(&self, id: &str) -> Option<Account> {
        self.lock().iter().find(|a| a.id == id).cloned()
    }

    /// Every account.
    pub fn all(&self) -> Vec<Account> {
        self.lock().clone()
    }
}

#[async_trait]
impl AccountDirectory for MemoryAccounts {
    async fn find_linked(
        &self,
        module: &ModuleId,
        provider_user_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .iter()
            .find(|a| a.links.get(module).is_some_and(|id| id == provider_user_id))
            .map(|a| a.id.clone()))
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .iter()
            .find(|a| {
                a.email_verified
                    && a.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .map(|a| a.id.clone()))
    }

    async fn create(&self, new: &NewAccount) -> Result<String, StoreError> {
        let mut accounts = self.lock();
        let mut username = new.username.clone();
        let mut n = 1;
        while accounts.iter().any(|a| a.username == username) {
            n += 1;
            username = format!("{}{n}", new.username);
        }
        let account = Account {
            id: username.clone(),
            username,
            full_name: new.full_name.clone(),
            email: new.email.clone(),
            email_verified: new.email_verified,
            ..Account::default()
        };
        let id = account.id.clone();
        accounts.push(account);
        Ok(id)
    }

    async fn link(
        &self,
        account: &str,
        module: &ModuleId,
        provider_user_id: &str,
    ) -> Result<(), StoreError> {
        let mut accounts = self.lock();
        let a = accounts
            .iter_mut()
            .find(|a| a.id == account)
            .ok_or(StoreError::NotFound)?;
        if a.links.get(module).is_some_and(|id| id != provider_user_id) {
            return Err(StoreError::Duplicate);
        }
        a.links.insert(module.clone(), provider_user_id.to_owned());
        Ok(())
    }

    async fn refresh(&self, account: &str, update: &AccountUpdate) -> Result<(), StoreError> {
        let mut accounts = self.lock();
        let a = accounts
            .iter_mut()
            .find(|a| a.id == account)
            .ok_or(StoreError::NotFound)?;
        if let Some(name) = &update.full_name {
            a.full_name = Some(name.clone());
        }
        if let Some((email, verified)) = &update.email {
            a.email = Some(email.clone());
            a.email_verified = *verified;
        }
        if let Some(url) = &update.avatar_url {
            a.avatar_url = Some(url.clone());
        }
        if let Some(image) = &update.avatar_image {
            a.avatar_image = Some(image.clone());
        }
        a.groups.extend(update.join.iter().cloned());
        a.groups.retain(|g| !update.leave.contains(g));
        Ok(())
    }
}
