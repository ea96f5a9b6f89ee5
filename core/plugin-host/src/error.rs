//! Why a plugin call failed, naming the plugin, the function and the cause,
//! so an admin reading the log or the dead-letter list knows whom to blame.

use std::time::Duration;

/// What went wrong inside (or around) a plugin call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The call ran past its time budget and was interrupted.
    Timeout {
        /// The manifest's `budgets.time_ms`.
        budget: Duration,
    },
    /// The plugin tried to grow its memory past its budget.
    MemoryCap {
        /// The manifest's budget, in bytes.
        limit_bytes: usize,
    },
    /// The plugin trapped (a Rust panic ends here); the message includes
    /// what the plugin wrote to stderr, which is where a panic's text goes.
    Trap {
        /// The trap and the plugin's last words.
        message: String,
    },
    /// The result exceeded the host's output cap.
    OutputTooLarge {
        /// The cap, in bytes of the result's JSON form.
        limit_bytes: usize,
    },
    /// The circuit breaker has disabled the plugin after repeated failures.
    Disabled {
        /// Consecutive failures that tripped it.
        failures: u32,
    },
    /// The host could not set up the call (instantiation failed).
    Host {
        /// The underlying error.
        message: String,
    },
}

/// A failed plugin call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin `{plugin}` failed in `{function}`: {cause}")]
pub struct PluginError {
    /// The plugin's manifest name and version (`whatsapp-cloud@1.2.0`).
    pub plugin: String,
    /// The WIT function called (`parse-webhook`).
    pub function: &'static str,
    /// What happened.
    pub cause: Cause,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Timeout { budget } => write!(
                f,
                "interrupted after its time budget of {} ms",
                budget.as_millis()
            ),
            Cause::MemoryCap { limit_bytes } => write!(
                f,
                "stopped at its memory budget of {} MiB",
                limit_bytes / (1024 * 1024)
            ),
            Cause::Trap { message } => write!(f, "trapped: {message}"),
            Cause::OutputTooLarge { limit_bytes } => {
                write!(f, "returned more than the {limit_bytes}-byte output cap")
            }
            Cause::Disabled { failures } => write!(
                f,
                "disabled by the circuit breaker after {failures} consecutive failures"
            ),
            Cause::Host { message } => write!(f, "host error: {message}"),
        }
    }
}

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a valid component for this engine.
    #[error("not a loadable WASM component: {0}")]
    Compile(String),
    /// Built against an interface version this host does not link.
    #[error("{0}")]
    Interface(String),
    /// The embedded manifest is missing or invalid.
    #[error("{0}")]
    Manifest(#[from] crate::manifest::ManifestError),
    /// Reading the manifest from the component failed.
    #[error("reading the manifest: {0}")]
    ManifestCall(String),
    /// The component's imports cannot be satisfied.
    #[error("cannot link: {0}")]
    Link(String),
    /// The compiled-artifact cache could not be read or written.
    #[error("compiled-artifact cache: {0}")]
    Cache(String),
}
