//! Delivers outbound messages of API channels to the integrator's webhook.
//!
//! Each message to deliver has a job in the store's outbox, written with the
//! message itself. The worker POSTs the message as JSON with an
//! HMAC-SHA256 signature (`X-Omnigate-Signature: sha256=<hex>` over
//! `<timestamp>.<body>`, the timestamp in `X-Omnigate-Timestamp`, so a
//! receiver can refuse replays), and on a 2xx marks it `sent` (recording the
//! `id` the receiver may answer with as the provider id). Failures are
//! retried with exponential backoff; after the last attempt the message is
//! `failed` with the reason, which the agent sees.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use omnigate_store::conversations::delivery;
use omnigate_store::outbox::OutboxRecord;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{Engine, EngineError, wire};

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
        let channel = engine
            .store()
            .message(job.message_id)?
            .and_then(|m| {
                engine
                    .store()
                    .conversation(m.conversation_id)
                    .ok()
                    .flatten()
            })
            .map_or(0, |c| c.channel_id);
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
            job.message_id,
            "the channel or contact no longer exists",
        );
    };
    let Some(url) = channel.webhook_url.clone() else {
        return fail(engine, job.message_id, "the channel has no webhook URL");
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
    let error = match sent {
        Ok(response) if response.status().is_success() => {
            let provider_id = read_capped(response, 64 * 1024)
                .await
                .and_then(|body| serde_json::from_slice::<Value>(&body).ok())
                .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned))
                .filter(|id| !id.is_empty() && id.len() <= 200);
            if let Some(id) = provider_id {
                store.set_provider_id(channel.id, message.id, &id)?;
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
        Ok(response) => format!("the webhook answered {}", response.status()),
        Err(error) if error.is_timeout() => "the webhook did not answer in time".to_owned(),
        Err(error) if error.is_connect() => "the webhook could not be reached".to_owned(),
        Err(error) => format!("the webhook request failed: {error}"),
    };
    job.attempts += 1;
    let config = &engine.config().delivery;
    if job.attempts >= config.max_attempts {
        tracing::warn!(message_id = message.id, %error, attempts = job.attempts, "giving up on a webhook delivery");
        return fail(
            engine,
            message.id,
            &format!("{error} ({} attempts)", job.attempts),
        );
    }
    let backoff = config
        .first_backoff
        .saturating_mul(1 << (job.attempts - 1).min(20))
        .min(config.max_backoff);
    job.next_attempt_ms = engine.now().plus(backoff).0;
    job.last_error = Some(error);
    store.reschedule_delivery(&job)?;
    Ok(())
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

fn fail(engine: &Engine, message_id: u64, reason: &str) -> Result<(), EngineError> {
    let store = engine.store();
    let updated = store.update_message(message_id, |m| {
        if m.delivery == delivery::QUEUED {
            m.delivery = delivery::FAILED;
            m.failure = Some(reason.to_owned());
            true
        } else {
            false
        }
    })?;
    store.finish_delivery(message_id)?;
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
