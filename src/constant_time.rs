//! Comparing secrets without leaking, through timing, how much of a guess was right.

use subtle::ConstantTimeEq as _;

/// Whether `a` and `b` are equal, through `subtle`, in time that depends only on their
/// lengths (which are not secret: a PKCE challenge or a digest has a fixed length).
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    #[cfg(test)]
    CALLS.with(|c| c.set(c.get() + 1));
    bool::from(a.ct_eq(b))
}

#[cfg(test)]
thread_local! {
    /// How often [`eq`] ran on this thread, so tests can check that a secret went through it.
    static CALLS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Runs `f` and returns how many constant-time comparisons it made (tests only).
#[cfg(test)]
pub(crate) fn comparisons_in(f: impl FnOnce()) -> usize {
    let before = CALLS.with(std::cell::Cell::get);
    f();
    CALLS.with(std::cell::Cell::get) - before
}

#[cfg(test)]
mod tests {
    #[test]
    fn equal_only_when_every_byte_is() {
        let cases: [(&[u8], &[u8], bool); 6] = [
            (b"", b"", true),
            (b"abc", b"abc", true),
            (b"abc", b"abd", false),
            (b"abc", b"xbc", false),
            (b"abc", b"ab", false),
            (&[0xff; 43], &[0xff; 43], true),
        ];
        for (a, b, equal) in cases {
            assert_eq!(super::eq(a, b), equal, "{a:?} {b:?}");
        }
    }
}

/// Every place the crate compares a secret goes through [`eq`]: a client secret against its
/// hash, a keyed-in secret against its confirmation, a PKCE verifier against its challenge
/// (both methods). Codes and tokens are never compared: they are looked up by their hash.
#[cfg(test)]
mod every_secret {
    use super::comparisons_in;
    use crate::client::{SecretChange, SecretHash};
    use crate::pkce::{CodeChallenge, CodeVerifier, PkceMethod};

    #[test]
    fn is_compared_in_constant_time() {
        let hash = SecretHash::of_str("the-secret").unwrap();
        assert_eq!(comparisons_in(|| assert!(hash.verify("the-secret"))), 1);
        assert_eq!(comparisons_in(|| assert!(!hash.verify("a-guess"))), 1);

        let typed = "k".repeat(40);
        let change = SecretChange::KeyIn {
            secret: typed.clone(),
            confirmation: typed,
        };
        assert_eq!(comparisons_in(|| assert!(change.into_secret().is_ok())), 1);

        let verifier = CodeVerifier::generate().unwrap();
        for method in [PkceMethod::S256, PkceMethod::Plain] {
            let challenge = CodeChallenge::from_verifier(&verifier, method);
            assert_eq!(
                comparisons_in(|| assert!(challenge.verify_str(verifier.secret()))),
                1,
                "{method:?}"
            );
            let wrong = "w".repeat(43);
            assert_eq!(
                comparisons_in(|| assert!(!challenge.verify_str(&wrong))),
                1,
                "{method:?}"
            );
        }
    }
}
