//! Attribute paths: where a value sits in an identity provider's user-info JSON.
//!
//! A path is segments separated by `/` that step into nested objects (`links/avatar/href`); a
//! segment of digits indexes an array (`values/0/email`). `?:` separates alternatives, tried in
//! order, and the first that finds a non-empty value wins (`values/0/email ?: email`): null, a
//! missing member, an empty string and an empty array are empty. Spaces around `?:` are allowed.
//!
//! A path is parsed once into an [`AttributePath`] and evaluated many times.

use std::fmt;

use serde_json::Value;

/// A parsed attribute path: one or more alternatives, each a list of segments.
#[derive(Clone, PartialEq, Eq)]
pub struct AttributePath {
    text: String,
    alternatives: Vec<Vec<Segment>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// A member of an object.
    Key(String),
    /// An element of an array (or, on an object, the member with these digits as its name).
    Index(usize, String),
}

/// Why a path did not parse: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {position}: expected {expected}")]
pub struct PathError {
    /// The character position (counted from 1) where the path went wrong.
    pub position: usize,
    /// What would have been valid there.
    pub expected: &'static str,
}

impl fmt::Debug for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AttributePath").field(&self.text).finish()
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for AttributePath {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Self, PathError> {
        AttributePath::parse(s)
    }
}

impl AttributePath {
    /// Parses a path such as `values/0/email ?: email`.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let mut alternatives = Vec::new();
        // Character positions, counted from 1, for the errors.
        let mut start = 0;
        for part in text.split("?:") {
            let part_start = start;
            start += part.chars().count() + 2;
            let leading = part.chars().take_while(|c| *c == ' ').count();
            let trimmed = part.trim_matches(' ');
            if trimmed.is_empty() {
                return Err(PathError {
                    position: part_start + leading + 1,
                    expected: "a path (a name, or names separated by `/`)",
                });
            }
            let mut segments = Vec::new();
            let mut at = part_start + leading;
            for name in trimmed.split('/') {
                if name.is_empty() {
                    return Err(PathError {
                        position: at + 1,
                        expected: "a name before and after each `/`",
                    });
                }
                let segment = match name.parse::<usize>() {
                    Ok(i) if name.bytes().all(|b| b.is_ascii_digit()) => {
                        Segment::Index(i, name.to_owned())
                    }
                    _ => Segment::Key(name.to_owned()),
                };
                segments.push(segment);
                at += name.chars().count() + 1;
            }
            alternatives.push(segments);
        }
        Ok(AttributePath {
            text: text.to_owned(),
            alternatives,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first non-empty value an alternative finds in `profile`.
    pub fn find<'v>(&self, profile: &'v Value) -> Option<&'v Value> {
        self.alternatives
            .iter()
            .filter_map(|segments| walk(profile, segments))
            .find(|v| !is_empty(v))
    }

    /// Whether some alternative leads to a value at all, empty or not (`[]` counts, null and
    /// a missing member do not): "the provider reports none" rather than "says nothing".
    pub fn present(&self, profile: &Value) -> bool {
        self.alternatives
            .iter()
            .filter_map(|segments| walk(profile, segments))
            .any(|v| !v.is_null())
    }

    /// The value as text: a string as it is, a number or boolean written out; `None` for
    /// nothing, an object or an array.
    pub fn string(&self, profile: &Value) -> Option<String> {
        scalar_text(self.find(profile)?)
    }

    /// The value as a boolean: `true`/`false`, or the strings `"true"`/`"false"` in any case.
    pub fn boolean(&self, profile: &Value) -> Option<bool> {
        match self.find(profile)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// The value as a list of strings: each text element of an array, or one string alone.
    pub fn strings(&self, profile: &Value) -> Vec<String> {
        match self.find(profile) {
            Some(Value::Array(items)) => items.iter().filter_map(scalar_text).collect(),
            Some(other) => scalar_text(other).into_iter().collect(),
            None => Vec::new(),
        }
    }
}

fn walk<'v>(mut value: &'v Value, segments: &[Segment]) -> Option<&'v Value> {
    for segment in segments {
        value = match (segment, value) {
            (Segment::Key(name), Value::Object(members)) => members.get(name)?,
            (Segment::Index(i, _), Value::Array(items)) => items.get(*i)?,
            (Segment::Index(_, name), Value::Object(members)) => members.get(name)?,
            _ => return None,
        };
    }
    Some(value)
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The placeholder an image URL pattern carries.
pub const PICTURE_ID: &str = "<picture-id>";

/// Fills `pattern`'s `<picture-id>` with `avatar`, percent-encoded (every byte but the
/// unreserved characters of RFC 3986 §2.3), so that a value cannot add path segments, a query
/// or a host to the URL.
pub fn image_url(pattern: &str, avatar: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let encoded = utf8_percent_encode(avatar, UNRESERVED);
    // One pass over the pattern and one allocation, sized for the usual single placeholder.
    let mut parts = pattern.split(PICTURE_ID);
    let mut url = String::with_capacity(pattern.len() + avatar.len() * 3);
    url.push_str(parts.next().unwrap_or_default());
    for part in parts {
        url.extend(encoded.clone());
        url.push_str(part);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile() -> Value {
        json!({
            "uuid": "{c0ffee}",
            "id": 4242,
            "username": "alice",
            "display_name": "",
            "nickname": null,
            "links": {"avatar": {"href": "https://img.example/a.png"}},
            "values": [
                {"email": "", "is_confirmed": "true"},
                {"email": "alice@example.com", "is_confirmed": true},
            ],
            "emails": [],
            "groups": ["devs", "ops", 7],
            "email": "fallback@example.com",
            "verified": "False",
            "0": "zero as a name",
        })
    }

    /// (path, what `find` returns)
    #[test]
    fn paths_find_what_the_rules_say() {
        let p = profile();
        let cases: &[(&str, Value)] = &[
            ("username", json!("alice")),
            ("links/avatar/href", json!("https://img.example/a.png")),
            ("values/1/email", json!("alice@example.com")),
            (
                "values/0/email ?: values/1/email",
                json!("alice@example.com"),
            ),
            ("values/0/email?:email", json!("fallback@example.com")),
            ("nickname ?: display_name ?: username", json!("alice")),
            ("emails ?: email", json!("fallback@example.com")),
            ("id", json!(4242)),
            ("groups", json!(["devs", "ops", 7])),
            ("groups/1", json!("ops")),
            ("0", json!("zero as a name")),
            ("missing", Value::Null),
            ("values/7/email", Value::Null),
            ("username/deeper", Value::Null),
            ("nickname", Value::Null),
            ("display_name", Value::Null),
            ("emails", Value::Null),
            ("missing ?: nickname", Value::Null),
        ];
        for (text, expected) in cases {
            let path = AttributePath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                path.find(&p).cloned().unwrap_or(Value::Null),
                *expected,
                "{text}"
            );
        }
    }

    #[test]
    fn values_read_as_string_boolean_or_list() {
        let p = profile();
        let path = |t: &str| AttributePath::parse(t).unwrap();
        assert_eq!(path("id").string(&p).as_deref(), Some("4242"));
        assert_eq!(path("uuid").string(&p).as_deref(), Some("{c0ffee}"));
        assert_eq!(path("links").string(&p), None, "an object is no text");
        assert_eq!(path("values/1/is_confirmed").boolean(&p), Some(true));
        assert_eq!(path("values/0/is_confirmed").boolean(&p), Some(true));
        assert_eq!(path("verified").boolean(&p), Some(false));
        assert_eq!(path("username").boolean(&p), None);
        assert_eq!(path("groups").strings(&p), ["devs", "ops", "7"]);
        assert_eq!(path("username").strings(&p), ["alice"]);
        assert!(path("missing").strings(&p).is_empty());
    }

    #[test]
    fn parse_errors_name_the_position_and_what_was_expected() {
        let cases: &[(&str, usize)] = &[
            ("", 1),
            ("   ", 4),
            ("a//b", 3),
            ("/a", 1),
            ("a/", 3),
            ("a ?: ", 6),
            ("?: a", 1),
            ("a ?: b/ ?: c", 8),
            ("a?:?:b", 4),
        ];
        for (text, position) in cases {
            let e = AttributePath::parse(text).unwrap_err();
            assert_eq!(e.position, *position, "{text:?}: {e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("at position {position}: expected"))
            );
        }
    }

    #[test]
    fn the_picture_id_is_filled_url_encoded() {
        let pattern = "https://img.example/avatars/<picture-id>?s=64";
        assert_eq!(
            image_url(pattern, "ab12-CD_34.png"),
            "https://img.example/avatars/ab12-CD_34.png?s=64"
        );
        assert_eq!(
            image_url(pattern, "../x?y=1#z/é"),
            "https://img.example/avatars/..%2Fx%3Fy%3D1%23z%2F%C3%A9?s=64"
        );
        assert_eq!(image_url("no placeholder", "x"), "no placeholder");
    }
}
