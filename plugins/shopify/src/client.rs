//! One GraphQL call to the shop's Admin API, and every way it can fail
//! mapped to the interface's `shop-error`.

use omnigate_plugin_sdk::commerce::ShopError;
use omnigate_plugin_sdk::types::RateLimit;
use omnigate_plugin_sdk::{config, http, log};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The manifest's default for `api_version`; the host hands over only what
/// the admin set, so the plugin applies the default itself.
const DEFAULT_API_VERSION: &str = "2025-01";

/// Shopify answers well within this; a stuck shop must not eat the whole
/// call budget.
const TIMEOUT_MS: u32 = 8_000;

/// Where and how to call the shop.
pub struct Shop {
    domain: String,
    api_version: String,
    token: String,
}

impl Shop {
    /// From the admin's settings. The domain must be the shop's
    /// `*.myshopify.com` name: the Admin API is served there only, and it
    /// is all the manifest allows.
    pub fn from_config() -> Result<Shop, ShopError> {
        let raw = config::require("shop_domain").map_err(|e| ShopError::Invalid(e.to_string()))?;
        let domain = raw
            .trim()
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_ascii_lowercase();
        let label_ok = domain.strip_suffix(".myshopify.com").is_some_and(|shop| {
            !shop.is_empty() && shop.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if !label_ok {
            return Err(ShopError::Invalid(format!(
                "`shop_domain` must be the shop's your-shop.myshopify.com name, not `{raw}`"
            )));
        }
        let api_version = config::get("api_version")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_API_VERSION.to_owned());
        // `2025-01` or `unstable`: it becomes part of the URL path.
        let version_ok = api_version == "unstable"
            || (api_version.len() == 7
                && api_version.bytes().enumerate().all(|(i, b)| {
                    if i == 4 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                }));
        if !version_ok {
            return Err(ShopError::Invalid(format!(
                "`api_version` must look like 2025-01, not `{api_version}`"
            )));
        }
        let token =
            config::require_secret("access_token").map_err(|e| ShopError::Auth(e.to_string()))?;
        Ok(Shop {
            domain,
            api_version,
            token,
        })
    }

    /// The GraphQL endpoint.
    fn url(&self) -> String {
        format!(
            "https://{}/admin/api/{}/graphql.json",
            self.domain, self.api_version
        )
    }

    /// Runs `query` with `variables` and decodes `data` as `T`.
    pub fn query<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<T, ShopError> {
        let body = serde_json::json!({ "query": query, "variables": variables });
        let response = http::Request::post(self.url())
            .header("X-Shopify-Access-Token", self.token.as_str())
            .header("Accept", "application/json")
            .timeout_ms(TIMEOUT_MS)
            .json(&body)
            .map_err(|e| ShopError::Invalid(e.to_string()))?
            .send()
            .map_err(transport_error)?;
        check_status(&response)?;
        let answer: Answer = response
            .json()
            .map_err(|e| ShopError::TransientUpstream(format!("Shopify answered {e}")))?;
        serde_json::from_value(answer.into_data()?).map_err(|e| {
            ShopError::TransientUpstream(format!("Shopify answered an unexpected shape: {e}"))
        })
    }
}

/// A failed send: a refused host is a configuration mistake, the rest may
/// pass.
fn transport_error(error: http::Error) -> ShopError {
    match error {
        http::Error::ForbiddenHost(m) | http::Error::InvalidRequest(m) => ShopError::Invalid(m),
        http::Error::Timeout => {
            ShopError::TransientUpstream("Shopify did not answer in time".into())
        }
        http::Error::Transport(m) => ShopError::TransientUpstream(m),
        http::Error::TooLarge(n) => {
            ShopError::TransientUpstream(format!("Shopify's answer is too large ({n} bytes)"))
        }
    }
}

/// HTTP-level failures (reference §3 "HTTP-level errors"); GraphQL errors
/// come with 200 and are read from the body.
fn check_status(response: &http::Response) -> Result<(), ShopError> {
    let status = response.status();
    let message = || {
        // 401 answers `{"errors": "[API] Invalid API key or access token …"}`.
        let text = response
            .json::<Value>()
            .ok()
            .and_then(|v| {
                v.get("errors").map(|e| match e {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            })
            .unwrap_or_default();
        format!("Shopify answered {status}: {text}")
    };
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err(ShopError::Auth(message())),
        404 => Err(ShopError::Invalid(format!(
            "{} (is the shop domain or API version wrong?)",
            message()
        ))),
        429 => Err(ShopError::RateLimited(RateLimit {
            retry_after_ms: response.retry_after_ms(),
            message: message(),
        })),
        // 402: the shop is frozen (unpaid); 423: locked. Both lift on
        // Shopify's side, like 5xx.
        _ => Err(ShopError::TransientUpstream(message())),
    }
}

/// A GraphQL answer: `data`, `errors`, and the cost report.
#[derive(Deserialize)]
struct Answer {
    data: Option<Value>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct GraphqlError {
    #[serde(default)]
    message: String,
    extensions: Option<ErrorExtensions>,
}

#[derive(Deserialize)]
struct ErrorExtensions {
    code: Option<String>,
}

#[derive(Deserialize)]
struct Extensions {
    cost: Option<Cost>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cost {
    requested_query_cost: Option<f64>,
    throttle_status: Option<ThrottleStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThrottleStatus {
    currently_available: Option<f64>,
    restore_rate: Option<f64>,
}

impl GraphqlError {
    fn code(&self) -> &str {
        self.extensions
            .as_ref()
            .and_then(|e| e.code.as_deref())
            .unwrap_or("")
    }
}

impl Answer {
    /// `data` when there is some to show. Errors beside data are partial
    /// failures; errors where every root field is null (or no `data`) are
    /// the answer.
    fn into_data(self) -> Result<Value, ShopError> {
        if let Some(throttled) = self.errors.iter().find(|e| e.code() == "THROTTLED") {
            return Err(ShopError::RateLimited(RateLimit {
                retry_after_ms: self.extensions.as_ref().and_then(backoff_ms),
                message: format!("Shopify: {}", throttled.message),
            }));
        }
        let empty = match &self.data {
            None | Some(Value::Null) => true,
            Some(Value::Object(roots)) => {
                !self.errors.is_empty() && roots.values().all(Value::is_null)
            }
            Some(_) => false,
        };
        match self.data.filter(|_| !empty) {
            Some(data) => {
                // Partial data: typically ACCESS_DENIED on the customer's
                // e-mail and phone without protected-customer-data approval.
                // The rest of the order is still worth showing.
                for e in &self.errors {
                    log::warn(
                        "Shopify answered with partial data",
                        &[("code", e.code()), ("message", &e.message)],
                    );
                }
                Ok(data)
            }
            None => {
                let first = self.errors.first();
                let message = first.map_or_else(
                    || "Shopify answered without data or errors".to_owned(),
                    |e| format!("Shopify: {}", e.message),
                );
                Err(match first.map(GraphqlError::code) {
                    Some("ACCESS_DENIED") => ShopError::Auth(message),
                    Some("INTERNAL_SERVER_ERROR") | None => ShopError::TransientUpstream(message),
                    Some(_) => ShopError::Invalid(message),
                })
            }
        }
    }
}

/// How long until the bucket holds the query's cost again:
/// `(requested - currentlyAvailable) / restoreRate` seconds (reference §3
/// "Rate limits").
fn backoff_ms(extensions: &Extensions) -> Option<u64> {
    let cost = extensions.cost.as_ref()?;
    let requested = cost.requested_query_cost?;
    let status = cost.throttle_status.as_ref()?;
    let available = status.currently_available?;
    let rate = status.restore_rate?;
    if !(rate.is_finite() && rate > 0.0 && requested.is_finite() && available.is_finite()) {
        return None;
    }
    // Milliseconds first, so whole points divide exactly.
    let ms = ((requested - available) * 1000.0 / rate).max(0.0);
    Some(ms.ceil() as u64)
}
