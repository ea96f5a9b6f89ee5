//! Conversations: the inbox, history, the thread, and the agent's actions
//! (send, transfer, end, reopen) — each a command to the engine.

use std::sync::Arc;

use axum::Json as ResponseJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use omnigate_domain::{Timestamp, UserId};
use omnigate_engine::{Caller, status_name, wire};
use omnigate_store::{ConversationRecord, StatusRecord};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ClientAddr, Json, Query, parse_id};
use crate::openapi::schemas;
use crate::state::AppState;
use crate::views::{
    ActionResult, ContactView, ConversationBody, ConversationPage, ConversationStub,
    ConversationView, EndView, Inbox, MessageBody, MessagePage, MessageView, QueueSummary,
    SearchMatch, SettledConversation, TransferView,
};

/// The engine's view of the caller.
pub(crate) fn caller(principal: &Principal, client: ClientAddr) -> Caller {
    Caller {
        user: Arc::clone(&principal.user),
        source: client.label(),
    }
}

/// A conversation with its contact, window and transfer deadline.
pub(crate) fn view(
    state: &AppState,
    conversation: &ConversationRecord,
) -> Result<ConversationView, ApiError> {
    let engine = state.engine();
    let contact = engine
        .store()
        .contact(conversation.contact_id)?
        .ok_or_else(|| ApiError::internal(&"conversation without its contact"))?;
    let closes_at = engine.window_closes_at(conversation)?;
    let now = state.now();
    let timeout = engine.desk_settings().transfer_timeout;
    // Cached in the store: every conversation of a page reads its channel.
    let channel = engine.store().channel(conversation.channel_id)?;
    let mut view = ConversationView {
        id: conversation.id,
        channel_id: conversation.channel_id,
        channel_name: channel.as_ref().map_or_else(
            || format!("channel {}", conversation.channel_id),
            |c| c.name.clone(),
        ),
        channel_kind: channel.map_or_else(String::new, |c| c.kind),
        contact: ContactView::from(&contact),
        status: status_name(&conversation.status),
        agent_id: conversation.agent_id,
        flow: None,
        queued_since: None,
        transfer: None,
        end: None,
        created_at: Timestamp(conversation.created_at_ms).to_rfc3339(),
        last_message_at: Timestamp(conversation.last_message_ms).to_rfc3339(),
        last_inbound_at: conversation
            .last_inbound_ms
            .map(|t| Timestamp(t).to_rfc3339()),
        window_closes_at: closes_at.map(Timestamp::to_rfc3339),
        window_open: closes_at.is_none_or(|at| now < at),
        preview: conversation.preview.clone(),
        message_count: conversation.message_count,
        unread: conversation.unread,
        tags: conversation.tags.clone(),
        search_match: None,
    };
    match &conversation.status {
        StatusRecord::InFlow { flow } => view.flow = Some(flow.clone()),
        StatusRecord::Queued { since_ms } => {
            view.queued_since = Some(Timestamp(*since_ms).to_rfc3339());
        }
        StatusRecord::Assigned { .. } => {}
        StatusRecord::TransferPending {
            from,
            to,
            note,
            requested_at_ms,
        } => {
            view.transfer = Some(TransferView {
                from: *from,
                to: *to,
                note: note.clone(),
                requested_at: Timestamp(*requested_at_ms).to_rfc3339(),
                expires_at: Timestamp(*requested_at_ms).plus(timeout).to_rfc3339(),
            });
        }
        StatusRecord::Ended { reason, at_ms } => {
            view.end = Some(EndView {
                reason: reason.clone(),
                at: Timestamp(*at_ms).to_rfc3339(),
                by: conversation.ended_by,
            });
        }
    }
    Ok(view)
}

fn conversation_id(raw: &str) -> Result<u64, ApiError> {
    parse_id("conversation", raw)
}

/// The caller's inbox.
///
/// What the caller holds or is offered, their desk figures, and the
/// queue's length.
#[utoipa::path(
    get,
    path = "/api/v1/inbox",
    operation_id = "inbox",
    tag = "conversations",
    responses(
        (status = 200, description = "The inbox.", body = Inbox),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn inbox(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<ResponseJson<Inbox>, ApiError> {
    let engine = state.engine();
    engine.tick()?;
    let me = principal.user.id;
    let mut conversations = Vec::new();
    for id in engine.inbox_of(me) {
        if let Some(c) = engine.store().conversation(id)? {
            conversations.push(view(&state, &c)?);
        }
    }
    conversations.sort_by(|a, b| b.last_message_at.cmp(&a.last_message_at));
    let agent = engine.agent(me);
    let queue = engine.queue();
    let now = state.now();
    Ok(ResponseJson(Inbox {
        presence: agent.presence.as_str(),
        load: agent.load,
        capacity: agent.capacity,
        queue: QueueSummary {
            length: queue.len(),
            oldest_waiting_secs: queue.first().map(|(_, since)| now.since(*since).as_secs()),
        },
        conversations,
    }))
}

/// Filters of the history list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    #[param(schema_with = schemas::status_filter, required = false)]
    status: Option<String>,
    /// Channel id.
    channel: Option<u64>,
    /// The agent who holds it (or held it last).
    agent: Option<u64>,
    /// End reason.
    reason: Option<String>,
    /// A tag (case-insensitive).
    tag: Option<String>,
    /// Contact name, phone or channel id (case-insensitive substring).
    contact: Option<String>,
    /// RFC 3339; conversations with activity at or after.
    #[param(format = DateTime)]
    from: Option<String>,
    /// RFC 3339; conversations created before.
    #[param(format = DateTime)]
    to: Option<String>,
    /// Full-text search over message text; results newest match first.
    q: Option<String>,
    /// The `next_cursor` of the previous page (opaque).
    cursor: Option<String>,
    /// At most this many (default 50, at most 200).
    limit: Option<usize>,
}

fn parse_time(field: &'static str, raw: Option<&String>) -> Result<Option<Timestamp>, ApiError> {
    raw.map(|text| {
        Timestamp::parse_rfc3339(text).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_request",
                format!("{field}: `{text}` is not an RFC 3339 time"),
            )
        })
    })
    .transpose()
}

/// Most conversations looked at to fill one page, so a filter that matches
/// little cannot make one request read the whole history.
const SCAN_LIMIT: usize = 50_000;

/// History.
///
/// Every past and current conversation the caller may see, newest first,
/// filtered, with cursor paging.
#[utoipa::path(
    get,
    path = "/api/v1/conversations",
    operation_id = "list_conversations",
    tag = "conversations",
    params(HistoryQuery),
    responses(
        (status = 200, description = "A page of conversations.", body = ConversationPage),
        (status = 400, description = "`invalid_request`: an unknown `status` or a `from`/`to` that is not RFC 3339.", body = ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Query(q): Query<HistoryQuery>,
) -> Result<ResponseJson<ConversationPage>, ApiError> {
    let engine = state.engine();
    let caller = caller(&principal, client);
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let from = parse_time("from", q.from.as_ref())?;
    let to = parse_time("to", q.to.as_ref())?;
    if let Some(status) = &q.status
        && ![
            "in_flow",
            "queued",
            "assigned",
            "transfer_pending",
            "ended",
            "open",
        ]
        .contains(&status.as_str())
    {
        return Err(ApiError::bad_request(
            "invalid_request",
            "status: use in_flow, queued, assigned, transfer_pending, ended or open",
        ));
    }
    let tag = q.tag.as_ref().map(|t| t.trim().to_lowercase());
    let contact_query = q.contact.as_ref().map(|c| c.trim().to_lowercase());
    let reason = q.reason.as_ref().map(|r| r.trim().to_owned());
    let store = engine.store();
    let mut contact_error = None;
    let mut keep = |c: &ConversationRecord| {
        let status_ok = match q.status.as_deref() {
            None => true,
            Some("open") => !c.is_ended(),
            Some(name) => status_name(&c.status) == name,
        };
        let reason_ok = reason
            .as_ref()
            .is_none_or(|r| matches!(&c.status, StatusRecord::Ended { reason, .. } if reason == r));
        let basic = status_ok
            && reason_ok
            && q.channel.is_none_or(|ch| c.channel_id == ch)
            && q.agent.is_none_or(|a| c.agent_id == Some(a))
            && tag.as_ref().is_none_or(|t| c.tags.contains(t))
            && from.is_none_or(|f| c.last_message_ms >= f.0)
            && to.is_none_or(|t| c.created_at_ms < t.0)
            && engine.may_read(&caller, c);
        if !basic {
            return false;
        }
        match &contact_query {
            None => true,
            Some(needle) => match store.contact(c.contact_id) {
                Ok(Some(contact)) => {
                    contact.name.to_lowercase().contains(needle.as_str())
                        || contact.external_id.to_lowercase().contains(needle.as_str())
                        || contact
                            .phone
                            .as_ref()
                            .is_some_and(|p| p.contains(needle.as_str()))
                }
                Ok(None) => false,
                Err(error) => {
                    contact_error = Some(error);
                    false
                }
            },
        }
    };
    let (page, matches, next_cursor) = match q.q.as_deref().map(str::trim).filter(|t| !t.is_empty())
    {
        Some(text) => search_page(&state, text, q.cursor.as_deref(), limit, &mut keep)?,
        None => {
            let cursor = q
                .cursor
                .as_deref()
                .map(|c| {
                    c.parse::<u64>().map_err(|_| {
                        ApiError::bad_request(
                            "invalid_request",
                            "cursor: not a cursor of this list",
                        )
                    })
                })
                .transpose()?;
            let mut scanned = 0usize;
            let (page, more) = store.conversations_page(cursor, limit, |c| {
                scanned += 1;
                scanned <= SCAN_LIMIT && keep(c)
            })?;
            let next = if more || scanned > SCAN_LIMIT {
                page.last().map(|c| c.id.to_string())
            } else {
                None
            };
            (page, Vec::new(), next)
        }
    };
    if let Some(error) = contact_error {
        return Err(error.into());
    }
    let mut views = Vec::with_capacity(page.len());
    for c in &page {
        let mut item = view(&state, c)?;
        item.search_match =
            matches
                .iter()
                .find(|(id, _)| *id == c.id)
                .map(|(_, (message_id, at))| SearchMatch {
                    message_id: *message_id,
                    at: Timestamp(*at).to_rfc3339(),
                });
        views.push(item);
    }
    Ok(ResponseJson(ConversationPage {
        conversations: views,
        next_cursor,
    }))
}

/// Hits read from the index per step of a search page.
const SEARCH_STEP: usize = 500;

/// Conversation id and its newest matching message (id, time).
type Match = (u64, (u64, i64));

/// A page: the conversations, their matches (search only), the next cursor.
type Page = (Vec<ConversationRecord>, Vec<Match>, Option<String>);

/// Where a search page resumes: hits older than `at_ms`, plus the first
/// `skip` hits at exactly `at_ms` that the previous page already looked at
/// (many messages share a millisecond under load).
#[derive(Debug, Clone, Copy)]
struct SearchCursor {
    at_ms: i64,
    skip: usize,
}

impl SearchCursor {
    fn parse(raw: &str) -> Result<SearchCursor, ApiError> {
        raw.split_once('.')
            .and_then(|(at, skip)| {
                Some(SearchCursor {
                    at_ms: at.parse().ok()?,
                    skip: skip.parse().ok()?,
                })
            })
            .ok_or_else(|| {
                ApiError::bad_request("invalid_request", "cursor: not a cursor of this search")
            })
    }

    fn render(self) -> String {
        format!("{}.{}", self.at_ms, self.skip)
    }
}

/// One page of conversations whose messages match `text`, newest match
/// first.
fn search_page(
    state: &AppState,
    text: &str,
    cursor: Option<&str>,
    limit: usize,
    keep: &mut impl FnMut(&ConversationRecord) -> bool,
) -> Result<Page, ApiError> {
    let engine = state.engine();
    let mut position = cursor.map(SearchCursor::parse).transpose()?;
    let mut seen = std::collections::HashSet::new();
    let mut page = Vec::new();
    let mut matches = Vec::new();
    let mut looked_at = 0usize;
    loop {
        // Inclusive of the cursor's millisecond: the hits there that were
        // already looked at are skipped by count.
        let before = position.map(|p| p.at_ms.saturating_add(1));
        let hits = engine.search(text, before, SEARCH_STEP)?;
        let exhausted = hits.len() < SEARCH_STEP;
        let mut skip = position.map_or(0, |p| p.skip);
        let boundary = position.map(|p| p.at_ms);
        let mut advanced = false;
        for hit in hits {
            if Some(hit.at_ms) == boundary && skip > 0 {
                skip -= 1;
                continue;
            }
            advanced = true;
            looked_at += 1;
            position = Some(match position {
                Some(p) if p.at_ms == hit.at_ms => SearchCursor {
                    at_ms: p.at_ms,
                    skip: p.skip + 1,
                },
                _ => SearchCursor {
                    at_ms: hit.at_ms,
                    skip: 1,
                },
            });
            if !seen.insert(hit.conversation_id) {
                continue;
            }
            let Some(c) = engine.store().conversation(hit.conversation_id)? else {
                continue;
            };
            if keep(&c) {
                matches.push((c.id, (hit.message_id, hit.at_ms)));
                page.push(c);
                if page.len() == limit {
                    return Ok((page, matches, position.map(SearchCursor::render)));
                }
            }
        }
        if exhausted || !advanced || looked_at >= SCAN_LIMIT {
            let next = (!exhausted && advanced)
                .then(|| position.map(SearchCursor::render))
                .flatten();
            return Ok((page, matches, next));
        }
    }
}

/// One conversation.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}",
    operation_id = "get_conversation",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    responses(
        (status = 200, description = "The conversation.", body = ConversationBody),
        (status = 403, description = "`forbidden`: an agent asked for a conversation that is not theirs.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation.", body = ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<ConversationBody>, ApiError> {
    let id = conversation_id(&id)?;
    let conversation = state
        .engine()
        .conversation_for(&caller(&principal, client), id)?;
    Ok(ResponseJson(ConversationBody {
        conversation: view(&state, &conversation)?,
    }))
}

/// Paging of a thread.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ThreadQuery {
    /// Messages after this message id.
    after: Option<u64>,
    /// At most this many (default 100, at most 500).
    limit: Option<usize>,
}

/// A conversation's thread.
///
/// Its messages and notes, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}/messages",
    operation_id = "list_messages",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id."), ThreadQuery),
    responses(
        (status = 200, description = "A page of the thread.", body = MessagePage),
        (status = 403, description = "`forbidden`: an agent asked for a conversation that is not theirs.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation.", body = ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn messages(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Query(q): Query<ThreadQuery>,
) -> Result<ResponseJson<MessagePage>, ApiError> {
    let id = conversation_id(&id)?;
    let engine = state.engine();
    engine.conversation_for(&caller(&principal, client), id)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let messages = engine.store().messages(id, q.after, limit)?;
    let views: Vec<MessageView> = messages.iter().map(MessageView::from).collect();
    let next_after = (views.len() == limit)
        .then(|| views.last().map(|m| m.id))
        .flatten();
    Ok(ResponseJson(MessagePage {
        messages: views,
        next_after,
    }))
}

/// Body of a send.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SendMessage)]
pub(crate) struct Send {
    #[schema(value_type = schemas::MessageContent)]
    content: Value,
    /// A private note for colleagues instead of a message to the contact.
    #[serde(default)]
    note: bool,
}

/// Send a message or a note.
///
/// Answers 201 once the message is on disk; delivery to the channel follows.
/// Outside the service window free-form content is refused with 409
/// `template_required`.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/messages",
    operation_id = "send_message",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    request_body = Send,
    responses(
        (status = 201, description = "Stored.", body = MessageBody),
        (status = 403, description = "`forbidden`: the conversation is not assigned to the caller (supervisors may write in any live one).", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation.", body = ErrorBody),
        (status = 409, description = "`template_required`: outside the service window only templates go. `conversation_ended`: it is read-only. `channel_disabled`: its channel is disabled.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn send(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<Send>,
) -> Result<(StatusCode, ResponseJson<MessageBody>), ApiError> {
    let id = conversation_id(&id)?;
    let content = wire::content_from_json(&body.content)?;
    let engine = state.engine();
    let message = engine.send(&caller(&principal, client), id, content, body.note)?;
    engine.durable().await?;
    Ok((
        StatusCode::CREATED,
        ResponseJson(MessageBody {
            message: MessageView::from(&message),
        }),
    ))
}

/// Mark as read.
///
/// Clears the conversation's unread count.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/read",
    operation_id = "mark_read",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    responses(
        (status = 204, description = "Marked."),
        (status = 403, description = "`forbidden`: an agent asked for a conversation that is not theirs.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn mark_read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    let id = conversation_id(&id)?;
    let engine = state.engine();
    engine.mark_read(&caller(&principal, client), id)?;
    engine.durable().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of a tag change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SetTags)]
pub(crate) struct Tags {
    /// The whole new set (stored lower-case).
    tags: Vec<String>,
}

/// Set a conversation's tags.
#[utoipa::path(
    put,
    path = "/api/v1/conversations/{id}/tags",
    operation_id = "set_tags",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    request_body = Tags,
    responses(
        (status = 200, description = "The conversation with its tags.", body = ConversationBody),
        (status = 403, description = "`forbidden`: an agent asked for a conversation that is not theirs.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn set_tags(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<Tags>,
) -> Result<ResponseJson<ConversationBody>, ApiError> {
    let id = conversation_id(&id)?;
    let engine = state.engine();
    let conversation = engine.set_tags(&caller(&principal, client), id, body.tags)?;
    engine.durable().await?;
    Ok(ResponseJson(ConversationBody {
        conversation: view(&state, &conversation)?,
    }))
}

/// Answers a desk action with the conversation as it is now.
async fn settled(
    state: &AppState,
    caller: &Caller,
    id: u64,
) -> Result<ResponseJson<ActionResult>, ApiError> {
    let engine = state.engine();
    engine.durable().await?;
    let conversation = engine
        .store()
        .conversation(id)?
        .ok_or_else(|| ApiError::not_found(format!("no conversation with id `{id}`")))?;
    // After a transfer or end the caller may no longer see it; say only
    // what they may know.
    let conversation = if engine.may_read(caller, &conversation) {
        SettledConversation::Visible(Box::new(view(state, &conversation)?))
    } else {
        SettledConversation::Hidden(ConversationStub {
            id,
            status: status_name(&conversation.status),
        })
    };
    Ok(ResponseJson(ActionResult { conversation }))
}

/// Body of a transfer request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TransferRequest)]
pub(crate) struct Transfer {
    /// The online agent to offer it to.
    agent_id: u64,
    /// For the target; at most 1000 characters.
    note: Option<String>,
}

/// Offer a conversation to a colleague.
///
/// The target must be online; until they accept, the caller keeps the
/// conversation. Declined or unanswered offers come back (rule 4).
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/transfer",
    operation_id = "request_transfer",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    request_body = Transfer,
    responses(
        (status = 200, description = "The conversation as it is now (only its id and status if the caller may no longer read it).", body = ActionResult),
        (status = 403, description = "`not_holder`: only the agent who holds it may transfer it.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such live conversation.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: it is not assigned. `agent_not_online`: the target is not online.", body = ErrorBody),
        (status = 422, description = "`invalid_request`: a transfer to oneself, or a note that is too long.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn transfer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<Transfer>,
) -> Result<ResponseJson<ActionResult>, ApiError> {
    let id = conversation_id(&id)?;
    let caller = caller(&principal, client);
    state
        .engine()
        .request_transfer(&caller, id, UserId(body.agent_id), body.note)?;
    settled(&state, &caller, id).await
}

/// Accept a transfer offered to the caller.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/transfer/accept",
    operation_id = "accept_transfer",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    responses(
        (status = 200, description = "The conversation as it is now (only its id and status if the caller may no longer read it).", body = ActionResult),
        (status = 403, description = "`not_transfer_target`: the offer is for someone else.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such live conversation.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: no transfer is pending.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn accept_transfer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<ActionResult>, ApiError> {
    let id = conversation_id(&id)?;
    let caller = caller(&principal, client);
    state.engine().answer_transfer(&caller, id, true)?;
    settled(&state, &caller, id).await
}

/// Decline a transfer offered to the caller.
///
/// The conversation goes back to the agent who offered it, with a notice.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/transfer/decline",
    operation_id = "decline_transfer",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    responses(
        (status = 200, description = "The conversation as it is now (only its id and status if the caller may no longer read it).", body = ActionResult),
        (status = 403, description = "`not_transfer_target`: the offer is for someone else.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such live conversation.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: no transfer is pending.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn decline_transfer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<ActionResult>, ApiError> {
    let id = conversation_id(&id)?;
    let caller = caller(&principal, client);
    state.engine().answer_transfer(&caller, id, false)?;
    settled(&state, &caller, id).await
}

/// Put a conversation back into the queue.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/transfer-to-queue",
    operation_id = "transfer_to_queue",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    responses(
        (status = 200, description = "The conversation as it is now (only its id and status if the caller may no longer read it).", body = ActionResult),
        (status = 403, description = "`not_holder`: only the agent who holds it may do this.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such live conversation.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: it is not assigned.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn transfer_to_queue(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<ActionResult>, ApiError> {
    let id = conversation_id(&id)?;
    let caller = caller(&principal, client);
    state.engine().transfer_to_queue(&caller, id)?;
    settled(&state, &caller, id).await
}

/// Body of a hand-over to a flow.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TransferToFlow)]
pub(crate) struct ToFlow {
    /// The name of a configured, enabled flow.
    flow: String,
}

/// Hand a conversation to a chatbot flow.
///
/// The flow (one of `GET /api/v1/flows`) opens at once over the contact's
/// latest message and answers the contact from then on.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/transfer-to-flow",
    operation_id = "transfer_to_flow",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    request_body = ToFlow,
    responses(
        (status = 200, description = "The conversation as it is now (only its id and status if the caller may no longer read it).", body = ActionResult),
        (status = 403, description = "`not_holder`: only the agent who holds it may do this.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such live conversation.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: it is not assigned.", body = ErrorBody),
        (status = 422, description = "`invalid_request`: no enabled flow has that name.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn transfer_to_flow(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<ToFlow>,
) -> Result<ResponseJson<ActionResult>, ApiError> {
    let id = conversation_id(&id)?;
    let caller = caller(&principal, client);
    state.engine().transfer_to_flow(&caller, id, body.flow)?;
    settled(&state, &caller, id).await
}

/// Body of an end.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EndConversation)]
pub(crate) struct End {
    /// One of the desk settings' `end_reasons`; required in effect.
    reason: Option<String>,
}

/// End a conversation.
///
/// Needs a reason from the configured list (rule 5); the conversation
/// becomes read-only. Supervisors may end any live conversation.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/end",
    operation_id = "end_conversation",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    request_body = End,
    responses(
        (status = 200, description = "The conversation as it is now (only its id and status if the caller may no longer read it).", body = ActionResult),
        (status = 403, description = "`not_holder`: only the agent who holds it (or a supervisor) may end it.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such live conversation.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: it is not assigned (or already ended).", body = ErrorBody),
        (status = 422, description = "`invalid_end_reason`: no reason, or one not in the list.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<End>,
) -> Result<ResponseJson<ActionResult>, ApiError> {
    let id = conversation_id(&id)?;
    let caller = caller(&principal, client);
    state
        .engine()
        .end(&caller, id, body.reason.unwrap_or_default())?;
    settled(&state, &caller, id).await
}

/// Reopen an ended conversation.
///
/// Into the caller's inbox (rule 6); the service window still applies.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/reopen",
    operation_id = "reopen_conversation",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    responses(
        (status = 200, description = "The conversation as it is now (only its id and status if the caller may no longer read it).", body = ActionResult),
        (status = 403, description = "`forbidden`: an agent asked for a conversation they did not handle, or the contact has a newer open conversation.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: it has not ended.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn reopen(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<ActionResult>, ApiError> {
    let id = conversation_id(&id)?;
    let caller = caller(&principal, client);
    state.engine().reopen(&caller, id)?;
    settled(&state, &caller, id).await
}

/// Body of a reassignment.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReassignConversation)]
pub(crate) struct Reassign {
    /// The online agent to give it to.
    agent_id: u64,
}

/// Give a conversation to an agent (supervisors).
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/reassign",
    operation_id = "reassign_conversation",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    request_body = Reassign,
    responses(
        (status = 200, description = "The conversation as it is now (only its id and status if the caller may no longer read it).", body = ActionResult),
        (status = 404, description = "`not_found`: no such live conversation.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: it is not queued, assigned or transfer pending. `agent_not_online`: the agent is not online.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn reassign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<Reassign>,
) -> Result<ResponseJson<ActionResult>, ApiError> {
    let id = conversation_id(&id)?;
    let caller = caller(&principal, client);
    state
        .engine()
        .reassign(&caller, id, UserId(body.agent_id))?;
    settled(&state, &caller, id).await
}

/// What an export is to look like.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// `json` (the default: conversation, contact and every message in the
    /// API's format) or `text` (a readable transcript).
    format: Option<String>,
}

/// Export a conversation.
///
/// The whole thread as a file, for whoever may read the conversation.
/// Every export is recorded in the audit log (`conversation.exported`)
/// before the file is sent.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}/export",
    operation_id = "export_conversation",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id."), ExportQuery),
    responses(
        (status = 200, description = "The export, as an attachment.", body = crate::routes::attachments::FileBytes, content_type = "application/json"),
        (status = 400, description = "`invalid_request`: an unknown format.", body = ErrorBody),
        (status = 403, description = "`forbidden`: an agent asked for a conversation that is not theirs.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation.", body = ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Query(q): Query<ExportQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;

    let id = conversation_id(&id)?;
    let name = q.format.as_deref().unwrap_or("json");
    let format = omnigate_engine::export::ExportFormat::parse(name).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_request",
            format!("format: `{name}` is not one of json, text"),
        )
    })?;
    let export = state
        .engine()
        .export_conversation(&caller(&principal, client), id, format)
        .await?;
    let mut response = export.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(export.content_type),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        crate::routes::attachments::content_disposition(Some(&export.filename)),
    );
    // A transcript is personal data: no cache keeps a copy.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
