//! Mapping a provider's profile onto an account: all eight attributes, some with `?:`
//! fallbacks, with paths parsed once. Two profiles: an OpenID Connect user-info answer with
//! groups (the fallbacks are there but the first alternatives hit), and a Bitbucket-shaped
//! one where five of the eight attributes come from a fallback (the worst case). The peer is
//! what a host would write by hand: the same lookups through `serde_json::Value::pointer`,
//! with the fallbacks spelled out.
//!
//! Run with `cargo bench --bench mapping`; figures are recorded in docs/performance.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis::federation::{MappingText, ModuleId};
use serde_json::Value;

/// A Keycloak-style OpenID Connect user-info answer with groups, about 0.6 KB.
const OIDC_PROFILE: &str = r#"{
  "sub": "f:6a0ab9c2-3c6b-4d8e-9f1a-2b7d1c0e5f43:alice",
  "name": "Alice Liddell",
  "given_name": "Alice",
  "family_name": "Liddell",
  "preferred_username": "alice",
  "email": "alice@example.com",
  "email_verified": true,
  "picture": "https://img.example.com/avatars/alice.png",
  "locale": "en-GB",
  "zoneinfo": "Europe/London",
  "updated_at": 1764892800,
  "groups": ["developers", "staff", "release-managers", "on-call", "reviewers"]
}"#;

fn oidc_mapping() -> portcullis::federation::AttributeMapping {
    MappingText {
        user_id: Some("sub".into()),
        username: Some("preferred_username ?: email".into()),
        full_name: Some("name ?: preferred_username".into()),
        email: Some("email".into()),
        email_verified: Some("email_verified".into()),
        avatar: Some("picture ?: avatar_url".into()),
        image_url_pattern: None,
        groups: Some("groups ?: roles".into()),
    }
    .parse()
    .expect("valid mapping")
}

/// A Bitbucket-shaped profile with a groups list and an email block, about 1.3 KB, where
/// five of the eight attributes need their fallback.
const PROFILE: &str = r#"{
  "type": "user",
  "uuid": "{d301aafa-d676-4ee0-88be-962be7417567}",
  "account_id": "557058:c0b72ad0-1cb5-4018-9cdc-0cde8492c443",
  "nickname": "evzijst",
  "display_name": "",
  "username": null,
  "created_on": "2010-12-13T21:33:09+00:00",
  "is_staff": false,
  "account_status": "active",
  "location": "Amsterdam",
  "links": {
    "self": {"href": "https://api.bitbucket.org/2.0/users/%7Bd301aafa-d676-4ee0-88be-962be7417567%7D"},
    "html": {"href": "https://bitbucket.org/%7Bd301aafa-d676-4ee0-88be-962be7417567%7D/"},
    "avatar": {"href": "https://avatar-management.example.net/557058:c0b72ad0/128"},
    "followers": {"href": "https://api.bitbucket.org/2.0/users/evzijst/followers"},
    "repositories": {"href": "https://api.bitbucket.org/2.0/repositories/evzijst"}
  },
  "emails": {"values": [
    {"is_primary": false, "is_confirmed": true, "email": "old@example.com"},
    {"is_primary": true, "is_confirmed": true, "email": "erik@example.com"}
  ]},
  "profile": {"full_name": "Erik van Zijst", "verified": "true", "picture": {"id": "a8f/5c"}},
  "groups": ["developers", "staff", "release-managers", "on-call", "reviewers"]
}"#;

fn mapping() -> portcullis::federation::AttributeMapping {
    MappingText {
        user_id: Some("uuid ?: account_id".into()),
        username: Some("username ?: nickname".into()),
        full_name: Some("display_name ?: profile/full_name ?: nickname".into()),
        email: Some("email ?: emails/values/1/email".into()),
        email_verified: Some("email_verified ?: profile/verified".into()),
        avatar: Some("profile/picture/id ?: links/avatar/href".into()),
        image_url_pattern: Some("https://img.example.com/<picture-id>.png".into()),
        groups: Some("groups".into()),
    }
    .parse()
    .expect("valid mapping")
}

fn nonempty(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    })
}

/// What the peer maps: the same eight attributes.
#[allow(dead_code)] // read only through `black_box` and one assertion
struct HandMapped {
    user_id: String,
    username: Option<String>,
    full_name: Option<String>,
    email: Option<String>,
    verified: Option<bool>,
    avatar: Option<String>,
    groups: Vec<String>,
}

/// The peer: the same lookups written by hand with JSON pointers.
fn by_hand(p: &Value) -> HandMapped {
    let first = |paths: &[&str]| paths.iter().find_map(|q| nonempty(p.pointer(q)));
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let user_id = text(first(&["/uuid", "/account_id"])).unwrap_or_default();
    let username = text(first(&["/username", "/nickname"]));
    let full_name = text(first(&["/display_name", "/profile/full_name", "/nickname"]));
    let email = text(first(&["/email", "/emails/values/1/email"]));
    let verified = first(&["/email_verified", "/profile/verified"]).and_then(|v| match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    let avatar = text(first(&["/profile/picture/id", "/links/avatar/href"])).map(|id| {
        let enc: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        format!("https://img.example.com/{enc}.png")
    });
    let groups = p
        .pointer("/groups")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    HandMapped {
        user_id,
        username,
        full_name,
        email,
        verified,
        avatar,
        groups,
    }
}

fn map_profile(c: &mut Criterion) {
    let mapping = mapping();
    let module = ModuleId::new("bitbucket").expect("valid ID");
    let profile: Value = serde_json::from_str(PROFILE).expect("valid JSON");
    let mapped = mapping.map(&module, &profile, false).expect("maps");
    assert_eq!(mapped.full_name.as_deref(), Some("Erik van Zijst"));
    assert_eq!(mapped.email.as_deref(), Some("erik@example.com"));
    assert_eq!(by_hand(&profile).email.as_deref(), Some("erik@example.com"));

    let mut group = c.benchmark_group("mapping");
    let oidc = oidc_mapping();
    let oidc_profile: Value = serde_json::from_str(OIDC_PROFILE).expect("valid JSON");
    let mapped = oidc.map(&module, &oidc_profile, false).expect("maps");
    assert_eq!(mapped.groups.len(), 5);
    assert_eq!(
        mapped.avatar_url.as_deref(),
        Some("https://img.example.com/avatars/alice.png")
    );
    group.bench_function("oidc_profile", |b| {
        b.iter(|| oidc.map(&module, black_box(&oidc_profile), false))
    });
    group.bench_function("fallbacks_taken", |b| {
        b.iter(|| mapping.map(&module, black_box(&profile), false))
    });
    group.bench_function("fallbacks_taken_peer_json_pointer", |b| {
        b.iter(|| by_hand(black_box(&profile)))
    });
    // As a host sees it: the user-info body's bytes, parsed and mapped.
    group.bench_function("fallbacks_taken_from_bytes", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_slice(black_box(PROFILE.as_bytes())).expect("JSON");
            mapping.map(&module, &v, false)
        })
    });
    group.finish();
}

criterion_group!(benches, map_profile);
criterion_main!(benches);
