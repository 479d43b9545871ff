//! The resource owner password grant's throttle (RFC 6749 §4.3.2: the server must protect the
//! endpoint against brute force).
//!
//! Each attempt is counted *before* the password is checked, under one lock with the check of
//! the count, so parallel guesses cannot all pass a check made before any of them failed. A
//! user who reaches the limit is locked for the lockout time; failures older than that are
//! forgotten. Users are keyed by their normalised username (trimmed, lowercase), so `Alice`
//! and `alice ` share one count whatever the directory makes of them.
//!
//! The table is bounded, and never forgets a user inside their window to make room for
//! another: when it is full, users whose window has passed are dropped, and if none has, a new
//! username is refused (`temporarily_unavailable`) until one does. Flooding the table with
//! made-up usernames can so delay other users' password logins for at most one window; it can
//! never reset the count of a user under attack. The sweep for expired users runs at most once
//! a second, so a flood costs one pass over the table per second, not one per request.

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
    users: Mutex<Users>,
}

#[derive(Debug, Default)]
struct Users {
    entries: HashMap<String, Entry>,
    /// When the table was last swept for expired entries.
    last_sweep: Option<Timestamp>,
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
    /// The table is full of users inside their window, and this one is not among them.
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
        if let Some(e) = users.entries.get_mut(key) {
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
        if users.entries.len() >= self.capacity && !self.make_room(&mut users, now) {
            return Attempt::Full;
        }
        users.entries.insert(
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
        super::lock(&self.users).entries.remove(key);
    }

    /// Drops the users whose window has passed, at most once a second; whether that made
    /// room.
    fn make_room(&self, users: &mut Users, now: Timestamp) -> bool {
        if users.last_sweep != Some(now) {
            users.last_sweep = Some(now);
            let window = self.window;
            users.entries.retain(|_, e| !e.expired(now, window));
        }
        users.entries.len() < self.capacity
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
    fn flooding_never_resets_a_user_at_the_limit() {
        // The victim has used every attempt but is not locked yet (that happens on the next
        // one); a flood of other names must not make the table forget them.
        let t = PasswordThrottle::with_capacity(5, 60, 100);
        for _ in 0..5 {
            assert_eq!(t.begin("victim", T), Attempt::Allowed);
        }
        for i in 0..1000 {
            t.begin(&format!("flood{i}"), T.plus_seconds(1));
        }
        assert_eq!(
            t.begin("victim", T.plus_seconds(2)),
            Attempt::Locked { newly: true }
        );
    }

    #[test]
    fn a_full_table_refuses_new_names_until_windows_pass() {
        let t = PasswordThrottle::with_capacity(5, 60, 2);
        assert_eq!(t.begin("a", T), Attempt::Allowed);
        assert_eq!(t.begin("b", T.plus_seconds(10)), Attempt::Allowed);
        assert_eq!(t.begin("c", T.plus_seconds(20)), Attempt::Full);
        assert_eq!(
            t.begin("a", T.plus_seconds(20)),
            Attempt::Allowed,
            "known users go on"
        );
        // `a`'s window ends at 60 and `b`'s at 70.
        assert_eq!(t.begin("c", T.plus_seconds(65)), Attempt::Allowed);
        let users = super::super::lock(&t.users);
        assert!(!users.entries.contains_key("a") && users.entries.contains_key("b"));
    }

    #[test]
    fn usernames_are_normalised() {
        assert_eq!(normalise("  Alice "), "alice");
        assert_eq!(normalise("ÉLODIE"), "élodie");
    }
}
