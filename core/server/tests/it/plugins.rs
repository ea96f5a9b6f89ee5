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

use crate::desk_helpers::{
    conversation as conversation_of, inbox, member, reply_text, set_presence,
};
use crate::harness::{Auth, Desk, Reply, Server};

/// A built test plugin (`cargo xtask plugins`).
pub(crate) fn wasm(name: &str) -> Vec<u8> {
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
    desk_reaching(&[provider]).await
}

/// A desk whose `plugins.dir` holds the well-behaved channel plugin and
/// whose plugins reach every one of `fakes` under its host names.
pub(crate) async fn desk_reaching(fakes: &[&FakeServer]) -> Desk {
    desk_with_plugins(fakes, &["well-behaved"]).await
}

/// A desk whose `plugins.dir` holds the built plugins `names` and whose
/// plugins reach `fakes` under their real host names.
async fn desk_with_plugins(fakes: &[&FakeServer], names: &[&str]) -> Desk {
    let staging = tempfile::tempdir().unwrap();
    let ca = staging.path().join("fake-ca.pem");
    let pems: String = fakes.iter().map(|f| f.ca_pem()).collect();
    std::fs::write(&ca, pems).unwrap();
    let resolve = fakes
        .iter()
        .flat_map(|f| f.resolve_entries())
        .collect::<Vec<_>>()
        .join(",");
    let ca_path = ca.display().to_string();
    let dropins = tempfile::tempdir().unwrap();
    for name in names {
        std::fs::write(
            dropins
                .path()
                .join(format!("{}.wasm", name.replace('-', "_"))),
            wasm(name),
        )
        .unwrap();
    }
    let dropins_path = dropins.path().display().to_string();
    let mut env = vec![("OMNIGATE_PLUGINS__DIR", dropins_path.as_str())];
    if !fakes.is_empty() {
        env.push(("OMNIGATE_PLUGINS__HTTP_RESOLVE", resolve.as_str()));
        env.push(("OMNIGATE_PLUGINS__HTTP_CA_FILE", ca_path.as_str()));
    }
    let desk = Desk::start_with(&env).await;
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

    // While an admin has the plugin disabled, replies wait without spending
    // their attempts, and go out once it is enabled again.
    let disabled = server
        .call(
            Method::POST,
            "/api/v1/plugins/well-behaved/disable",
            &desk.admin,
            Some(json!({})),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    let sent = reply_text(server, &agent, conversation, "Bir dakika").await;
    let waiting = sent.body["message"]["id"].as_u64().unwrap();
    let mut pending = Value::Null;
    for _ in 0..200 {
        let list = server
            .call(Method::GET, "/api/v1/deliveries/pending", &desk.admin, None)
            .await;
        if let Some(job) = list.body["deliveries"]
            .as_array()
            .and_then(|jobs| jobs.iter().find(|j| j["message_id"] == waiting))
            .filter(|j| !j["last_error"].is_null())
        {
            pending = job.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(pending["attempts"], 0, "{pending}");
    assert!(
        pending["last_error"]
            .as_str()
            .unwrap()
            .contains("not enabled"),
        "{pending}"
    );
    server
        .call(
            Method::POST,
            "/api/v1/plugins/well-behaved/enable",
            &desk.admin,
            Some(json!({})),
        )
        .await;
    desk.clock.advance_secs(61);
    wait_for_delivery(server, &agent, conversation, waiting, "sent").await;
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

/// Installs `wasm` through the API as the desk's admin.
pub(crate) async fn install(desk: &Desk, wasm: Vec<u8>, signature: Option<&str>) -> Reply {
    let server = &desk.server;
    let mut request = server
        .client
        .post(server.url("/api/v1/plugins"))
        .header("content-type", "application/wasm")
        .body(wasm);
    if let Auth::Session { cookie, csrf } = &desk.admin {
        request = request
            .header("cookie", format!("__Host-omnigate_session={cookie}"))
            .header("x-csrf-token", csrf);
    }
    if let Some(signature) = signature {
        request = request.header("x-omnigate-signature", signature.trim());
    }
    reply_of(request.send().await.unwrap()).await
}

#[tokio::test]
async fn a_plugin_that_fails_to_send_dead_letters_the_message_and_the_server_keeps_serving() {
    let desk = Desk::start_with(&[("OMNIGATE_DESK__WEBHOOK_MAX_ATTEMPTS", "2")]).await;
    let server = &desk.server;
    let installed = install(&desk, wasm("faulty-send"), None).await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.text);
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;

    for (n, fault) in ["panic", "loop", "memory"].into_iter().enumerate() {
        let created = server
            .call(
                Method::POST,
                "/api/v1/channels",
                &desk.admin,
                Some(json!({
                    "name": format!("Faulty {fault}"),
                    "kind": "faulty-send",
                    "config": { "fault": fault },
                })),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let channel = created.body["channel"]["id"].as_u64().unwrap();
        let body =
            json!({ "id": format!("in-{fault}"), "from": format!("contact-{n}"), "text": "hi" })
                .to_string();
        let taken = post_webhook(server, channel, &body, "").await;
        assert_eq!(taken.body["received"], 1, "{}", taken.text);
        let conversation = *inbox(server, &agent).await.last().unwrap();
        let sent = reply_text(server, &agent, conversation, "hello").await;
        assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
        let id = sent.body["message"]["id"].as_u64().unwrap();

        // The first attempt fails; the retry comes after the backoff on the
        // clock, fails too, and the message is given up on.
        let mut failed = Value::Null;
        for _ in 0..300 {
            desk.clock.advance_secs(10);
            if let Some(message) = thread(server, &agent, conversation)
                .await
                .into_iter()
                .find(|m| m["id"] == id && m["delivery"] == "failed")
            {
                failed = message;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let reason = failed["failure_reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("faulty-send@0.1.0") && reason.contains("send"),
            "{fault}: {failed}"
        );
        if fault == "memory" {
            // Not retried: the same message would hit the same budget.
            assert!(reason.contains("ran out of memory"), "{failed}");
        }
        let dead = server
            .call(Method::GET, "/api/v1/deliveries/dead", &desk.admin, None)
            .await;
        assert!(
            dead.body["dead_letters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["message_id"] == id),
            "{fault}: {}",
            dead.text
        );
        // Serving throughout.
        let health = server
            .client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), StatusCode::OK);
    }
    // Failures in a row (no successful call between them) trip the
    // breaker; admins are told, and the plugin list shows it stopped. The
    // memory fault fails each message at its first attempt, so it takes
    // four more messages to make five failures in a row.
    let conversation = *inbox(server, &agent).await.last().unwrap();
    for _ in 0..4 {
        let sent = reply_text(server, &agent, conversation, "again").await;
        assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    }
    let mut tripped = Value::Null;
    for _ in 0..300 {
        desk.clock.advance_secs(10);
        let list = server
            .call(Method::GET, "/api/v1/plugins", &desk.admin, None)
            .await;
        if list.body["plugins"][0]["tripped"] == true {
            tripped = list.body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        tripped["plugins"][0]["name"], "faulty-send",
        "never tripped"
    );
    let audit = server
        .call(Method::GET, "/api/v1/audit?limit=200", &desk.admin, None)
        .await;
    assert!(audit.text.contains("plugin.tripped"), "{}", audit.text);
}

#[tokio::test]
async fn an_upgrade_under_load_loses_no_message() {
    let provider = fake_provider();
    let desk = desk_with_plugin(&provider).await;
    let server = &desk.server;
    let channel = plugin_channel(&desk).await;

    // A provider keeps delivering while the admin upgrades the plugin.
    const MESSAGES: usize = 120;
    let sender = {
        let client = server.client.clone();
        let url = server.url(&format!("/webhooks/{channel}"));
        tokio::spawn(async move {
            let mut refused = Vec::new();
            for n in 0..MESSAGES {
                let body = inbound_text(&format!("wamid.LOAD{n}"), &format!("9055500{n:04}"), "hi");
                let mut status = StatusCode::SERVICE_UNAVAILABLE;
                // A provider redelivers what was not answered 200.
                for _ in 0..20 {
                    status = client
                        .post(&url)
                        .header("x-hub-signature-256", sign("s3cret", &body))
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap()
                        .status();
                    if status == StatusCode::OK {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if status != StatusCode::OK {
                    refused.push(n);
                }
            }
            refused
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let upgraded = install(&desk, wasm("well-behaved-next"), None).await;
    assert_eq!(upgraded.status, StatusCode::CREATED, "{}", upgraded.text);
    assert_eq!(upgraded.body["version"], "0.2.0");
    assert_eq!(upgraded.body["loaded"], true);
    let refused = sender.await.unwrap();
    assert!(refused.is_empty(), "never taken: {refused:?}");

    // Every message is stored exactly once: one conversation per contact.
    let mut seen = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/conversations?limit=100&cursor={c}"),
            None => "/api/v1/conversations?limit=100".to_owned(),
        };
        let page = server.call(Method::GET, &path, &desk.admin, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        seen += page.body["conversations"].as_array().unwrap().len();
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, MESSAGES);
    // An older version does not replace a newer one.
    install(&desk, wasm("well-behaved"), None)
        .await
        .assert_error(StatusCode::CONFLICT, "plugin_not_newer");
}

#[tokio::test]
async fn signed_only_mode_refuses_an_unsigned_plugin_and_takes_a_signed_one() {
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("author.key");
    let made = std::process::Command::new(env!("CARGO_BIN_EXE_omnigate"))
        .args(["plugin", "keygen", "--out"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(made.status.success());
    let printed = String::from_utf8_lossy(&made.stdout).into_owned();
    let public = printed
        .lines()
        .find_map(|l| l.strip_prefix("public key (add to plugins.trusted_keys): "))
        .unwrap()
        .to_owned();
    let wasm_file = keys.path().join("trap.wasm");
    std::fs::write(&wasm_file, wasm("trap")).unwrap();
    let signed = std::process::Command::new(env!("CARGO_BIN_EXE_omnigate"))
        .args(["plugin", "sign", "--key"])
        .arg(&key_file)
        .arg(&wasm_file)
        .output()
        .unwrap();
    assert!(signed.status.success());
    let signature = std::fs::read_to_string(keys.path().join("trap.wasm.sig")).unwrap();

    let desk = Desk::start_with(&[
        ("OMNIGATE_PLUGINS__TRUSTED_KEYS", public.as_str()),
        ("OMNIGATE_PLUGINS__REQUIRE_SIGNED", "true"),
    ])
    .await;
    install(&desk, wasm("trap"), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "plugin_signature");
    // A signature of another file does not verify.
    install(&desk, wasm("well-behaved"), Some(&signature))
        .await
        .assert_error(StatusCode::FORBIDDEN, "plugin_signature");
    let taken = install(&desk, wasm("trap"), Some(&signature)).await;
    assert_eq!(taken.status, StatusCode::CREATED, "{}", taken.text);
    assert!(taken.body["signed_by"].is_string(), "{}", taken.text);
}

#[tokio::test]
async fn the_plugin_commands_manage_the_running_server() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let token = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            &desk.admin,
            Some(json!({ "name": "ops" })),
        )
        .await;
    let token = token.body["secret"].as_str().unwrap().to_owned();
    let files = tempfile::tempdir().unwrap();
    let trap = files.path().join("trap.wasm");
    std::fs::write(&trap, wasm("trap")).unwrap();
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    let dir = desk.dir.path().to_owned();
    let cli = move |args: Vec<String>| {
        let (dir, url, token) = (dir.clone(), url.clone(), token.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                crate::harness::omnigate(&dir)
                    .args(["plugin"])
                    .args(&args)
                    .args(["--server", &url])
                    .env("OMNIGATE_API_TOKEN", &token)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let text = |out: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };

    let out = cli(vec!["install".into(), trap.display().to_string()]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).starts_with("trap 0.1.0 (channel) loaded"),
        "{}",
        text(&out)
    );
    let out = cli(vec!["disable".into(), "trap".into()]).await;
    assert!(
        text(&out).contains("trap 0.1.0 (channel) disabled"),
        "{}",
        text(&out)
    );
    let out = cli(vec!["list".into()]).await;
    assert_eq!(text(&out), "trap 0.1.0 (channel) disabled\n");
    let out = cli(vec!["enable".into(), "trap".into()]).await;
    assert!(text(&out).contains("loaded"), "{}", text(&out));
    let out = cli(vec!["remove".into(), "trap".into()]).await;
    assert_eq!(text(&out), "removed trap\n");
    // A refusal exits 4 with the server's reason.
    let out = cli(vec!["remove".into(), "trap".into()]).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("not_found"), "{}", text(&out));
}

#[tokio::test]
async fn agents_see_the_contacts_orders_and_search_products_in_the_configured_shops() {
    use omnigate_fakes::shopify::{self, Shop};
    let provider = fake_provider();
    let shop = Shop::seeded();
    let shop_fake = FakeServer::start(&["magaza.myshopify.com"], shop.router()).unwrap();
    let desk = desk_reaching(&[&provider, &shop_fake]).await;
    let server = &desk.server;
    let installed = install(&desk, wasm("shopify"), None).await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.text);
    assert_eq!(installed.body["kind"], "commerce");

    let configure = |name: &str, token: &str| {
        json!({
            "name": name,
            "plugin": "shopify",
            "config": { "shop_domain": "magaza.myshopify.com", "api_version": shopify::API_VERSION },
            "secrets": { "access_token": token },
        })
    };
    let created = server
        .call(
            Method::POST,
            "/api/v1/shops",
            &desk.admin,
            Some(configure("Web shop", shopify::TOKEN)),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["secrets_set"], json!(["access_token"]));
    assert!(!created.text.contains(shopify::TOKEN), "{}", created.text);
    let shop_id = created.body["id"].as_u64().unwrap();
    // A second shop whose token the shop refuses: its error shows beside
    // the first shop's orders.
    let broken = server
        .call(
            Method::POST,
            "/api/v1/shops",
            &desk.admin,
            Some(configure("Old shop", "shpat_wrong")),
        )
        .await;
    assert_eq!(broken.status, StatusCode::CREATED, "{}", broken.text);
    // Settings the plugin does not declare are refused.
    server
        .call(
            Method::POST,
            "/api/v1/shops",
            &desk.admin,
            Some(json!({ "name": "x", "plugin": "shopify", "config": { "nope": "1" } })),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");

    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    server
        .call(
            Method::POST,
            "/api/v1/shops",
            &agent,
            Some(configure("Mine", shopify::TOKEN)),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let channel = plugin_channel(&desk).await;
    let body = inbound_text("wamid.SHOP1", "905321112233", "Siparişim nerede?");
    let taken = post_webhook(server, channel, &body, &sign("s3cret", &body)).await;
    assert_eq!(taken.body["received"], 1, "{}", taken.text);
    let inbox = server
        .call(Method::GET, "/api/v1/inbox", &agent, None)
        .await;
    let conversation = inbox.body["conversations"][0]["id"].as_u64().unwrap();

    let orders = server
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{conversation}/orders"),
            &agent,
            None,
        )
        .await;
    assert_eq!(orders.status, StatusCode::OK, "{}", orders.text);
    assert_eq!(orders.body["phone"], "+905321112233");
    let shops = orders.body["shops"].as_array().unwrap();
    assert_eq!(shops.len(), 2, "{}", orders.text);
    let good = shops.iter().find(|s| s["shop_id"] == shop_id).unwrap();
    assert!(good["error"].is_null(), "{good}");
    let list = good["orders"].as_array().unwrap();
    assert!(!list.is_empty(), "{good}");
    assert!(
        list.iter().all(|o| o["customer_name"]
            .as_str()
            .is_some_and(|n| n.contains("Ayşe"))),
        "{good}"
    );
    let bad = shops.iter().find(|s| s["shop_id"] != shop_id).unwrap();
    assert!(
        bad["error"].as_str().unwrap().contains("credentials"),
        "{bad}"
    );

    let number = list[0]["id"].as_str().unwrap().to_owned();
    let one = server
        .call(
            Method::GET,
            &format!(
                "/api/v1/shops/{shop_id}/orders/{}",
                number.replace('/', "%2F")
            ),
            &agent,
            None,
        )
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.body["order"]["number"], list[0]["number"]);

    let products = server
        .call(
            Method::GET,
            &format!("/api/v1/shops/{shop_id}/products?q=Ti%C5%9F%C3%B6rt"),
            &agent,
            None,
        )
        .await;
    assert_eq!(products.status, StatusCode::OK, "{}", products.text);
    assert_eq!(
        products.body["products"][0]["title"], "Pamuklu Tişört",
        "{}",
        products.text
    );
}

#[tokio::test]
async fn admins_consoles_hear_of_plugin_changes_live() {
    let desk = desk_reaching(&[]).await;
    let mut socket = crate::live::open(&desk.server, &desk.admin, "", None)
        .await
        .unwrap();
    let installed = install(&desk, wasm("echo-flow"), None).await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.text);
    let seen = crate::live::until(&mut socket, "plugin").await;
    let event = seen.last().unwrap();
    assert_eq!(event["data"]["name"], "echo-flow", "{event}");
    assert_eq!(event["data"]["change"], "plugin.installed", "{event}");
    let disabled = desk
        .server
        .call(
            Method::POST,
            "/api/v1/plugins/echo-flow/disable",
            &desk.admin,
            None,
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    let seen = crate::live::until(&mut socket, "plugin").await;
    assert_eq!(seen.last().unwrap()["data"]["change"], "plugin.disabled");
}

/// A WhatsApp Cloud fake accepting `token`, a desk with the
/// whatsapp-cloud plugin reaching it, a channel `name` on it (with
/// `config`, the token and `app_secret`), and the conversation a contact
/// (905321112233, "Ayşe Y.") opens with `first` (wamid, text), held by an
/// online agent.
struct WhatsAppDesk {
    whatsapp: omnigate_fakes::whatsapp::WhatsAppFake,
    desk: Desk,
    channel: u64,
    agent: Auth,
    conversation: u64,
}

async fn whatsapp_desk(
    token: &str,
    app_secret: &str,
    (name, config): (&str, Value),
    first: (&str, &str),
) -> WhatsAppDesk {
    let whatsapp = omnigate_fakes::whatsapp::WhatsAppFake::start(token).expect("fake starts");
    let desk = desk_with_plugins(&[&whatsapp.server], &["whatsapp-cloud"]).await;
    let server = &desk.server;
    let channel = json!({
        "name": name,
        "kind": "whatsapp-cloud",
        "config": config,
        "secrets": { "access_token": token, "app_secret": app_secret, "verify_token": "vt" },
    });
    let reply = server
        .call(Method::POST, "/api/v1/channels", &desk.admin, Some(channel))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let channel = reply.body["channel"]["id"].as_u64().unwrap();
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let body = inbound_text(first.0, "905321112233", first.1);
    let taken = post_webhook(server, channel, &body, &sign(app_secret, &body)).await;
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.text);
    let conversation = inbox(server, &agent).await[0];
    WhatsAppDesk {
        whatsapp,
        desk,
        channel,
        agent,
        conversation,
    }
}

#[tokio::test]
async fn an_agents_file_goes_out_on_whatsapp_uploaded_then_sent_by_media_id() {
    use omnigate_fakes::whatsapp::PHONE_NUMBER_ID;
    const TOKEN: &str = "EAAG-e2e-token";
    const APP_SECRET: &str = "e2e-app-secret";
    const PDF: &[u8] =
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\r\n--boundary-like\r\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

    // A contact writes; an online agent gets the conversation.
    let WhatsAppDesk {
        whatsapp,
        desk,
        channel,
        agent,
        conversation,
    } = whatsapp_desk(
        TOKEN,
        APP_SECRET,
        (
            "WhatsApp +1 555 078 3881",
            json!({ "phone_number_id": PHONE_NUMBER_ID }),
        ),
        ("wamid.IN-MEDIA-1", "Faturamı gönderir misiniz?"),
    )
    .await;
    let server = &desk.server;

    // The agent uploads the invoice and replies with it.
    let (cookie, csrf) = match &agent {
        Auth::Session { cookie, csrf } => (cookie.clone(), csrf.clone()),
        _ => panic!("agents have sessions"),
    };
    let uploaded = server
        .client
        .post(server.url(&format!(
            "/api/v1/conversations/{conversation}/attachments?filename=fatura-1042.pdf"
        )))
        .header("content-type", "application/octet-stream")
        .header("cookie", format!("__Host-omnigate_session={cookie}"))
        .header("x-csrf-token", csrf)
        .body(PDF.to_vec())
        .send()
        .await
        .unwrap();
    let uploaded = reply_of(uploaded).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text);
    let sha = uploaded.body["attachment"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = server
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{conversation}/messages"),
            &agent,
            Some(json!({ "content": {
                "type": "media", "kind": "document", "attachment": sha, "caption": "Faturanız ekte"
            } })),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    let id = sent.body["message"]["id"].as_u64().unwrap();

    // The provider got the file first, byte for byte, then the message
    // naming it; the message shows as sent with the provider's id.
    let delivered = wait_for_delivery(server, &agent, conversation, id, "sent").await;
    let uploads = whatsapp.state.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].bytes, PDF);
    assert_eq!(uploads[0].media_type, "application/pdf");
    assert_eq!(uploads[0].filename, "fatura-1042.pdf");
    let messages = whatsapp.state.sent();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["type"], "document");
    assert_eq!(
        messages[0]["document"],
        json!({ "id": uploads[0].id, "caption": "Faturanız ekte", "filename": "fatura-1042.pdf" })
    );
    let wamid = delivered["provider_message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(wamid.starts_with("wamid."), "{delivered}");
    let paths: Vec<String> = whatsapp
        .server
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        paths,
        vec![
            format!("/v25.0/{PHONE_NUMBER_ID}/media"),
            format!("/v25.0/{PHONE_NUMBER_ID}/messages"),
        ]
    );

    // WhatsApp's delivery report moves the ticks on.
    let report = status_update(&wamid, "905321112233", "delivered");
    let taken = post_webhook(server, channel, &report, &sign(APP_SECRET, &report)).await;
    assert_eq!(taken.body["statuses"], 1, "{}", taken.text);
    wait_for_delivery(server, &agent, conversation, id, "delivered").await;
}

#[tokio::test]
async fn agents_pick_from_the_channels_approved_templates() {
    use omnigate_fakes::whatsapp::{PHONE_NUMBER_ID, WABA_ID, template};
    const TOKEN: &str = "EAAG-templates-token";
    const APP_SECRET: &str = "templates-app-secret";

    let WhatsAppDesk {
        whatsapp,
        desk,
        channel,
        agent,
        conversation,
    } = whatsapp_desk(
        TOKEN,
        APP_SECRET,
        (
            "WhatsApp mağaza",
            json!({ "phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID }),
        ),
        ("wamid.TPL-1", "Kargom nerede?"),
    )
    .await;
    let server = &desk.server;
    whatsapp.state.set_templates(vec![
        template(
            "siparis_kargoda",
            "tr",
            "UTILITY",
            "APPROVED",
            "Siparişiniz {{1}} kargoya verildi, takip no {{2}}.",
        ),
        template("kampanya", "tr", "MARKETING", "REJECTED", "Büyük indirim!"),
        template("hello_world", "en_US", "UTILITY", "APPROVED", "Hello {{1}}"),
        template("yeni_sablon", "tr", "UTILITY", "PENDING", "Taslak"),
    ]);

    // Only the approved ones, by name and language, with what the picker
    // needs: the parameters to ask for and the body to preview.
    let path = format!("/api/v1/conversations/{conversation}/templates");
    let listed = server.call(Method::GET, &path, &agent, None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["listed"], true);
    assert_eq!(
        listed.body["templates"],
        json!([
            { "name": "hello_world", "language": "en_US", "category": "UTILITY", "parameter_count": 1, "body": "Hello {{1}}" },
            { "name": "siparis_kargoda", "language": "tr", "category": "UTILITY", "parameter_count": 2,
              "body": "Siparişiniz {{1}} kargoya verildi, takip no {{2}}." },
        ])
    );
    // Asked of the provider once; the next agent's look reuses the list.
    let again = server.call(Method::GET, &path, &agent, None).await;
    assert_eq!(again.body, listed.body);
    let asked = whatsapp
        .server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/message_templates"))
        .count();
    assert_eq!(asked, 1);

    // Another agent may not look into this conversation.
    let (_, other) = member(&desk, "other@example.com", "agent").await;
    let refused = server.call(Method::GET, &path, &other, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.body["error"]["code"], "forbidden");

    // A reconfigured channel (a wrong business account) asks again, and a
    // provider's refusal is a clear 502 naming the channel.
    let patched = server
        .call(
            Method::PATCH,
            &format!("/api/v1/channels/{channel}"),
            &desk.admin,
            Some(json!({ "config": { "phone_number_id": PHONE_NUMBER_ID, "business_account_id": "999" } })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    let failed = server.call(Method::GET, &path, &agent, None).await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY, "{}", failed.text);
    assert_eq!(failed.body["error"]["code"], "templates_unavailable");
    assert!(
        failed.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("WhatsApp mağaza: "),
        "{}",
        failed.text
    );
}

#[tokio::test]
async fn a_contacts_profile_change_outside_a_message_reaches_their_contact() {
    use omnigate_fakes::whatsapp::{PHONE_NUMBER_ID, envelope, message, messages_value};
    const APP_SECRET: &str = "profile-app-secret";
    const CONTACT: &str = "905321112233";

    let WhatsAppDesk {
        desk,
        channel,
        agent,
        conversation,
        ..
    } = whatsapp_desk(
        "EAAG-profile-token",
        APP_SECRET,
        (
            "WhatsApp mağaza",
            json!({ "phone_number_id": PHONE_NUMBER_ID }),
        ),
        ("wamid.PROFILE-1", "Merhaba"),
    )
    .await;
    let server = &desk.server;
    let before = conversation_of(server, &agent, conversation).await;
    assert_eq!(before["contact"]["name"], "Ayşe Y.");
    assert_eq!(before["contact"]["phone"], "+905321112233");

    // WhatsApp reports a changed number as a `system` message, with the
    // profile as it now stands: both reach the contact, and no message is
    // added to the thread.
    let changed = |from: &str, wamid: &str| {
        message(
            from,
            wamid,
            1_749_416_400,
            "system",
            json!({ "body": "User A changed from 905321112233 to 905329999999",
                    "type": "user_changed_number", "new_wa_id": "905329999999" }),
        )
    };
    let body = envelope(vec![messages_value(
        CONTACT,
        "Ayşe Yılmaz",
        vec![changed(CONTACT, "wamid.PROFILE-SYS")],
    )])
    .to_string();
    let taken = post_webhook(server, channel, &body, &sign(APP_SECRET, &body)).await;
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.text);
    let after = conversation_of(server, &agent, conversation).await;
    assert_eq!(after["contact"]["name"], "Ayşe Yılmaz");
    assert_eq!(after["contact"]["phone"], "+905329999999");
    assert_eq!(after["message_count"], 1, "a profile is not a message");

    // A profile of someone who never wrote creates nobody: their first
    // message will.
    let stranger = envelope(vec![messages_value(
        "905550000000",
        "Yabancı",
        vec![changed("905550000000", "wamid.PROFILE-STRANGER")],
    )])
    .to_string();
    let taken = post_webhook(server, channel, &stranger, &sign(APP_SECRET, &stranger)).await;
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.text);
    assert_eq!(inbox(server, &agent).await, vec![conversation]);
    let queue = server
        .call(Method::GET, "/api/v1/inbox", &agent, None)
        .await;
    assert_eq!(queue.body["queue"]["length"], 0, "{}", queue.text);
}
