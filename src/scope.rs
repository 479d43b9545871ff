//! Scopes (RFC 6749 §3.3): sets of scope tokens, and the rule that a token never carries more
//! than the client may request and the user may grant.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The longest scope token accepted.
const MAX_TOKEN_LEN: usize = 200;

/// A scope token broke RFC 6749 §3.3's syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "scope: `{0}` is not a valid scope token (RFC 6749 section 3.3 allows printable ASCII \
     other than space, `\"` and `\\`, up to 200 characters)"
)]
pub struct ScopeError(pub String);

/// A set of scope tokens, each checked against `scope-token = 1*NQCHAR`. Cheap to clone:
/// every code and token record carries one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Scope(Arc<BTreeSet<String>>);

fn is_nqchar(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)
}

fn check_token(token: &str) -> Result<(), ScopeError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN || !token.bytes().all(is_nqchar) {
        let shown: String = token.chars().take(40).collect();
        return Err(ScopeError(shown));
    }
    Ok(())
}

impl Scope {
    /// Parses a space-delimited `scope` parameter. Every token must be valid: a malformed one
    /// fails the whole parameter rather than being dropped. Runs of spaces are tolerated.
    pub fn parse(value: &str) -> Result<Self, ScopeError> {
        value
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(|t| check_token(t).map(|()| t.to_owned()))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(|set| Scope(Arc::new(set)))
    }

    /// A scope from separate tokens, each checked.
    pub fn from_tokens<I, S>(tokens: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        tokens
            .into_iter()
            .map(|t| {
                let t = t.into();
                check_token(&t).map(|()| t)
            })
            .collect::<Result<BTreeSet<_>, _>>()
            .map(|set| Scope(Arc::new(set)))
    }

    /// The tokens in both sets.
    pub fn intersection(&self, other: &Scope) -> Scope {
        if self.0.is_subset(&other.0) {
            return self.clone();
        }
        Scope(Arc::new(self.0.intersection(&other.0).cloned().collect()))
    }

    /// Whether every token here is in `other`.
    pub fn is_subset(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Whether `token` is in the set.
    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tokens, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The tokens in `self` that are not in `other`.
    pub fn difference(&self, other: &Scope) -> Scope {
        Scope(Arc::new(self.0.difference(&other.0).cloned().collect()))
    }

    /// The tokens in either set.
    pub fn union(&self, other: &Scope) -> Scope {
        Scope(Arc::new(self.0.union(&other.0).cloned().collect()))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for t in self.0.iter() {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(t)?;
            first = false;
        }
        Ok(())
    }
}

impl TryFrom<Vec<String>> for Scope {
    type Error = ScopeError;
    fn try_from(v: Vec<String>) -> Result<Self, ScopeError> {
        Scope::from_tokens(v)
    }
}

impl From<Scope> for Vec<String> {
    fn from(s: Scope) -> Self {
        s.0.iter().cloned().collect()
    }
}

impl From<Scope> for BTreeSet<String> {
    fn from(s: Scope) -> Self {
        Arc::unwrap_or_clone(s.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_token_syntax_table() {
        let cases = [
            ("read", true),
            ("read write", true),
            ("read  write", true),
            ("https://api.example.com/read", true),
            ("a!#$%&'()*+,-./:;<=>?@[]^_`{|}~", true),
            ("say\"hi", false),
            ("back\\slash", false),
            ("tab\there", false),
            ("caf\u{e9}", false),
            ("new\nline", false),
        ];
        for (value, ok) in cases {
            assert_eq!(Scope::parse(value).is_ok(), ok, "{value:?}");
        }
        assert!(Scope::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn a_malformed_token_fails_the_whole_scope() {
        let err = Scope::parse("read wr\"ite").unwrap_err();
        assert_eq!(err.0, "wr\"ite");
        assert!(err.to_string().starts_with("scope: "));
    }

    #[test]
    fn set_operations() {
        let a = Scope::parse("read write admin").unwrap();
        let b = Scope::parse("read admin other").unwrap();
        assert_eq!(a.intersection(&b).to_string(), "admin read");
        assert!(Scope::parse("read").unwrap().is_subset(&a));
        assert_eq!(a.difference(&b).to_string(), "write");
        assert!(Scope::parse("").unwrap().is_empty());
    }
}
