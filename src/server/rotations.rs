//! The successor responses of refresh tokens rotated moments ago, for the reuse interval
//! ([`crate::ServerSettings::refresh_reuse_interval`]).
//!
//! A rotation is marked *pending* before the store is asked to take the presented token, and
//! *done* with its response once the store has answered. A second presentation that finds it
//! pending (the store has taken the token but the first request has not had the answer yet, or
//! never got it) is told to retry rather than taken for a thief.
//!
//! Responses hold tokens in clear, so they live only in this process's memory and only for the
//! interval; with the setting off (the default) nothing is kept. Entries expire in the order
//! they were made, so expiring them never scans the whole table.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::client::ClientId;
use crate::clock::Timestamp;
use crate::store::TokenHash;

#[derive(Debug, Default)]
pub(crate) struct RecentRotations(Mutex<Inner>);

#[derive(Debug, Default)]
struct Inner {
    by_token: HashMap<TokenHash, Rotation>,
    /// When each entry was made, oldest first.
    order: VecDeque<(Timestamp, TokenHash)>,
}

struct Rotation {
    client_id: ClientId,
    at: Timestamp,
    /// The token response (secrets), once the rotation is done; `None` while pending.
    body: Option<String>,
}

/// What a second presentation of a refresh token rotated moments ago gets.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// The same successor as the first presentation.
    Successor(String),
    /// The first presentation's rotation has not finished (or its answer was lost): retry.
    Pending,
}

impl std::fmt::Debug for Rotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rotation")
            .field("client_id", &self.client_id)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Drops the entries older than `interval` seconds at `now`.
    fn expire(&mut self, now: Timestamp, interval: u64) {
        while let Some(&(at, hash)) = self.order.front() {
            if at.plus_seconds(interval) >= now {
                break;
            }
            self.order.pop_front();
            // A token rotated out twice has a newer entry; keep that one.
            if self.by_token.get(&hash).is_some_and(|r| r.at == at) {
                self.by_token.remove(&hash);
            }
        }
    }
}

impl RecentRotations {
    /// Marks a rotation of `presented` for `client_id` as under way, unless one is known.
    pub(crate) fn begin(
        &self,
        presented: TokenHash,
        client_id: &ClientId,
        now: Timestamp,
        interval: u64,
    ) {
        let mut inner = super::lock(&self.0);
        inner.expire(now, interval);
        if inner.by_token.contains_key(&presented) {
            return;
        }
        inner.order.push_back((now, presented));
        inner.by_token.insert(
            presented,
            Rotation {
                client_id: client_id.clone(),
                at: now,
                body: None,
            },
        );
    }

    /// Remembers that `presented` was rotated into the response `body` for `client_id`.
    pub(crate) fn complete(
        &self,
        presented: TokenHash,
        client_id: &ClientId,
        body: String,
        now: Timestamp,
        interval: u64,
    ) {
        let mut inner = super::lock(&self.0);
        inner.expire(now, interval);
        let at = match inner.by_token.get(&presented) {
            Some(r) => r.at,
            None => {
                inner.order.push_back((now, presented));
                now
            }
        };
        inner.by_token.insert(
            presented,
            Rotation {
                client_id: client_id.clone(),
                at,
                body: Some(body),
            },
        );
    }

    /// Forgets a pending rotation of `presented` that did not happen.
    pub(crate) fn abandon(&self, presented: &TokenHash) {
        let mut inner = super::lock(&self.0);
        if inner
            .by_token
            .get(presented)
            .is_some_and(|r| r.body.is_none())
        {
            inner.by_token.remove(presented);
        }
    }

    /// What a presentation of `presented` by `client_id` gets, if it was rotated (or is being
    /// rotated) within the interval.
    pub(crate) fn get(
        &self,
        presented: &TokenHash,
        client_id: &ClientId,
        now: Timestamp,
        interval: u64,
    ) -> Option<Reuse> {
        let mut inner = super::lock(&self.0);
        inner.expire(now, interval);
        inner
            .by_token
            .get(presented)
            .filter(|r| &r.client_id == client_id)
            .map(|r| match &r.body {
                Some(body) => Reuse::Successor(body.clone()),
                None => Reuse::Pending,
            })
    }

    /// Drops what has expired.
    pub(crate) fn purge(&self, now: Timestamp, interval: u64) {
        super::lock(&self.0).expire(now, interval);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let inner = super::lock(&self.0);
        inner.by_token.len().max(inner.order.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_oldest_first_and_only_for_their_client() {
        let r = RecentRotations::default();
        let a = ClientId::new("a").unwrap();
        let b = ClientId::new("b").unwrap();
        let (h1, h2) = (TokenHash::of("1"), TokenHash::of("2"));
        r.complete(h1, &a, "one".into(), Timestamp(100), 10);
        r.complete(h2, &a, "two".into(), Timestamp(105), 10);
        assert_eq!(
            r.get(&h1, &a, Timestamp(110), 10),
            Some(Reuse::Successor("one".into()))
        );
        assert_eq!(r.get(&h1, &b, Timestamp(110), 10), None, "another client's");
        assert_eq!(
            r.get(&h1, &a, Timestamp(111), 10),
            None,
            "past the interval"
        );
        assert_eq!(r.len(), 1, "the expired entry is gone");
        r.purge(Timestamp(200), 10);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn a_pending_rotation_says_retry_until_it_is_done_or_abandoned() {
        let r = RecentRotations::default();
        let a = ClientId::new("a").unwrap();
        let h = TokenHash::of("1");
        r.begin(h, &a, Timestamp(100), 10);
        assert_eq!(r.get(&h, &a, Timestamp(101), 10), Some(Reuse::Pending));
        r.begin(h, &a, Timestamp(101), 10);
        r.complete(h, &a, "one".into(), Timestamp(101), 10);
        r.abandon(&h);
        assert_eq!(
            r.get(&h, &a, Timestamp(102), 10),
            Some(Reuse::Successor("one".into())),
            "a done rotation is not abandoned by a concurrent loser"
        );
        let other = TokenHash::of("2");
        r.begin(other, &a, Timestamp(102), 10);
        r.abandon(&other);
        assert_eq!(r.get(&other, &a, Timestamp(102), 10), None);
        assert_eq!(
            r.get(&h, &a, Timestamp(111), 10),
            None,
            "expired with its start"
        );
    }
}
