//! Graph API errors to `provider-error` variants. The variant decides what
//! the host does next (retry, ask for a template, give up), so the mapping
//! keys on the numeric `code` as reference 1.5 advises, never on the title,
//! which Meta says will be deprecated.

use omnigate_plugin_sdk::channel::ProviderError;
use omnigate_plugin_sdk::http::Response;
use omnigate_plugin_sdk::types::RateLimit;
use serde::Deserialize;

/// `{"error": {...}}`, the Graph API's error envelope.
#[derive(Debug, Deserialize)]
struct Envelope {
    error: GraphError,
}

/// The fields of a Graph error the mapping and the message need.
#[derive(Debug, Default, Deserialize)]
pub struct GraphError {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub error_subcode: Option<i64>,
    /// Webhook `errors[]` carry a `title` instead of (or beside) `message`.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
}

/// `error_data`: `details` is the human explanation.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorData {
    #[serde(default)]
    pub details: Option<String>,
}

impl GraphError {
    /// `(#131047) Re-engagement message: <details>`, as readable as the
    /// payload allows.
    pub fn describe(&self) -> String {
        let text = self.message.as_ref().or(self.title.as_ref());
        let head = match (text, self.code) {
            (Some(t), _) if t.starts_with("(#") => t.clone(),
            (Some(t), Some(c)) => format!("(#{c}) {t}"),
            (Some(t), None) => t.clone(),
            (None, Some(c)) => format!("Graph API error {c}"),
            (None, None) => "Graph API error".to_owned(),
        };
        match self.error_data.as_ref().and_then(|d| d.details.as_deref()) {
            Some(details) if !details.is_empty() && !head.contains(details) => {
                format!("{head}: {details}")
            }
            _ => head,
        }
    }
}

/// Rate limits Meta hands out without a `Retry-After`: how long to wait
/// before the next try. Not in the reference; chosen from what each limit
/// counts: throughput per second (130429), one message per few seconds to
/// the same user (131056), hourly application and account quotas (4, 80007).
fn default_retry_after_ms(code: i64) -> u64 {
    match code {
        130429 => 1_000,
        131056 => 6_000,
        _ => 60_000,
    }
}

/// The provider error a non-2xx Graph response means.
pub fn from_response(response: &Response) -> ProviderError {
    let status = response.status();
    let retry_after = response.retry_after_ms();
    match response.json::<Envelope>() {
        Ok(envelope) => from_graph(status, retry_after, &envelope.error),
        Err(_) => from_status(status, retry_after),
    }
}

/// Maps a parsed Graph error; `status` decides only when the code is not
/// one the reference lists.
pub fn from_graph(status: u16, retry_after_ms: Option<u64>, error: &GraphError) -> ProviderError {
    let message = error.describe();
    let Some(code) = error.code else {
        return from_status_with(status, retry_after_ms, message);
    };
    match code {
        // App, account, throughput and pair rate limits: waiting helps.
        4 | 80007 | 130429 | 131056 => ProviderError::RateLimited(RateLimit {
            retry_after_ms: Some(retry_after_ms.unwrap_or_else(|| default_retry_after_ms(code))),
            message,
        }),
        // More than 24 h since the contact's last message: send a template.
        131047 => ProviderError::WindowClosed(message),
        // Not on WhatsApp / not in the test number's allowed list /
        // the business's own number / opted out of marketing.
        131026 | 131030 | 131021 | 131050 => ProviderError::InvalidRecipient(message),
        // Invalid or expired token, missing permission, access denied,
        // locked account: an admin has to act.
        0 | 190 | 3 | 10 | 200..=299 | 131005 | 131031 => ProviderError::Auth(message),
        // "Something went wrong", and Graph's generic 1 (unknown error) and
        // 2 (service temporarily unavailable), the last two not in the
        // reference but documented by Meta as retryable.
        131000 | 1 | 2 => ProviderError::TransientUpstream(message),
        // Template name or language unknown.
        132001 => ProviderError::NotFound(message),
        // `Unsupported get request. Object with ID ... does not exist`
        // (code 100, subcode 33): a media id or account id that is unknown.
        100 if error.error_subcode == Some(33) => ProviderError::NotFound(message),
        _ if status == 401 => ProviderError::Auth(message),
        _ if status == 429 => ProviderError::RateLimited(RateLimit {
            retry_after_ms: Some(retry_after_ms.unwrap_or_else(|| default_retry_after_ms(code))),
            message,
        }),
        _ if status >= 500 => ProviderError::TransientUpstream(message),
        _ => ProviderError::Rejected(message),
    }
}

/// The error of a non-2xx answer without a Graph envelope (a proxy's page,
/// a media download).
pub fn from_status(status: u16, retry_after_ms: Option<u64>) -> ProviderError {
    from_status_with(
        status,
        retry_after_ms,
        format!("the Graph API answered HTTP {status}"),
    )
}

fn from_status_with(status: u16, retry_after_ms: Option<u64>, message: String) -> ProviderError {
    match status {
        401 | 403 => ProviderError::Auth(message),
        404 => ProviderError::NotFound(message),
        429 => ProviderError::RateLimited(RateLimit {
            retry_after_ms,
            message,
        }),
        500..=599 => ProviderError::TransientUpstream(message),
        _ => ProviderError::Rejected(message),
    }
}
