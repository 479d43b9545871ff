//! Security events: what an operator must see, reported through one hook the host sets on
//! the server builder ([`crate::server::AuthorizationServerBuilder::security_events`]).
//!
//! An event names the client and, where known, the user; it never carries a secret, code or
//! token. Text a request chose (an unknown client ID) is cut to
//! [`crate::error::MAX_ECHO_CHARS`] characters. Events are reported synchronously while the
//! request is handled, so a hook should be quick: log, count, or hand the event to a channel.

use crate::client::ClientId;
use crate::store::GrantId;

/// Something a request did that an operator should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityEvent {
    /// An authorization code was presented again (RFC 9700 §4.5): it leaked, and every token
    /// issued from it was revoked.
    CodeReplayed {
        /// The client the code was issued to.
        client_id: ClientId,
        /// The user who authorized it.
        user: Option<String>,
        /// The grant revoked with it: every code and token of this family.
        grant: GrantId,
    },
    /// A refresh token that had been rotated out came back (RFC 9700 §4.14.2): one of its two
    /// holders is an attacker, and the whole family was revoked.
    RefreshReplayed {
        /// The client the refresh token was issued to.
        client_id: ClientId,
        /// The user it acted for.
        user: Option<String>,
        /// The grant revoked with it: every token of this family.
        grant: GrantId,
    },
    /// A client failed to authenticate at the token, introspection or revocation endpoint.
    /// Rate-limit by the request's address on these: the crate never locks a client out,
    /// since that would let anyone disable any client.
    ClientAuthenticationFailed {
        /// The client ID as presented, cut to the echo length; it may name no client.
        client_id: String,
        /// Whether a client with that ID exists.
        known: bool,
        /// Failures for this client since its last success (0 for an unknown ID).
        failures: u64,
    },
    /// Too many wrong passwords for a user at the resource owner password grant: the grant is
    /// refused for that user for a while (RFC 6749 §4.3.2).
    PasswordLockout {
        /// The client the attempts came through.
        client_id: ClientId,
        /// The username as the throttle keys it (trimmed, lowercase).
        username: String,
    },
    /// A logged-in user tried to authorize with a redirect URI the client has not registered;
    /// it was refused and held for an administrator to review.
    UntrustedRedirectUriRecorded {
        /// The client.
        client_id: ClientId,
        /// The user who tried, when known.
        user: Option<String>,
        /// The URI, as requested.
        redirect_uri: String,
    },
    /// A client was deleted, and what it held revoked.
    ClientDeleted {
        /// The deleted client.
        client_id: ClientId,
        /// How many codes and tokens were revoked with it.
        tokens_revoked: usize,
    },
}

/// Receives [`SecurityEvent`]s. The default server reports to [`NoSecurityEvents`].
///
/// ```
/// use portcullis::events::{SecurityEvent, SecurityEvents};
///
/// struct Log;
/// impl SecurityEvents for Log {
///     fn report(&self, event: &SecurityEvent) {
///         eprintln!("security: {event:?}");
///     }
/// }
/// ```
pub trait SecurityEvents: Send + Sync {
    /// Called once per event, while the request that caused it is handled.
    fn report(&self, event: &SecurityEvent);
}

/// Drops every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSecurityEvents;

impl SecurityEvents for NoSecurityEvents {
    fn report(&self, _event: &SecurityEvent) {}
}
