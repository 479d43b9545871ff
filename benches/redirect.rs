//! Hot paths of the foundation: redirect matching (which must not grow with the number of
//! registered URIs), PKCE verification and client-secret verification.
//!
//! Run with `cargo bench --bench redirect`; figures are recorded in docs/performance.md.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use portcullis::client::{ClientSecret, SecretHash};
use portcullis::pkce::{CodeChallenge, CodeVerifier};
use portcullis::redirect::RedirectRules;

/// The most absolute URIs `rules` can add: with its loopback and relative URI, a client's
/// maximum of 100.
const MOST: usize = portcullis::redirect::MAX_REDIRECT_URIS - 2;

/// `n` absolute redirect URIs, a loopback and a relative one.
fn rules(n: usize) -> RedirectRules {
    let mut uris: Vec<String> = (0..n)
        .map(|i| format!("https://app{i}.example.com/oauth/callback"))
        .collect();
    uris.push("http://127.0.0.1/native/cb".into());
    uris.push("/relative/cb".into());
    RedirectRules::compile(
        Some("https://home.example.com/"),
        &["https://base.example.com/".to_string()],
        &uris,
    )
    .expect("valid rules")
}

fn redirect_matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("redirect_check");
    for n in [1usize, 10, MOST] {
        let r = rules(n);
        let exact = format!("https://app{}.example.com/oauth/callback", n / 2);
        group.bench_with_input(BenchmarkId::new("exact", n), &exact, |b, uri| {
            b.iter(|| r.check(black_box(uri)).is_ok())
        });
        group.bench_with_input(
            BenchmarkId::new("loopback", n),
            "http://127.0.0.1:51234/native/cb",
            |b, uri| b.iter(|| r.check(black_box(uri)).is_ok()),
        );
        group.bench_with_input(
            BenchmarkId::new("untrusted", n),
            "https://evil.example.com/oauth/callback",
            |b, uri| b.iter(|| r.check(black_box(uri)).is_err()),
        );
    }
    group.finish();
    c.bench_function("redirect_compile/100", |b| {
        b.iter(|| rules(black_box(MOST)))
    });
}

fn pkce(c: &mut Criterion) {
    let verifier =
        CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").expect("valid");
    let challenge =
        CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("S256"))
            .expect("valid");
    c.bench_function("pkce_s256_verify", |b| {
        b.iter(|| challenge.verify(black_box(&verifier)))
    });
    c.bench_function("pkce_parse_challenge", |b| {
        b.iter(|| {
            CodeChallenge::parse(
                black_box("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                Some("S256"),
            )
        })
    });
}

fn secrets(c: &mut Criterion) {
    let secret = ClientSecret::generate().expect("rng");
    let hash = SecretHash::new(&secret).expect("rng");
    c.bench_function("client_secret_verify", |b| {
        b.iter(|| hash.verify(black_box(secret.expose_secret())))
    });
}

criterion_group!(benches, redirect_matching, pkce, secrets);
criterion_main!(benches);
