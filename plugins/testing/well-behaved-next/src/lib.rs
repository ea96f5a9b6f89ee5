//! The well-behaved channel, built as its next version (0.2.0, same name):
//! what the upgrade tests install over a running 0.1.0.

include!("../../well-behaved/src/channel.rs");
