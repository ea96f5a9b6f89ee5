//! A well-behaved channel: WhatsApp Cloud-shaped webhooks in (text messages
//! and delivery statuses, signed with `X-Hub-Signature-256` when an
//! `app_secret` is set), JSON sends out to the one host its manifest allows.
//! The host's tests and benchmark use it as the typical plugin.

include!("channel.rs");
