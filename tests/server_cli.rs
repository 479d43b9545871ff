//! The example server's command line, as a newcomer meets it: `--help`, flag errors that name
//! the flag, and a seed checked whole before the port is bound.

use std::path::PathBuf;
use std::process::{Command, Output};

fn server_binary() -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples")
        .join(format!("server{}", std::env::consts::EXE_SUFFIX))
}

fn run(args: &[&str]) -> Output {
    Command::new(server_binary())
        .args(args)
        .output()
        .expect("run the example server")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn seed(name: &str, json: &str) -> String {
    let path = std::env::temp_dir().join(format!(
        "portcullis-server-{}-{name}.json",
        std::process::id()
    ));
    std::fs::write(&path, json).expect("write seed");
    path.to_string_lossy().into_owned()
}

#[test]
fn help_exits_0() {
    let o = run(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("usage: server"));
}

#[test]
fn a_bad_issuer_is_named_as_the_flag() {
    let o = run(&[
        "--issuer",
        "http://auth.example.com",
        "--addr",
        "127.0.0.1:0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with("server: --issuer: must be an https URL"),
        "{err}"
    );
    assert!(!err.contains("seed"), "{err}");
}

#[test]
fn the_seed_is_checked_before_the_port_is_bound() {
    // The port is taken: were it bound first, the error would be about the port.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let path = seed(
        "short-secret",
        r#"{"clients": [{"client_id": "x", "client_secret": "short", "name": "X",
             "flows": ["client_credentials"]}]}"#,
    );
    let o = run(&["--seed", &path, "--addr", &addr]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "server: {path}: clients[0].client_secret: must be at least"
        )),
        "{err}"
    );
    assert_eq!(
        err.matches("client_secret").count(),
        1,
        "the field is named once: {err}"
    );
}

#[test]
fn each_auth_modules_redirect_uri_is_printed_at_start() {
    use std::io::BufRead as _;
    let path = seed(
        "modules",
        r#"{"auth_modules": [{
            "id": "corp", "name": "Corporate SSO", "type": "oauth2", "client_id": "c",
            "endpoints": {"authorization": "https://sso.example.com/authorize",
                          "token": "https://sso.example.com/token",
                          "user_info": "https://sso.example.com/userinfo"},
            "mapping": {"user_id": "sub"}, "default": true
        }]}"#,
    );
    let mut child = Command::new(server_binary())
        .args(["--seed", &path, "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the example server");
    let stdout = child.stdout.take().expect("stdout");
    let mut printed = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("read");
        let done = line.starts_with("Press Ctrl-C");
        printed.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let issuer = printed
        .iter()
        .find_map(|l| l.trim().strip_prefix("issuer").map(str::trim))
        .expect("the issuer line")
        .to_owned();
    let expected =
        format!("  corp (Corporate SSO, default)  redirect URI {issuer}/login/corp/callback");
    assert!(
        printed.contains(&expected),
        "{expected:?} not in {printed:#?}"
    );
}
