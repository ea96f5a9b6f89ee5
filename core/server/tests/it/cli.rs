//! The command line: config check, user creation, exit codes.

use crate::harness::{omnigate, run_cli};

#[test]
fn version_and_help_list_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = omnigate(dir.path()).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("omnigate "));
    let out = omnigate(dir.path()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["serve", "admin", "config", "audit", "plugin"] {
        assert!(help.contains(command), "{help}");
    }
}

#[test]
fn config_check_prints_the_effective_config_and_refuses_errors_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cli(dir.path(), &["config", "check"], "");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("listen = \"127.0.0.1:0\""), "{text}");

    let file = dir.path().join("omnigate.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"127.0.0.1:9443\"\nbody_limit = 5\n",
    )
    .unwrap();
    let out = run_cli(
        dir.path(),
        &["--config", file.to_str().unwrap(), "config", "check"],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("server.body_limit") && stderr.contains("omnigate.toml"),
        "{stderr}"
    );

    let out = omnigate(dir.path())
        .env("OMNIGATE_SERVER__LISTEN", "nowhere")
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("server.listen"), "{stderr}");

    // Configured certificate files are checked too.
    let out = omnigate(dir.path())
        .env("OMNIGATE_SERVER__TLS__CERT", "/nonexistent/fullchain.pem")
        .env("OMNIGATE_SERVER__TLS__KEY", "/nonexistent/privkey.pem")
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("server.tls.cert") && stderr.contains("/nonexistent/fullchain.pem"),
        "{stderr}"
    );

    // serve refuses the same way, before touching anything.
    let out = omnigate(dir.path())
        .env("OMNIGATE_AUTH__LOCKOUT_SECS", "0")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("auth.lockout_secs"));
}

#[test]
fn create_user_reads_the_password_from_stdin_and_validates_input() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "admin",
        "create-user",
        "--email",
        "Boss@Example.com",
        "--name",
        "Boss",
        "--role",
        "admin",
    ];
    let out = run_cli(dir.path(), &args, "short\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));

    let out = run_cli(dir.path(), &args, "a perfectly fine password\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("boss@example.com"), "{stdout}");
    assert!(
        !stdout.contains("password:"),
        "a given password is not echoed: {stdout}"
    );

    let out = run_cli(dir.path(), &args, "a perfectly fine password\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));

    let mut bad_role = args;
    bad_role[7] = "root";
    let out = run_cli(dir.path(), &bad_role, "a perfectly fine password\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--role"));

    let mut first_only = args.to_vec();
    first_only.push("--if-no-users");
    let out = run_cli(dir.path(), &first_only, "a perfectly fine password\n");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing created"));

    let out = run_cli(dir.path(), &["admin", "list-users"], "");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("boss@example.com") && listing.contains("admin"),
        "{listing}"
    );
}

#[test]
fn on_a_terminal_create_user_generates_a_password_and_prints_it_once() {
    let dir = tempfile::tempdir().unwrap();
    // `script` gives the command a pseudo-terminal, as an admin's shell would.
    let command = format!(
        "OMNIGATE_STORAGE__DATA_DIR={} {} admin create-user --email ops@example.com --name Ops --role admin",
        dir.path().display(),
        crate::harness::BIN
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let password = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .unwrap_or_else(|| panic!("no password printed: {text}"));
    assert_eq!(password.len(), 20, "{text}");
    assert!(text.contains("shown only this once"), "{text}");
}

/// A test plugin built by `cargo xtask plugins`.
fn test_plugin(name: &str) -> std::path::PathBuf {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/target/wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "test plugin {} missing: run `cargo xtask plugins` first",
        path.display()
    );
    path
}

#[test]
fn plugin_check_accepts_a_good_component_and_explains_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let good = test_plugin("well_behaved");
    let out = run_cli(dir.path(), &["plugin", "check", good.to_str().unwrap()], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(": ok") && text.contains("kind: channel"),
        "{text}"
    );
    assert!(text.contains("interface: omnigate:plugin@0.1.2"), "{text}");
    assert!(text.contains("signed by: (not signed)"), "{text}");
    // `check` never touches the data directory.
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());

    let future = test_plugin("future_interface");
    let out = run_cli(
        dir.path(),
        &["plugin", "check", future.to_str().unwrap()],
        "",
    );
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refused") && stderr.contains("does not support"),
        "{stderr}"
    );

    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"not a component").unwrap();
    let out = run_cli(dir.path(), &["plugin", "check", junk.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loadable WASM component"));
}

#[test]
fn plugin_keygen_sign_and_check_in_signed_only_mode() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("author.key");
    let out = run_cli(
        dir.path(),
        &["plugin", "keygen", "--out", key.to_str().unwrap()],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("public key (add to plugins.trusted_keys): "))
        .unwrap()
        .to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // An existing key is never overwritten.
    let again = run_cli(
        dir.path(),
        &["plugin", "keygen", "--out", key.to_str().unwrap()],
        "",
    );
    assert!(!again.status.success());

    let wasm = dir.path().join("plugin.wasm");
    std::fs::copy(test_plugin("well_behaved"), &wasm).unwrap();
    let out = run_cli(
        dir.path(),
        &[
            "plugin",
            "sign",
            "--key",
            key.to_str().unwrap(),
            wasm.to_str().unwrap(),
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sig = dir.path().join("plugin.wasm.sig");
    assert!(sig.is_file());

    let signed_only = |args: &[&str]| {
        crate::harness::omnigate(dir.path())
            .env("OMNIGATE_PLUGINS__TRUSTED_KEYS", &public)
            .env("OMNIGATE_PLUGINS__REQUIRE_SIGNED", "true")
            .args(args)
            .output()
            .unwrap()
    };
    let out = signed_only(&["plugin", "check", wasm.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plugins.require_signed"));

    let out = signed_only(&[
        "plugin",
        "check",
        "--signature",
        sig.to_str().unwrap(),
        wasm.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("signed by: key "), "{text}");

    // The signature covers the bytes: another component under it is refused.
    let other = test_plugin("echo_flow");
    let out = signed_only(&[
        "plugin",
        "check",
        "--signature",
        sig.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match"));
}
