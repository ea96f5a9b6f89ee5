//! The `omnigate` binary: thin glue between the command line, the config and
//! the library crates. `main` maps errors to exit codes; the work is in
//! [`commands`] and [`serve`].

mod allocator;
mod clock;
mod commands;
mod logging;
mod plugin_admin;
mod plugin_cli;
mod serve;
mod settings;
mod systemd;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// omnigate: on-prem omnichannel customer service in one binary.
#[derive(Debug, Parser)]
#[command(
    name = "omnigate",
    version,
    about = "omnigate: on-prem omnichannel customer service in one binary",
    long_about = None
)]
struct Cli {
    /// TOML config file; without it the built-in defaults apply, overridden by
    /// OMNIGATE_<SECTION>__<KEY> environment variables.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTPS server until SIGTERM or SIGINT.
    Serve,
    /// Administer users directly in the data directory (server stopped).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Work with the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Work with the message search index (server stopped).
    #[command(subcommand)]
    Search(SearchCommand),
    /// Plugins: check, sign and make keys (offline); install, list, enable,
    /// disable and remove them on the running server.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Validate a plugin component (interface version, exports, manifest)
    /// and print its manifest; exits 4 if it would be refused. With
    /// `--signature`, also checks it against `plugins.trusted_keys`.
    Check {
        /// A detached signature file (`omnigate plugin sign`); required when
        /// `plugins.require_signed` is on.
        #[arg(long, value_name = "FILE")]
        signature: Option<PathBuf>,
        /// The `.wasm` component.
        file: PathBuf,
    },
    /// Make an ed25519 signing key: writes the private key (owner-only) and
    /// prints the public key to list in `plugins.trusted_keys`.
    Keygen {
        /// Where to write the private key; an existing file is never replaced.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Sign a plugin: writes the base64 detached signature to `WASM.sig`.
    Sign {
        /// The private key file made by `plugin keygen`.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Where to write the signature (default: the component's path + `.sig`).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The `.wasm` component.
        wasm: PathBuf,
    },
    /// Install or upgrade a plugin on the running server.
    Install {
        #[command(flatten)]
        server: ServerArgs,
        /// Its detached signature (`plugin sign`); required when the server
        /// accepts signed plugins only.
        #[arg(long, value_name = "FILE")]
        signature: Option<PathBuf>,
        /// The `.wasm` component.
        wasm: PathBuf,
    },
    /// List the running server's plugins.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Load a disabled plugin, or one the circuit breaker stopped.
    Enable {
        #[command(flatten)]
        server: ServerArgs,
        /// The plugin's name.
        name: String,
    },
    /// Unload a plugin (its channels stop until it is enabled again).
    Disable {
        #[command(flatten)]
        server: ServerArgs,
        /// The plugin's name.
        name: String,
    },
    /// Remove a plugin and its stored data (refused while a channel uses it).
    Remove {
        #[command(flatten)]
        server: ServerArgs,
        /// The plugin's name.
        name: String,
    },
}

/// How the plugin commands reach the running server.
#[derive(Debug, Args)]
struct ServerArgs {
    /// The server's base URL (default: `server.listen`, over loopback when it
    /// listens on every address).
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// An admin's API token.
    #[arg(long, env = settings::API_TOKEN_ENV, hide_env_values = true)]
    token: String,
}

impl ServerArgs {
    fn target(self) -> plugin_admin::Target {
        plugin_admin::Target {
            server: self.server,
            token: self.token,
        }
    }
}

#[derive(Debug, Subcommand)]
enum SearchCommand {
    /// Drop the search index and build it again from the stored messages.
    Rebuild,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a user. The password is read from standard input when it is not
    /// a terminal; otherwise one is generated and printed once.
    CreateUser(CreateUserArgs),
    /// List users.
    ListUsers,
}

#[derive(Debug, Args)]
struct CreateUserArgs {
    /// Login e-mail address.
    #[arg(long)]
    email: String,
    /// Name shown in the console.
    #[arg(long)]
    name: String,
    /// admin, supervisor or agent.
    #[arg(long)]
    role: String,
    /// Do nothing (successfully) if any user exists already; for first-start
    /// scripts that must be safe to run twice.
    #[arg(long)]
    if_no_users: bool,
    /// Generate a password and print it once, even when standard input is not
    /// a terminal (for first-start scripts).
    #[arg(long)]
    generate_password: bool,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print the effective values (secrets redacted).
    Check,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and name the first broken record.
    Verify,
}

/// Exit codes, so scripts can tell failures apart.
mod exit {
    /// Bad configuration or usage.
    pub const CONFIG: u8 = 2;
    /// A runtime failure.
    pub const FAILURE: u8 = 1;
    /// The audit chain is broken.
    pub const AUDIT_BROKEN: u8 = 3;
    /// A plugin component was refused (`plugin check`).
    pub const PLUGIN_REFUSED: u8 = 4;
}

fn main() -> ExitCode {
    allocator::return_large_blocks_to_the_system();
    let cli = Cli::parse();
    let settings = match settings::Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("omnigate: {error}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    match cli.command {
        Command::Serve => {
            logging::init(&settings.logging);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("omnigate: cannot start the async runtime: {error}");
                    return ExitCode::from(exit::FAILURE);
                }
            };
            match runtime.block_on(serve::run(settings, cli.config.as_deref())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!(%error, "omnigate stopped with an error");
                    eprintln!("omnigate: {error}");
                    let code = match error {
                        serve::ServeError::Config(_) => exit::CONFIG,
                        serve::ServeError::Runtime(_) => exit::FAILURE,
                    };
                    ExitCode::from(code)
                }
            }
        }
        Command::Config(ConfigCommand::Check) => {
            commands::config_check(&settings, cli.config.as_deref())
        }
        Command::Admin(AdminCommand::CreateUser(args)) => commands::create_user(&settings, &args),
        Command::Admin(AdminCommand::ListUsers) => commands::list_users(&settings),
        Command::Audit(AuditCommand::Verify) => commands::audit_verify(&settings),
        Command::Search(SearchCommand::Rebuild) => commands::search_rebuild(&settings),
        Command::Plugin(PluginCommand::Check { signature, file }) => {
            plugin_cli::check(&settings, &file, signature.as_deref())
        }
        Command::Plugin(PluginCommand::Keygen { out }) => plugin_cli::keygen(&out),
        Command::Plugin(PluginCommand::Sign { key, out, wasm }) => {
            plugin_cli::sign(&key, &wasm, out.as_deref())
        }
        Command::Plugin(PluginCommand::Install {
            server,
            signature,
            wasm,
        }) => plugin_admin::run(
            &settings,
            &server.target(),
            plugin_admin::Operation::Install { wasm, signature },
        ),
        Command::Plugin(PluginCommand::List { server }) => {
            plugin_admin::run(&settings, &server.target(), plugin_admin::Operation::List)
        }
        Command::Plugin(PluginCommand::Enable { server, name }) => plugin_admin::run(
            &settings,
            &server.target(),
            plugin_admin::Operation::Enable(name),
        ),
        Command::Plugin(PluginCommand::Disable { server, name }) => plugin_admin::run(
            &settings,
            &server.target(),
            plugin_admin::Operation::Disable(name),
        ),
        Command::Plugin(PluginCommand::Remove { server, name }) => plugin_admin::run(
            &settings,
            &server.target(),
            plugin_admin::Operation::Remove(name),
        ),
    }
}
