//! Outbound deliveries for admins: what is waiting to be sent, what was
//! given up on (the dead letters), and sending a dead letter again.

use axum::Json as ResponseJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use omnigate_domain::Timestamp;
use omnigate_store::outbox::{DeadLetterRecord, OutboxRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ClientAddr, Query, parse_id};
use crate::routes::conversations::caller;
use crate::state::AppState;
use crate::views::MessageView;

/// Filters and paging of the delivery lists.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeliveryQuery {
    /// Only this channel's messages.
    channel: Option<u64>,
    /// Paging (dead letters): messages with an id below this.
    before: Option<u64>,
    /// At most this many (default 100, at most 500).
    limit: Option<usize>,
}

impl DeliveryQuery {
    fn limit(&self) -> usize {
        self.limit.unwrap_or(100).clamp(1, 500)
    }
}

/// A message given up on.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeadLetterView {
    /// The message (its delivery is `failed`).
    message_id: u64,
    /// Its channel.
    channel_id: u64,
    /// Attempts made.
    attempts: u32,
    /// Why the last attempt failed.
    reason: String,
    /// When it was given up on (RFC 3339).
    failed_at: String,
}

impl From<&DeadLetterRecord> for DeadLetterView {
    fn from(letter: &DeadLetterRecord) -> DeadLetterView {
        DeadLetterView {
            message_id: letter.message_id,
            channel_id: letter.channel_id,
            attempts: letter.attempts,
            reason: letter.reason.clone(),
            failed_at: Timestamp(letter.failed_at_ms).to_rfc3339(),
        }
    }
}

/// A page of dead letters.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeadLetterPage {
    /// Newest message first.
    dead_letters: Vec<DeadLetterView>,
    /// Pass as `before` for the next (older) page; `null` on the last one.
    #[schema(required = true)]
    next_before: Option<u64>,
}

/// A message waiting for its next attempt.
#[derive(Serialize, ToSchema)]
pub(crate) struct PendingDeliveryView {
    /// The message.
    message_id: u64,
    /// Its channel.
    channel_id: u64,
    /// Attempts made so far.
    attempts: u32,
    /// The next attempt, not before (RFC 3339).
    next_attempt_at: String,
    /// Why the last attempt failed, after a failure.
    last_error: Option<String>,
}

/// Messages waiting to be delivered.
#[derive(Serialize, ToSchema)]
pub(crate) struct PendingDeliveries {
    /// Oldest message first.
    deliveries: Vec<PendingDeliveryView>,
}

/// A dead letter sent again.
#[derive(Serialize, ToSchema)]
pub(crate) struct RetriedDelivery {
    /// The message, `queued` again.
    message: MessageView,
}

/// List dead letters.
///
/// Outbound messages given up on after the last attempt, newest first, with
/// the reason; their delivery shows `failed` to the agent.
#[utoipa::path(
    get,
    path = "/api/v1/deliveries/dead",
    operation_id = "list_dead_letters",
    tag = "deliveries",
    params(DeliveryQuery),
    responses(
        (status = 200, description = "A page of dead letters.", body = DeadLetterPage),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn dead(
    State(state): State<AppState>,
    Query(query): Query<DeliveryQuery>,
) -> Result<ResponseJson<DeadLetterPage>, ApiError> {
    let limit = query.limit();
    let letters = state
        .engine()
        .store()
        .dead_letters(query.channel, query.before, limit)?;
    let next_before = (letters.len() == limit)
        .then(|| letters.last().map(|l| l.message_id))
        .flatten();
    Ok(ResponseJson(DeadLetterPage {
        dead_letters: letters.iter().map(DeadLetterView::from).collect(),
        next_before,
    }))
}

/// List pending deliveries.
///
/// Outbound messages not delivered yet, with the attempts made and the
/// last error, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/deliveries/pending",
    operation_id = "list_pending_deliveries",
    tag = "deliveries",
    params(DeliveryQuery),
    responses(
        (status = 200, description = "Messages waiting to be delivered.", body = PendingDeliveries),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn pending(
    State(state): State<AppState>,
    Query(query): Query<DeliveryQuery>,
) -> Result<ResponseJson<PendingDeliveries>, ApiError> {
    let engine = state.engine();
    // The outbox does not store the channel: each job's is looked up once,
    // by the filter, and kept for the view.
    let mut channels = Vec::new();
    let mut failure = None;
    let jobs =
        engine
            .store()
            .pending_deliveries(query.limit(), |job: &OutboxRecord| {
                match engine.channel_of_message(job.message_id) {
                    Ok(channel) if query.channel.is_none_or(|c| c == channel) => {
                        channels.push(channel);
                        true
                    }
                    Ok(_) => false,
                    Err(error) => {
                        failure.get_or_insert(error);
                        false
                    }
                }
            })?;
    if let Some(error) = failure {
        return Err(error.into());
    }
    let deliveries = jobs
        .iter()
        .zip(channels)
        .map(|(job, channel_id)| PendingDeliveryView {
            message_id: job.message_id,
            channel_id,
            attempts: job.attempts,
            next_attempt_at: Timestamp(job.next_attempt_ms).to_rfc3339(),
            last_error: job.last_error.clone(),
        })
        .collect();
    Ok(ResponseJson(PendingDeliveries { deliveries }))
}

/// Send a dead letter again.
///
/// The message goes back to `queued` with a fresh set of attempts (after
/// the webhook was fixed, or the integrator is back). Audited.
#[utoipa::path(
    post,
    path = "/api/v1/deliveries/dead/{message_id}/retry",
    operation_id = "retry_dead_letter",
    tag = "deliveries",
    params(("message_id" = u64, Path, description = "The message's id.")),
    responses(
        (status = 200, description = "Queued again.", body = RetriedDelivery),
        (status = 404, description = "`not_found`: no dead letter for that message.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<RetriedDelivery>, ApiError> {
    state.refuse_if_read_only()?;
    let id = parse_id("message", &id)?;
    let message = state
        .engine()
        .retry_dead_letter(&caller(&principal, client), id)?;
    state.durable().await?;
    Ok(ResponseJson(RetriedDelivery {
        message: MessageView::from(&message),
    }))
}

/// Drop a dead letter.
///
/// The message stays `failed`; it is no longer listed. Audited.
#[utoipa::path(
    delete,
    path = "/api/v1/deliveries/dead/{message_id}",
    operation_id = "discard_dead_letter",
    tag = "deliveries",
    params(("message_id" = u64, Path, description = "The message's id.")),
    responses(
        (status = 204, description = "Dropped."),
        (status = 404, description = "`not_found`: no dead letter for that message.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn discard(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    state.refuse_if_read_only()?;
    let id = parse_id("message", &id)?;
    state
        .engine()
        .discard_dead_letter(&caller(&principal, client), id)?;
    state.durable().await?;
    Ok(StatusCode::NO_CONTENT)
}
