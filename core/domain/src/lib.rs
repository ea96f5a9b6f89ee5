//! omnigate's vocabulary and rules, free of I/O.
//!
//! Everything here is a plain value or a pure function of its inputs and an
//! injected [`Timestamp`], so every rule can be tested deterministically. The
//! store, the API and the plugin host depend on this crate; it depends on none
//! of them (its manifest has no tokio, sled, axum or wasmtime line), which keeps
//! the rules reusable and the tests fast.

pub mod audit;
pub mod conversation;
pub mod permission;
pub mod routing;
pub mod throttle;
pub mod time;
pub mod user;

pub use audit::{Actor, AuditAction, AuditEvent};
pub use permission::Permission;
pub use throttle::{LoginThrottle, Refusal, ThrottlePolicy};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
pub use user::{DisplayName, Email, PasswordPolicy, Role, User, UserId, ValidationError};
