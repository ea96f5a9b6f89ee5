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
use std::sync::Arc;

use omnigate_engine::live::{Delivery, LiveEvent, Replay};
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
/// `queue`, `window.closing`, `window.closed`, `plugin`), or `{"type":"resync"}` when missed events are no longer
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
    // Consoles only read on this socket (they send pongs and a close):
    // small buffers keep ten thousand idle consoles near a hundred
    // megabytes. tungstenite's defaults reserve 128 KiB each way, and its
    // read buffer is filled to its size on every read, so even 4 KiB was a
    // third of an idle socket's memory; a larger frame grows it as needed.
    Ok(upgrade
        .read_buffer_size(256)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| follow(socket, state, principal, resume)))
}

async fn follow(mut socket: WebSocket, state: AppState, principal: Principal, resume: Resume) {
    let engine = state.engine();
    let user = principal.user.id;
    let _connection = engine.connect(user);
    let live = engine.live();
    let resume_from = resume
        .last_event_id
        .map(|after| (resume.stream.as_deref(), after));
    let (subscription, replay, newest) = live.subscribe(user, principal.user.role, resume_from);
    let hello = json!({ "type": "hello", "stream": live.stream(), "id": newest }).to_string();
    if send(&mut socket, hello.into()).await.is_err() {
        return;
    }
    let delivered = match replay {
        Replay::Events(events) => send_all(&mut socket, events).await,
        Replay::Resync { from } => send(&mut socket, resync_frame(live.stream(), from)).await,
    };
    if delivered.is_err() {
        return;
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            delivery = subscription.next() => {
                let sent = match delivery {
                    Delivery::Events(events) => send_all(&mut socket, events).await,
                    Delivery::Resync => send(&mut socket, resync_frame(live.stream(), live.latest())).await,
                };
                if sent.is_err() {
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

fn resync_frame(stream: &str, from: u64) -> Message {
    json!({ "type": "resync", "stream": stream, "id": from })
        .to_string()
        .into()
}

/// Sends events in order; the frames were filtered for this console when
/// they were published.
async fn send_all(socket: &mut WebSocket, events: Vec<Arc<LiveEvent>>) -> Result<(), ()> {
    for event in events {
        send(socket, Message::Text(Utf8Bytes::from(event.frame.clone()))).await?;
    }
    Ok(())
}

async fn send(socket: &mut WebSocket, message: Message) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// Whether the caller's session or token still stands (revocation, expiry,
/// disabling and a role change end the socket within one heartbeat).
fn still_valid(state: &AppState, principal: &Principal) -> bool {
    let store = &state.inner.store;
    // A changed role changes what the socket may carry: close it, and the
    // console reconnects with the new one.
    let user_ok = matches!(
        store.cached_user(principal.user.id),
        Ok(Some(u)) if !u.disabled && u.role == principal.user.role
    );
    let credential_ok = match &principal.credential {
        Credential::Session { token_hash, .. } => matches!(
            store.cached_session(token_hash),
            Ok(Some(s)) if state.now().0 < s.expires_at_ms
        ),
        // One key lookup: listing and decoding every token here cost each
        // of N token-authenticated sockets N decodes per heartbeat.
        Credential::Token { id } => store.token_exists(*id).unwrap_or(false),
    };
    user_ok && credential_ok
}
