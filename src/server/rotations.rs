//! The successor responses of refresh tokens rotated moments ago, for the reuse interval
//! ([`crate::ServerSettings::refresh_reuse_interval`]).
//!
//! They hold tokens in clear, so they live only in this process's memory and only for the
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
    /// A token response: secrets.
    body: String,
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
    /// Remembers that `presented` was rotated into the response `body` for `client_id`.
    pub(crate) fn insert(
        &self,
        presented: TokenHash,
        client_id: &ClientId,
        body: String,
        now: Timestamp,
        interval: u64,
    ) {
        let mut inner = super::lock(&self.0);
        inner.expire(now, interval);
        inner.order.push_back((now, presented));
        inner.by_token.insert(
            presented,
            Rotation {
                client_id: client_id.clone(),
                at: now,
                body,
            },
        );
    }

    /// The response `presented` was rotated into, if that happened for `client_id` within
    /// the interval.
    pub(crate) fn get(
        &self,
        presented: &TokenHash,
        client_id: &ClientId,
        now: Timestamp,
        interval: u64,
    ) -> Option<String> {
        let mut inner = super::lock(&self.0);
        inner.expire(now, interval);
        inner
            .by_token
            .get(presented)
            .filter(|r| &r.client_id == client_id)
            .map(|r| r.body.clone())
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
        r.insert(h1, &a, "one".into(), Timestamp(100), 10);
        r.insert(h2, &a, "two".into(), Timestamp(105), 10);
        assert_eq!(r.get(&h1, &a, Timestamp(110), 10).as_deref(), Some("one"));
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
}
