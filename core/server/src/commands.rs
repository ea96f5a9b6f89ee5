//! The administrative subcommands. Each opens the data directory itself, so
//! they run while the server is stopped (the directory lock says so otherwise).

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use omnigate_api::auth::{password, secret};
use omnigate_domain::{
    Actor, AuditAction, AuditEvent, Clock, DisplayName, Email, PasswordPolicy, Role, SystemClock,
};
use omnigate_store::{NewUser, Store};
use serde_json::json;

use crate::CreateUserArgs;
use crate::exit;
use crate::settings::Settings;

fn fail(message: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("omnigate: {message}");
    ExitCode::from(code)
}

/// Writes to stdout; a closed pipe (`| head`) is a normal end, not an error.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

pub(crate) fn config_check(settings: &Settings, file: Option<&Path>) -> ExitCode {
    // Configured certificate files are read and paired now, so a typo fails
    // the check (and systemd's ExecStartPre) rather than the start.
    if settings.server.tls.cert.is_some()
        && let Err(error) = crate::tls::load(
            &settings.server.tls,
            &settings.storage.data_dir,
            settings.server.listen,
        )
    {
        return fail(error, exit::CONFIG);
    }
    match settings.to_redacted_toml() {
        Ok(text) => {
            let source = file.map_or_else(
                || "built-in defaults".to_owned(),
                |p| p.display().to_string(),
            );
            print(&format!(
                "# configuration is valid ({source} + environment)\n{text}"
            ));
            ExitCode::SUCCESS
        }
        Err(error) => fail(error, exit::CONFIG),
    }
}

pub(crate) fn create_user(settings: &Settings, args: &CreateUserArgs) -> ExitCode {
    let email = match Email::parse(&args.email) {
        Ok(email) => email,
        Err(error) => return fail(format!("--email: {}", error.message), exit::CONFIG),
    };
    let name = match DisplayName::parse(&args.name) {
        Ok(name) => name,
        Err(error) => return fail(format!("--name: {}", error.message), exit::CONFIG),
    };
    let role: Role = match args.role.parse() {
        Ok(role) => role,
        Err(error) => return fail(format!("--role: {}", error.message), exit::CONFIG),
    };
    let store = match Store::open_with(&settings.storage.data_dir, &settings.store_options()) {
        Ok(store) => store,
        Err(error) => return fail(error, exit::FAILURE),
    };
    if args.if_no_users && store.user_count() > 0 {
        print("users exist already; nothing created\n");
        return ExitCode::SUCCESS;
    }
    let policy = PasswordPolicy {
        min_chars: settings.auth.min_password_length,
    };
    let stdin = std::io::stdin();
    let (password, generated) = if args.generate_password || stdin.is_terminal() {
        (secret::generated_password(policy), true)
    } else {
        let mut text = String::new();
        if let Err(error) = stdin.lock().read_to_string(&mut text) {
            return fail(
                format!("reading the password from standard input: {error}"),
                exit::FAILURE,
            );
        }
        let line = text.strip_suffix('\n').unwrap_or(&text);
        (line.strip_suffix('\r').unwrap_or(line).to_owned(), false)
    };
    if let Err(error) = policy.check(&password) {
        return fail(
            format!("password from standard input: {}", error.message),
            exit::CONFIG,
        );
    }
    let hash = match password::hash_password_blocking(&password) {
        Ok(hash) => hash,
        Err(error) => return fail(format!("hashing the password: {error}"), exit::FAILURE),
    };
    let now = SystemClock.now();
    let user = match store.create_user(NewUser {
        email,
        display_name: name,
        role,
        password_hash: hash,
        created_at: now,
    }) {
        Ok(user) => user,
        Err(error) => return fail(error, exit::FAILURE),
    };
    let event = AuditEvent::new(Actor::Cli, AuditAction::UserCreated)
        .target(format!("user:{}", user.id))
        .source(Some("cli".into()))
        .detail(json!({ "email": user.email.as_str(), "role": user.role.as_str() }).to_string());
    if let Err(error) = store
        .append_audit(&event, now)
        .and_then(|_| store.flush_blocking())
    {
        return fail(error, exit::FAILURE);
    }
    print(&format!(
        "created {} user {} (id {})\n",
        user.role, user.email, user.id
    ));
    if generated {
        print(&format!(
            "password: {password}\nIt is shown only this once; the user should change it after logging in.\n"
        ));
    }
    ExitCode::SUCCESS
}

pub(crate) fn list_users(settings: &Settings) -> ExitCode {
    let store = match Store::open_with(&settings.storage.data_dir, &settings.store_options()) {
        Ok(store) => store,
        Err(error) => return fail(error, exit::FAILURE),
    };
    match store.users() {
        Ok(users) => {
            let mut text = format!(
                "{:>6}  {:<10}  {:<8}  {:<32}  {}\n",
                "id", "role", "state", "email", "name"
            );
            for user in users {
                let state = if user.disabled { "disabled" } else { "enabled" };
                text.push_str(&format!(
                    "{:>6}  {:<10}  {:<8}  {:<32}  {}\n",
                    user.id, user.role, state, user.email, user.display_name
                ));
            }
            print(&text);
            ExitCode::SUCCESS
        }
        Err(error) => fail(error, exit::FAILURE),
    }
}

pub(crate) fn audit_verify(settings: &Settings) -> ExitCode {
    let store = match Store::open_with(&settings.storage.data_dir, &settings.store_options()) {
        Ok(store) => store,
        Err(error) => return fail(error, exit::FAILURE),
    };
    match store.verify_audit_chain() {
        Ok(report) => match report.broken {
            None => {
                print(&format!(
                    "audit log intact: {} records verified\n",
                    report.verified
                ));
                ExitCode::SUCCESS
            }
            Some(broken) => fail(
                format!(
                    "audit log broken at record {}: {} ({} records before it verified)",
                    broken.seq, broken.reason, report.verified
                ),
                exit::AUDIT_BROKEN,
            ),
        },
        Err(error) => fail(error, exit::FAILURE),
    }
}

/// `omnigate search rebuild`: the index is derived data; this recreates it
/// from the store (the server must be stopped: it holds the data directory).
pub(crate) fn search_rebuild(settings: &Settings) -> ExitCode {
    let store = match Store::open_with(&settings.storage.data_dir, &settings.store_options()) {
        Ok(store) => store,
        Err(error) => return fail(error, exit::FAILURE),
    };
    let dir = store.dir().join("search");
    let index = match omnigate_search::SearchIndex::open(&dir, 64 * 1024 * 1024) {
        Ok(index) => index,
        Err(error) => return fail(error, exit::FAILURE),
    };
    let started = std::time::Instant::now();
    match omnigate_engine::indexing::rebuild(&store, &index) {
        Ok(count) => {
            print(&format!(
                "search index rebuilt: {count} messages in {:.1} s\n",
                started.elapsed().as_secs_f64()
            ));
            ExitCode::SUCCESS
        }
        Err(error) => fail(error, exit::FAILURE),
    }
}
