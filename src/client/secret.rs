//! Client secrets: generated or keyed in, kept only as salted hashes, checked in constant time.

use std::fmt;

use base64::prelude::{BASE64_URL_SAFE_NO_PAD, Engine as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::constant_time;
use crate::random::{self, RandomError};

/// The shortest secret an administrator may key in. Secrets are hashed with a fast salted hash
/// (like tokens: verification sits on every token request), which is sound only for
/// machine-strength values; 32 characters is the length of a 192-bit base64 string.
pub const MIN_KEYED_IN_SECRET_LEN: usize = 32;

/// The longest secret accepted, keyed in or presented.
pub const MAX_SECRET_LEN: usize = 512;

/// A client secret in clear text: shown once when made, then only its hash is kept.
/// `Debug` and `Display` never print it.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// A new secret with 256 bits from the OS generator.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(ClientSecret(random::token_256()?))
    }

    /// The secret itself, to show the administrator once or to send as a client.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// How an administrator replaces a confidential client's secret.
#[derive(Clone)]
pub enum SecretChange {
    /// The server makes a new random secret.
    Generate,
    /// The administrator types a secret twice.
    KeyIn {
        /// The first entry.
        secret: String,
        /// The second entry; must equal the first.
        confirmation: String,
    },
}

impl fmt::Debug for SecretChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretChange::Generate => f.write_str("Generate"),
            SecretChange::KeyIn { .. } => f.write_str("KeyIn(<redacted>)"),
        }
    }
}

/// Why a keyed-in secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The two entries differ.
    #[error("client_secret: the secret and its confirmation do not match")]
    Mismatch,
    /// Too short.
    #[error("client_secret: must be at least {MIN_KEYED_IN_SECRET_LEN} characters long, got {0}")]
    TooShort(usize),
    /// Too long.
    #[error("client_secret: must be at most {MAX_SECRET_LEN} characters long, got {0}")]
    TooLong(usize),
    /// A character that cannot travel in HTTP Basic credentials unchanged.
    #[error(
        "client_secret: may contain only printable ASCII characters other than space \
         (RFC 6749 Appendix A.2)"
    )]
    Characters,
}

impl SecretChange {
    /// Produces the new secret: generated, or the keyed-in one once both entries agree and it
    /// meets the length and character rules.
    pub fn into_secret(self) -> Result<ClientSecret, SecretChangeError> {
        match self {
            SecretChange::Generate => Ok(ClientSecret::generate()?),
            SecretChange::KeyIn {
                secret,
                confirmation,
            } => {
                // Both entries are the administrator's own input, but compare them like secrets
                // anyway so no code path compares secrets with `==`.
                if !constant_time::eq(secret.as_bytes(), confirmation.as_bytes()) {
                    return Err(SecretError::Mismatch.into());
                }
                let len = secret.chars().count();
                if len < MIN_KEYED_IN_SECRET_LEN {
                    return Err(SecretError::TooShort(len).into());
                }
                if len > MAX_SECRET_LEN {
                    return Err(SecretError::TooLong(len).into());
                }
                if !secret.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(SecretError::Characters.into());
                }
                Ok(ClientSecret(secret))
            }
        }
    }
}

/// A keyed-in secret was refused, or no secret could be generated.
#[derive(Debug, thiserror::Error)]
pub enum SecretChangeError {
    /// The keyed-in secret broke a rule.
    #[error(transparent)]
    Invalid(#[from] SecretError),
    /// The OS generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// A salted SHA-256 hash of a client secret; what stores keep instead of the secret.
///
/// Serialized as `sha256$<salt>$<digest>` (base64url), so the format can change later without
/// ambiguity.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash {
    salt: [u8; 16],
    digest: [u8; 32],
}

const HASH_PREFIX: &str = "sha256$";

impl SecretHash {
    /// Hashes `secret` with a fresh random salt.
    pub fn new(secret: &ClientSecret) -> Result<Self, RandomError> {
        SecretHash::of_str(secret.expose_secret())
    }

    /// Hashes any secret string (a user's password in the memory directory, say) with a fresh
    /// salt.
    pub(crate) fn of_str(secret: &str) -> Result<Self, RandomError> {
        let salt = random::bytes::<16>()?;
        Ok(SecretHash {
            digest: digest(&salt, secret.as_bytes()),
            salt,
        })
    }

    /// Whether `presented` is the secret, compared in constant time. Over-long values are
    /// refused without hashing, so a client cannot make the server hash megabytes.
    pub fn verify(&self, presented: &str) -> bool {
        if presented.len() > MAX_SECRET_LEN {
            return false;
        }
        constant_time::eq(&digest(&self.salt, presented.as_bytes()), &self.digest)
    }

    /// A hash no presented secret matches in practice, for spending the same time on a
    /// request naming an unknown client as on a known one.
    pub(crate) fn decoy() -> &'static SecretHash {
        static DECOY: SecretHash = SecretHash {
            salt: [0x5a; 16],
            digest: [0xa5; 32],
        };
        &DECOY
    }

    /// Spends the time of one verification on `presented` and discards the result.
    pub(crate) fn spend_equal_time(presented: &str) {
        std::hint::black_box(Self::decoy().verify(std::hint::black_box(presented)));
    }

    fn encode(&self) -> String {
        format!(
            "{HASH_PREFIX}{}${}",
            BASE64_URL_SAFE_NO_PAD.encode(self.salt),
            BASE64_URL_SAFE_NO_PAD.encode(self.digest)
        )
    }

    fn decode(s: &str) -> Option<Self> {
        let (salt, digest) = s.strip_prefix(HASH_PREFIX)?.split_once('$')?;
        Some(SecretHash {
            salt: BASE64_URL_SAFE_NO_PAD.decode(salt).ok()?.try_into().ok()?,
            digest: BASE64_URL_SAFE_NO_PAD
                .decode(digest)
                .ok()?
                .try_into()
                .ok()?,
        })
    }
}

fn digest(salt: &[u8; 16], secret: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(secret);
    h.finalize().into()
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

impl Serialize for SecretHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

impl<'de> Deserialize<'de> for SecretHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SecretHash::decode(&s)
            .ok_or_else(|| serde::de::Error::custom("expected `sha256$<salt>$<digest>`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_in(a: &str, b: &str) -> Result<ClientSecret, SecretChangeError> {
        SecretChange::KeyIn {
            secret: a.into(),
            confirmation: b.into(),
        }
        .into_secret()
    }

    #[test]
    fn hash_verifies_only_the_secret() {
        let secret = ClientSecret::generate().unwrap();
        let hash = SecretHash::new(&secret).unwrap();
        assert!(hash.verify(secret.expose_secret()));
        assert!(!hash.verify(""));
        assert!(!hash.verify(&secret.expose_secret()[1..]));
        assert!(!hash.verify(&"x".repeat(10_000)));
    }

    #[test]
    fn same_secret_hashes_differently_each_time() {
        let secret = ClientSecret::generate().unwrap();
        assert_ne!(
            SecretHash::new(&secret).unwrap(),
            SecretHash::new(&secret).unwrap()
        );
    }

    #[test]
    fn hash_round_trips_through_serde_and_never_shows_the_secret() {
        let secret = ClientSecret::generate().unwrap();
        let hash = SecretHash::new(&secret).unwrap();
        let json = serde_json::to_string(&hash).unwrap();
        assert!(json.starts_with("\"sha256$"), "{json}");
        let back: SecretHash = serde_json::from_str(&json).unwrap();
        assert!(back.verify(secret.expose_secret()));
        assert!(serde_json::from_str::<SecretHash>("\"md5$x$y\"").is_err());
        assert!(!format!("{secret:?} {hash:?}").contains(secret.expose_secret()));
    }

    #[test]
    fn keyed_in_secret_rules() {
        let good = "k".repeat(MIN_KEYED_IN_SECRET_LEN);
        assert_eq!(key_in(&good, &good).unwrap().expose_secret(), good);
        let cases = [
            (good.clone(), format!("{good}x"), SecretError::Mismatch),
            ("short".into(), "short".into(), SecretError::TooShort(5)),
            ("k".repeat(513), "k".repeat(513), SecretError::TooLong(513)),
            (
                format!("{good} "),
                format!("{good} "),
                SecretError::Characters,
            ),
            (
                format!("{good}é"),
                format!("{good}é"),
                SecretError::Characters,
            ),
        ];
        for (a, b, want) in cases {
            match key_in(&a, &b) {
                Err(SecretChangeError::Invalid(e)) => assert_eq!(e, want),
                other => panic!("{a:?}: expected {want:?}, got {other:?}"),
            }
        }
        let e = key_in("a", "b").unwrap_err().to_string();
        assert!(e.starts_with("client_secret:"), "{e}");
    }

    #[test]
    fn decoy_matches_nothing_ordinary() {
        assert!(!SecretHash::decoy().verify("secret"));
        assert!(!SecretHash::decoy().verify(""));
    }
}
