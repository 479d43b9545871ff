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
