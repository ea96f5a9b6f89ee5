//! Structured logging through the host, which tags every record with the
//! plugin's id so `journalctl` shows whose line it is. Key/value fields
//! instead of formatted text keep records searchable.

use crate::bindings::omnigate::plugin::log as host;
pub use host::Level;

/// Logs `message` with `fields` at `level`.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    host::log(level, message, &fields);
}

/// Logs at debug level: detail for someone chasing a problem.
pub fn debug(message: &str, fields: &[(&str, &str)]) {
    log(Level::Debug, message, fields);
}

/// Logs at info level: something an admin may want to know happened.
pub fn info(message: &str, fields: &[(&str, &str)]) {
    log(Level::Info, message, fields);
}

/// Logs at warn level: something went wrong and was handled.
pub fn warn(message: &str, fields: &[(&str, &str)]) {
    log(Level::Warn, message, fields);
}

/// Logs at error level: something went wrong and a call failed.
pub fn error(message: &str, fields: &[(&str, &str)]) {
    log(Level::Error, message, fields);
}
