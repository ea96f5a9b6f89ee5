//! `GET /api/v1/events`: the live event WebSocket.
//!
//! The first frame is `{"type":"hello","stream","id"}`. Then every event the
//! caller may see, as `{"id","stream","type","data"}`, in order. A client
//! that reconnects with `?stream=S&last_event_id=N` first receives what it
//! missed; if that is no longer available (another server start, or it was
//! away too long) it receives `{"type":"resync"}` and should reload its
//! lists from the API. While the socket is open the agent counts as
//! connected; when the last one closes, the presence grace period starts.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use omnigate_domain::{Role, UserId};
use omnigate_engine::live::{LiveEvent, Replay};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Credential, Principal};
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

/// Where to resume.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Resume {
    /// The `stream` of the events seen before.
    stream: Option<String>,
    /// The `id` of the last event seen.
    last_event_id: Option<u64>,
}

/// How often the server pings and re-checks the session.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// A client that does not take a frame within this time is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Live events (WebSocket).
///
/// Upgrades to a WebSocket after the permission check. Frames are JSON:
/// first `{"type":"hello","stream","id"}`, then `{"id","stream","type","data"}`
/// per event the caller may see (`conversation.queued`,
/// `conversation.assigned`, `conversation.in_flow`, `conversation.ended`,
/// `transfer.requested`, `transfer.returned`, `message`, `presence`,
/// `queue`), or `{"type":"resync"}` when missed events are no longer
/// available. Refuses a browser page of another origin (cross-site
/// WebSocket hijacking: cookies go with WebSocket requests, and CORS does
/// not apply to them).
#[utoipa::path(
    get,
    path = "/api/v1/events",
    operation_id = "live_events",
    tag = "desk",
    params(Resume),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol."),
        (status = 403, description = "`forbidden`: a page of another origin.", body = crate::error::ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn events(
    State(state): State<AppState>,
    principal: Principal,
    Query(resume): Query<Resume>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let origin = origin.to_str().unwrap_or_default();
        if origin != format!("https://{host}") {
            return Err(ApiError::forbidden(format!(
                "WebSocket connections are accepted from the console's own origin only, not {origin}"
            )));
        }
    }
    Ok(upgrade
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| follow(socket, state, principal, resume)))
}

async fn follow(mut socket: WebSocket, state: AppState, principal: Principal, resume: Resume) {
    let engine = state.engine();
    let user = principal.user.id;
    let role = principal.user.role;
    let _connection = engine.connect(user);
    let live = engine.live();
    let mut changes = live.subscribe();
    let mut last = live.latest();
    let hello = json!({ "type": "hello", "stream": live.stream(), "id": last }).to_string();
    if send(&mut socket, hello.into()).await.is_err() {
        return;
    }
    if let Some(after) = resume.last_event_id {
        last = after;
        match catch_up(
            &mut socket,
            &state,
            user,
            role,
            resume.stream.as_deref(),
            &mut last,
        )
        .await
        {
            Ok(()) => {}
            Err(()) => return,
        }
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
                let stream = live.stream().to_owned();
                if catch_up(&mut socket, &state, user, role, Some(&stream), &mut last).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_) | Ok(Message::Close(_))) => break,
                // Pings are answered by the WebSocket layer; clients have
                // nothing to say on this socket.
                Some(Ok(_)) => {}
            },
            _ = heartbeat.tick() => {
                if !still_valid(&state, &principal) {
                    let _ = socket
                        .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                            code: 4001,
                            reason: "the session has ended".into(),
                        })))
                        .await;
                    break;
                }
                if send(&mut socket, Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// Sends what the caller may see after `last`, or a resync.
async fn catch_up(
    socket: &mut WebSocket,
    state: &AppState,
    user: UserId,
    role: Role,
    stream: Option<&str>,
    last: &mut u64,
) -> Result<(), ()> {
    let live = state.engine().live();
    match live.since(stream, *last) {
        Replay::Events(events) => {
            for event in events {
                *last = event.id;
                if visible(&event, user, role) {
                    send(socket, Message::Text(Utf8Bytes::from(event.frame.clone()))).await?;
                }
            }
            Ok(())
        }
        Replay::Resync { from } => {
            *last = from;
            let frame = json!({ "type": "resync", "stream": live.stream(), "id": from });
            send(socket, frame.to_string().into()).await
        }
    }
}

fn visible(event: &LiveEvent, user: UserId, role: Role) -> bool {
    event.audience.includes(user, role)
}

async fn send(socket: &mut WebSocket, message: Message) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// Whether the caller's session or token still stands (revocation, expiry
/// and disabling end the socket within one heartbeat).
fn still_valid(state: &AppState, principal: &Principal) -> bool {
    let store = &state.inner.store;
    let user_ok = matches!(store.cached_user(principal.user.id), Ok(Some(u)) if !u.disabled);
    let credential_ok = match &principal.credential {
        Credential::Session { token_hash, .. } => matches!(
            store.cached_session(token_hash),
            Ok(Some(s)) if state.now().0 < s.expires_at_ms
        ),
        Credential::Token { id } => store
            .tokens()
            .is_ok_and(|tokens| tokens.iter().any(|t| t.id == *id)),
    };
    user_ok && credential_ok
}
