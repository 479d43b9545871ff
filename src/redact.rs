//! What `Debug` shows of requests and responses: everything but their secrets, so that a
//! host logging `{:?}` of a request, an answer or an outcome logs no credential.

/// Parameter and JSON member names whose values are secrets: client credentials, codes,
/// verifiers, passwords and tokens of every kind.
const SECRET_NAMES: &[&str] = &[
    "access_token",
    "actor_token",
    "assertion",
    "client_assertion",
    "client_secret",
    "code",
    "code_verifier",
    "id_token",
    "password",
    "refresh_token",
    "subject_token",
    "token",
];

/// What a redacted value is shown as.
pub(crate) const REDACTED: &str = "<redacted>";

/// Whether the value of parameter or member `name` is a secret.
pub(crate) fn is_secret(name: &str) -> bool {
    SECRET_NAMES.contains(&name)
}

/// `value`, or [`REDACTED`] when `name` names a secret.
pub(crate) fn shown<'a>(name: &str, value: &'a str) -> &'a str {
    if is_secret(name) { REDACTED } else { value }
}

/// A URL with the values of secret query and fragment parameters redacted (an authorization
/// response carries the code or the access token).
pub(crate) fn url(location: &str) -> String {
    let (before_fragment, fragment) = match location.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (location, None),
    };
    let (base, query) = match before_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    let mut out = base.to_owned();
    if let Some(q) = query {
        out.push('?');
        out.push_str(&form(q));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&form(f));
    }
    out
}

/// Form-encoded pairs with secret values redacted.
fn form(pairs: &str) -> String {
    pairs
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A JSON body with secret members redacted; a body that is not JSON is shown by length.
pub(crate) fn json_body(body: &str) -> String {
    if body.is_empty() {
        return String::new();
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut value) => {
            redact_json(&mut value);
            value.to_string()
        }
        Err(_) => format!("<{} bytes>", body.len()),
    }
}

fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(members) => {
            for (name, v) in members.iter_mut() {
                if is_secret(name) {
                    *v = serde_json::Value::from(REDACTED);
                } else {
                    redact_json(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_codes_and_tokens_and_keep_the_rest() {
        assert_eq!(
            url("https://a.example/cb?code=SECRET&state=s&iss=x"),
            "https://a.example/cb?code=<redacted>&state=s&iss=x"
        );
        assert_eq!(
            url("https://a.example/cb?x=1#access_token=SECRET&token_type=Bearer"),
            "https://a.example/cb?x=1#access_token=<redacted>&token_type=Bearer"
        );
        assert_eq!(url("https://a.example/cb"), "https://a.example/cb");
    }

    #[test]
    fn json_bodies_lose_their_tokens() {
        let shown = json_body(r#"{"access_token":"A","refresh_token":"R","scope":"read"}"#);
        assert!(
            !shown.contains("\"A\"") && !shown.contains("\"R\""),
            "{shown}"
        );
        assert!(shown.contains("read"));
        assert_eq!(json_body("not json SECRET"), "<15 bytes>");
    }
}
