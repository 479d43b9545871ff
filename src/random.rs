//! Random values from the operating system's generator.
//!
//! Every secret, code, token and identifier the library makes comes from here, straight from the
//! OS (`getrandom`), never from a user-space generator seeded once: RFC 6749 §10.10 asks for
//! credentials an attacker cannot guess, and RFC 9700 §4.5.3 for codes of enough entropy.

use base64::prelude::{BASE64_URL_SAFE_NO_PAD, Engine as _};
use rand::TryRng as _;
use rand::rngs::SysRng;

/// The operating system's random number generator failed; nothing was generated.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(String);

/// How many bytes are read from the OS at a time.
const POOL_SIZE: usize = 4096;

/// Bytes read from the OS generator in bulk and handed out once each.
///
/// A `getrandom` call costs the same few hundred nanoseconds for 32 bytes as for a few hundred,
/// and a token flow needs several values: reading 4 KiB at a time keeps every value straight
/// from the OS generator while paying the system call once per hundred or so. Each byte is
/// handed out once and wiped as it goes. The pool is per thread and per process: a forked child
/// must not hand out the values its parent also holds, so a fork discards it (see [`fork`]).
struct Pool {
    generation: u64,
    pos: usize,
    buf: [u8; POOL_SIZE],
}

thread_local! {
    static POOL: std::cell::RefCell<Pool> = const {
        std::cell::RefCell::new(Pool { generation: 0, pos: POOL_SIZE, buf: [0; POOL_SIZE] })
    };
}

/// Tells one process from its forked children without a system call per draw.
///
/// A child created by `fork` starts with a copy of its parent's memory, pools included: were
/// both to carry on drawing, they would hand out the same "random" codes and tokens. Asking
/// the process ID on every draw costs a system call (about 140 ns on a virtual machine, twice
/// per flow); instead a `pthread_atfork` handler bumps a counter in every child, and the pool
/// remembers the counter it was filled under (as `rand` 0.8 did; OpenSSL compares process IDs).
///
/// The handler runs for children made by the C library's `fork`, which is how the standard
/// library, `nix` and `libc::fork` fork. A child made by a raw `clone` system call or glibc's
/// `_Fork` runs no handlers and is not told apart; `vfork` and `posix_spawn` children share
/// their parent's memory until they `exec`, so what they draw is used up for the parent too.
/// Until the handler is registered, or if registering fails, draws compare process IDs.
#[cfg(unix)]
mod fork {
    use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

    static GENERATION: AtomicU64 = AtomicU64::new(1);

    const UNREGISTERED: u8 = 0;
    const REGISTERING: u8 = 1;
    const REGISTERED: u8 = 2;
    const FAILED: u8 = 3;
    // Not a `Once`: a child forked while another thread was registering would inherit a
    // `Once` that never completes, and block on its first draw.
    static STATE: AtomicU8 = AtomicU8::new(UNREGISTERED);

    /// Runs in the child, in its only thread, before `fork` returns there: an atomic
    /// increment is async-signal-safe, as POSIX requires of such handlers.
    extern "C" fn in_child() {
        GENERATION.fetch_add(1, Ordering::Relaxed);
    }

    /// A value that differs between a process and any child it forks after this call.
    pub(super) fn generation() -> u64 {
        let mut state = STATE.load(Ordering::Acquire);
        if state == UNREGISTERED
            && STATE
                .compare_exchange(
                    UNREGISTERED,
                    REGISTERING,
                    Ordering::Acquire,
                    Ordering::Acquire,
                )
                .is_ok()
        {
            // SAFETY: `pthread_atfork` only records the three function pointers; the one given
            // is an `extern "C" fn()` with no captured state that never unwinds, and the other
            // two are null, which POSIX allows.
            #[allow(unsafe_code)]
            let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            state = if rc == 0 { REGISTERED } else { FAILED };
            STATE.store(state, Ordering::Release);
        }
        if state == REGISTERED {
            GENERATION.load(Ordering::Relaxed)
        } else {
            // Process IDs are never 0, and the high bit keeps them apart from counter values.
            (1 << 63) | u64::from(std::process::id())
        }
    }

    /// What the handler does, for tests that cannot fork.
    #[cfg(test)]
    pub(super) fn simulate_fork() {
        in_child();
    }
}

/// Without `fork` there is nothing to tell apart.
#[cfg(not(unix))]
mod fork {
    pub(super) fn generation() -> u64 {
        1
    }
}

fn os_fill(buf: &mut [u8]) -> Result<(), RandomError> {
    SysRng
        .try_fill_bytes(buf)
        .map_err(|e| RandomError(e.to_string()))
}

/// `N` random bytes from the OS generator.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    if N > POOL_SIZE / 4 {
        os_fill(&mut out)?;
        return Ok(out);
    }
    // `try_with`: during thread teardown the pool is gone; fall back to a direct read.
    let pooled = POOL.try_with(|pool| {
        // Nothing below calls back into this module, so the pool is never borrowed twice;
        // should that change, fail the draw rather than panic.
        let mut pool = pool
            .try_borrow_mut()
            .map_err(|_| RandomError("random pool in use".into()))?;
        let generation = fork::generation();
        if pool.generation != generation || pool.pos + N > POOL_SIZE {
            os_fill(&mut pool.buf)?;
            pool.generation = generation;
            pool.pos = 0;
        }
        let start = pool.pos;
        let taken = pool
            .buf
            .get_mut(start..start + N)
            .ok_or_else(|| RandomError("pool bounds".into()))?;
        out.copy_from_slice(taken);
        taken.fill(0);
        pool.pos += N;
        Ok(out)
    });
    match pooled {
        Ok(result) => result,
        Err(_) => {
            os_fill(&mut out)?;
            Ok(out)
        }
    }
}

/// A URL-safe string carrying 256 random bits (43 characters, no padding).
pub(crate) fn token_256() -> Result<String, RandomError> {
    Ok(BASE64_URL_SAFE_NO_PAD.encode(bytes::<32>()?))
}

/// The length of a 256-bit value in unpadded base64url.
pub(crate) const TOKEN_LEN: usize = crate::base64url::ENCODED_LEN;

/// A code or opaque token: 256 random bits as 43 URL-safe characters, kept inline so that
/// issuing one allocates nothing.
#[derive(Clone, Copy)]
pub(crate) struct TokenText([u8; TOKEN_LEN]);

impl TokenText {
    fn encode(bytes: &[u8; 32]) -> Self {
        TokenText(crate::base64url::encode_32(bytes))
    }

    /// The token's bytes, to hash.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The token's text.
    pub(crate) fn as_str(&self) -> &str {
        // base64url output is ASCII, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for TokenText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenText(<redacted>)")
    }
}

/// A fresh code or opaque token.
pub(crate) fn token() -> Result<TokenText, RandomError> {
    Ok(TokenText::encode(&bytes::<32>()?))
}

/// Two independent tokens: an access and a refresh token.
pub(crate) fn token_pair() -> Result<(TokenText, TokenText), RandomError> {
    // One draw for both: half the pool bookkeeping.
    let both = bytes::<64>()?;
    match (both.first_chunk::<32>(), both.last_chunk::<32>()) {
        (Some(a), Some(b)) => Ok((TokenText::encode(a), TokenText::encode(b))),
        _ => Err(RandomError("token pair split".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_values_are_never_repeated_across_refills() {
        let mut seen = std::collections::HashSet::new();
        // Several pool refills' worth.
        for _ in 0..(3 * POOL_SIZE / 32) {
            assert!(seen.insert(bytes::<32>().unwrap()));
        }
        assert!(seen.insert(bytes::<2048>().unwrap()[..32].try_into().unwrap()));
    }

    #[cfg(unix)]
    #[test]
    fn a_fork_discards_the_pool() {
        let before = bytes::<32>().unwrap();
        assert!(POOL.with(|p| p.borrow().pos) >= 32);
        fork::simulate_fork();
        let after = bytes::<32>().unwrap();
        // The draw after the fork came from a fresh fill: the pool restarted at 0.
        assert_eq!(POOL.with(|p| p.borrow().pos), 32);
        assert_ne!(before, after);
    }

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let a = token_256().unwrap();
        let b = token_256().unwrap();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
        let (c, d) = token_pair().unwrap();
        let (c, d) = (c.as_str(), d.as_str());
        assert_eq!((c.len(), d.len()), (43, 43));
        let url_safe = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        assert!(c.bytes().chain(d.bytes()).all(url_safe));
        assert_ne!(c, d);
        assert_ne!(token().unwrap().as_str(), token().unwrap().as_str());
    }
}
