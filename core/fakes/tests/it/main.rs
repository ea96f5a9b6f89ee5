//! The first-party plugins against the fake providers: each test loads a
//! component built by `cargo xtask plugins` into a plugin host whose HTTP
//! client reaches the fakes over HTTPS under the providers' real host names.

mod channel_harness;
mod telegram;
mod whatsapp_cloud;
