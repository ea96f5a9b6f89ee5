//! Delivers outbound messages: an API channel's to the integrator's
//! webhook, a plugin channel's through its plugin's `send`.
//!
//! Each message to deliver has a job in the store's outbox, written with the
//! message itself. The worker POSTs the message as JSON with an
//! HMAC-SHA256 signature (`X-Omnigate-Signature: sha256=<hex>` over
//! `<timestamp>.<body>`, the timestamp in `X-Omnigate-Timestamp`, so a
//! receiver can refuse replays), and on a 2xx marks it `sent` (recording the
//! `id` the receiver may answer with as the provider id). Failures are
//! retried with exponential backoff (or after the `Retry-After` the
//! integrator asks for with a 429 or 503, up to an hour); after the
//! last attempt the message is `failed` with the reason, which the agent
//! sees, and the job becomes a dead letter that an admin may send again.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use omnigate_store::conversations::delivery;
use omnigate_store::outbox::{DeadLetterRecord, OutboxRecord};
use serde_json::{Value, json};
use sha2::Sha256;

use omnigate_domain::{AuditAction, AuditEvent};
use omnigate_store::channels::ChannelRecord;
use omnigate_store::{ContactRecord, ConversationRecord, MessageRecord, StoreError};

use crate::plugins::channel::SendOutcome;
use crate::{Caller, Engine, EngineError, wire};

/// Retry policy and limits of webhook delivery.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Attempts before a message is marked failed.
    pub max_attempts: u32,
    /// Wait after the first failure; doubles each time.
    pub first_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// Time allowed for one webhook request.
    pub request_timeout: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> DeliveryConfig {
        DeliveryConfig {
            max_attempts: 8,
            first_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(15 * 60),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// How often a message whose channel plugin is switched off looks again.
const PAUSED_RECHECK: Duration = Duration::from_secs(60);

/// The longest `Retry-After` honoured: an integrator that asks for a day
/// is more likely misconfigured than busy.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// The signature header value for `body` sent at `timestamp` (seconds).
#[must_use]
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length");
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Runs the delivery worker until the task is aborted: wakes when a message
/// is queued, or every `poll` to retry what is due.
pub async fn run(engine: Arc<Engine>, poll: Duration) {
    let client = match reqwest::Client::builder()
        .timeout(engine.config().delivery.request_timeout)
        .user_agent(concat!("omnigate/", env!("CARGO_PKG_VERSION")))
        // A redirect would re-send the signed body somewhere the admin did
        // not configure.
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the webhook client; outbound API channel messages stay queued");
            return;
        }
    };
    loop {
        match deliver_due(&engine, &client).await {
            Ok(0) => {
                let _ = tokio::time::timeout(poll, engine.delivery_wake().notified()).await;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, "webhook delivery failed to read or write the store");
                tokio::time::sleep(poll).await;
            }
        }
    }
}

/// Attempts every due job once; returns how many were attempted.
pub async fn deliver_due(engine: &Engine, client: &reqwest::Client) -> Result<usize, EngineError> {
    let jobs = engine.store().due_deliveries(engine.now().0, 64)?;
    let count = jobs.len();
    if count > 0 {
        // A job is written with its message, but the agent's request may
        // still be waiting for the flush: nothing leaves the building
        // before it is on disk.
        engine.durable().await?;
    }
    // Channels are served side by side, so one slow integrator does not
    // hold up the others; a channel's own messages go one after another.
    let mut by_channel: std::collections::BTreeMap<u64, Vec<OutboxRecord>> = Default::default();
    for job in jobs {
        let channel = engine.channel_of_message(job.message_id)?;
        by_channel.entry(channel).or_default().push(job);
    }
    let outcomes =
        futures_util::future::join_all(by_channel.into_values().map(|jobs| async move {
            for job in jobs {
                attempt(engine, client, job).await?;
            }
            Ok::<(), EngineError>(())
        }))
        .await;
    for outcome in outcomes {
        outcome?;
    }
    if count > 0 {
        engine.durable().await?;
    }
    Ok(count)
}

async fn attempt(
    engine: &Engine,
    client: &reqwest::Client,
    mut job: OutboxRecord,
) -> Result<(), EngineError> {
    let store = engine.store();
    let Some(message) = store.message(job.message_id)? else {
        store.finish_delivery(job.message_id)?;
        return Ok(());
    };
    let Some(conversation) = store.conversation(message.conversation_id)? else {
        store.finish_delivery(job.message_id)?;
        return Ok(());
    };
    let channel = store.channel(conversation.channel_id)?;
    let contact = store.contact(conversation.contact_id)?;
    let (Some(channel), Some(contact)) = (channel, contact) else {
        return fail(
            engine,
            &job,
            conversation.channel_id,
            "the channel or contact no longer exists",
        );
    };
    let outcome = if channel.kind == "api" {
        to_webhook(engine, client, &channel, &conversation, &contact, &message).await?
    } else {
        engine
            .send_through_plugin(&channel, contact.external_id.clone(), &message)
            .await?
    };
    let (error, retry_after) = match outcome {
        SendOutcome::Sent(provider_id) => {
            if !provider_id.is_empty() && provider_id.len() <= 200 {
                store.set_provider_id(channel.id, message.id, &provider_id)?;
            }
            let updated = store.update_message(message.id, |m| {
                if m.delivery == delivery::QUEUED {
                    m.delivery = delivery::SENT;
                    true
                } else {
                    false
                }
            })?;
            store.finish_delivery(message.id)?;
            if let Some(updated) = updated {
                engine.delivery_changed(&updated)?;
            }
            return Ok(());
        }
        SendOutcome::Failed(reason) => {
            // Trying again cannot help (the window is closed, the recipient
            // does not exist): the agent sees why now.
            tracing::info!(message_id = message.id, %reason, "the channel refused an outbound message");
            return fail(engine, &job, channel.id, &reason);
        }
        SendOutcome::Paused(reason) => {
            job.next_attempt_ms = engine.now().plus(PAUSED_RECHECK).0;
            job.last_error = Some(reason);
            store.reschedule_delivery(&job)?;
            return Ok(());
        }
        SendOutcome::Retry { reason, after } => (reason, after),
    };
    job.attempts += 1;
    let config = &engine.config().delivery;
    if job.attempts >= config.max_attempts {
        tracing::warn!(message_id = message.id, %error, attempts = job.attempts, "giving up on a webhook delivery");
        let reason = format!("{error} ({} attempts)", job.attempts);
        return fail(engine, &job, channel.id, &reason);
    }
    let backoff = config
        .first_backoff
        .saturating_mul(1 << (job.attempts - 1).min(20))
        .min(config.max_backoff)
        .max(retry_after.unwrap_or_default().min(MAX_RETRY_AFTER));
    job.next_attempt_ms = engine.now().plus(backoff).0;
    job.last_error = Some(error);
    store.reschedule_delivery(&job)?;
    Ok(())
}

/// One POST of an API channel's outbound message to the integrator's
/// webhook.
async fn to_webhook(
    engine: &Engine,
    client: &reqwest::Client,
    channel: &ChannelRecord,
    conversation: &ConversationRecord,
    contact: &ContactRecord,
    message: &MessageRecord,
) -> Result<SendOutcome, EngineError> {
    let Some(url) = channel.webhook_url.clone() else {
        return Ok(SendOutcome::Failed(
            "the channel has no webhook URL".to_owned(),
        ));
    };
    let body = json!({
        "type": "message",
        "message_id": message.id,
        "conversation_id": conversation.id,
        "channel_id": channel.id,
        "contact": { "id": contact.external_id, "name": contact.name },
        "author_user_id": message.author_user,
        "content": wire::content_to_json(&message.content.to_domain()?),
        "sent_at": omnigate_domain::Timestamp(message.at_ms).to_rfc3339(),
    })
    .to_string();
    let timestamp = engine.now().as_secs();
    let sent = client
        .post(&url)
        .header("content-type", "application/json")
        .header("x-omnigate-timestamp", timestamp.to_string())
        .header(
            "x-omnigate-signature",
            signature(&channel.webhook_secret, timestamp, body.as_bytes()),
        )
        .header("x-omnigate-delivery", message.id.to_string())
        .body(body)
        .send()
        .await;
    Ok(match sent {
        Ok(response) if response.status().is_success() => {
            let provider_id = read_capped(response, 64 * 1024)
                .await
                .and_then(|body| serde_json::from_slice::<Value>(&body).ok())
                .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            SendOutcome::Sent(provider_id)
        }
        Ok(response) => {
            let status = response.status();
            let after = retry_after_of(&response, engine.now());
            let reason = match after {
                Some(wait) => format!(
                    "the webhook answered {status} (retry after {} s)",
                    wait.as_secs()
                ),
                None => format!("the webhook answered {status}"),
            };
            SendOutcome::Retry { reason, after }
        }
        Err(error) => SendOutcome::Retry {
            reason: if error.is_timeout() {
                "the webhook did not answer in time".to_owned()
            } else if error.is_connect() {
                "the webhook could not be reached".to_owned()
            } else {
                format!("the webhook request failed: {error}")
            },
            after: None,
        },
    })
}

impl Engine {
    /// The channel a message belongs to (0 once its conversation is gone),
    /// which the outbox does not store.
    pub fn channel_of_message(&self, message_id: u64) -> Result<u64, EngineError> {
        let store = self.store();
        let conversation = match store.message(message_id)? {
            Some(message) => store.conversation(message.conversation_id)?,
            None => None,
        };
        Ok(conversation.map_or(0, |c| c.channel_id))
    }

    /// Sends a dead-lettered message again (an admin fixed the webhook, or
    /// the integrator is back): its delivery goes back to `queued` (the one
    /// backward move of a delivery status, made by a person on purpose) and
    /// it gets a fresh job with the full number of attempts.
    pub fn retry_dead_letter(
        &self,
        caller: &Caller,
        message_id: u64,
    ) -> Result<MessageRecord, EngineError> {
        let store = self.store();
        let missing = || StoreError::NotFound(format!("dead letter {message_id}"));
        let letter = store.dead_letter(message_id)?.ok_or_else(missing)?;
        let Some(message) = store.message(message_id)? else {
            store.discard_dead_letter(message_id)?;
            return Err(missing().into());
        };
        let now = self.now();
        let updated = store.update_message(message.id, |m| {
            if m.delivery == delivery::FAILED {
                m.delivery = delivery::QUEUED;
                m.failure = None;
                true
            } else {
                false
            }
        })?;
        store
            .revive_delivery(message_id, now.0)?
            .ok_or_else(missing)?;
        store.append_audit(
            &AuditEvent::new(caller.actor(), AuditAction::DeliveryRetried)
                .target(format!("message:{message_id}"))
                .source(caller.source.clone())
                .detail(
                    json!({ "channel_id": letter.channel_id, "reason": letter.reason }).to_string(),
                ),
            now,
        )?;
        let current = match updated {
            Some(updated) => {
                self.delivery_changed(&updated)?;
                updated
            }
            None => message,
        };
        self.delivery_wake().notify_one();
        Ok(current)
    }

    /// Drops a dead letter for good; the message stays `failed`.
    pub fn discard_dead_letter(
        &self,
        caller: &Caller,
        message_id: u64,
    ) -> Result<DeadLetterRecord, EngineError> {
        let letter = self
            .store()
            .discard_dead_letter(message_id)?
            .ok_or_else(|| StoreError::NotFound(format!("dead letter {message_id}")))?;
        self.store().append_audit(
            &AuditEvent::new(caller.actor(), AuditAction::DeliveryDiscarded)
                .target(format!("message:{message_id}"))
                .source(caller.source.clone())
                .detail(
                    json!({ "channel_id": letter.channel_id, "reason": letter.reason }).to_string(),
                ),
            self.now(),
        )?;
        Ok(letter)
    }
}

/// The response body, if it is at most `limit` bytes (an integrator's
/// answer must not fill the server's memory).
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        if body.len() + chunk.len() > limit {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

/// How long a 429 or 503 answer asks us to wait (`Retry-After` in seconds
/// or as an HTTP date), if it says.
fn retry_after_of(
    response: &reqwest::Response,
    now: omnigate_domain::Timestamp,
) -> Option<Duration> {
    let status = response.status();
    if status != reqwest::StatusCode::TOO_MANY_REQUESTS
        && status != reqwest::StatusCode::SERVICE_UNAVAILABLE
    {
        return None;
    }
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at_ms = i64::try_from(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis()).ok()?;
    u64::try_from(at_ms.saturating_sub(now.0))
        .ok()
        .map(Duration::from_millis)
}

/// Marks the message failed and keeps the job as a dead letter.
fn fail(
    engine: &Engine,
    job: &OutboxRecord,
    channel_id: u64,
    reason: &str,
) -> Result<(), EngineError> {
    let store = engine.store();
    let updated = store.update_message(job.message_id, |m| {
        if m.delivery == delivery::QUEUED {
            m.delivery = delivery::FAILED;
            m.failure = Some(reason.to_owned());
            true
        } else {
            false
        }
    })?;
    store.bury_delivery(&DeadLetterRecord {
        message_id: job.message_id,
        channel_id,
        attempts: job.attempts,
        reason: reason.chars().take(500).collect(),
        failed_at_ms: engine.now().0,
    })?;
    if let Some(updated) = updated {
        engine.delivery_changed(&updated)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac secret
        let sig = signature("secret", 1_700_000_000, b"{}");
        assert_eq!(
            sig,
            "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
        assert_ne!(sig, signature("other", 1_700_000_000, b"{}"));
        assert_ne!(sig, signature("secret", 1_700_000_001, b"{}"));
    }
}
