//! The `check` example is an interface that scripts rely on: its output lines and exit
//! statuses are checked here exactly as documented.

use std::path::PathBuf;
use std::process::{Command, Output};

/// `cargo test` builds the examples next to the test binaries' directory.
fn check_binary() -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples")
        .join(format!("check{}", std::env::consts::EXE_SUFFIX))
}

fn write_client(name: &str, json: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "portcullis-check-{}-{name}.json",
        std::process::id()
    ));
    std::fs::write(&path, json).expect("write client file");
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(check_binary())
        .args(args)
        .output()
        .expect("run check")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const CLIENT: &str = r#"{
    "home_url": "https://app.example.com/",
    "base_urls": ["https://eu.app.example.com/"],
    "redirect_uris": ["/cb", "http://127.0.0.1/native"]
}"#;

#[test]
fn all_trusted_prints_one_line_each_and_exits_0() {
    let client = write_client("ok", CLIENT);
    let o = run(&[
        "redirect",
        "--client",
        client.to_str().unwrap(),
        "https://eu.app.example.com/cb",
        "http://127.0.0.1:4242/native",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "trusted https://eu.app.example.com/cb\ntrusted http://127.0.0.1:4242/native\n"
    );
}

#[test]
fn any_untrusted_exits_1_with_reason() {
    let client = write_client("mixed", CLIENT);
    let o = run(&[
        "redirect",
        "--client",
        client.to_str().unwrap(),
        "https://app.example.com/cb",
        "https://app.example.com/cb/",
        "https://app.example.com/cb#x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], "trusted https://app.example.com/cb");
    assert!(
        lines[1].starts_with("untrusted https://app.example.com/cb/: is not registered"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("untrusted https://app.example.com/cb#x: must not contain a fragment"),
        "{out}"
    );
    // A well-formed URI that is not registered is held for review; a malformed one is not.
    assert!(lines[1].ends_with(" (held for review)"), "{out}");
    assert!(lines[2].ends_with(" (refused outright)"), "{out}");
}

#[test]
fn help_exits_0_with_the_usage() {
    for args in [vec!["--help"], vec!["redirect", "-h"]] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(stdout(&o).starts_with("usage: check redirect"), "{args:?}");
    }
}

#[test]
fn bad_input_exits_2_naming_file_and_field() {
    let cases = [
        (r#"{"redirect_uris": ["/cb", 7]}"#, "redirect_uris[1]"),
        (
            r#"{"home_url": "app.example.com"}"#,
            "home_url: must be an absolute URL",
        ),
        (
            r#"{"base_urls": ["https://a.example/#f"]}"#,
            "base_urls[0]: must not contain a fragment",
        ),
        (
            r#"{"redirect_uris": ["javascript:alert(1)"]}"#,
            "redirect_uris[0]: the `javascript` scheme",
        ),
        (r#"{"redirect_url": []}"#, "unknown field `redirect_url`"),
        ("not json", "expected"),
    ];
    for (i, (json, want)) in cases.iter().enumerate() {
        let client = write_client(&format!("bad{i}"), json);
        let path = client.to_str().unwrap();
        let o = run(&["redirect", "--client", path, "https://a.example/cb"]);
        assert_eq!(o.status.code(), Some(2), "{json}");
        let err = stderr(&o);
        assert!(err.contains(path) && err.contains(want), "{json}: {err}");
        assert!(stdout(&o).is_empty());
    }
}

#[test]
fn usage_errors_exit_2() {
    let client = write_client("usage", CLIENT);
    for args in [
        vec![],
        vec!["redirekt", "--client", client.to_str().unwrap(), "x"],
        vec!["redirect", "https://a.example/cb"],
        vec!["redirect", "--client", client.to_str().unwrap()],
        vec!["redirect", "--client", "/nonexistent/client.json", "x"],
    ] {
        assert_eq!(run(&args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn map_prints_one_json_value_per_path() {
    let profile = write_client(
        "profile",
        r#"{"username": "alice", "id": 42,
            "values": [{"email": ""}, {"email": "alice@example.com"}],
            "links": {"avatar": {"href": "https://img.example/a.png"}},
            "groups": ["devs", "ops"]}"#,
    );
    let out = run(&[
        "map",
        "--json",
        profile.to_str().unwrap(),
        "username",
        "values/0/email ?: values/1/email",
        "links/avatar/href",
        "groups",
        "id",
        "nothing/here",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "\"alice\"\n\"alice@example.com\"\n\"https://img.example/a.png\"\n[\"devs\",\"ops\"]\n42\nnull\n"
    );
}

#[test]
fn map_names_the_position_of_a_parse_error_and_exits_2() {
    let profile = write_client("profile2", r#"{"a": 1}"#);
    let out = run(&["map", "--json", profile.to_str().unwrap(), "a", "a ?: b//c"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "", "nothing printed when a path is wrong");
    assert!(
        stderr(&out).contains("path `a ?: b//c`: at position 8: expected a name"),
        "{}",
        stderr(&out)
    );
    let missing = run(&["map", "--json", "/nonexistent/profile.json", "a"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent/profile.json"));
    let no_json = run(&["map", "a"]);
    assert_eq!(no_json.status.code(), Some(2));
}
