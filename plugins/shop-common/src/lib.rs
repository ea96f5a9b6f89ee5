//! What the first-party shop integrations (Shopify, Ticimax, Ideasoft)
//! share. Everything here is plain Rust without host imports, so
//! `cargo test -p shop-common` runs it natively.
//!
//! - [`decimal`]: shops send prices as decimal text, and the interface
//!   carries money as decimal strings, never floats; Ticimax and Ideasoft
//!   need VAT and discounts applied, which this does exactly.
//! - [`phone`]: channels give numbers in international form without `+`
//!   (WhatsApp's `905321112233`); shops store them every which way.
//! - [`text`]: product-name matching for shops without a name filter,
//!   insensitive to case the Turkish way (`İ`/`I`/`ı`/`i`).
//! - [`time`]: shops that send local wall-clock times without an offset.
//! - [`url`]: query strings and form bodies, percent-encoded.

pub mod decimal;
pub mod phone;
pub mod text;
pub mod time;
pub mod url;
