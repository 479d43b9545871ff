//! `examples/plain.rs`, the embedding in a bare hyper server, run for real: a whole code +
//! PKCE flow and the protected API, over loopback.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use oauth2::reqwest;
use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the example on a free port; returns it and its base URL once it listens.
fn start() -> (Running, String) {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir
        .join("examples")
        .join(format!("plain{}", std::env::consts::EXE_SUFFIX));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(bin)
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the plain example");
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    assert!(banner.starts_with("plain portcullis server on"), "{banner}");
    (Running(child), format!("http://127.0.0.1:{port}"))
}

#[tokio::test]
async fn the_plain_example_serves_a_whole_flow() {
    let (_server, base) = start();
    let http = reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let verifier = CodeVerifier::generate().unwrap();
    let challenge = CodeChallenge::from_verifier(&verifier, PkceMethod::S256);
    let query = format!(
        "response_type=code&client_id=plain-cli&redirect_uri=http://127.0.0.1:9/callback\
         &scope=read&code_challenge={}&code_challenge_method=S256",
        challenge.as_str()
    );

    let r = http
        .get(format!("{base}/authorize?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "log in first");
    let r = http
        .get(format!("{base}/authorize?{query}"))
        .header("X-Demo-User", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("back to 127.0.0.1:9"));
    let r = http
        .post(format!("{base}/consent?{query}"))
        .header("X-Demo-User", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_owned();

    let r = http
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
            ("client_id", "plain-cli"),
            ("code_verifier", verifier.secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let tokens: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    let r = http.get(format!("{base}/api/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(&format!("{base}/.well-known/oauth-protected-resource"))
    );
    let r = http
        .get(format!("{base}/api/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "alice via plain-cli\n");

    let doc = http
        .get(format!("{base}/.well-known/oauth-protected-resource"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["authorization_servers"][0], base);
}
