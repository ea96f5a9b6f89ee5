//! Handlers, one module per area of the API.

pub(crate) mod account;
pub(crate) mod attachments;
pub(crate) mod audit;
pub(crate) mod canned;
pub(crate) mod channels;
pub(crate) mod conversations;
pub(crate) mod deliveries;
pub(crate) mod desk;
pub(crate) mod events;
pub(crate) mod flows;
pub(crate) mod health;
pub(crate) mod plugin_settings;
pub(crate) mod plugins;
pub(crate) mod shops;
pub(crate) mod templates;
pub(crate) mod tokens;
pub(crate) mod users;

use axum::http::{Method, Uri};

use crate::error::ApiError;

/// Any path no route matches.
pub(crate) async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

/// A known path with a method it does not support.
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not accept {method}", uri.path()),
    )
}
