//! The host's clock. The sandbox has no clock of its own that tests could
//! move, so plugins ask the host, which tests drive.

use crate::bindings::omnigate::plugin::clock as host;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    host::now_ms()
}
