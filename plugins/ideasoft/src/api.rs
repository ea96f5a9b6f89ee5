//! Calls to the Admin API (`https://{store}.myideasoft.com/admin-api/…`,
//! reference §5) with a bearer token, and its statuses mapped to
//! `shop-error`.

use omnigate_plugin_sdk::commerce::ShopError;
use omnigate_plugin_sdk::types::RateLimit;
use omnigate_plugin_sdk::{config, http};
use serde_json::Value;

use crate::auth::Auth;

/// A slow store must not eat the whole call budget.
const TIMEOUT_MS: u32 = 10_000;

/// One store's Admin API.
pub struct Api {
    domain: String,
    auth: Auth,
}

impl Api {
    /// From the settings. The domain must be the store's
    /// `*.myideasoft.com` host, where the Admin API lives and which is all
    /// the manifest allows.
    pub fn from_config() -> Result<Api, ShopError> {
        let raw = config::require("store_domain").map_err(|e| ShopError::Invalid(e.to_string()))?;
        let domain = raw
            .trim()
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_ascii_lowercase();
        let ok = domain.strip_suffix(".myideasoft.com").is_some_and(|store| {
            !store.is_empty()
                && store
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        });
        if !ok {
            return Err(ShopError::Invalid(format!(
                "`store_domain` must be the store's magazam.myideasoft.com host, not `{raw}`"
            )));
        }
        let auth = Auth::load(&domain)?;
        Ok(Api { domain, auth })
    }

    /// `GET /admin-api/{path}`: `Ok(None)` on 404. An expired or revoked
    /// access token (401) is refreshed once and the call repeated.
    pub fn get(&self, path: &str) -> Result<Option<Value>, ShopError> {
        let url = format!("https://{}/admin-api/{path}", self.domain);
        let token = self.auth.access_token()?;
        let mut response = send(&url, &token)?;
        if response.status() == 401 {
            let token = self.auth.refresh()?;
            response = send(&url, &token)?;
        }
        let status = response.status();
        match status {
            200..=299 => response
                .json()
                .map(Some)
                .map_err(|e| ShopError::TransientUpstream(format!("Ideasoft answered {e}"))),
            404 => Ok(None),
            401 | 403 => Err(ShopError::Auth(format!(
                "Ideasoft refused the access token ({status})"
            ))),
            429 => Err(ShopError::RateLimited(RateLimit {
                retry_after_ms: response.retry_after_ms(),
                message: "Ideasoft rate limit".into(),
            })),
            400..=499 => Err(ShopError::Invalid(format!(
                "Ideasoft answered {status} for /admin-api/{path}"
            ))),
            _ => Err(ShopError::TransientUpstream(format!(
                "Ideasoft answered {status}"
            ))),
        }
    }
}

fn send(url: &str, token: &str) -> Result<http::Response, ShopError> {
    http::Request::get(url)
        .bearer(token)
        .header("Accept", "application/json")
        .timeout_ms(TIMEOUT_MS)
        .send()
        .map_err(transport_error)
}

/// A failed send: a refused host or URL is a configuration mistake, the
/// rest may pass.
pub fn transport_error(error: http::Error) -> ShopError {
    match error {
        http::Error::ForbiddenHost(m) | http::Error::InvalidRequest(m) => ShopError::Invalid(m),
        http::Error::Timeout => {
            ShopError::TransientUpstream("Ideasoft did not answer in time".into())
        }
        http::Error::Transport(m) => ShopError::TransientUpstream(m),
        http::Error::TooLarge(n) => {
            ShopError::TransientUpstream(format!("Ideasoft's answer is too large ({n} bytes)"))
        }
    }
}
