//! Sets of bytes as 256-entry tables, built at compile time: the character classes of the
//! protocol (unreserved, NQCHAR, form-safe, JSON-plain) checked with one load per byte.
//!
//! Which of a table's four cache lines a check reads tells a process sharing the CPU's caches
//! the top two bits of the byte checked. So the server never checks its own codes and tokens
//! this way (they are base64url by construction); the one secret it does check is a
//! presented PKCE verifier, whose syntax RFC 7636 §4.1 fixes, at the moment it is used up
//! with its code, after which knowing it is worth nothing.

/// A set of byte values, aligned so that the table is exactly four cache lines.
#[derive(Clone, Copy)]
#[repr(align(64))]
pub(crate) struct ByteSet([bool; 256]);

// The builders run at compile time, where an out-of-range index fails the build; a `u8` as
// `usize` is always below 256 anyway.
#[allow(clippy::indexing_slicing)]
impl ByteSet {
    pub(crate) const EMPTY: ByteSet = ByteSet([false; 256]);

    const fn set_each(mut self, bytes: &[u8], on: bool) -> Self {
        let mut i = 0;
        while i < bytes.len() {
            self.0[bytes[i] as usize] = on;
            i += 1;
        }
        self
    }

    /// Adds `lo..=hi`.
    pub(crate) const fn with_range(mut self, lo: u8, hi: u8) -> Self {
        let mut b = lo as usize;
        while b <= hi as usize {
            self.0[b] = true;
            b += 1;
        }
        self
    }

    /// Adds each of `bytes`.
    pub(crate) const fn with(self, bytes: &[u8]) -> Self {
        self.set_each(bytes, true)
    }

    /// Removes each of `bytes`.
    pub(crate) const fn without(self, bytes: &[u8]) -> Self {
        self.set_each(bytes, false)
    }

    /// Adds ASCII letters and digits.
    pub(crate) const fn with_alphanumerics(self) -> Self {
        self.with_range(b'A', b'Z')
            .with_range(b'a', b'z')
            .with_range(b'0', b'9')
    }
}

impl ByteSet {
    /// Whether `b` is in the set.
    pub(crate) fn contains(&self, b: u8) -> bool {
        // Never `None`: the table has an entry for every `u8`.
        self.0.get(usize::from(b)).copied().unwrap_or(false)
    }

    /// Whether every byte of `s` is in the set.
    pub(crate) fn all(&self, s: &[u8]) -> bool {
        // Eight bytes per test, without a branch per byte: the values checked (codes, tokens,
        // verifiers) are tens of bytes long and almost always pass.
        let mut chunks = s.chunks_exact(8);
        for chunk in &mut chunks {
            if !chunk.iter().fold(true, |ok, &b| ok & self.contains(b)) {
                return false;
            }
        }
        chunks.remainder().iter().all(|&b| self.contains(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_four_whole_cache_lines() {
        assert_eq!(std::mem::align_of::<ByteSet>(), 64);
        assert_eq!(std::mem::size_of::<ByteSet>(), 256);
    }

    #[test]
    fn sets_hold_exactly_what_was_added() {
        const SET: ByteSet = ByteSet::EMPTY
            .with_alphanumerics()
            .with(b"-_")
            .without(b"Q");
        for b in 0..=255u8 {
            let expected = (b.is_ascii_alphanumeric() || b == b'-' || b == b'_') && b != b'Q';
            assert_eq!(SET.contains(b), expected, "{b}");
        }
        assert!(SET.all(b"abc-_09"));
        assert!(!SET.all(b"abc Q"));
        assert!(SET.all(b""));
        // Every position, in the eight-byte chunks and in the remainder.
        for len in 1..=20 {
            for at in 0..len {
                let mut s = vec![b'a'; len];
                s[at] = b' ';
                assert!(!SET.all(&s), "{len} {at}");
            }
            assert!(SET.all(&vec![b'a'; len]));
        }
    }
}
