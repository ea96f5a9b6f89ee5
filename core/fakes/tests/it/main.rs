//! The first-party plugins, built from source, against the local fake
//! providers, through the production HTTP client: what a plugin sends is
//! checked where it arrives, on the wire.

mod channel_harness;
mod ideasoft;
mod plugin_http;
mod shopify;
mod support;
mod telegram;
mod ticimax;
mod whatsapp_cloud;
