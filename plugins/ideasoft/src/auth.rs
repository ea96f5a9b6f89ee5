//! OAuth2 for the Admin API (reference §5 [M]): access tokens last about
//! a day, so the plugin refreshes them with the admin's refresh token
//! (`POST /oauth/v2/token`, `grant_type=refresh_token`) and keeps the
//! current pair in its storage. Refresh tokens rotate, so after the first
//! refresh the stored one is the live one; a new refresh token in the
//! settings (the admin re-authorized) replaces the stored pair.

use omnigate_plugin_sdk::commerce::ShopError;
use omnigate_plugin_sdk::types::RateLimit;
use omnigate_plugin_sdk::{clock, config, http, json, kv, log};
use serde::{Deserialize, Serialize};

/// Refresh this long before the token expires, so a call never starts
/// with a token about to lapse.
const EXPIRY_MARGIN_MS: u64 = 60_000;
/// When the token answer omits `expires_in`: Ideasoft's usual day, less
/// an hour.
const DEFAULT_EXPIRES_IN_S: u64 = 23 * 3600;

/// What is stored per store.
#[derive(Serialize, Deserialize)]
struct Stored {
    access_token: String,
    refresh_token: String,
    expires_at_ms: u64,
    /// Fingerprint of the configured refresh token this pair descends
    /// from: when the admin sets a new one, the pair is stale.
    seed: String,
}

/// `{access_token, token_type, expires_in, refresh_token}`.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct OauthError {
    error: Option<String>,
    error_description: Option<String>,
}

/// The OAuth2 client of one store.
pub struct Auth {
    domain: String,
    client_id: String,
    client_secret: String,
    configured_refresh: String,
}

impl Auth {
    /// From the secrets.
    pub fn load(domain: &str) -> Result<Auth, ShopError> {
        let secret = |key: &str| {
            config::require_secret(key)
                .map(|s| s.trim().to_owned())
                .map_err(|e| ShopError::Auth(e.to_string()))
        };
        Ok(Auth {
            domain: domain.to_owned(),
            client_id: secret("client_id")?,
            client_secret: secret("client_secret")?,
            configured_refresh: secret("refresh_token")?,
        })
    }

    fn key(&self) -> String {
        // Storage is per plugin, not per store: key it by store.
        format!("oauth:{}", self.domain)
    }

    fn seed(&self) -> String {
        format!("{:016x}", fnv1a(self.configured_refresh.as_bytes()))
    }

    fn stored(&self) -> Option<Stored> {
        let bytes = kv::get(&self.key()).ok()??;
        let stored: Stored = json::parse(&bytes).ok()?;
        (stored.seed == self.seed()).then_some(stored)
    }

    /// A live access token: the stored one, or a fresh one.
    pub fn access_token(&self) -> Result<String, ShopError> {
        match self.stored() {
            Some(s) if clock::now_ms().saturating_add(EXPIRY_MARGIN_MS) < s.expires_at_ms => {
                Ok(s.access_token)
            }
            _ => self.refresh(),
        }
    }

    /// Trades the refresh token for a new pair and stores it.
    pub fn refresh(&self) -> Result<String, ShopError> {
        let refresh_token = self
            .stored()
            .map_or_else(|| self.configured_refresh.clone(), |s| s.refresh_token);
        let body = shop_common::url::form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
            ("refresh_token", &refresh_token),
        ]);
        let response = http::Request::post(format!("https://{}/oauth/v2/token", self.domain))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(body)
            .send()
            .map_err(crate::api::transport_error)?;
        let status = response.status();
        if !response.is_success() {
            let reason = response
                .json::<OauthError>()
                .ok()
                .map(|e| {
                    format!(
                        "{} {}",
                        e.error.unwrap_or_default(),
                        e.error_description.unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            // Another call may have refreshed at the same moment and spent
            // the token this one used: its stored pair is good.
            if let Some(s) = self.stored().filter(|s| {
                s.refresh_token != refresh_token
                    && clock::now_ms().saturating_add(EXPIRY_MARGIN_MS) < s.expires_at_ms
            }) {
                return Ok(s.access_token);
            }
            return Err(match status {
                400 | 401 | 403 => ShopError::Auth(format!(
                    "Ideasoft refused the refresh token ({status}: {}); authorize the app again and set the new refresh token",
                    reason.trim()
                )),
                429 => ShopError::RateLimited(RateLimit {
                    retry_after_ms: response.retry_after_ms(),
                    message: "Ideasoft token endpoint rate limit".into(),
                }),
                _ => ShopError::TransientUpstream(format!(
                    "Ideasoft token endpoint answered {status}"
                )),
            });
        }
        let answer: TokenAnswer = response
            .json()
            .map_err(|e| ShopError::TransientUpstream(format!("Ideasoft token answer: {e}")))?;
        let expires_in_ms = answer
            .expires_in
            .unwrap_or(DEFAULT_EXPIRES_IN_S)
            .saturating_mul(1000);
        let stored = Stored {
            access_token: answer.access_token.clone(),
            refresh_token: answer.refresh_token.unwrap_or(refresh_token),
            expires_at_ms: clock::now_ms().saturating_add(expires_in_ms),
            seed: self.seed(),
        };
        let bytes = json::to_vec(&stored).map_err(|e| ShopError::Invalid(e.to_string()))?;
        if let Err(e) = kv::set(&self.key(), &bytes) {
            // The old refresh token may be spent already: say so loudly,
            // the next call will need the admin.
            log::error(
                "cannot store the rotated Ideasoft tokens",
                &[("error", &format!("{e:?}"))],
            );
            return Err(ShopError::TransientUpstream(format!(
                "cannot store Ideasoft tokens: {e:?}"
            )));
        }
        Ok(answer.access_token)
    }
}

/// FNV-1a: a fingerprint stable across builds, to notice a changed
/// secret without storing it twice.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
