//! Write omnigate plugins in Rust.
//!
//! A plugin is a WASM component (built with `cargo build --release --target
//! wasm32-wasip2`) that implements one of three kinds against the
//! `omnigate:plugin@0.1.2` WIT package:
//!
//! - a **channel** ([`channel::Channel`], exported with [`export_channel!`])
//!   turns a provider's webhooks into normalized events and sends messages;
//! - a **flow** ([`flow::Flow`], [`export_flow!`]) runs a chatbot
//!   conversation as a list of actions, with its state kept by the host;
//! - a **commerce** integration ([`commerce::Commerce`],
//!   [`export_commerce!`]) finds products and a customer's orders.
//!
//! The sandbox has no network, files, environment or clock of its own: the
//! host grants [`http`] (only to the hosts the manifest allows), [`kv`]
//! storage with a quota, [`config`] values and secrets, [`log`], [`clock`]
//! and [`crypto`] (hashing at native speed); a channel's `send` may also
//! read the message's files through [`attachments`]. Every plugin crate
//! carries an `omnigate-plugin.toml` manifest beside its `Cargo.toml`; the
//! export macro embeds it in the component, so the `.wasm` file is all an
//! admin installs.
//!
//! ```text
//! struct Echo;
//! impl omnigate_plugin_sdk::channel::Channel for Echo { /* ... */ }
//! omnigate_plugin_sdk::export_channel!(Echo);
//! ```

pub mod attachments;
pub mod channel;
pub mod clock;
pub mod commerce;
pub mod config;
pub mod crypto;
pub mod flow;
pub mod http;
pub mod json;
pub mod kv;
pub mod log;
pub mod signature;
pub mod types;

/// The generated bindings of the `sdk` world: every host import and shared
/// type. Plugins use the re-exports in the other modules; the export macros
/// point `wit-bindgen` here so plugin code and SDK helpers share one set of
/// types.
#[doc(hidden)]
#[allow(unsafe_code, missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "sdk",
        path: "wit",
        generate_unused_types: true,
    });
}

pub use omnigate_plugin_sdk_macros::{export_channel, export_commerce, export_flow};

/// What the export macros expand to needs; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
}

/// The WIT package version this SDK builds plugins against; the host checks
/// it in the component's import and export names before running anything.
pub const INTERFACE_VERSION: &str = "0.1.1";
