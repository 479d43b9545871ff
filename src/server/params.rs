//! Request parameters as name/value pairs, with RFC 6749 §3.1's rules: a repeated parameter is
//! an error, and an empty value counts as absent.

use std::borrow::Cow;

use crate::error::OAuthError;

/// The parameters of one request (query string or form body), in order. Values borrow from
/// the request text wherever decoding leaves them unchanged, so parsing rarely allocates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl Params<'static> {
    /// Parameters from decoded pairs.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Params(
            pairs
                .into_iter()
                .map(|(n, v)| (Cow::Owned(n), Cow::Owned(v)))
                .collect(),
        )
    }
}

impl<'a> Params<'a> {
    /// Decodes an `application/x-www-form-urlencoded` string (a query or a form body).
    pub fn parse(encoded: &'a str) -> Self {
        Params(url::form_urlencoded::parse(encoded.as_bytes()).collect())
    }

    /// The value of `name`, or `None` when absent or empty; a repeated parameter is
    /// `invalid_request` (RFC 6749 §3.1, §3.2).
    pub fn one(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut found = None;
        for (n, v) in &self.0 {
            if n == name && !v.is_empty() {
                if found.is_some() {
                    return Err(OAuthError::invalid_request(format!(
                        "{name}: must not be repeated (RFC 6749 section 3.1)"
                    )));
                }
                found = Some(v.as_ref());
            }
        }
        Ok(found)
    }

    /// Fails with `invalid_request` naming the first of `names` (at most 64) that appears
    /// more than once with a value; one pass over the parameters.
    pub fn reject_repeats(&self, names: &[&str]) -> Result<(), OAuthError> {
        let mut seen = 0u64;
        for (n, v) in &self.0 {
            if v.is_empty() {
                continue;
            }
            if let Some(i) = names.iter().take(64).position(|x| x == n) {
                let bit = 1u64 << i;
                if seen & bit != 0 {
                    return Err(OAuthError::invalid_request(format!(
                        "{n}: must not be repeated (RFC 6749 section 3.1)"
                    )));
                }
                seen |= bit;
            }
        }
        Ok(())
    }

    /// The value of `name`, which must be present.
    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.one(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("{name}: is required")))
    }

    /// Every non-empty value of a parameter that may repeat (`resource`, RFC 8707 §2).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_ref())
            .collect()
    }

    /// Whether `name` appears with a value.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, v)| n == name && !v.is_empty())
    }

    /// The pairs, in order.
    pub fn pairs(&self) -> &[(Cow<'a, str>, Cow<'a, str>)] {
        &self.0
    }
}

impl From<Vec<(String, String)>> for Params<'static> {
    fn from(v: Vec<(String, String)>) -> Self {
        Params::new(v)
    }
}

impl<'a> From<Vec<(Cow<'a, str>, Cow<'a, str>)>> for Params<'a> {
    fn from(v: Vec<(Cow<'a, str>, Cow<'a, str>)>) -> Self {
        Params(v)
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Params<'a> {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        Params(
            iter.into_iter()
                .map(|(a, b)| (Cow::Borrowed(a), Cow::Borrowed(b)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_is_an_error_and_empty_is_absent() {
        let p = Params::parse("a=1&b=&c=x&c=y&r=1&r=2");
        assert_eq!(p.one("a").unwrap(), Some("1"));
        assert_eq!(p.one("b").unwrap(), None);
        assert_eq!(p.one("zz").unwrap(), None);
        let e = p.one("c").unwrap_err();
        assert_eq!(
            e.description,
            "c: must not be repeated (RFC 6749 section 3.1)"
        );
        assert_eq!(p.all("r"), ["1", "2"]);
        assert_eq!(p.required("b").unwrap_err().description, "b: is required");
        assert!(p.reject_repeats(&["a", "b", "r"]).is_err());
        assert!(p.reject_repeats(&["a", "b", "zz"]).is_ok());
        let e = p.reject_repeats(&["a", "c"]).unwrap_err();
        assert_eq!(
            e.description,
            "c: must not be repeated (RFC 6749 section 3.1)"
        );
    }

    #[test]
    fn form_decoding_turns_plus_into_space() {
        let p = Params::parse("scope=read+write&x=%2B");
        assert_eq!(p.one("scope").unwrap(), Some("read write"));
        assert_eq!(p.one("x").unwrap(), Some("+"));
    }
}
