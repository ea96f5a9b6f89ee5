//! The channel's settings and the one way this plugin talks to the Graph
//! API, so every call carries the token and maps failures the same way.

use omnigate_plugin_sdk::channel::ProviderError;
use omnigate_plugin_sdk::{config, http};

use crate::errors;

/// Host of every Graph API call.
pub const GRAPH_HOST: &str = "https://graph.facebook.com";

/// The version used when the admin leaves `api_version` empty. The host
/// does not apply manifest defaults to `config::get`, so the plugin does.
/// Reference 1: the current docs use `v25.0`; any `vNN.0` works.
pub const DEFAULT_API_VERSION: &str = "v25.0";

/// Graph API requests give up before the plugin's time budget, so a slow
/// upstream is reported as transient instead of killing the call.
const TIMEOUT_MS: u32 = 20_000;

/// A setting the plugin cannot work without is missing: nothing changes
/// until an admin fixes the channel, which is what `auth` means.
fn missing(e: omnigate_plugin_sdk::config::Missing) -> ProviderError {
    ProviderError::Auth(e.to_string())
}

/// `https://graph.facebook.com/{version}`.
pub fn base_url() -> String {
    let version = config::get("api_version")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_API_VERSION.to_owned());
    format!("{GRAPH_HOST}/{version}")
}

/// The phone number id messages are sent from.
pub fn phone_number_id() -> Result<String, ProviderError> {
    config::require("phone_number_id").map_err(missing)
}

/// The WhatsApp Business Account id, which owns the templates.
pub fn business_account_id() -> Result<String, ProviderError> {
    config::require("business_account_id").map_err(missing)
}

/// The access token sent as `Authorization: Bearer` on every call.
pub fn access_token() -> Result<String, ProviderError> {
    config::require_secret("access_token").map_err(missing)
}

/// Sends `request` with the bearer token. A transport failure is
/// transient (the host retries); a refused host or request is a
/// configuration problem no retry fixes.
pub fn send(request: http::Request) -> Result<http::Response, ProviderError> {
    let token = access_token()?;
    request
        .bearer(&token)
        .timeout_ms(TIMEOUT_MS)
        .send()
        .map_err(transport)
}

/// Sends `request` and returns the response only when it is a 2xx; any
/// other status becomes the provider error its Graph error code means.
pub fn send_ok(request: http::Request) -> Result<http::Response, ProviderError> {
    let response = send(request)?;
    if response.is_success() {
        Ok(response)
    } else {
        Err(errors::from_response(&response))
    }
}

/// Maps the host's HTTP failure onto the variant that decides retries.
pub fn transport(error: http::Error) -> ProviderError {
    match error {
        http::Error::ForbiddenHost(m) | http::Error::InvalidRequest(m) => {
            ProviderError::Rejected(m)
        }
        http::Error::Timeout => {
            ProviderError::TransientUpstream("the Graph API did not answer in time".into())
        }
        http::Error::Transport(m) => ProviderError::TransientUpstream(m),
        http::Error::TooLarge(limit) => ProviderError::UnsupportedContent(format!(
            "the request or its answer is larger than the appliance's limit of {limit} bytes"
        )),
    }
}
