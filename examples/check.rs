//! Tests redirect rules and attribute mappings without a server.
//!
//! ```text
//! cargo run --example check -- redirect --client CLIENT.json URI...
//! cargo run --example check -- map --json PROFILE.json PATH...
//! ```
//!
//! CLIENT.json is `{"home_url": "...", "base_urls": [...], "redirect_uris": [...]}`. Prints one
//! line per URI, `trusted <URI>` or `untrusted <URI>: <reason> (held for review)` for a
//! well-formed URI that is not registered, `... (refused outright)` for a malformed one. Exit
//! status: 0 when every URI is trusted (or for `--help`), 1 when any is not, 2 on bad input.
//!
//! `map` evaluates each attribute path (`values/0/email ?: email`) on the JSON profile and
//! prints one JSON value per line, `null` when nothing matched. Exit status 0, or 2 on bad
//! input, a path's parse error naming its position included.

use std::process::ExitCode;

use portcullis::redirect::RedirectRules;
use serde::Deserialize;

const USAGE: &str = "usage: check redirect --client CLIENT.json URI...\n       \
                     check map --json PROFILE.json PATH...";

/// The redirect-related part of a client's settings.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    #[serde(default)]
    home_url: Option<String>,
    #[serde(default)]
    base_urls: Vec<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(all_trusted) => ExitCode::from(if all_trusted { 0 } else { 1 }),
        Err(message) => {
            eprintln!("check: {message}");
            ExitCode::from(2)
        }
    }
}

/// Returns whether every URI is trusted, or the message for a bad-input exit.
fn run(args: &[String]) -> Result<bool, String> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(true);
    }
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    match command.as_str() {
        "redirect" => {}
        "map" => return map(rest).map(|()| true),
        _ => return Err(format!("unknown command `{command}`\n{USAGE}")),
    }
    let (path, uris) = file_and_operands(rest, "--client", "URI to check")?;

    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let client: ClientFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        format!("{path}: {field}: {}", e.inner())
    })?;
    let rules = RedirectRules::compile(
        client.home_url.as_deref(),
        &client.base_urls,
        &client.redirect_uris,
    )
    .map_err(|e| format!("{path}: {e}"))?;

    let mut all_trusted = true;
    for uri in &uris {
        match rules.check(uri) {
            Ok(_) => println!("trusted {uri}"),
            Err(rejection) => {
                all_trusted = false;
                // A well-formed URI that is not registered is what a server holds for an
                // administrator to review; a malformed one it refuses outright.
                let fate = if rejection.is_reviewable() {
                    "held for review"
                } else {
                    "refused outright"
                };
                println!("untrusted {uri}: {} ({fate})", rejection.reason());
            }
        }
    }
    Ok(all_trusted)
}

/// `map --json PROFILE.json PATH...`: each path's value, one JSON value per line.
fn map(args: &[String]) -> Result<(), String> {
    let (file, paths) = file_and_operands(args, "--json", "path to evaluate")?;
    // Every path is parsed before anything is printed: a mistake prints nothing else.
    let parsed = paths
        .iter()
        .map(|p| {
            portcullis::mapping::AttributePath::parse(p).map_err(|e| format!("path `{p}`: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let profile: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
    for path in &parsed {
        let value = path.find(&profile).unwrap_or(&serde_json::Value::Null);
        println!("{value}");
    }
    Ok(())
}

/// A command's arguments: the file named by `flag` (required), and at least one operand
/// (everything after `--` counts as an operand, even if it starts with `--`).
fn file_and_operands(
    args: &[String],
    flag: &str,
    operand: &str,
) -> Result<(String, Vec<String>), String> {
    let mut file = None;
    let mut operands = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            a if a == flag => {
                let name = rest.next().ok_or(format!("{flag} needs a file name"))?;
                file = Some(name.clone());
            }
            "--" => operands.extend(rest.by_ref().cloned()),
            a if a.starts_with("--") => {
                return Err(format!("unknown flag `{a}`\n{USAGE}"));
            }
            a => operands.push(a.to_owned()),
        }
    }
    let file = file.ok_or_else(|| format!("{flag} is required\n{USAGE}"))?;
    if operands.is_empty() {
        return Err(format!("no {operand}\n{USAGE}"));
    }
    Ok((file, operands))
}
