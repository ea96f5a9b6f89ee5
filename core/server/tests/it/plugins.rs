//! Plugins in the running server: drop-ins from `plugins.dir` are installed
//! and loaded at start; a plugin channel takes its provider's webhooks
//! (handshake, signature, idempotent redelivery) and sends agents' replies
//! through the plugin to the provider (a local fake over real HTTPS, under
//! the provider's host name); admins install, disable, enable and remove
//! plugins through the API without a restart.

use std::path::PathBuf;
use std::time::Duration;

use axum::Json;
use axum::routing::post;
use hmac::{Hmac, Mac};
use omnigate_fakes::FakeServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::desk_helpers::{member, reply_text, set_presence};
use crate::harness::{Auth, Desk, Reply, Server};

/// A built test plugin (`cargo xtask plugins`).
fn wasm(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/target/wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "test plugin {name} not found at {} ({e}): run `cargo xtask plugins`",
            path.display()
        )
    })
}

/// The provider the well-behaved plugin sends to: `POST
/// https://api.example.test/messages`, answering with a message id.
fn fake_provider() -> FakeServer {
    FakeServer::start(
        &["api.example.test"],
        axum::Router::new().route(
            "/messages",
            post(|Json(body): Json<Value>| async move {
                Json(json!({ "id": format!("wamid.out-{}", body["to"].as_str().unwrap_or("")) }))
            }),
        ),
    )
    .expect("fake provider starts")
}

/// A desk whose `plugins.dir` holds the well-behaved channel plugin and
/// whose plugins reach `provider`.
async fn desk_with_plugin(provider: &FakeServer) -> Desk {
    let staging = tempfile::tempdir().unwrap();
    let ca = staging.path().join("fake-ca.pem");
    std::fs::write(&ca, provider.ca_pem()).unwrap();
    let resolve = provider.resolve_entries().join(",");
    let ca_path = ca.display().to_string();
    let dropins = tempfile::tempdir().unwrap();
    std::fs::write(
        dropins.path().join("well_behaved.wasm"),
        wasm("well-behaved"),
    )
    .unwrap();
    let dropins_path = dropins.path().display().to_string();
    let desk = Desk::start_with(&[
        ("OMNIGATE_PLUGINS__HTTP_RESOLVE", resolve.as_str()),
        ("OMNIGATE_PLUGINS__HTTP_CA_FILE", ca_path.as_str()),
        ("OMNIGATE_PLUGINS__DIR", dropins_path.as_str()),
    ])
    .await;
    // The server has read both files; the temp dirs may go.
    drop((staging, dropins));
    desk
}

fn sign(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A WhatsApp-shaped webhook with one text message.
fn inbound_text(wamid: &str, from: &str, text: &str) -> String {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "1", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
            "contacts": [{ "profile": { "name": "Ayşe Y." }, "wa_id": from }],
            "messages": [{ "from": from, "id": wamid, "timestamp": "1749416383", "type": "text", "text": { "body": text } }]
        }}]}]
    })
    .to_string()
}

/// A WhatsApp-shaped status webhook.
fn status_update(wamid: &str, recipient: &str, status: &str) -> String {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "1", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
            "statuses": [{ "id": wamid, "status": status, "timestamp": "1749416390", "recipient_id": recipient }]
        }}]}]
    })
    .to_string()
}

async fn post_webhook(server: &Server, channel: u64, body: &str, signature: &str) -> Reply {
    let response = server
        .client
        .post(server.url(&format!("/webhooks/{channel}")))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    reply_of(response).await
}

async fn reply_of(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let version = response.version();
    let text = response.text().await.unwrap();
    Reply {
        status,
        headers,
        version,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

async fn plugin_channel(desk: &Desk) -> u64 {
    let reply = desk
        .server
        .call(
            Method::POST,
            "/api/v1/channels",
            &desk.admin,
            Some(json!({
                "name": "WhatsApp +90 555",
                "kind": "well-behaved",
                "config": { "verify_token": "vt-123" },
                "secrets": { "app_secret": "s3cret" },
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let channel = &reply.body["channel"];
    assert_eq!(channel["kind"], "well-behaved");
    assert_eq!(channel["config"]["verify_token"], "vt-123");
    assert_eq!(channel["secrets_set"], json!(["app_secret"]));
    assert!(
        !reply.text.contains("s3cret"),
        "a secret came back: {}",
        reply.text
    );
    channel["id"].as_u64().unwrap()
}

async fn thread(server: &Server, auth: &Auth, conversation: u64) -> Vec<Value> {
    let reply = server
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{conversation}/messages"),
            auth,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["messages"].as_array().unwrap().clone()
}

async fn wait_for_delivery(
    server: &Server,
    auth: &Auth,
    conversation: u64,
    id: u64,
    want: &str,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        if let Some(message) = thread(server, auth, conversation)
            .await
            .into_iter()
            .find(|m| m["id"] == id)
        {
            if message["delivery"] == want {
                return message;
            }
            last = message;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("message {id} never reached {want}; last seen {last}");
}

#[tokio::test]
async fn a_plugin_channel_takes_webhooks_and_sends_replies_through_its_plugin() {
    let provider = fake_provider();
    let desk = desk_with_plugin(&provider).await;
    let server = &desk.server;
    assert!(
        server.log().contains("plugins ready"),
        "no plugin start-up line:\n{}",
        server.log()
    );

    // The drop-in was installed and loaded at start.
    let list = server
        .call(Method::GET, "/api/v1/plugins", &desk.admin, None)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let plugin = &list.body["plugins"][0];
    assert_eq!(plugin["name"], "well-behaved");
    assert_eq!(plugin["loaded"], true);
    assert_eq!(plugin["kind"], "channel");

    let channel = plugin_channel(&desk).await;

    // The provider's subscription handshake is the plugin's to answer.
    let handshake = server
        .client
        .get(server.url(&format!(
            "/webhooks/{channel}?hub.mode=subscribe&hub.verify_token=vt-123&hub.challenge=1158201444"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(handshake.status(), StatusCode::OK);
    assert_eq!(handshake.text().await.unwrap(), "1158201444");
    let refused = server
        .client
        .get(server.url(&format!(
            "/webhooks/{channel}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // A signed webhook becomes a conversation; a redelivery stores nothing
    // new; a bad signature is refused.
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let body = inbound_text("wamid.IN1", "905321112233", "Merhaba, siparişim nerede?");
    let taken = post_webhook(server, channel, &body, &sign("s3cret", &body)).await;
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.text);
    assert_eq!(taken.body["received"], 1);
    let again = post_webhook(server, channel, &body, &sign("s3cret", &body)).await;
    assert_eq!(again.body["duplicates"], 1, "{}", again.text);
    post_webhook(server, channel, &body, &sign("wrong", &body))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    post_webhook(server, channel, "{not json", &sign("s3cret", "{not json"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "malformed_webhook");

    let inbox = server
        .call(Method::GET, "/api/v1/inbox", &agent, None)
        .await;
    let conversation = inbox.body["conversations"][0]["id"].as_u64().unwrap();
    let messages = thread(server, &agent, conversation).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["content"]["text"], "Merhaba, siparişim nerede?");

    // The agent's reply goes out through the plugin to the provider.
    let sent = reply_text(server, &agent, conversation, "Kargonuz yolda").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    let id = sent.body["message"]["id"].as_u64().unwrap();
    let delivered = wait_for_delivery(server, &agent, conversation, id, "sent").await;
    assert_eq!(delivered["provider_message_id"], "wamid.out-905321112233");
    let request = provider
        .wait_for(Duration::from_secs(5), |r| r.path == "/messages")
        .expect("the provider got the message");
    assert_eq!(
        request.json(),
        json!({ "to": "905321112233", "text": "Kargonuz yolda" })
    );

    // The provider's delivery report moves the ticks.
    let report = status_update("wamid.out-905321112233", "905321112233", "read");
    let taken = post_webhook(server, channel, &report, &sign("s3cret", &report)).await;
    assert_eq!(taken.body["statuses"], 1, "{}", taken.text);
    wait_for_delivery(server, &agent, conversation, id, "read").await;
}

#[tokio::test]
async fn admins_install_disable_enable_and_remove_plugins_without_a_restart() {
    let provider = fake_provider();
    let desk = desk_with_plugin(&provider).await;
    let server = &desk.server;
    let install = |bytes: Vec<u8>| {
        let request = server
            .client
            .post(server.url("/api/v1/plugins"))
            .header("content-type", "application/wasm")
            .body(bytes);
        match &desk.admin {
            Auth::Session { cookie, csrf } => request
                .header("cookie", format!("__Host-omnigate_session={cookie}"))
                .header("x-csrf-token", csrf),
            _ => request,
        }
    };

    // A plugin built against an interface this server does not run is
    // refused at install, with the reason.
    let refused = reply_of(install(wasm("future-interface")).send().await.unwrap()).await;
    refused.assert_error(StatusCode::BAD_REQUEST, "invalid_plugin");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not support"),
        "{}",
        refused.text
    );
    // Garbage is refused the same way.
    reply_of(install(b"not wasm".to_vec()).send().await.unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_plugin");

    // The trap plugin installs and loads at once.
    let installed = reply_of(install(wasm("trap")).send().await.unwrap()).await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.text);
    assert_eq!(installed.body["name"], "trap");
    assert_eq!(installed.body["loaded"], true);
    // The same file again changes nothing.
    let again = reply_of(install(wasm("trap")).send().await.unwrap()).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);

    // Agents may not manage plugins.
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    server
        .call(Method::GET, "/api/v1/plugins", &agent, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Disabled: the channel's webhooks answer 503 so the provider
    // redelivers; enabled again: they are taken.
    let channel = plugin_channel(&desk).await;
    let disabled = server
        .call(
            Method::POST,
            "/api/v1/plugins/well-behaved/disable",
            &desk.admin,
            Some(json!({})),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    assert_eq!(disabled.body["loaded"], false);
    let body = inbound_text("wamid.IN9", "905551112233", "hello?");
    post_webhook(server, channel, &body, &sign("s3cret", &body))
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "plugin_unavailable");
    let enabled = server
        .call(
            Method::POST,
            "/api/v1/plugins/well-behaved/enable",
            &desk.admin,
            Some(json!({})),
        )
        .await;
    assert_eq!(enabled.body["loaded"], true, "{}", enabled.text);
    let taken = post_webhook(server, channel, &body, &sign("s3cret", &body)).await;
    assert_eq!(taken.body["received"], 1, "{}", taken.text);

    // A plugin a channel uses cannot be removed; an unused one can.
    server
        .call(
            Method::DELETE,
            "/api/v1/plugins/well-behaved",
            &desk.admin,
            None,
        )
        .await
        .assert_error(StatusCode::CONFLICT, "plugin_in_use");
    let removed = server
        .call(Method::DELETE, "/api/v1/plugins/trap", &desk.admin, None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    let list = server
        .call(Method::GET, "/api/v1/plugins", &desk.admin, None)
        .await;
    let names: Vec<&str> = list.body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["well-behaved"]);

    // Each step is in the audit log.
    let audit = server
        .call(Method::GET, "/api/v1/audit?limit=100", &desk.admin, None)
        .await;
    for action in [
        "plugin.installed",
        "plugin.disabled",
        "plugin.enabled",
        "plugin.removed",
    ] {
        assert!(
            audit.text.contains(action),
            "{action} missing: {}",
            audit.text
        );
    }
}
