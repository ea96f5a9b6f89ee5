//! Who may talk to the channel: the subscription handshake (reference 1.1)
//! and the `X-Hub-Signature-256` of every webhook (reference 1.2).

use omnigate_plugin_sdk::channel::{WebhookError, WebhookRequest, WebhookResponse};
use omnigate_plugin_sdk::{config, signature};

/// Meta's `GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`:
/// 200 with the raw challenge when the token matches, else 403 (Meta
/// treats any other status as a failed verification).
pub fn handshake(request: &WebhookRequest) -> WebhookResponse {
    let refused = || WebhookResponse::text(403, "verification failed");
    if !request.method.eq_ignore_ascii_case("GET") || request.query("hub.mode") != Some("subscribe")
    {
        return refused();
    }
    let (Some(expected), Some(given), Some(challenge)) = (
        config::secret("verify_token").filter(|t| !t.is_empty()),
        request.query("hub.verify_token"),
        request.query("hub.challenge"),
    ) else {
        return refused();
    };
    if signature::constant_time_eq(expected.as_bytes(), given.as_bytes()) {
        WebhookResponse::text(200, challenge)
    } else {
        refused()
    }
}

/// Checks the HMAC-SHA256 of the exact body bytes with the app secret, in
/// constant time, before anything reads the payload.
pub fn verify(request: &WebhookRequest) -> Result<(), WebhookError> {
    let secret = config::require_secret("app_secret")
        .map_err(|e| WebhookError::Unauthenticated(e.to_string()))?;
    match request.header("x-hub-signature-256") {
        None => Err(WebhookError::Unauthenticated(
            "missing X-Hub-Signature-256".into(),
        )),
        Some(header) if !header.trim().starts_with("sha256=") => Err(
            WebhookError::Unauthenticated("X-Hub-Signature-256 is not `sha256=<hex>`".into()),
        ),
        Some(header) if signature::verify_hex_sha256(secret.as_bytes(), &request.body, header) => {
            Ok(())
        }
        Some(_) => Err(WebhookError::Unauthenticated(
            "X-Hub-Signature-256 does not match the body".into(),
        )),
    }
}
