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
///
/// Kept as its canonical text (tokens sorted, each once, single spaces), so that the common
/// cases cost nothing: a parameter already in that form is stored as it is, displaying is a
/// copy, and an intersection that equals one side shares it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Scope(Arc<str>);

impl Default for Scope {
    fn default() -> Self {
        Scope(Arc::from(""))
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// `NQCHAR = %x21 / %x23-5B / %x5D-7E` (RFC 6749 Appendix A).
fn nqchar(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e)
}

fn check_token(token: &str) -> Result<(), ScopeError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN || !token.bytes().all(nqchar) {
        let shown: String = token.chars().take(40).collect();
        return Err(ScopeError(shown));
    }
    Ok(())
}

/// Whether `tokens` are strictly ascending, so already sorted and without repeats.
fn is_canonical<'a>(mut tokens: impl Iterator<Item = &'a str>) -> bool {
    let Some(mut prev) = tokens.next() else {
        return true;
    };
    for t in tokens {
        if t <= prev {
            return false;
        }
        prev = t;
    }
    true
}

impl Scope {
    /// Builds the canonical text of valid tokens, in any order and with repeats.
    fn canonical<'a>(tokens: impl Iterator<Item = &'a str>) -> Scope {
        let mut sorted: Vec<&str> = tokens.collect();
        sorted.sort_unstable();
        sorted.dedup();
        Scope(Arc::from(sorted.join(" ")))
    }

    /// Parses a space-delimited `scope` parameter. Every token must be valid: a malformed one
    /// fails the whole parameter rather than being dropped. Runs of spaces are tolerated.
    pub fn parse(value: &str) -> Result<Self, ScopeError> {
        let tokens = || value.split(' ').filter(|t| !t.is_empty());
        for t in tokens() {
            check_token(t)?;
        }
        let single_spaced = !value.starts_with(' ')
            && !value.ends_with(' ')
            && !value.as_bytes().windows(2).any(|w| w == b"  ");
        if single_spaced && is_canonical(tokens()) {
            return Ok(Scope(Arc::from(value)));
        }
        Ok(Scope::canonical(tokens()))
    }

    /// A scope from separate tokens, each checked.
    pub fn from_tokens<I, S>(tokens: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tokens: Vec<String> = tokens.into_iter().map(Into::into).collect();
        for t in &tokens {
            check_token(t)?;
        }
        Ok(Scope::canonical(tokens.iter().map(String::as_str)))
    }

    /// The tokens in both sets.
    pub fn intersection(&self, other: &Scope) -> Scope {
        if self.is_subset(other) {
            return self.clone();
        }
        if other.is_subset(self) {
            return other.clone();
        }
        Scope(Arc::from(
            self.iter()
                .filter(|t| other.contains(t))
                .collect::<Vec<_>>()
                .join(" "),
        ))
    }

    /// Whether every token here is in `other`: one merge pass over both sorted lists.
    pub fn is_subset(&self, other: &Scope) -> bool {
        if Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0 {
            return true;
        }
        let mut theirs = other.iter();
        'mine: for t in self.iter() {
            for o in theirs.by_ref() {
                match o.cmp(t) {
                    std::cmp::Ordering::Less => continue,
                    std::cmp::Ordering::Equal => continue 'mine,
                    std::cmp::Ordering::Greater => return false,
                }
            }
            return false;
        }
        true
    }

    /// Whether `token` is in the set.
    pub fn contains(&self, token: &str) -> bool {
        self.iter().any(|t| t == token)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many tokens the set holds.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// The tokens, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        Tokens(&self.0)
    }

    /// The scope as the space-delimited text of a `scope` parameter or response member.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tokens in `self` that are not in `other`.
    pub fn difference(&self, other: &Scope) -> Scope {
        Scope(Arc::from(
            self.iter()
                .filter(|t| !other.contains(t))
                .collect::<Vec<_>>()
                .join(" "),
        ))
    }

    /// The tokens in either set.
    pub fn union(&self, other: &Scope) -> Scope {
        Scope::canonical(self.iter().chain(other.iter()))
    }
}

/// The tokens of a canonical scope: split at single spaces, none of them empty. A plain byte
/// scan: scopes are a few short tokens, for which the general string searcher costs more
/// than the search.
struct Tokens<'a>(&'a str);

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.0.is_empty() {
            return None;
        }
        let rest = self.0;
        match rest.bytes().position(|b| b == b' ') {
            Some(i) => {
                self.0 = rest.get(i + 1..).unwrap_or_default();
                rest.get(..i)
            }
            None => {
                self.0 = "";
                Some(rest)
            }
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
        s.iter().map(str::to_owned).collect()
    }
}

impl From<Scope> for BTreeSet<String> {
    fn from(s: Scope) -> Self {
        s.iter().map(str::to_owned).collect()
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
        assert!(Scope::parse("   ").unwrap().is_empty());
        assert_eq!(a.union(&b).to_string(), "admin other read write");
        assert_eq!(a.intersection(&Scope::parse("x").unwrap()).to_string(), "");
    }

    #[test]
    fn scopes_are_kept_sorted_and_unique_whatever_the_input() {
        let cases = [
            ("read", "read"),
            ("write read", "read write"),
            ("  read   write ", "read write"),
            ("b a b a", "a b"),
            ("a a", "a"),
            ("Z a", "Z a"),
            ("", ""),
        ];
        for (input, canonical) in cases {
            let scope = Scope::parse(input).unwrap();
            assert_eq!(scope.as_str(), canonical, "{input:?}");
            assert_eq!(scope, Scope::parse(canonical).unwrap(), "{input:?}");
        }
        let from = Scope::from_tokens(["write", "read", "write"]).unwrap();
        assert_eq!(from.as_str(), "read write");
        assert_eq!(from.len(), 2);
    }

    #[test]
    fn subset_table() {
        let cases = [
            ("", "", true),
            ("", "a", true),
            ("a", "", false),
            ("a", "a b", true),
            ("b", "a b", true),
            ("a b", "a b", true),
            ("a c", "a b", false),
            ("ab", "a b", false),
            ("a", "ab", false),
            ("a b c", "a b c d", true),
            ("d", "a b c", false),
        ];
        for (a, b, subset) in cases {
            let (a, b) = (Scope::parse(a).unwrap(), Scope::parse(b).unwrap());
            assert_eq!(a.is_subset(&b), subset, "{a} within {b}");
            let both = a.intersection(&b);
            assert_eq!(both == a, subset, "{a} and {b}");
        }
    }

    #[test]
    fn serde_is_a_list_of_tokens() {
        let scope: Scope = serde_json::from_str(r#"["write","read"]"#).unwrap();
        assert_eq!(scope.as_str(), "read write");
        assert_eq!(
            serde_json::to_string(&scope).unwrap(),
            r#"["read","write"]"#
        );
        assert!(serde_json::from_str::<Scope>(r#"["a b"]"#).is_err());
    }
}
