//! The live event WebSocket: filtered by role and ownership, resumable
//! after a reconnect, and the presence grace rule when it drops.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::desk_helpers::{api_channel, conversation_from, member, set_presence};
use crate::harness::{Auth, Desk, Server};

type Socket = WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// Opens `/api/v1/events` over TLS (HTTP/1.1) as `auth`.
pub(crate) async fn open(
    server: &Server,
    auth: &Auth,
    query: &str,
    origin: Option<&str>,
) -> Result<Socket, String> {
    let pem = server.data_dir.join("tls/self-signed.crt");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(pem).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let url = format!(
        "wss://127.0.0.1:{}/api/v1/events{query}",
        server.addr.port()
    );
    let mut request = url.into_client_request().unwrap();
    match auth {
        Auth::Session { cookie, .. } => {
            request.headers_mut().insert(
                "cookie",
                format!("__Host-omnigate_session={cookie}").parse().unwrap(),
            );
        }
        Auth::Bearer(token) => {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        _ => {}
    }
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::client_async(request, tls).await {
        Ok((socket, _)) => Ok(socket),
        Err(error) => Err(error.to_string()),
    }
}

/// The next JSON frame, skipping pings; fails after five seconds.
pub(crate) async fn next(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("no frame within 5 s")
            .expect("socket closed")
            .unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Frames until one of type `kind` arrives; returns all read.
pub(crate) async fn until(socket: &mut Socket, kind: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let frame = next(socket).await;
        let done = frame["type"] == kind;
        seen.push(frame);
        if done {
            return seen;
        }
    }
}

#[tokio::test]
async fn agents_see_their_own_work_live_and_supervisors_see_everything() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let channel = api_channel(&desk, json!({})).await;
    let (ayse_id, ayse) = member(&desk, "ayse@example.com", "agent").await;
    let (_, mehmet) = member(&desk, "mehmet@example.com", "agent").await;
    let (_, supervisor) = member(&desk, "sup@example.com", "supervisor").await;
    set_presence(server, &ayse, "online").await;

    let mut ayse_live = open(server, &ayse, "", None).await.unwrap();
    let mut mehmet_live = open(server, &mehmet, "", None).await.unwrap();
    let mut supervisor_live = open(server, &supervisor, "", None).await.unwrap();
    for socket in [&mut ayse_live, &mut mehmet_live, &mut supervisor_live] {
        let hello = next(socket).await;
        assert_eq!(hello["type"], "hello");
        assert!(hello["stream"].is_string());
    }

    let id = conversation_from(server, &channel, "c1", "m1").await;
    // Ayşe is online with room: the conversation and its message are hers.
    let frames = until(&mut ayse_live, "message").await;
    let assigned = frames
        .iter()
        .find(|f| f["type"] == "conversation.assigned")
        .expect("assignment pushed");
    assert_eq!(assigned["data"]["id"], id);
    assert_eq!(assigned["data"]["agent_id"], ayse_id);
    assert_eq!(assigned["data"]["how"], "automatic");
    let message = frames.last().unwrap();
    assert_eq!(
        message["data"]["message"]["content"]["text"],
        "Merhaba, siparişim nerede?"
    );
    assert!(
        frames
            .windows(2)
            .all(|w| w[0]["id"].as_u64() < w[1]["id"].as_u64())
    );

    // The supervisor sees the same; Mehmet only the queue's figures.
    let seen = until(&mut supervisor_live, "message").await;
    assert!(seen.iter().any(|f| f["type"] == "conversation.assigned"));
    let mehmet_frames = until(&mut mehmet_live, "queue").await;
    assert!(
        mehmet_frames
            .iter()
            .all(|f| f["type"] != "message" && f["type"] != "conversation.assigned"),
        "{mehmet_frames:?}"
    );

    // A transfer request reaches its target at once.
    set_presence(server, &mehmet, "online").await;
    let agents = server
        .call(Method::GET, "/api/v1/agents", &ayse, None)
        .await;
    let mehmet_user = agents.body["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["display_name"] == "mehmet@example.com")
        .unwrap()["user_id"]
        .as_u64()
        .unwrap();
    let offered = server
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{id}/transfer"),
            &ayse,
            Some(json!({ "agent_id": mehmet_user, "note": "refund" })),
        )
        .await;
    assert_eq!(offered.status, StatusCode::OK, "{}", offered.text);
    let frames = until(&mut mehmet_live, "transfer.requested").await;
    assert_eq!(frames.last().unwrap()["data"]["id"], id);
}

#[tokio::test]
async fn a_reconnecting_console_receives_what_it_missed_or_is_told_to_resync() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let channel = api_channel(&desk, json!({})).await;
    let (_, supervisor) = member(&desk, "sup@example.com", "supervisor").await;

    let mut live = open(server, &supervisor, "", None).await.unwrap();
    let hello = next(&mut live).await;
    let stream = hello["stream"].as_str().unwrap().to_owned();
    conversation_from(server, &channel, "c1", "m1").await;
    let first = until(&mut live, "message").await;
    let last_seen = first.last().unwrap()["id"].as_u64().unwrap();
    live.close(None).await.unwrap();

    // Away: two more contacts write.
    conversation_from(server, &channel, "c2", "m2").await;
    conversation_from(server, &channel, "c3", "m3").await;

    let mut back = open(
        server,
        &supervisor,
        &format!("?stream={stream}&last_event_id={last_seen}"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(next(&mut back).await["type"], "hello");
    let mut missed = Vec::new();
    while missed
        .iter()
        .filter(|f: &&Value| f["type"] == "message")
        .count()
        < 2
    {
        missed.push(next(&mut back).await);
    }
    let ids: Vec<u64> = missed.iter().map(|f| f["id"].as_u64().unwrap()).collect();
    assert_eq!(ids[0], last_seen + 1, "nothing skipped: {ids:?}");
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "in order: {ids:?}"
    );
    let contacts: Vec<&str> = missed
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["data"]["message"]["content"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(contacts.len(), 2);

    // An id from another stream (a restarted server) means resync.
    let mut stale = open(server, &supervisor, "?stream=0000&last_event_id=3", None)
        .await
        .unwrap();
    assert_eq!(next(&mut stale).await["type"], "hello");
    assert_eq!(next(&mut stale).await["type"], "resync");
}

#[tokio::test]
async fn an_agent_whose_console_disconnects_goes_offline_after_the_grace_period() {
    let desk = Desk::start_with(&[("OMNIGATE_DESK__PRESENCE_GRACE_SECS", "60")]).await;
    let server = &desk.server;
    let (agent_id, agent) = member(&desk, "agent@example.com", "agent").await;
    let (_, supervisor) = member(&desk, "sup@example.com", "supervisor").await;
    set_presence(server, &agent, "online").await;
    let presence_of = |body: &Value| {
        body["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["user_id"] == agent_id)
            .unwrap()["presence"]
            .clone()
    };

    let mut live = open(server, &agent, "", None).await.unwrap();
    next(&mut live).await;
    // Connected: time passing changes nothing.
    desk.clock.advance_secs(600);
    let view = server
        .call(Method::GET, "/api/v1/supervisor/desk", &supervisor, None)
        .await;
    assert_eq!(presence_of(&view.body), "online");

    live.close(None).await.unwrap();
    drop(live);
    // The server notices the close asynchronously; wait until it has.
    let mut gone = false;
    for _ in 0..100 {
        desk.clock.advance_secs(59);
        let view = server
            .call(Method::GET, "/api/v1/supervisor/desk", &supervisor, None)
            .await;
        if presence_of(&view.body) == "offline" {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "the agent never went offline");
}

#[tokio::test]
async fn the_events_socket_needs_a_login_and_the_consoles_own_origin() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    let anonymous = open(server, &Auth::None, "", None).await.unwrap_err();
    assert!(anonymous.contains("401"), "{anonymous}");
    let foreign = open(server, &agent, "", Some("https://evil.example"))
        .await
        .unwrap_err();
    assert!(foreign.contains("403"), "{foreign}");
    let own = format!("https://127.0.0.1:{}", server.addr.port());
    assert!(open(server, &agent, "", Some(&own)).await.is_ok());
}

#[tokio::test]
async fn the_holder_is_told_before_and_when_the_service_window_closes() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let channel = api_channel(&desk, json!({ "service_window_secs": 3600 })).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let mut live = open(server, &agent, "", None).await.unwrap();
    next(&mut live).await;
    let id = conversation_from(server, &channel, "c1", "m1").await;
    until(&mut live, "message").await;

    // 51 minutes on: the warning (the desk timer or the next read notices).
    desk.clock.advance_secs(51 * 60);
    crate::desk_helpers::conversation(server, &agent, id).await;
    let closing = until(&mut live, "window.closing").await;
    let frame = closing.last().unwrap();
    assert_eq!(frame["data"]["id"], id);
    assert_eq!(
        frame["data"]["window_closes_at"],
        "2026-11-25T10:00:00.000Z"
    );

    desk.clock.advance_secs(9 * 60);
    crate::desk_helpers::conversation(server, &agent, id).await;
    let closed = until(&mut live, "window.closed").await;
    assert_eq!(closed.last().unwrap()["data"]["id"], id);
}
