//! Log output: human-readable text (colours only on a terminal) or JSON lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LoggingSettings};

/// Installs the global subscriber. Logs go to standard error, which systemd
/// hands to journald.
pub fn init(settings: &LoggingSettings) {
    let filter = EnvFilter::try_new(&settings.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let installed = match settings.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
    if let Err(error) = installed {
        eprintln!("omnigate: could not install the logger: {error}");
    }
}
