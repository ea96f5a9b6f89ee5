//! The plugin host against the test plugins of `plugins/testing`, built by
//! `cargo xtask plugins` (which `cargo xtask test` runs first).

mod attachments;
mod faults;
mod kinds;
mod loading;
mod support;
mod well_behaved;
