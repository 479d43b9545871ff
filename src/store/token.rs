use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::StoreError;
use crate::client::ClientId;
use crate::clock::Timestamp;
use crate::pkce::CodeChallenge;
use crate::random::{self, RandomError};
use crate::scope::Scope;

/// The SHA-256 of a code or token: the only form in which a [`TokenStore`] sees it, so a leaked
/// store holds nothing a client could present.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of a code or token as presented.
    pub fn of(token: &str) -> Self {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    /// The hash of a code or token the server generated.
    pub(crate) fn of_bytes(token: &[u8]) -> Self {
        TokenHash(Sha256::digest(token).into())
    }

    /// The 32 hash bytes, for stores that key by bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Rebuilds a hash from the bytes a store kept.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        TokenHash(bytes)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell records apart in logs.
        write!(f, "TokenHash(")?;
        for b in self.0.iter().take(4) {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

/// What a [`TokenRecord`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenKind {
    /// A single-use authorization code (RFC 6749 §4.1.2).
    AuthorizationCode,
    /// An access token.
    AccessToken,
    /// A refresh token (RFC 6749 §6).
    RefreshToken,
}

/// The family of codes and tokens that descend from one authorization. Revoking the grant
/// revokes them all: RFC 9700 §4.5 and §4.14 ask for this when a code or refresh token is
/// replayed.
///
/// Compared, ordered and hashed by its text, however it was made.
#[derive(Clone, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct GrantId(GrantText);

#[derive(Clone)]
enum GrantText {
    /// 32 lowercase hex digits, kept inline: a grant ID is made for every authorization, and
    /// each of its records holds a copy, so this saves an allocation and the reference
    /// counting of a shared string.
    Hex([u8; 32]),
    /// Any other text, as a store kept it.
    Shared(Arc<str>),
}

impl From<String> for GrantId {
    fn from(s: String) -> Self {
        GrantId(GrantText::Shared(s.into()))
    }
}

impl From<GrantId> for String {
    fn from(g: GrantId) -> Self {
        g.as_str().to_owned()
    }
}

impl GrantId {
    /// A fresh random grant ID.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(GrantId(GrantText::Shared(random::token_256()?.into())))
    }

    /// The grant ID of the authorization whose first code or token has this hash. The hash
    /// of a 256-bit random value is as unique as a fresh random ID, and costs no extra call to
    /// the OS generator; it reveals nothing, as hashes are one-way. 128 bits of it are kept:
    /// grant IDs need only be unique, not unguessable.
    pub fn derived_from(first: &TokenHash) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 32];
        for (pair, b) in hex.chunks_exact_mut(2).zip(first.0.iter()) {
            if let [hi, lo] = pair {
                *hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                *lo = HEX.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0');
            }
        }
        GrantId(GrantText::Hex(hex))
    }

    /// A grant ID a store kept.
    pub fn new(value: impl Into<String>) -> Self {
        GrantId(GrantText::Shared(value.into().into()))
    }

    /// The ID's text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Always ASCII hex digits, so never the empty default.
            GrantText::Hex(hex) => std::str::from_utf8(hex).unwrap_or_default(),
            GrantText::Shared(text) => text,
        }
    }
}

impl PartialEq for GrantId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for GrantId {}

impl PartialOrd for GrantId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GrantId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for GrantId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GrantId").field(&self.as_str()).finish()
    }
}

/// What an authorization code is bound to, checked when it is redeemed (RFC 6749 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeBinding {
    /// The `redirect_uri` of the authorization request, if it had one; the token request must
    /// repeat it.
    pub redirect_uri: Option<Arc<str>>,
    /// The PKCE challenge, if the request had one.
    pub code_challenge: Option<CodeChallenge>,
    /// The OpenID Connect `nonce`, passed through.
    pub nonce: Option<String>,
}

/// What a code or token grants, and to whom: the part of a [`TokenRecord`] that the records
/// issued together share. A code has one of its own; an access token and the refresh token
/// issued with it share one, so a pair costs one of these, not two.
///
/// Grants never change once stored, so records hold them shared (`Arc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The authorization the records descend from: revoking it revokes them all.
    pub id: GrantId,
    /// The client they were issued to.
    pub client_id: ClientId,
    /// The user they act for; `None` when the client acts for itself.
    pub subject: Option<Arc<str>>,
    /// The granted scope.
    pub scope: Scope,
    /// The resources (audiences) they are good for.
    pub audience: Arc<[String]>,
    /// When they were issued.
    pub issued_at: Timestamp,
    /// The end of the authorization's absolute lifetime: no refresh token of it lives past
    /// this, however often it is rotated. `None` (records stored before it existed) leaves
    /// only the sliding lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Timestamp>,
    /// For an authorization code: what redemption must match (RFC 6749 §4.1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Box<CodeBinding>>,
}

/// A code or token as a [`TokenStore`] keeps it: what it is, when it expires, and the
/// [`Grant`] it shares with the records issued beside it. Cheap to clone (one reference
/// count), so stores hand records out by value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// What it is.
    pub kind: TokenKind,
    /// When it stops being valid.
    pub expires_at: Timestamp,
    /// What it grants, to whom, and the family it belongs to.
    pub grant: Arc<Grant>,
}

impl TokenRecord {
    /// Whether the record has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }
}

/// The outcome of [`TokenStore::take`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Take {
    /// This caller is the one that took the record.
    Taken(TokenRecord),
    /// Someone took it before: a replay. The record is returned so the caller can revoke its
    /// grant. Its kind and expiry are as stored; its [`Grant`] may by then be that of the
    /// records issued in exchange for it by [`TokenStore::take_and_insert`] (the same family,
    /// client and user), which lets a store drop a redeemed code's binding.
    AlreadyTaken(TokenRecord),
    /// No such record (never issued, revoked, or purged).
    Missing,
    /// [`TokenStore::take_if`] only: the check refused the record, which stays as it was
    /// (except in the race the provided `take_if` documents, where it was taken before it
    /// could be checked).
    Refused(TokenRecord),
}

/// The check [`TokenStore::take_if`] runs on a record before taking it.
pub type TakeCheck<'a> = &'a (dyn Fn(&TokenRecord) -> bool + Sync);

/// A user's remembered approval of scopes for a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// The user who approved.
    pub user: String,
    /// The client approved.
    pub client_id: ClientId,
    /// Every scope token approved so far.
    pub scopes: BTreeSet<String>,
    /// When the approval was last given.
    pub granted_at: Timestamp,
}

/// Whose consents to list or revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentOwner {
    /// All consents a user gave.
    User(String),
    /// All consents given to a client.
    Client(ClientId),
}

impl ConsentOwner {
    /// Whether `consent` belongs to this owner.
    pub fn owns(&self, consent: &Consent) -> bool {
        match self {
            ConsentOwner::User(u) => &consent.user == u,
            ConsentOwner::Client(c) => &consent.client_id == c,
        }
    }
}

/// Where codes, tokens and consents live, keyed by [`TokenHash`], never by the token itself.
///
/// A record that has been taken stays (as taken) until it is purged, so a replay can be told
/// from a code that never existed.
///
/// A store that keeps the records in the memory store and logs every revocation (a database
/// store answers the same calls from its tables, with `take_and_insert` in one transaction):
///
/// ```
/// use std::sync::Arc;
/// use portcullis::clock::Timestamp;
/// use portcullis::store::memory::MemoryTokenStore;
/// use portcullis::store::*;
/// use portcullis::{ClientId, async_trait};
///
/// struct Logged(MemoryTokenStore);
///
/// #[async_trait]
/// impl TokenStore for Logged {
///     async fn insert(&self, h: TokenHash, r: TokenRecord) -> Result<(), StoreError> {
///         self.0.insert(h, r).await
///     }
///     async fn get(&self, h: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
///         self.0.get(h).await
///     }
///     async fn take(&self, h: &TokenHash) -> Result<Take, StoreError> { self.0.take(h).await }
///     async fn take_and_insert(
///         &self,
///         h: &TokenHash,
///         check: TakeCheck<'_>,
///         records: &[(TokenHash, TokenRecord)],
///     ) -> Result<Take, StoreError> {
///         self.0.take_and_insert(h, check, records).await // one step in the memory store
///     }
///     async fn remove(&self, h: &TokenHash) -> Result<bool, StoreError> { self.0.remove(h).await }
///     async fn revoke_grant(&self, g: &GrantId) -> Result<(), StoreError> {
///         eprintln!("revoking grant {}", g.as_str());
///         self.0.revoke_grant(g).await
///     }
///     async fn revoke_subject(&self, u: &str, c: Option<&ClientId>) -> Result<usize, StoreError> {
///         self.0.revoke_subject(u, c).await
///     }
///     async fn revoke_client(&self, c: &ClientId) -> Result<usize, StoreError> {
///         self.0.revoke_client(c).await
///     }
///     async fn purge_expired(&self, now: Timestamp) -> Result<usize, StoreError> {
///         self.0.purge_expired(now).await
///     }
///     async fn put_consent(&self, c: Consent) -> Result<(), StoreError> {
///         self.0.put_consent(c).await
///     }
///     async fn consent(&self, u: &str, c: &ClientId) -> Result<Option<Consent>, StoreError> {
///         self.0.consent(u, c).await
///     }
///     async fn consents(&self, o: &ConsentOwner) -> Result<Vec<Consent>, StoreError> {
///         self.0.consents(o).await
///     }
///     async fn revoke_consents(&self, o: &ConsentOwner) -> Result<usize, StoreError> {
///         self.0.revoke_consents(o).await
///     }
/// }
/// ```
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a new record; [`StoreError::Duplicate`] if the hash is present (taken or not),
    /// [`StoreError::GrantRevoked`] if its grant has been revoked.
    async fn insert(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError>;

    /// Stores several new records, under the rules of [`Self::insert`]: the token endpoint
    /// issues an access and a refresh token together this way. A store that can should store
    /// all or none (one transaction); the default inserts them one by one and stops at the
    /// first failure.
    async fn insert_all(&self, records: &[(TokenHash, TokenRecord)]) -> Result<(), StoreError> {
        for (hash, record) in records {
            self.insert(*hash, record.clone()).await?;
        }
        Ok(())
    }

    /// The record under `hash`, if present and not taken. Expiry is the caller's check.
    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError>;

    /// Marks the record taken and returns it, atomically: among any number of concurrent
    /// calls for the same hash, exactly one gets [`Take::Taken`].
    async fn take(&self, hash: &TokenHash) -> Result<Take, StoreError>;

    /// Takes the record only if `check` approves it: [`Take::Taken`] means `check` returned
    /// true for this very record, [`Take::Refused`] that it returned false. Among concurrent
    /// calls for the same hash, at most one gets [`Take::Taken`].
    ///
    /// The token endpoint redeems codes and refresh tokens this way, so that a request that
    /// fails a check (another client's, expired, wrong PKCE verifier, wider scope) does not
    /// use them up. `check` is quick and never calls the store (the memory store runs it under
    /// its lock), so a store may run it inside a lock or transaction. A store that can run the check and the mark under one lock or transaction
    /// should override this; the default reads the record with [`Self::get`] first, so a
    /// record that appears between that read and the [`Self::take`] is checked only after it
    /// was taken, and is lost if it fails.
    async fn take_if(&self, hash: &TokenHash, check: TakeCheck<'_>) -> Result<Take, StoreError> {
        let seen = match self.get(hash).await? {
            Some(rec) if !check(&rec) => return Ok(Take::Refused(rec)),
            Some(_) => true,
            None => false,
        };
        Ok(match self.take(hash).await? {
            // Records never change, so one approved by `get` is approved when taken.
            Take::Taken(rec) if !seen && !check(&rec) => Take::Refused(rec),
            other => other,
        })
    }

    /// Takes the record under `hash` if `check` approves it (as [`Self::take_if`]) and, in the
    /// same step, stores `records` (the tokens issued in exchange for it, under the rules of
    /// [`Self::insert_all`]). On anything but [`Take::Taken`] nothing is stored.
    ///
    /// The token endpoint redeems codes and refresh tokens this way, as one call, so that a
    /// request abandoned halfway (a client that disconnects, which drops the request's future
    /// at its next `.await`) either has happened whole or not at all: a code or refresh token
    /// is never used up with nothing issued for it, which the client's retry would turn into
    /// a replay that revokes the grant.
    ///
    /// **Override this** with one transaction (or one lock) in a store that can. The default
    /// calls [`Self::take_if`] and then [`Self::insert_all`]: a future dropped between the two,
    /// or a process that dies there, leaves the record taken and nothing issued.
    async fn take_and_insert(
        &self,
        hash: &TokenHash,
        check: TakeCheck<'_>,
        records: &[(TokenHash, TokenRecord)],
    ) -> Result<Take, StoreError> {
        let taken = self.take_if(hash, check).await?;
        if let Take::Taken(_) = &taken {
            self.insert_all(records).await?;
        }
        Ok(taken)
    }

    /// Removes one record, taken or not; returns whether it existed.
    async fn remove(&self, hash: &TokenHash) -> Result<bool, StoreError>;

    /// Revokes every record of a grant, at once: from this call on, none of them is returned
    /// by [`Self::get`] or taken (a take finds [`Take::Missing`]), and inserting a record of
    /// the grant fails with [`StoreError::GrantRevoked`], so that a token being issued from a
    /// code at the moment the code's replay revokes the grant cannot slip in afterwards. The
    /// grant stays revoked at least until its last record would have expired.
    ///
    /// A store may delete the records now (one statement in a database) or mark the grant
    /// and delete them at the next [`Self::purge_expired`]; the memory store marks, so that a
    /// revocation costs the same whatever the family's size and needs no index by grant.
    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError>;

    /// Removes every record acting for `user`, for one client or all; returns how many.
    async fn revoke_subject(
        &self,
        user: &str,
        client: Option<&ClientId>,
    ) -> Result<usize, StoreError>;

    /// Removes every record issued to a client; returns how many.
    async fn revoke_client(&self, client: &ClientId) -> Result<usize, StoreError>;

    /// Removes every record that has expired at `now`, the records of revoked grants, and
    /// revoked-grant marks past their time; returns how many records expired (a revoked
    /// grant's records no longer count).
    async fn purge_expired(&self, now: Timestamp) -> Result<usize, StoreError>;

    /// Stores a consent, replacing the one for the same user and client.
    async fn put_consent(&self, consent: Consent) -> Result<(), StoreError>;

    /// The consent a user gave a client, if any.
    async fn consent(&self, user: &str, client: &ClientId) -> Result<Option<Consent>, StoreError>;

    /// The consents of a user or client, ordered by user, then client ID.
    async fn consents(&self, owner: &ConsentOwner) -> Result<Vec<Consent>, StoreError>;

    /// Removes the consents of a user or client; returns how many.
    async fn revoke_consents(&self, owner: &ConsentOwner) -> Result<usize, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_grant_ids_are_the_hex_of_the_first_half_of_the_hash() {
        let h = TokenHash::from_bytes([0xab; 32]);
        assert_eq!(GrantId::derived_from(&h).as_str(), "ab".repeat(16));
        let other = TokenHash::of("x");
        let id = GrantId::derived_from(&other);
        assert_eq!(id.as_str().len(), 32);
        assert!(
            id.as_str()
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(id, GrantId::derived_from(&h));
    }

    #[test]
    fn a_grant_id_is_its_text_however_it_was_made() {
        use std::collections::HashSet;
        let derived = GrantId::derived_from(&TokenHash::from_bytes([0xab; 32]));
        // As a store would give it back after keeping it as text.
        let kept = GrantId::new("ab".repeat(16));
        assert_eq!(derived, kept);
        assert_eq!(derived.cmp(&kept), std::cmp::Ordering::Equal);
        let set: HashSet<GrantId> = [derived.clone()].into_iter().collect();
        assert!(set.contains(&kept), "equal IDs hash alike");
        assert_eq!(format!("{derived:?}"), format!("{kept:?}"));
        let json = serde_json::to_string(&derived).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(16)));
        assert_eq!(serde_json::from_str::<GrantId>(&json).unwrap(), derived);
        assert!(GrantId::new("a") < GrantId::new("b"));
    }
}
