//! The redirect-URI rules, as a table: what a client registered, what a request asks for, and
//! the verdict. Half the rows are hostile: each one is an attempt to be sent somewhere the
//! client did not register.

use portcullis::redirect::{RedirectRejection, RedirectRules, RedirectUriKind};

/// The client every row is checked against.
fn rules() -> RedirectRules {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    RedirectRules::compile(
        Some("https://app.example.com/portal/"),
        &s(&[
            "https://eu.app.example.com/",
            "https://app.example.org/base/",
        ]),
        &s(&[
            "https://app.example.com/callback",
            "https://app.example.com/cb?mode=web",
            "http://127.0.0.1/native/cb",
            "http://[::1]:8400/v6/cb",
            "http://localhost:3000/dev/cb",
            "com.example.app:/oauth2redirect",
            "oauth/return",
            "/abs/return",
        ]),
    )
    .expect("the table's client is valid")
}

#[derive(Debug)]
enum Verdict {
    /// Redirect allowed, matched by this kind of registration.
    Trusted(RedirectUriKind),
    /// Well formed, not registered: blocked and kept for review.
    Untrusted,
    /// Malformed or forbidden: blocked, reason contains this text.
    Invalid(&'static str),
}

use RedirectUriKind::*;
use Verdict::*;

#[rustfmt::skip]
const TABLE: &[(&str, Verdict)] = &[
    // Registered absolute URIs: simple string comparison.
    ("https://app.example.com/callback", Trusted(Absolute)),
    ("https://app.example.com/cb?mode=web", Trusted(Absolute)),
    ("http://localhost:3000/dev/cb", Trusted(Absolute)),
    ("com.example.app:/oauth2redirect", Trusted(PrivateUse)),
    // Loopback IP literals: any port, everything else exact (RFC 8252 §7.3).
    ("http://127.0.0.1/native/cb", Trusted(Loopback)),
    ("http://127.0.0.1:1/native/cb", Trusted(Loopback)),
    ("http://127.0.0.1:8080/native/cb", Trusted(Loopback)),
    ("http://127.0.0.1:51004/native/cb", Trusted(Loopback)),
    ("http://127.0.0.1:65535/native/cb", Trusted(Loopback)),
    ("http://[::1]/v6/cb", Trusted(Loopback)),
    ("http://[::1]:1/v6/cb", Trusted(Loopback)),
    ("http://[::1]:8400/v6/cb", Trusted(Loopback)),
    ("http://[::1]:61023/v6/cb", Trusted(Loopback)),
    // Relative URIs resolved against the home URL and each base URL (RFC 3986 §5).
    ("https://app.example.com/portal/oauth/return", Trusted(Relative)),
    ("https://eu.app.example.com/oauth/return", Trusted(Relative)),
    ("https://app.example.org/base/oauth/return", Trusted(Relative)),
    ("https://app.example.com/abs/return", Trusted(Relative)),
    ("https://eu.app.example.com/abs/return", Trusted(Relative)),
    ("https://app.example.org/abs/return", Trusted(Relative)),

    // Hostile: added path, query or separator.
    ("https://app.example.com/callback/", Untrusted),
    ("https://app.example.com/callback?", Untrusted),
    ("https://app.example.com/callback?next=https://evil.example", Untrusted),
    ("https://app.example.com/callback/../../evil", Untrusted),
    ("https://app.example.com/cb", Untrusted),
    ("https://app.example.com/cb?mode=web&x=1", Untrusted),
    ("https://app.example.com/cb?mode=WEB", Untrusted),
    // Hostile: case and default-port variants are different strings (RFC 3986 §6.2.1).
    ("https://APP.example.com/callback", Untrusted),
    ("HTTPS://app.example.com/callback", Untrusted),
    ("https://app.example.com/Callback", Untrusted),
    ("https://app.example.com:443/callback", Untrusted),
    ("https://app.example.com.:443/callback", Untrusted),
    // Hostile: dot segments and percent-encoding are not normalised.
    ("https://app.example.com/./callback", Untrusted),
    ("https://app.example.com/x/../callback", Untrusted),
    ("https://app.example.com/%63allback", Untrusted),
    ("https://app.example.com/%2e%2e/callback", Untrusted),
    ("https://app.example.com/callback%2F..%2F..%2Fevil", Untrusted),
    ("https://app.example.com/portal/oauth%2Freturn", Untrusted),
    ("https://app.example.com/portal/oauth/return/../return", Untrusted),
    ("https:app.example.com/callback", Untrusted),
    ("https:///app.example.com/callback", Untrusted),
    // Hostile: look-alike, suffix and prefix hosts.
    ("https://app.example.com.evil.example/callback", Untrusted),
    ("https://evil-app.example.com/callback", Untrusted),
    ("https://app.example.co/callback", Untrusted),
    ("https://app-example.com/callback", Untrusted),
    ("https://xn--pp-8kc.example.com/callback", Untrusted),
    ("https://app.example.com%2eevil.example/callback", Untrusted),
    // Hostile: relative URIs resolved against the wrong base.
    ("https://eu.app.example.com/portal/oauth/return", Untrusted),
    ("https://app.example.org/oauth/return", Untrusted),
    ("https://evil.example/oauth/return", Untrusted),
    // Hostile: scheme swaps.
    ("http://app.example.com/callback", Untrusted),
    ("https://127.0.0.1/native/cb", Untrusted),
    ("wss://app.example.com/callback", Untrusted),
    // Hostile: other loopback addresses and spellings are ordinary hosts, matched exactly.
    ("http://127.0.0.2/native/cb", Untrusted),
    ("http://127.1/native/cb", Untrusted),
    ("http://0x7f.0.0.1/native/cb", Untrusted),
    ("http://2130706433/native/cb", Untrusted),
    ("http://[0:0:0:0:0:0:0:1]/v6/cb", Untrusted),
    ("http://[::ffff:127.0.0.1]/native/cb", Untrusted),
    ("http://127.0.0.1.nip.io/native/cb", Untrusted),
    ("http://127.0.0.1:8080/native/cb/", Untrusted),
    ("http://127.0.0.1:8080/native/CB", Untrusted),
    ("http://[::1]:8400/v6/cb?x=1", Untrusted),
    // Hostile: localhost is a name, not a loopback literal (RFC 8252 §8.3).
    ("http://localhost/native/cb", Untrusted),
    ("http://localhost:8080/native/cb", Untrusted),
    ("http://localhost:3001/dev/cb", Untrusted),
    ("http://localhost/dev/cb", Untrusted),
    // Hostile: private-use scheme variants.
    ("com.example.app:/oauth2redirect/extra", Untrusted),
    ("com.example.App:/oauth2redirect", Untrusted),
    ("com.example.app://oauth2redirect", Untrusted),
    ("com.evil.app:/oauth2redirect", Untrusted),

    // Refused outright: userinfo tricks.
    ("https://app.example.com@evil.example/callback", Invalid("userinfo")),
    ("https://evil.example@app.example.com/callback", Invalid("userinfo")),
    ("https://app.example.com:443@evil.example/callback", Invalid("userinfo")),
    ("https://@app.example.com/callback", Invalid("userinfo")),
    ("http://127.0.0.1:80@evil.example/native/cb", Invalid("userinfo")),
    // Refused outright: fragments (RFC 6749 §3.1.2).
    ("https://app.example.com/callback#", Invalid("fragment")),
    ("https://app.example.com/callback#https://evil.example", Invalid("fragment")),
    // Refused outright: control characters and whitespace, which parsers strip.
    ("https://app.example.com/callback\n", Invalid("control character")),
    ("\thttps://app.example.com/callback", Invalid("control character")),
    ("https://app.example.com/call\rback", Invalid("control character")),
    ("https://app.example.com/callback\u{0}", Invalid("control character")),
    ("https://app.example.com/call back", Invalid("control character")),
    ("https://app.example.com/callback\u{85}", Invalid("control character")),
    // Refused outright: characters outside RFC 3986, which browsers rewrite.
    ("https://app.example.com\\callback", Invalid("not allowed in a URI")),
    ("https://app.example.com/\\evil.example", Invalid("not allowed in a URI")),
    ("https://\u{0430}pp.example.com/callback", Invalid("not allowed in a URI")),
    ("https://app.example.com/callback\"", Invalid("not allowed in a URI")),
    ("https://app.example.com/callback<script>", Invalid("not allowed in a URI")),
    // Refused outright: schemes that run code, relative requests, unparsable values.
    ("javascript:alert(document.domain)//https://app.example.com/callback", Invalid("`javascript` scheme")),
    ("data:text/html;base64,PHNjcmlwdD4=", Invalid("`data` scheme")),
    ("file:///etc/passwd", Invalid("`file` scheme")),
    ("/callback", Invalid("absolute")),
    ("oauth/return", Invalid("absolute")),
    ("//app.example.com/callback", Invalid("absolute")),
    ("http://127.0.0.1:99999/native/cb", Invalid("not a valid URI")),
    ("https://[::1/callback", Invalid("not a valid URI")),
    ("", Invalid("empty")),
];

#[test]
fn redirect_table() {
    let rules = rules();
    let mut failures = Vec::new();
    for (uri, verdict) in TABLE {
        let got = rules.check(uri);
        let ok = match (verdict, &got) {
            (Trusted(kind), Ok(t)) => t.matched() == *kind && t.as_str() == *uri,
            (Untrusted, Err(RedirectRejection::Untrusted(_))) => true,
            (Invalid(text), Err(e @ RedirectRejection::Invalid(_))) => e.reason().contains(text),
            _ => false,
        };
        if !ok {
            failures.push(format!("{uri:?}: expected {verdict:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn table_is_large_and_mostly_hostile() {
    let hostile = TABLE
        .iter()
        .filter(|(_, v)| !matches!(v, Trusted(_)))
        .count();
    assert!(TABLE.len() >= 60, "{} rows", TABLE.len());
    assert!(
        hostile * 2 >= TABLE.len(),
        "{hostile} hostile rows of {}",
        TABLE.len()
    );
}

#[test]
fn an_oversized_uri_is_refused_without_matching() {
    let long = format!("https://app.example.com/callback?{}", "a".repeat(5000));
    let err = rules().check(&long).unwrap_err();
    assert!(!err.is_reviewable());
    assert!(
        err.to_string()
            .starts_with("redirect_uri: is 5033 bytes long"),
        "{err}"
    );
}

#[test]
fn every_rejection_names_the_parameter() {
    let rules = rules();
    for (uri, verdict) in TABLE {
        if !matches!(verdict, Trusted(_)) {
            let err = rules.check(uri).unwrap_err().to_string();
            assert!(err.starts_with("redirect_uri: "), "{uri:?}: {err}");
        }
    }
}
