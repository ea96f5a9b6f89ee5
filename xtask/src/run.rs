//! `cargo xtask run`: the one command that gives a newcomer a working server.

use std::process::Command;

use crate::util::{cargo, root, run_ok};

const FIRST_ADMIN: &str = "admin@localhost";

pub fn run(args: &[String]) -> Result<(), String> {
    let (ours, serve_args) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let release = ours.iter().any(|a| a == "--release");
    if let Some(unknown) = ours.iter().find(|a| *a != "--release") {
        return Err(format!("unknown option `{unknown}` for `run`"));
    }
    let mut build = cargo();
    build.args(["build", "--locked", "-p", "omnigate"]);
    if release {
        build.arg("--release");
    }
    run_ok(&mut build, "building omnigate")?;
    // The first-party plugins, built from source, go to the drop-in
    // directory; the server installs what is new at start.
    crate::plugins::build()?;
    let dropins = std::env::var_os("OMNIGATE_PLUGINS__DIR").map_or_else(
        || root().join("data").join("plugins"),
        std::path::PathBuf::from,
    );
    crate::plugins::stage_first_party(&dropins)?;
    let binary = root()
        .join("target")
        .join(if release { "release" } else { "debug" })
        .join("omnigate");

    // An empty data dir gets a first admin; the password is printed once.
    let status = Command::new(&binary)
        .current_dir(root())
        .args([
            "admin",
            "create-user",
            "--email",
            FIRST_ADMIN,
            "--name",
            "Administrator",
        ])
        .args(["--role", "admin", "--if-no-users", "--generate-password"])
        .args(config_option(serve_args))
        .status()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if !status.success() {
        return Err("creating the first admin failed (see above)".into());
    }
    eprintln!(
        "\nxtask: starting omnigate at https://127.0.0.1:8443/ (self-signed certificate; the web console at /, the JSON API under /api/v1/, first-party plugins from plugins/).\n\
         xtask: log in as {FIRST_ADMIN} with the password printed above (on later runs: the one you kept),\n\
         xtask: e.g. curl -k -c jar -H 'content-type: application/json' -d '{{\"email\":\"{FIRST_ADMIN}\",\"password\":\"...\"}}' https://127.0.0.1:8443/api/v1/auth/login\n\
         xtask: data lives in ./data; stop with Ctrl-C.\n"
    );
    let status = Command::new(&binary)
        .current_dir(root())
        .arg("serve")
        .args(serve_args)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("omnigate serve exited with {status}"))
    }
}

/// The `--config FILE` (or `-c FILE`) among the serve arguments, so the first
/// admin is created in the data directory that config names.
fn config_option(serve_args: &[String]) -> Vec<String> {
    serve_args
        .windows(2)
        .find(|pair| pair[0] == "--config" || pair[0] == "-c")
        .map(<[String]>::to_vec)
        .unwrap_or_default()
}
