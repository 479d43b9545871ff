//! User and group URI patterns: templates that link a host user or group to its page in the
//! external application, such as `https://app.example.com/users/{login}`.

use std::fmt;

use url::Url;

/// A placeholder in a [`UriPattern`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    Id,
    Login,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Value(Placeholder),
}

/// A validated URI template with `{id}` and `{login}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriPattern {
    raw: String,
    parts: Vec<Part>,
}

impl UriPattern {
    /// Parses a pattern. It must use only `{id}` and `{login}`, and with them filled in it must
    /// be an absolute http(s) URL. The error is the rule broken, for the caller to prefix with
    /// the field name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = raw;
        while let Some(open) = rest.find(['{', '}']) {
            let (text, tail) = rest.split_at(open);
            if !text.is_empty() {
                parts.push(Part::Text(text.to_owned()));
            }
            if tail.starts_with('}') {
                return Err("has a `}` without a matching `{`".into());
            }
            let close = tail
                .find('}')
                .ok_or_else(|| "has a `{` without a matching `}`".to_string())?;
            let name = tail.get(1..close).unwrap_or_default();
            parts.push(Part::Value(match name {
                "id" => Placeholder::Id,
                "login" => Placeholder::Login,
                other => {
                    return Err(format!(
                        "uses the unknown placeholder `{{{other}}}`; use `{{id}}` or `{{login}}`"
                    ));
                }
            }));
            rest = tail.get(close + 1..).unwrap_or_default();
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        let pattern = UriPattern {
            raw: raw.to_owned(),
            parts,
        };
        let sample = pattern.expand("id", "login");
        match Url::parse(&sample) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(pattern),
            Ok(url) => Err(format!(
                "must be an http or https URL, not `{}`",
                url.scheme()
            )),
            Err(_) => {
                Err("must be an absolute URL such as https://app.example.com/users/{login}".into())
            }
        }
    }

    /// The pattern with `{id}` and `{login}` replaced by the percent-encoded values, so a login
    /// such as `../admin` or `a/b?c` stays inside its path segment.
    pub fn expand(&self, id: &str, login: &str) -> String {
        let mut out = String::with_capacity(self.raw.len() + id.len() + login.len());
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Value(Placeholder::Id) => percent_encode_into(id, &mut out),
                Part::Value(Placeholder::Login) => percent_encode_into(login, &mut out),
            }
        }
        out
    }

    /// The pattern as entered.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for UriPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode_into(value: &str, out: &mut String) {
    use std::fmt::Write as _;
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_both_placeholders_with_encoding() {
        let p = UriPattern::parse("https://app.example.com/u/{login}?id={id}").unwrap();
        assert_eq!(
            p.expand("42", "jane"),
            "https://app.example.com/u/jane?id=42"
        );
        assert_eq!(
            p.expand("1&x=2", "../admin/é"),
            "https://app.example.com/u/..%2Fadmin%2F%C3%A9?id=1%26x%3D2"
        );
    }

    #[test]
    fn pattern_without_placeholders_is_fine() {
        let p = UriPattern::parse("https://app.example.com/users").unwrap();
        assert_eq!(p.expand("1", "a"), "https://app.example.com/users");
    }

    #[test]
    fn invalid_patterns_are_refused_with_reasons() {
        let cases = [
            ("https://a.example/{name}", "unknown placeholder `{name}`"),
            ("https://a.example/{id", "without a matching `}`"),
            ("https://a.example/id}", "without a matching `{`"),
            ("/users/{login}", "must be an absolute URL"),
            ("ftp://a.example/{login}", "must be an http or https URL"),
            ("{login}", "must be an absolute URL"),
        ];
        for (raw, want) in cases {
            let err = UriPattern::parse(raw).unwrap_err();
            assert!(err.contains(want), "{raw}: {err}");
        }
    }
}
