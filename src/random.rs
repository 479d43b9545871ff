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

/// `N` random bytes.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut buf = [0u8; N];
    SysRng
        .try_fill_bytes(&mut buf)
        .map_err(|e| RandomError(e.to_string()))?;
    Ok(buf)
}

/// A URL-safe string carrying 256 random bits (43 characters, no padding).
pub(crate) fn token_256() -> Result<String, RandomError> {
    Ok(BASE64_URL_SAFE_NO_PAD.encode(bytes::<32>()?))
}

/// Two independent 256-bit URL-safe strings from one call to the OS generator: an access and
/// a refresh token cost one system call, not two.
pub(crate) fn token_pair() -> Result<(String, String), RandomError> {
    let b = bytes::<64>()?;
    let (a, c) = b.split_at(32);
    Ok((
        BASE64_URL_SAFE_NO_PAD.encode(a),
        BASE64_URL_SAFE_NO_PAD.encode(c),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!((c.len(), d.len()), (43, 43));
        assert_ne!(c, d);
    }
}
