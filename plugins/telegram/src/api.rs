//! Calls to `https://api.telegram.org/bot<TOKEN>/<method>` and the
//! `{"ok": ..., "result" | "error_code", "description", "parameters"}`
//! envelope every answer uses (reference 2), mapped onto provider errors.

use omnigate_plugin_sdk::channel::ProviderError;
use omnigate_plugin_sdk::http::{self, Multipart, Request, Response};
use omnigate_plugin_sdk::types::RateLimit;
use omnigate_plugin_sdk::{attachments, config};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Host of the Bot API and of file downloads.
pub const API_HOST: &str = "https://api.telegram.org";

/// Requests give up before the plugin's time budget, so a slow Bot API is
/// reported as transient instead of killing the call.
const TIMEOUT_MS: u32 = 20_000;

/// The bot token; a missing one is for an admin to fix.
pub fn bot_token() -> Result<String, ProviderError> {
    config::require_secret("bot_token").map_err(|e| ProviderError::Auth(e.to_string()))
}

#[derive(Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u64>,
    #[serde(default)]
    migrate_to_chat_id: Option<i64>,
}

/// Calls `method` with a JSON body and returns its `result`.
pub fn call<T: DeserializeOwned>(method: &str, body: &Value) -> Result<T, ProviderError> {
    let token = bot_token()?;
    let request = Request::post(format!("{API_HOST}/bot{token}/{method}"))
        .json(body)
        .map_err(|e| ProviderError::Rejected(e.to_string()))?
        .timeout_ms(TIMEOUT_MS);
    let response = request.send().map_err(transport)?;
    result(&response)
}

/// Calls `method` with a `multipart/form-data` body: every parameter as a
/// text part (objects as JSON text, as the Bot API reads form fields) and
/// the file as part `field`, with its name and type.
pub fn call_multipart<T: DeserializeOwned>(
    method: &str,
    params: &Value,
    field: &str,
    filename: &str,
    file: &attachments::Attachment,
) -> Result<T, ProviderError> {
    let token = bot_token()?;
    let mut form = Multipart::new();
    if let Value::Object(map) = params {
        for (name, value) in map {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            form = form.text(name.as_str(), text);
        }
    }
    let form = form.file(field, filename, file.content_type.as_str(), &file.bytes);
    let response = Request::post(format!("{API_HOST}/bot{token}/{method}"))
        .multipart(form)
        .timeout_ms(TIMEOUT_MS)
        .send()
        .map_err(transport)?;
    result(&response)
}

/// Downloads `https://api.telegram.org/file/bot<TOKEN>/<file_path>`.
pub fn download(file_path: &str) -> Result<Response, ProviderError> {
    let token = bot_token()?;
    let response = Request::get(format!("{API_HOST}/file/bot{token}/{file_path}"))
        .timeout_ms(TIMEOUT_MS)
        .send()
        .map_err(transport)?;
    if response.is_success() {
        Ok(response)
    } else {
        // Usually the same envelope; a bare status when not.
        Err(error(&response))
    }
}

/// The `result` of a successful answer, or the error the envelope states.
fn result<T: DeserializeOwned>(response: &Response) -> Result<T, ProviderError> {
    let envelope: Envelope = match response.json() {
        Ok(envelope) => envelope,
        Err(e) if response.is_success() => {
            return Err(ProviderError::TransientUpstream(format!(
                "unreadable Bot API answer: {e}"
            )));
        }
        Err(_) => return Err(error(response)),
    };
    if !envelope.ok || !response.is_success() {
        return Err(from_envelope(response.status(), &envelope));
    }
    serde_json::from_value(envelope.result.unwrap_or(Value::Null))
        .map_err(|e| ProviderError::TransientUpstream(format!("unexpected Bot API result: {e}")))
}

/// The error a non-2xx answer means, with or without an envelope.
fn error(response: &Response) -> ProviderError {
    match response.json::<Envelope>() {
        Ok(envelope) => from_envelope(response.status(), &envelope),
        Err(_) => from_code(
            response.status(),
            format!("the Bot API answered HTTP {}", response.status()),
            response.retry_after_ms(),
            None,
        ),
    }
}

fn from_envelope(status: u16, envelope: &Envelope) -> ProviderError {
    let code = envelope.error_code.unwrap_or(status);
    let description = envelope
        .description
        .clone()
        .unwrap_or_else(|| format!("Bot API error {code}"));
    let parameters = envelope.parameters.as_ref();
    from_code(
        code,
        description,
        parameters
            .and_then(|p| p.retry_after)
            .map(|s| s.saturating_mul(1000)),
        parameters.and_then(|p| p.migrate_to_chat_id),
    )
}

/// Keyed on `error_code` (equal to the HTTP status) and, for 400, on the
/// description, the only place Telegram says which bad request it was.
fn from_code(
    code: u16,
    description: String,
    retry_after_ms: Option<u64>,
    migrate_to: Option<i64>,
) -> ProviderError {
    if code == 400
        && let Some(chat) = migrate_to
    {
        return ProviderError::InvalidRecipient(format!(
            "{description} (the group is now chat {chat})"
        ));
    }
    match code {
        429 => ProviderError::RateLimited(RateLimit {
            retry_after_ms,
            message: description,
        }),
        401 => ProviderError::Auth(description),
        // Bot blocked by the user, user deactivated, bot kicked from the
        // group: this chat will not receive anything.
        403 => ProviderError::InvalidRecipient(description),
        404 => ProviderError::NotFound(description),
        400 if description.contains("chat not found") || description.contains("user not found") => {
            ProviderError::InvalidRecipient(description)
        }
        400 if description.contains("file_id") || description.contains("file is too big") => {
            ProviderError::NotFound(description)
        }
        500..=599 => ProviderError::TransientUpstream(description),
        _ => ProviderError::Rejected(description),
    }
}

/// Maps the host's HTTP failure onto the variant that decides retries.
fn transport(error: http::Error) -> ProviderError {
    match error {
        http::Error::ForbiddenHost(m) | http::Error::InvalidRequest(m) => {
            ProviderError::Rejected(m)
        }
        http::Error::Timeout => {
            ProviderError::TransientUpstream("the Bot API did not answer in time".into())
        }
        http::Error::Transport(m) => ProviderError::TransientUpstream(m),
        http::Error::TooLarge(limit) => ProviderError::UnsupportedContent(format!(
            "the request or its answer is larger than the appliance's limit of {limit} bytes"
        )),
    }
}
