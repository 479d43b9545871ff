//! The resource owner password grant's throttle (RFC 6749 §4.3.2: the server must protect the
//! endpoint against brute force).
//!
//! Each attempt is counted *before* the password is checked, under one lock with the check of
//! the count, so parallel guesses cannot all pass a check made before any of them failed. A
//! user who reaches the limit is locked for the lockout time; failures older than that are
//! forgotten. Users are keyed by their normalised username (trimmed, lowercase), so `Alice`
//! and `alice ` share one count whatever the directory makes of them.
//!
//! The table is bounded. When it is full it forgets, first, users whose window has passed,
//! then the unlocked user whose window started longest ago; a locked user is never forgotten
//! before the lock ends. Should every entry be locked, a new username is refused until one
//! expires: flooding the table can delay other users' logins, never reset someone's count
//! while it matters.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Timestamp;

/// The most usernames remembered at once.
pub(crate) const MAX_THROTTLED_USERS: usize = 10_000;

#[derive(Debug)]
pub(crate) struct PasswordThrottle {
    max_failures: u32,
    /// The lockout, and the window in which failures count, in seconds.
    window: u64,
    capacity: usize,
    users: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Attempts counted in this window (each counts until it succeeds).
    attempts: u32,
    window_start: Timestamp,
    locked_until: Option<Timestamp>,
}

impl Entry {
    fn locked(&self, now: Timestamp) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// Whether the entry has nothing left to remember at `now`.
    fn expired(&self, now: Timestamp, window: u64) -> bool {
        match self.locked_until {
            Some(until) => until <= now,
            None => self.window_start.plus_seconds(window) <= now,
        }
    }
}

/// What [`PasswordThrottle::begin`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Check the password.
    Allowed,
    /// The user is locked; `newly` when this attempt locked them.
    Locked { newly: bool },
    /// The table is full of locked users and this one is not among them.
    Full,
}

/// The username as the throttle keys it.
pub(crate) fn normalise(username: &str) -> String {
    username.trim().to_lowercase()
}

impl PasswordThrottle {
    pub(crate) fn new(max_failures: u32, window: u64) -> Self {
        Self::with_capacity(max_failures, window, MAX_THROTTLED_USERS)
    }

    pub(crate) fn with_capacity(max_failures: u32, window: u64, capacity: usize) -> Self {
        PasswordThrottle {
            max_failures: max_failures.max(1),
            window,
            capacity,
            users: Mutex::default(),
        }
    }

    /// Counts an attempt for `key` (a [`normalise`]d username) and says whether it may go
    /// ahead: one step, under one lock.
    pub(crate) fn begin(&self, key: &str, now: Timestamp) -> Attempt {
        let mut users = super::lock(&self.users);
        if let Some(e) = users.get_mut(key) {
            if e.locked(now) {
                return Attempt::Locked { newly: false };
            }
            if e.expired(now, self.window) {
                *e = Entry {
                    attempts: 0,
                    window_start: now,
                    locked_until: None,
                };
            }
            if e.attempts >= self.max_failures {
                e.locked_until = Some(now.plus_seconds(self.window));
                return Attempt::Locked { newly: true };
            }
            e.attempts += 1;
            return Attempt::Allowed;
        }
        if users.len() >= self.capacity && !self.make_room(&mut users, now) {
            return Attempt::Full;
        }
        users.insert(
            key.to_owned(),
            Entry {
                attempts: 1,
                window_start: now,
                locked_until: None,
            },
        );
        Attempt::Allowed
    }

    /// The password was right: the user's count starts again.
    pub(crate) fn succeeded(&self, key: &str) {
        super::lock(&self.users).remove(key);
    }

    /// Frees one slot, if the rules allow; see the module's documentation.
    fn make_room(&self, users: &mut HashMap<String, Entry>, now: Timestamp) -> bool {
        users.retain(|_, e| !e.expired(now, self.window));
        if users.len() < self.capacity {
            return true;
        }
        let oldest = users
            .iter()
            .filter(|(_, e)| !e.locked(now))
            .min_by_key(|(_, e)| e.window_start)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => {
                users.remove(&k);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp(1000);

    #[test]
    fn the_attempt_past_the_limit_locks_until_the_lockout_ends() {
        let t = PasswordThrottle::with_capacity(3, 60, 10);
        for _ in 0..3 {
            assert_eq!(t.begin("u", T), Attempt::Allowed);
        }
        assert_eq!(t.begin("u", T), Attempt::Locked { newly: true });
        assert_eq!(
            t.begin("u", T.plus_seconds(59)),
            Attempt::Locked { newly: false }
        );
        assert_eq!(t.begin("u", T.plus_seconds(60)), Attempt::Allowed);
    }

    #[test]
    fn parallel_attempts_are_counted_before_any_is_checked() {
        // Every attempt that has begun counts, so the fourth of four concurrent guesses is
        // refused although none has failed yet.
        let t = PasswordThrottle::with_capacity(3, 60, 10);
        let outcomes: Vec<Attempt> = (0..4).map(|_| t.begin("u", T)).collect();
        assert_eq!(
            outcomes.iter().filter(|o| **o == Attempt::Allowed).count(),
            3
        );
    }

    #[test]
    fn a_success_starts_the_count_again_and_failures_age_out() {
        let t = PasswordThrottle::with_capacity(2, 60, 10);
        t.begin("u", T);
        t.succeeded("u");
        t.begin("u", T);
        assert_eq!(t.begin("u", T), Attempt::Allowed);
        assert_eq!(
            t.begin("u", T.plus_seconds(60)),
            Attempt::Allowed,
            "a new window"
        );
    }

    #[test]
    fn flooding_other_names_never_forgets_a_locked_user() {
        let t = PasswordThrottle::with_capacity(2, 60, 4);
        t.begin("victim", T);
        t.begin("victim", T);
        assert_eq!(t.begin("victim", T), Attempt::Locked { newly: true });
        for i in 0..100 {
            t.begin(&format!("flood{i}"), T.plus_seconds(1));
        }
        assert_eq!(
            t.begin("victim", T.plus_seconds(2)),
            Attempt::Locked { newly: false },
            "still locked"
        );
    }

    #[test]
    fn flooding_forgets_the_oldest_unlocked_user_first() {
        let t = PasswordThrottle::with_capacity(5, 60, 3);
        t.begin("old", T);
        t.begin("recent", T.plus_seconds(10));
        t.begin("newer", T.plus_seconds(11));
        t.begin("flood", T.plus_seconds(12));
        let users = super::super::lock(&t.users);
        assert!(!users.contains_key("old") && users.contains_key("recent"));
    }

    #[test]
    fn a_table_full_of_locked_users_refuses_new_names() {
        let t = PasswordThrottle::with_capacity(1, 60, 2);
        for name in ["a", "b"] {
            t.begin(name, T);
            assert_eq!(t.begin(name, T), Attempt::Locked { newly: true });
        }
        assert_eq!(t.begin("c", T), Attempt::Full);
        assert_eq!(
            t.begin("c", T.plus_seconds(60)),
            Attempt::Allowed,
            "after the locks"
        );
    }

    #[test]
    fn usernames_are_normalised() {
        assert_eq!(normalise("  Alice "), "alice");
        assert_eq!(normalise("ÉLODIE"), "élodie");
    }
}
