//! The API channel's outbound side: agent messages reach the integrator's
//! webhook signed with HMAC-SHA256, failures are retried on the clock, and
//! delivery reports move the message's ticks forward only.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::desk_helpers::{api_channel, conversation_from, member, reply_text, set_presence};
use crate::harness::{Auth, Desk, Server};

/// What the fake integrator received.
#[derive(Clone, Default)]
struct Received {
    calls: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

/// A local webhook receiver (plain HTTP on loopback) that fails the first
/// `failures` calls with 500 and then answers 200 with a provider id.
async fn fake_integrator(failures: usize) -> (String, Received) {
    let received = Received::default();
    let calls = Arc::clone(&received.calls);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let calls = Arc::clone(&calls);
            async move {
                let mut calls = calls.lock().unwrap();
                calls.push((headers, body));
                if calls.len() <= failures {
                    (AxumStatus::INTERNAL_SERVER_ERROR, "try later".to_owned())
                } else {
                    (
                        AxumStatus::OK,
                        json!({ "id": format!("ext-{}", calls.len()) }).to_string(),
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, received)
}

/// Message `id` as the thread of `conversation` shows it (`null` if absent).
async fn thread_message(server: &Server, auth: &Auth, conversation: u64, id: u64) -> Value {
    let thread = server
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{conversation}/messages"),
            auth,
            None,
        )
        .await;
    thread.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Polls the thread until message `id` has delivery `want` (the worker runs
/// on its own; the rule's timing is the test clock's).
async fn wait_for_delivery(
    server: &Server,
    auth: &Auth,
    conversation: u64,
    id: u64,
    want: &str,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let message = thread_message(server, auth, conversation, id).await;
        if message["delivery"] == want {
            return message;
        }
        last = message;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("message {id} never reached {want}; last seen {last}");
}

#[tokio::test]
async fn agent_messages_reach_the_webhook_signed_and_retried_and_reports_move_ticks_forward() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let (url, received) = fake_integrator(1).await;
    let channel = api_channel(&desk, json!({ "webhook_url": url })).await;
    let (agent_id, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let id = conversation_from(server, &channel, "cust-42", "m1").await;

    let sent = reply_text(server, &agent, id, "Kargonuz yolda 🚚").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    assert_eq!(sent.body["message"]["delivery"], "queued");
    let message_id = sent.body["message"]["id"].as_u64().unwrap();

    // The first attempt fails (500); the retry waits for the backoff on the
    // clock, then succeeds.
    for _ in 0..200 {
        if !received.calls.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(received.calls.lock().unwrap().len(), 1);
    // Step the clock past the backoff until the retry has gone out (the
    // worker may still be recording the failure when the clock first moves).
    for _ in 0..200 {
        if received.calls.lock().unwrap().len() >= 2 {
            break;
        }
        desk.clock.advance_secs(5);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let delivered = wait_for_delivery(server, &agent, id, message_id, "sent").await;
    assert_eq!(delivered["provider_message_id"], "ext-2");

    let calls = received.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    let (headers, body) = &calls[1];
    let timestamp = headers["x-omnigate-timestamp"].to_str().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(channel.webhook_secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["x-omnigate-signature"].to_str().unwrap(), expected);
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["contact"]["id"], "cust-42");
    assert_eq!(
        payload["content"],
        json!({ "type": "text", "text": "Kargonuz yolda 🚚" })
    );
    assert_eq!(payload["author_user_id"], agent_id);
    assert_eq!(payload["conversation_id"], id);

    // Delivery reports: forward only.
    let report =
        |status: &str| json!({ "type": "status", "message_id": "ext-2", "status": status });
    let hook = format!("/webhooks/{}", channel.id);
    let bearer = Auth::Bearer(channel.token.clone());
    let read = server
        .call(Method::POST, &hook, &bearer, Some(report("read")))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["delivery"], "read");
    let late = server
        .call(Method::POST, &hook, &bearer, Some(report("delivered")))
        .await;
    assert_eq!(late.body["delivery"], "read");
    wait_for_delivery(server, &agent, id, message_id, "read").await;

    // The integrator numbers both directions alike: an inbound message with
    // the id its webhook gave our outbound one is a new message, not a
    // duplicate.
    let inbound = crate::desk_helpers::write_in(
        server,
        &channel,
        "cust-42",
        "ext-2",
        "same id, other direction",
    )
    .await;
    assert_eq!(inbound.status, StatusCode::OK, "{}", inbound.text);
    assert_eq!(inbound.body["duplicate"], false);
}

#[tokio::test]
async fn an_unreachable_webhook_fails_the_message_with_the_reason_after_the_last_attempt() {
    let desk = Desk::start_with(&[("OMNIGATE_DESK__WEBHOOK_MAX_ATTEMPTS", "2")]).await;
    let server = &desk.server;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let channel = api_channel(&desk, json!({ "webhook_url": url })).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let id = conversation_from(server, &channel, "c1", "m1").await;
    let sent = reply_text(server, &agent, id, "hello?").await;
    let message_id = sent.body["message"]["id"].as_u64().unwrap();
    // Each poll steps the clock past any backoff, so every attempt is due
    // as soon as the worker looks.
    let mut failed = Value::Null;
    for _ in 0..200 {
        desk.clock.advance_secs(3600);
        let message = thread_message(server, &agent, id, message_id).await;
        if message["delivery"] == "failed" {
            failed = message;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed["delivery"], "failed", "never failed");
    let reason = failed["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("could not be reached") && reason.contains("2 attempts"),
        "{reason}"
    );

    // The admin finds it among the dead letters, with the reason (logged
    // in again: the clock ran past any session's life)...
    let admin = server.admin().await;
    let dead = server
        .call(Method::GET, "/api/v1/deliveries/dead", &admin, None)
        .await;
    assert_eq!(dead.status, StatusCode::OK, "{}", dead.text);
    assert_eq!(dead.body["dead_letters"][0]["message_id"], message_id);
    assert_eq!(dead.body["dead_letters"][0]["channel_id"], channel.id);
    assert_eq!(dead.body["dead_letters"][0]["attempts"], 2);
    assert_eq!(dead.body["dead_letters"][0]["reason"], reason);
    let other = server
        .call(
            Method::GET,
            &format!("/api/v1/deliveries/dead?channel={}", channel.id + 1000),
            &admin,
            None,
        )
        .await;
    assert_eq!(other.body["dead_letters"], json!([]));
    // ...fixes the webhook and sends it again: it is delivered.
    let (url, received) = fake_integrator(0).await;
    let fixed = server
        .call(
            Method::PATCH,
            &format!("/api/v1/channels/{}", channel.id),
            &admin,
            Some(json!({ "webhook_url": url })),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::OK, "{}", fixed.text);
    let retried = server
        .call(
            Method::POST,
            &format!("/api/v1/deliveries/dead/{message_id}/retry"),
            &admin,
            None,
        )
        .await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.text);
    assert_eq!(retried.body["message"]["delivery"], "queued");
    let sent = wait_for_delivery(server, &agent, id, message_id, "sent").await;
    assert_eq!(sent["provider_message_id"], "ext-1");
    assert_eq!(received.calls.lock().unwrap().len(), 1);
    let dead = server
        .call(Method::GET, "/api/v1/deliveries/dead", &admin, None)
        .await;
    assert_eq!(dead.body["dead_letters"], json!([]));
    let again = server
        .call(
            Method::POST,
            &format!("/api/v1/deliveries/dead/{message_id}/retry"),
            &admin,
            None,
        )
        .await;
    again.assert_error(StatusCode::NOT_FOUND, "not_found");
    let audit = server
        .call(Method::GET, "/api/v1/audit?action=delivery.", &admin, None)
        .await;
    assert_eq!(audit.body["entries"][0]["action"], "delivery.retried");
    assert_eq!(
        audit.body["entries"][0]["target"],
        format!("message:{message_id}")
    );
}

#[tokio::test]
async fn a_busy_integrators_retry_after_is_honoured_and_a_dead_letter_can_be_dropped() {
    let desk = Desk::start_with(&[("OMNIGATE_DESK__WEBHOOK_MAX_ATTEMPTS", "2")]).await;
    let server = &desk.server;
    let calls = Arc::new(Mutex::new(0usize));
    let counted = Arc::clone(&calls);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counted = Arc::clone(&counted);
            async move {
                *counted.lock().unwrap() += 1;
                (
                    AxumStatus::TOO_MANY_REQUESTS,
                    [("retry-after", "1800")],
                    "slow down",
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let channel = api_channel(&desk, json!({ "webhook_url": url })).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let id = conversation_from(server, &channel, "c1", "m1").await;
    let sent = reply_text(server, &agent, id, "hello?").await;
    let message_id = sent.body["message"]["id"].as_u64().unwrap();
    // The first attempt is answered 429 with Retry-After: 30 min.
    let mut pending = Value::Null;
    for _ in 0..200 {
        let list = server
            .call(Method::GET, "/api/v1/deliveries/pending", &desk.admin, None)
            .await;
        if list.body["deliveries"][0]["attempts"] == 1 {
            pending = list.body["deliveries"][0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pending["message_id"], message_id, "never attempted");
    assert!(
        pending["last_error"]
            .as_str()
            .unwrap()
            .contains("429 Too Many Requests (retry after 1800 s)"),
        "{pending}"
    );
    // The backoff (5 s, at most 15 min) has passed after 20 minutes, the
    // asked half hour has not: no second call yet.
    desk.clock.advance_secs(1200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(*calls.lock().unwrap(), 1);
    desk.clock.advance_secs(601);
    wait_for_delivery(server, &agent, id, message_id, "failed").await;
    assert_eq!(*calls.lock().unwrap(), 2);

    let dropped = server
        .call(
            Method::DELETE,
            &format!("/api/v1/deliveries/dead/{message_id}"),
            &desk.admin,
            None,
        )
        .await;
    assert_eq!(dropped.status, StatusCode::NO_CONTENT, "{}", dropped.text);
    let dead = server
        .call(Method::GET, "/api/v1/deliveries/dead", &desk.admin, None)
        .await;
    assert_eq!(dead.body["dead_letters"], json!([]));
    let message = thread_message(server, &agent, id, message_id).await;
    assert_eq!(message["delivery"], "failed");
}
