//! A complete OAuth 2.0 authorization server on axum with in-memory stores.
//!
//! ```text
//! cargo run --example server -- [--seed FILE] [--addr HOST:PORT] [--issuer URL]
//!     [--allow-cimd] [--cimd-insecure-loopback]
//! ```
//!
//! Defaults: `--seed examples/seed.json`, `--addr 127.0.0.1:8080`, issuer `http://<addr>`.
//! The seed file format is documented in docs/example-server.md.

mod app;

use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: server [--seed FILE] [--addr HOST:PORT] [--issuer URL] \
                     [--allow-cimd] [--cimd-insecure-loopback]";

struct Args {
    seed: String,
    addr: String,
    issuer: Option<String>,
    options: app::Options,
    help: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seed: "examples/seed.json".into(),
        addr: "127.0.0.1:8080".into(),
        issuer: None,
        options: app::Options::default(),
        help: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--seed" => args.seed = value()?,
            "--addr" => args.addr = value()?,
            "--issuer" => args.issuer = Some(value()?),
            "--allow-cimd" => args.options.allow_cimd = true,
            "--cimd-insecure-loopback" => args.options.cimd_insecure_loopback = true,
            "--help" | "-h" => args.help = true,
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("server: {e}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    // The flags first, then the whole seed, before the port is bound: a mistake is reported
    // naming the flag or the seed's field, and nothing listens until everything is right.
    let provisional = args
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.addr));
    if let Err(e) = portcullis::ServerSettings::new(&provisional) {
        let flag = if args.issuer.is_some() {
            "--issuer"
        } else {
            "--addr"
        };
        eprintln!("server: {flag}: {}", e.reason);
        return ExitCode::from(2);
    }
    let load = || app::load_seed(&args.seed);
    let seed = match load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("server: {e}");
            return ExitCode::from(2);
        }
    };
    if args.options.cimd_insecure_loopback && !args.options.allow_cimd {
        eprintln!("server: --cimd-insecure-loopback: needs --allow-cimd");
        return ExitCode::from(2);
    }
    let checked = app::build_with(
        seed,
        &provisional,
        Arc::new(portcullis::SystemClock),
        args.options,
    )
    .await;
    if let Err(e) = checked {
        eprintln!("server: {}: {e}", args.seed);
        return ExitCode::from(2);
    }
    let seed = match load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("server: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&args.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("server: --addr {}: {e}", args.addr);
            return ExitCode::from(2);
        }
    };
    let bound = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or(args.addr.clone());
    let issuer = args.issuer.unwrap_or_else(|| format!("http://{bound}"));
    let users: Vec<(String, String)> = seed
        .users
        .iter()
        .map(|u| (u.username.clone(), u.password.clone()))
        .collect();
    let clients: Vec<(String, Option<String>)> = seed
        .clients
        .iter()
        .map(|c| (c.client_id.clone(), c.client_secret.clone()))
        .collect();
    let built = app::build_with(
        seed,
        &issuer,
        Arc::new(portcullis::SystemClock),
        args.options,
    )
    .await;
    let (router, app) = match built {
        Ok(r) => r,
        // Checked above with the same seed; only the issuer's port can differ (`--addr` with
        // port 0), and it is the one just bound.
        Err(e) => {
            eprintln!("server: {e}");
            return ExitCode::from(2);
        }
    };

    let base = issuer.trim_end_matches('/');
    println!("portcullis demo authorization server on http://{bound}");
    println!("  issuer         {issuer}");
    println!("  metadata       {base}/.well-known/oauth-authorization-server");
    println!("  authorize      {base}/authorize");
    println!("  token          {base}/token");
    println!("  introspect     {base}/introspect");
    println!("  revoke         {base}/revoke");
    println!("  jwks           {base}/jwks.json");
    println!(
        "  protected API  {base}/api/me  (resource metadata: {base}/.well-known/oauth-protected-resource)"
    );
    println!("demo users:");
    for (u, p) in &users {
        println!("  {u} / {p}");
    }
    println!("demo clients:");
    for (id, secret) in &clients {
        match secret {
            Some(s) => println!("  {id} (confidential, secret {s})"),
            None => println!("  {id} (public)"),
        }
    }
    let modules = app.federation.modules();
    let listed = modules.list().await.unwrap_or_default();
    if !listed.is_empty() {
        println!("auth modules (register each redirect URI at its provider):");
        for m in listed {
            println!(
                "  {} ({}{}{})  redirect URI {}",
                m.id,
                m.settings.name,
                if m.enabled { "" } else { ", disabled" },
                if m.default { ", default" } else { "" },
                modules.redirect_uri(&m.id)
            );
        }
    }
    println!("Press Ctrl-C to stop.");

    // Expired codes, tokens and sessions go every minute.
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every.tick().await;
            app.purge().await;
        }
    });

    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        println!("shutting down");
    };
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("server: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
