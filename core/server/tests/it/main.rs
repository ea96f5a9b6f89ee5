//! Integration tests: the real `omnigate` binary on an ephemeral port with a
//! temporary data directory, spoken to over HTTPS by a client that trusts the
//! certificate the server generated. One test binary (modules below) so it
//! links once.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod desk_helpers;
mod harness;
mod live;

mod attachments;
mod audit;
mod auth;
mod cli;
mod conversations;
mod delivery;
mod errors;
mod flows;
mod plugins;
mod roles;
mod search;
mod server;
mod users;
