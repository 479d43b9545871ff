//! Random values from the operating system's generator.
//!
//! Every secret, code, token and identifier the library makes comes from here, straight from the
//! OS (`getrandom`), never from a user-space generator seeded once: RFC 6749 §10.10 asks for
//! credentials an attacker cannot guess, and RFC 9700 §4.5.3 for codes of enough entropy.

use rand::TryRng as _;
use rand::rngs::SysRng;

/// The operating system's random number generator failed; nothing was generated.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(String);

fn os_fill(buf: &mut [u8]) -> Result<(), RandomError> {
    SysRng
        .try_fill_bytes(buf)
        .map_err(|e| RandomError(e.to_string()))
}

/// `N` random bytes, straight from the OS generator: one system call per draw, no pool to
/// keep apart between threads or to discard in a forked child.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    os_fill(&mut out)?;
    Ok(out)
}

/// Unpadded base64url (RFC 4648 §5) of 32 secret bytes (a token, a PKCE digest), through
/// `base64ct`, whose encoder runs in constant time: no table lookup indexed by the secret's bits that a process sharing the
/// CPU's caches could observe.
pub(crate) fn base64url_32(bytes: &[u8; 32]) -> [u8; TOKEN_LEN] {
    use base64ct::Encoding as _;
    let mut out = [0u8; TOKEN_LEN];
    // 32 bytes always encode to exactly TOKEN_LEN characters, so this never fails.
    let _ = base64ct::Base64UrlUnpadded::encode(bytes, &mut out);
    out
}

/// A URL-safe string carrying 256 random bits (43 characters, no padding).
pub(crate) fn token_256() -> Result<String, RandomError> {
    Ok(token()?.as_str().to_owned())
}

/// The length of a 256-bit value in unpadded base64url: 256 bits in 6-bit characters.
pub(crate) const TOKEN_LEN: usize = 43;

/// A code or opaque token: 256 random bits as 43 URL-safe characters, kept inline so that
/// issuing one allocates nothing.
#[derive(Clone, Copy)]
pub(crate) struct TokenText([u8; TOKEN_LEN]);

impl TokenText {
    fn encode(bytes: &[u8; 32]) -> Self {
        TokenText(base64url_32(bytes))
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
    Ok((token()?, token()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_never_repeated() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..400 {
            assert!(seen.insert(bytes::<32>().unwrap()));
        }
    }

    #[test]
    fn secrets_are_encoded_as_standard_base64url() {
        use base64::prelude::{BASE64_URL_SAFE_NO_PAD, Engine as _};
        for _ in 0..50 {
            let raw = bytes::<32>().unwrap();
            let text = TokenText::encode(&raw);
            assert_eq!(text.as_str(), BASE64_URL_SAFE_NO_PAD.encode(raw));
        }
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
