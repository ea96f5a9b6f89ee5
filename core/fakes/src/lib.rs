//! Local fake servers of the providers omnigate's first-party plugins call,
//! for tests only.
//!
//! External SaaS APIs are unreachable from a test machine, and a mock inside
//! the process under test would prove nothing about the wire. Each fake here
//! is a real HTTPS server on an ephemeral loopback port, with a certificate
//! for the provider's real host name signed by a per-server test CA, that
//! answers with the provider's documented wire format
//! (`../shared/reference/wire-formats.md`) and records every request it got.
//! The process under test reaches it by resolving the provider's host name to
//! the fake's address and trusting the fake's CA
//! ([`FakeServer::resolve_entry`], [`FakeServer::ca_pem`]), so plugins run
//! unchanged with their real URLs.

pub mod ideasoft;
pub mod multipart;
pub mod server;
pub mod shopify;
pub mod telegram;
pub mod ticimax;
pub mod webhook;
pub mod whatsapp;

pub use server::{FakeServer, Recorded};
pub use webhook::InboundWebhook;
