//! Proof Key for Code Exchange (RFC 7636).
//!
//! The client keeps a random [`CodeVerifier`] and sends its [`CodeChallenge`] with the
//! authorization request; the token request must then present the verifier. A stolen code is
//! useless without it (RFC 9700 §2.1.1).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::constant_time;
use crate::random::{self, RandomError};
use sha2::{Digest as _, Sha256};

/// RFC 7636 §4.1: a verifier is 43 to 128 characters.
const MIN_LEN: usize = 43;
const MAX_LEN: usize = 128;
/// A base64url SHA-256 digest without padding.
const S256_CHALLENGE_LEN: usize = 43;

/// How the challenge is derived from the verifier (RFC 7636 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PkceMethod {
    /// `BASE64URL(SHA256(verifier))`. The only method a client should use.
    S256,
    /// The challenge is the verifier. Offers no protection if the request is observed; servers
    /// accept it only when a setting allows.
    #[serde(rename = "plain")]
    Plain,
}

impl PkceMethod {
    /// Parses a `code_challenge_method` value; the names are case-sensitive (RFC 7636 §4.3).
    pub fn parse(value: &str) -> Result<Self, PkceError> {
        match value {
            "S256" => Ok(PkceMethod::S256),
            "plain" => Ok(PkceMethod::Plain),
            other => Err(PkceError::UnknownMethod(truncate(other))),
        }
    }

    /// The protocol name of the method.
    pub fn as_str(self) -> &'static str {
        match self {
            PkceMethod::S256 => "S256",
            PkceMethod::Plain => "plain",
        }
    }
}

impl fmt::Display for PkceMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A PKCE parameter that broke RFC 7636's rules; the message names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkceError {
    /// `code_verifier` is not 43–128 characters.
    #[error("code_verifier: must be 43 to 128 characters long (RFC 7636 §4.1), got {0}")]
    VerifierLength(usize),
    /// `code_verifier` holds a character outside the unreserved set.
    #[error("code_verifier: may contain only A-Z, a-z, 0-9, `-`, `.`, `_` and `~` (RFC 7636 §4.1)")]
    VerifierCharacters,
    /// `code_challenge` is not 43–128 characters.
    #[error("code_challenge: must be 43 to 128 characters long (RFC 7636 §4.2), got {0}")]
    ChallengeLength(usize),
    /// `code_challenge` holds a character outside the unreserved set.
    #[error(
        "code_challenge: may contain only A-Z, a-z, 0-9, `-`, `.`, `_` and `~` (RFC 7636 §4.2)"
    )]
    ChallengeCharacters,
    /// An S256 `code_challenge` that cannot be a base64url SHA-256 digest.
    #[error("code_challenge: an S256 challenge is 43 base64url characters (RFC 7636 §4.2)")]
    NotS256Digest,
    /// An unknown `code_challenge_method`.
    #[error("code_challenge_method: `{0}` is not supported; use `S256`")]
    UnknownMethod(String),
}

/// RFC 3986 unreserved characters, the PKCE alphabet (RFC 7636 §4.1).
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}
/// The base64url alphabet of an S256 challenge (RFC 7636 §4.2).
fn base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')
}

/// Keeps error messages short when a hostile value is huge.
fn truncate(value: &str) -> String {
    value.chars().take(32).collect()
}

/// A `code_verifier`: 43–128 unreserved characters. Redacted in `Debug`.
#[derive(Clone)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// Checks a presented verifier against RFC 7636 §4.1.
    pub fn parse(value: &str) -> Result<Self, PkceError> {
        // Characters first: once all are ASCII, bytes and characters count the same.
        if !value.bytes().all(unreserved) {
            return Err(PkceError::VerifierCharacters);
        }
        if !(MIN_LEN..=MAX_LEN).contains(&value.len()) {
            return Err(PkceError::VerifierLength(value.len()));
        }
        Ok(CodeVerifier(value.to_owned()))
    }

    /// A fresh verifier with 256 bits from the OS generator (RFC 7636 §7.1), for clients.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(CodeVerifier(random::token_256()?))
    }

    /// The verifier's value, to send in a token request.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier(<redacted>)")
    }
}

/// A `code_challenge` with its method, checked for syntax (also when read back from a store).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredChallenge", into = "StoredChallenge")]
pub struct CodeChallenge(Challenge);

#[derive(Clone, PartialEq, Eq)]
enum Challenge {
    /// Always 43 base64url characters, so kept inline: every code of a public client carries
    /// one, and this saves an allocation per code.
    S256([u8; S256_CHALLENGE_LEN]),
    Plain(Arc<str>),
}

#[derive(Serialize, Deserialize)]
struct StoredChallenge {
    value: String,
    method: PkceMethod,
}

impl TryFrom<StoredChallenge> for CodeChallenge {
    type Error = PkceError;
    fn try_from(s: StoredChallenge) -> Result<Self, PkceError> {
        CodeChallenge::parse(&s.value, Some(s.method.as_str()))
    }
}

impl From<CodeChallenge> for StoredChallenge {
    fn from(c: CodeChallenge) -> Self {
        StoredChallenge {
            value: c.as_str().to_owned(),
            method: c.method(),
        }
    }
}

/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
fn s256(verifier: &str) -> [u8; S256_CHALLENGE_LEN] {
    random::base64url_32(&Sha256::digest(verifier.as_bytes()).into())
}

/// A `plain` challenge is the verifier itself, so `Debug` hides it; an S256 one reveals
/// nothing of the verifier and is shown.
impl fmt::Debug for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = match self.method() {
            PkceMethod::Plain => crate::redact::REDACTED,
            PkceMethod::S256 => self.as_str(),
        };
        f.debug_struct("CodeChallenge")
            .field("value", &value)
            .field("method", &self.method())
            .finish()
    }
}

impl CodeChallenge {
    /// Parses the two request parameters. An absent method means `plain` (RFC 7636 §4.3);
    /// whether `plain` is acceptable is the server's policy, not a syntax question.
    pub fn parse(value: &str, method: Option<&str>) -> Result<Self, PkceError> {
        let method = method.map_or(Ok(PkceMethod::Plain), PkceMethod::parse)?;
        // S256 challenges are base64url, a subset of the unreserved characters: one scan.
        let base64url = method == PkceMethod::S256 && value.bytes().all(base64url);
        if !base64url && !value.bytes().all(unreserved) {
            return Err(PkceError::ChallengeCharacters);
        }
        if !(MIN_LEN..=MAX_LEN).contains(&value.len()) {
            return Err(PkceError::ChallengeLength(value.len()));
        }
        match method {
            PkceMethod::S256 => match value.as_bytes().try_into() {
                Ok(text) if base64url => Ok(CodeChallenge(Challenge::S256(text))),
                _ => Err(PkceError::NotS256Digest),
            },
            PkceMethod::Plain => Ok(CodeChallenge(Challenge::Plain(value.into()))),
        }
    }

    /// The challenge a client sends for `verifier`.
    pub fn from_verifier(verifier: &CodeVerifier, method: PkceMethod) -> Self {
        match method {
            PkceMethod::S256 => CodeChallenge(Challenge::S256(s256(verifier.secret()))),
            PkceMethod::Plain => CodeChallenge(Challenge::Plain(verifier.secret().into())),
        }
    }

    /// The challenge's value.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Checked to be base64url when made, so never the empty default.
            Challenge::S256(text) => std::str::from_utf8(text).unwrap_or_default(),
            Challenge::Plain(text) => text,
        }
    }

    /// The challenge's method.
    pub fn method(&self) -> PkceMethod {
        match self.0 {
            Challenge::S256(_) => PkceMethod::S256,
            Challenge::Plain(_) => PkceMethod::Plain,
        }
    }

    /// Whether `verifier` answers this challenge (RFC 7636 §4.6), compared in constant time.
    pub fn verify(&self, verifier: &CodeVerifier) -> bool {
        self.verify_value(verifier.secret())
    }

    /// Whether a presented `code_verifier` value is well formed and answers this challenge,
    /// without copying it.
    pub fn verify_str(&self, verifier: &str) -> bool {
        // The syntax check branches on the verifier's bytes, which a process timing the CPU
        // could partly observe. Accepted: this runs as the code is redeemed, and a verifier is
        // worth nothing once its code is used up.
        (MIN_LEN..=MAX_LEN).contains(&verifier.len())
            && verifier.bytes().all(unreserved)
            && self.verify_value(verifier)
    }

    fn verify_value(&self, verifier: &str) -> bool {
        match &self.0 {
            Challenge::S256(text) => constant_time::eq(&s256(verifier), text),
            Challenge::Plain(text) => constant_time::eq(verifier.as_bytes(), text.as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = CodeVerifier::parse(RFC_VERIFIER).unwrap();
        let challenge = CodeChallenge::from_verifier(&verifier, PkceMethod::S256);
        assert_eq!(challenge.as_str(), RFC_CHALLENGE);
        let parsed = CodeChallenge::parse(RFC_CHALLENGE, Some("S256")).unwrap();
        assert!(parsed.verify(&verifier));
    }

    #[test]
    fn verify_str_checks_syntax_and_value() {
        let challenge = CodeChallenge::parse(RFC_CHALLENGE, Some("S256")).unwrap();
        assert!(challenge.verify_str(RFC_VERIFIER));
        assert!(!challenge.verify_str(&RFC_VERIFIER[1..]), "too short");
        assert!(
            !challenge.verify_str(&format!("{RFC_VERIFIER} ")),
            "bad character"
        );
        let plain = CodeChallenge::parse(RFC_VERIFIER, Some("plain")).unwrap();
        assert!(plain.verify_str(RFC_VERIFIER));
        assert!(!plain.verify_str(RFC_CHALLENGE));
    }

    #[test]
    fn wrong_verifier_fails() {
        let challenge = CodeChallenge::parse(RFC_CHALLENGE, Some("S256")).unwrap();
        let other = CodeVerifier::parse(&"a".repeat(43)).unwrap();
        assert!(!challenge.verify(&other));
    }

    #[test]
    fn plain_compares_the_verifier_itself_and_is_the_default_method() {
        let challenge = CodeChallenge::parse(RFC_VERIFIER, None).unwrap();
        assert_eq!(challenge.method(), PkceMethod::Plain);
        assert!(challenge.verify(&CodeVerifier::parse(RFC_VERIFIER).unwrap()));
        // The S256 value of the verifier is not the plain verifier.
        let s256 = CodeVerifier::parse(RFC_CHALLENGE).unwrap();
        assert!(!challenge.verify(&s256));
    }

    #[test]
    fn verifier_syntax_table() {
        let ok = |v: &str| CodeVerifier::parse(v).is_ok();
        assert!(ok(&"a".repeat(43)));
        assert!(ok(&"Az09-._~".repeat(16)));
        assert_eq!(
            CodeVerifier::parse(&"a".repeat(42)).unwrap_err(),
            PkceError::VerifierLength(42)
        );
        assert_eq!(
            CodeVerifier::parse(&"a".repeat(129)).unwrap_err(),
            PkceError::VerifierLength(129)
        );
        assert_eq!(
            CodeVerifier::parse(&"\u{e9}".repeat(70)).unwrap_err(),
            PkceError::VerifierCharacters
        );
        for bad in ["+", "/", "=", " ", "%", "é"] {
            let value = format!("{}{bad}", "a".repeat(43));
            assert!(CodeVerifier::parse(&value).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn challenge_syntax_table() {
        use PkceError::*;
        let cases: &[(&str, Option<&str>, Option<PkceError>)] = &[
            (RFC_CHALLENGE, Some("S256"), None),
            (
                RFC_CHALLENGE,
                Some("s256"),
                Some(UnknownMethod("s256".into())),
            ),
            (
                RFC_CHALLENGE,
                Some("PLAIN"),
                Some(UnknownMethod("PLAIN".into())),
            ),
            ("short", Some("S256"), Some(ChallengeLength(5))),
            (&"~".repeat(43), Some("S256"), Some(NotS256Digest)),
            (&"~".repeat(43), Some("plain"), None),
            (&"a".repeat(44), Some("S256"), Some(NotS256Digest)),
            (&"a!".repeat(22), Some("plain"), Some(ChallengeCharacters)),
        ];
        for (value, method, want) in cases {
            let got = CodeChallenge::parse(value, *method).err();
            assert_eq!(&got, want, "{value} {method:?}");
        }
    }

    #[test]
    fn errors_name_the_parameter() {
        let e = CodeVerifier::parse("x").unwrap_err().to_string();
        assert!(e.starts_with("code_verifier:"), "{e}");
        let e = CodeChallenge::parse("x", Some("S256"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("code_challenge:"), "{e}");
        let e = PkceMethod::parse("md5").unwrap_err().to_string();
        assert!(e.starts_with("code_challenge_method:"), "{e}");
    }

    #[test]
    fn a_challenge_shows_its_text_and_method() {
        let c = CodeChallenge::parse(RFC_CHALLENGE, Some("S256")).unwrap();
        assert_eq!(
            format!("{c:?}"),
            format!("CodeChallenge {{ value: {RFC_CHALLENGE:?}, method: S256 }}")
        );
        let plain = CodeChallenge::parse(RFC_CHALLENGE, Some("plain")).unwrap();
        assert_eq!(plain.as_str(), RFC_CHALLENGE);
        assert_ne!(c, plain, "same text, other method");
    }

    #[test]
    fn stored_challenges_are_checked_when_read_back() {
        let c = CodeChallenge::parse(RFC_CHALLENGE, Some("S256")).unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<CodeChallenge>(&json).unwrap(), c);
        let forged = r#"{"value":"short","method":"S256"}"#;
        assert!(serde_json::from_str::<CodeChallenge>(forged).is_err());
    }

    #[test]
    fn generated_verifiers_are_valid_and_redacted() {
        let v = CodeVerifier::generate().unwrap();
        assert!(CodeVerifier::parse(v.secret()).is_ok());
        assert!(!format!("{v:?}").contains(v.secret()));
    }
}
