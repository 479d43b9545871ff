//! Request parameters as name/value pairs, with RFC 6749 §3.1's rules: a repeated parameter is
//! an error, and an empty value counts as absent.

use std::borrow::Cow;

use crate::error::OAuthError;

/// The parameters of one request (query string or form body), in order. Values borrow from
/// the request text wherever decoding leaves them unchanged, so parsing rarely allocates.
///
/// `Debug` shows every name, and every value but secrets (`client_secret`, `code`,
/// `code_verifier`, `refresh_token`, `password`, `token`, `subject_token`, ...).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params<'a>(Vec<Param<'a>>);

impl std::fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Params").field(&DebugPairs(self)).finish()
    }
}

struct DebugPairs<'p, 'a>(&'p Params<'a>);

impl std::fmt::Debug for DebugPairs<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.0
                    .pairs()
                    .map(|(name, value)| (name, crate::redact::shown(name, value))),
            )
            .finish()
    }
}

/// One name/value pair. The endpoints read a request in one pass, matching each name once, so
/// nothing is precomputed per pair.
#[derive(Clone, PartialEq, Eq)]
struct Param<'a> {
    name: Cow<'a, str>,
    value: Cow<'a, str>,
}

impl<'a> Param<'a> {
    fn new(name: Cow<'a, str>, value: Cow<'a, str>) -> Self {
        Param { name, value }
    }

    /// Whether this is `name` with a value (an empty one counts as absent).
    fn is(&self, name: &str) -> bool {
        !self.value.is_empty() && self.name == name
    }
}

/// One single-valued parameter of a request: its value (an empty one counts as absent) and
/// whether it was given more than once.
#[derive(Clone, Copy, Default)]
pub(crate) struct Field<'p> {
    pub(crate) value: Option<&'p str>,
    pub(crate) repeated: bool,
}

impl<'p> Field<'p> {
    pub(crate) fn set(&mut self, value: &'p str) {
        if self.value.is_some() {
            self.repeated = true;
        } else {
            self.value = Some(value);
        }
    }

    /// The value; a repeat is `invalid_request` (RFC 6749 §3.1).
    pub(crate) fn get(self, name: &str) -> Result<Option<&'p str>, OAuthError> {
        if self.repeated {
            return Err(OAuthError::invalid_request(format!(
                "{name}: must not be repeated (RFC 6749 section 3.1)"
            )));
        }
        Ok(self.value)
    }

    /// The value, which must be present.
    pub(crate) fn required(self, name: &str) -> Result<&'p str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("{name}: is required")))
    }
}

/// Where an endpoint's reader puts one parameter.
pub(crate) enum Slot<'a, 'p> {
    /// A single-valued parameter; a repeat is recorded in it.
    One(&'a mut Field<'p>),
    /// A parameter that may repeat (`resource`, RFC 8707 §2; `audience`, RFC 8693 §2.1).
    Many(&'a mut Vec<&'p str>),
    /// Not one this endpoint knows: ignored (RFC 6749 §3.1).
    Unknown,
}

/// A typed reader of one endpoint's parameters: which slot each name goes to.
pub(crate) trait Reader<'p>: Default {
    fn slot(&mut self, name: &str) -> Slot<'_, 'p>;
}

impl<'a> Params<'a> {
    /// Reads every parameter once, in order, into `R`'s slots, applying RFC 6749 §3.1 here and
    /// nowhere else: an empty value counts as absent, an unknown name is ignored, a repeat is
    /// recorded in its field. Returns the reader and the first name that was repeated.
    pub(crate) fn read<'p, R: Reader<'p>>(&'p self) -> (R, Option<&'p str>) {
        let mut reader = R::default();
        let mut first_repeat = None;
        for p in &self.0 {
            let (name, value) = (p.name.as_ref(), p.value.as_ref());
            if value.is_empty() {
                continue;
            }
            match reader.slot(name) {
                Slot::One(field) => {
                    field.set(value);
                    if field.repeated && first_repeat.is_none() {
                        first_repeat = Some(name);
                    }
                }
                Slot::Many(values) => values.push(value),
                Slot::Unknown => {}
            }
        }
        (reader, first_repeat)
    }
}

/// The parameters of a token, introspection or revocation request (RFC 6749 §4, §6; RFC 7009
/// §2.1; RFC 7662 §2.1), read in one pass over the form.
#[derive(Default)]
pub(crate) struct Form<'p> {
    pub(crate) grant_type: Field<'p>,
    pub(crate) client_id: Field<'p>,
    pub(crate) client_secret: Field<'p>,
    pub(crate) code: Field<'p>,
    pub(crate) redirect_uri: Field<'p>,
    pub(crate) code_verifier: Field<'p>,
    pub(crate) refresh_token: Field<'p>,
    pub(crate) scope: Field<'p>,
    pub(crate) username: Field<'p>,
    pub(crate) password: Field<'p>,
    pub(crate) token: Field<'p>,
    pub(crate) token_type_hint: Field<'p>,
    /// RFC 7523 §2.2: a JWT the client signed, instead of a secret.
    pub(crate) client_assertion_type: Field<'p>,
    pub(crate) client_assertion: Field<'p>,
    /// Every `resource` (RFC 8707 §2), which may repeat.
    pub(crate) resources: Vec<&'p str>,
}

impl<'p> Reader<'p> for Form<'p> {
    fn slot(&mut self, name: &str) -> Slot<'_, 'p> {
        Slot::One(match name {
            "grant_type" => &mut self.grant_type,
            "client_id" => &mut self.client_id,
            "client_secret" => &mut self.client_secret,
            "code" => &mut self.code,
            "redirect_uri" => &mut self.redirect_uri,
            "code_verifier" => &mut self.code_verifier,
            "refresh_token" => &mut self.refresh_token,
            "scope" => &mut self.scope,
            "username" => &mut self.username,
            "password" => &mut self.password,
            "token" => &mut self.token,
            "token_type_hint" => &mut self.token_type_hint,
            "client_assertion_type" => &mut self.client_assertion_type,
            "client_assertion" => &mut self.client_assertion,
            "resource" => return Slot::Many(&mut self.resources),
            _ => return Slot::Unknown,
        })
    }
}

impl<'p> Form<'p> {
    /// The form's fields; each one's repeat is reported when it is read.
    pub(crate) fn read(params: &'p Params<'_>) -> Self {
        params.read::<Form<'p>>().0
    }
}

impl Params<'static> {
    /// Parameters from decoded pairs.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Params(
            pairs
                .into_iter()
                .map(|(n, v)| Param::new(Cow::Owned(n), Cow::Owned(v)))
                .collect(),
        )
    }
}

impl<'a> Params<'a> {
    /// Decodes an `application/x-www-form-urlencoded` string (a query or a form body).
    ///
    /// The string is split in one pass; a pair with nothing to decode (no `%`, no `+`), which
    /// is most pairs of most requests, is borrowed as it stands, and only the others are
    /// decoded (by `percent-encoding`). The result is the same as `form_urlencoded::parse`'s,
    /// which a test checks.
    pub fn parse(encoded: &'a str) -> Self {
        let mut pairs = Vec::with_capacity(8);
        let mut push = |piece: &'a str, eq: Option<usize>, needs_decoding: bool| {
            if piece.is_empty() {
                return;
            }
            // `&` and `=` are ASCII, so every cut below is on a character boundary.
            let (name, value) = match eq {
                Some(at) => (piece.get(..at), piece.get(at + 1..)),
                None => (Some(piece), Some("")),
            };
            let (name, value) = (name.unwrap_or_default(), value.unwrap_or_default());
            pairs.push(if needs_decoding {
                Param::new(decode(name), decode(value))
            } else {
                Param::new(Cow::Borrowed(name), Cow::Borrowed(value))
            });
        };
        let (mut start, mut eq, mut needs_decoding) = (0, None, false);
        for (i, b) in encoded.bytes().enumerate() {
            match b {
                b'&' => {
                    push(
                        encoded.get(start..i).unwrap_or_default(),
                        eq,
                        needs_decoding,
                    );
                    (start, eq, needs_decoding) = (i + 1, None, false);
                }
                b'=' if eq.is_none() => eq = Some(i - start),
                b'%' | b'+' => needs_decoding = true,
                _ => {}
            }
        }
        push(encoded.get(start..).unwrap_or_default(), eq, needs_decoding);
        Params(pairs)
    }

    /// The value of `name`, or `None` when absent or empty; a repeated parameter is
    /// `invalid_request` (RFC 6749 §3.1, §3.2).
    pub fn one(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut field = Field::default();
        for p in self.0.iter().filter(|p| p.is(name)) {
            field.set(p.value.as_ref());
        }
        field.get(name)
    }

    /// Fails with `invalid_request` naming the first of `names` that appears more than once
    /// with a value; one pass over the parameters.
    pub fn reject_repeats(&self, names: &[&str]) -> Result<(), OAuthError> {
        let mut seen = vec![false; names.len()];
        for p in &self.0 {
            let hit = names.iter().position(|&n| p.is(n));
            if let Some(repeat) = hit.and_then(|i| seen.get_mut(i)) {
                if *repeat {
                    return Err(OAuthError::invalid_request(format!(
                        "{}: must not be repeated (RFC 6749 section 3.1)",
                        p.name
                    )));
                }
                *repeat = true;
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
            .filter(|p| p.is(name))
            .map(|p| p.value.as_ref())
            .collect()
    }

    /// Whether `name` appears with a value.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|p| p.is(name))
    }

    /// The pairs, in order, empty values included.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|p| (p.name.as_ref(), p.value.as_ref()))
    }
}

/// One name or value of `application/x-www-form-urlencoded` decoded (WHATWG URL, section
/// 5.1): `+` is a space, then percent-decoding, then UTF-8 with replacement characters.
fn decode(part: &str) -> Cow<'_, str> {
    let has = |c| part.bytes().any(|b| b == c);
    let bytes: Vec<u8> = if has(b'+') {
        let spaced: Vec<u8> = part
            .bytes()
            .map(|b| if b == b'+' { b' ' } else { b })
            .collect();
        Cow::from(percent_encoding::percent_decode(&spaced)).into_owned()
    } else if has(b'%') {
        // Sized once: the decoded text is never longer than the encoded one.
        let mut out = Vec::with_capacity(part.len());
        out.extend(percent_encoding::percent_decode(part.as_bytes()));
        out
    } else {
        return Cow::Borrowed(part);
    };
    Cow::Owned(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

impl From<Vec<(String, String)>> for Params<'static> {
    fn from(v: Vec<(String, String)>) -> Self {
        Params::new(v)
    }
}

impl<'a> From<Vec<(Cow<'a, str>, Cow<'a, str>)>> for Params<'a> {
    fn from(v: Vec<(Cow<'a, str>, Cow<'a, str>)>) -> Self {
        Params(v.into_iter().map(|(n, v)| Param::new(n, v)).collect())
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Params<'a> {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        Params(
            iter.into_iter()
                .map(|(a, b)| Param::new(Cow::Borrowed(a), Cow::Borrowed(b)))
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
        assert!(p.has("a") && !p.has("b") && !p.has("zz"));
        // Any number of names, the repeated one last.
        let mut many: Vec<String> = (0..40).map(|i| format!("n{i}")).collect();
        many.push("r".into());
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(p.reject_repeats(&many).is_err());
    }

    #[test]
    fn names_are_matched_whole() {
        let p = Params::parse("scope=a&scxpe=b&scxpe=c");
        assert_eq!(p.one("scope").unwrap(), Some("a"));
        assert!(p.one("scxpe").is_err());
        assert_eq!(p.all("scxpe"), ["b", "c"]);
        assert!(p.reject_repeats(&["scope"]).is_ok());
        assert!(p.reject_repeats(&["scope", "scxpe"]).is_err());
        assert_eq!(p.one("sco").unwrap(), None);
        assert_eq!(p.one("").unwrap(), None);
    }

    #[test]
    fn an_empty_value_is_no_repeat() {
        let p = Params::parse("x=&x=1&y=1&y=");
        assert_eq!(p.one("x").unwrap(), Some("1"));
        assert_eq!(p.one("y").unwrap(), Some("1"));
        assert!(p.reject_repeats(&["x", "y"]).is_ok());
        assert_eq!(p.all("x"), ["1"]);
    }

    #[test]
    fn parsing_matches_form_urlencoded_pair_for_pair() {
        let cases = [
            "",
            "&",
            "&&a=1&&",
            "a",
            "a=",
            "=1",
            "=",
            "a=1=2",
            "a=b&c=d%20e&f=g+h",
            "redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=xyz",
            "%61=%62&a+b=c+d",
            "bad=%ff%fe&half=%4&end=%",
            "x=%E2%82%AC&y=\u{20ac}",
            "name%3Dstill=value%26too",
            "mixed=%ff+%41+b%2B&plus=+&pct=%25",
        ];
        for case in cases {
            let parsed = Params::parse(case);
            let ours: Vec<(&str, &str)> = parsed.pairs().collect();
            let theirs: Vec<(String, String)> = url::form_urlencoded::parse(case.as_bytes())
                .into_owned()
                .collect();
            let theirs: Vec<(&str, &str)> = theirs
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            assert_eq!(ours, theirs, "{case:?}");
        }
    }

    #[test]
    fn form_decoding_turns_plus_into_space() {
        let p = Params::parse("scope=read+write&x=%2B");
        assert_eq!(p.one("scope").unwrap(), Some("read write"));
        assert_eq!(p.one("x").unwrap(), Some("+"));
    }
}
