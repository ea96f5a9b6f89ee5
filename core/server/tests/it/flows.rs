//! Chatbot flows in the running server, with the first-party guided-flow
//! plugin: a channel's default flow answers new conversations (rule 1),
//! looks orders up in the configured shop (a local Shopify fake), ends
//! conversations with a configured reason or hands them to the queue with
//! its note; agents hand conversations to a flow; a flow that cannot go on
//! hands the conversation to the queue; sessions survive a restart.

use std::time::Duration;

use omnigate_fakes::FakeServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::desk_helpers::{
    Channel, act, api_channel, conversation, member, set_presence, write_in,
};
use crate::harness::{Auth, Desk, Server};
use crate::plugins::{desk_reaching, install, wasm};

/// A support bot: greets, asks, takes an order number, looks it up.
const SUPPORT: &str = r##"{
  "start": "menu",
  "steps": {
    "menu": {
      "say": ["Hello {{contact.name}}!"],
      "ask": {"text": "How can we help?", "variable": "topic", "choices": [
        {"id": "order", "title": "Where is my order", "keywords": ["order", "sipariş"], "next": "ask_number"},
        {"id": "agent", "title": "Talk to a person", "next": "agent"}
      ]}
    },
    "ask_number": {"say": ["Please type your order number."], "input": {"variable": "order_number", "next": "lookup"}},
    "lookup": {"lookup": {"order": "#{{order_number}}", "found": "found", "missing": "missing", "failed": "failed"}},
    "found": {"say": ["Order {{order.number}} is {{order.status}} ({{order.total}})."], "end": {"reason": "Resolved"}},
    "missing": {"say": ["I could not find order {{order_number}}."], "handoff": {"note": "order {{order_number}} not found"}},
    "failed": {"say": ["The shop did not answer: {{shop.error}}"], "handoff": {"note": "shop lookup failed"}},
    "agent": {"say": ["Connecting you to a colleague."], "handoff": {"note": "asked for a person"}}
  }
}"##;

/// A desk with guided-flow installed and a `support` flow, plus an API
/// channel whose new conversations start in it.
async fn desk_with_flow(fakes: &[&FakeServer]) -> (Desk, Channel) {
    let desk = desk_reaching(fakes).await;
    let installed = install(&desk, wasm("guided-flow"), None).await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.text);
    assert_eq!(installed.body["kind"], "flow");
    let created = desk
        .server
        .call(
            Method::POST,
            "/api/v1/flows",
            &desk.admin,
            Some(json!({
                "name": "support",
                "plugin": "guided-flow",
                "config": { "definition": SUPPORT },
                "end_reason": "Resolved",
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let channel = api_channel(&desk, json!({ "default_flow": "support" })).await;
    (desk, channel)
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

/// Waits until the thread has `count` messages the bot sent (the flow
/// runs beside the webhook's answer) and returns them.
async fn bot_messages(desk: &Desk, conversation: u64, count: usize) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..200 {
        last = thread(&desk.server, &desk.admin, conversation)
            .await
            .into_iter()
            .filter(|m| m["author"] == "bot" && m["direction"] == "outbound")
            .collect();
        if last.len() >= count {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("expected {count} bot messages in conversation {conversation}, got {last:#?}");
}

/// Waits until the conversation's status is `status`.
async fn wait_for_status(desk: &Desk, conversation_id: u64, status: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = conversation(&desk.server, &desk.admin, conversation_id).await;
        if last["status"] == status {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("conversation {conversation_id} never became {status}; last {last}");
}

fn text_of(message: &Value) -> String {
    message["content"]["text"]
        .as_str()
        .or_else(|| message["content"]["body"].as_str())
        .unwrap_or_default()
        .to_owned()
}

async fn write(desk: &Desk, channel: &Channel, id: &str, text: &str) -> u64 {
    let reply = write_in(&desk.server, channel, "ayse", id, text).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["conversation_id"].as_u64().unwrap()
}

/// Installs the shopify plugin and configures the shop `shop_fake` serves
/// (at `magaza.myshopify.com`, reachable from `desk`).
async fn configure_shopify(desk: &Desk) {
    use omnigate_fakes::shopify;
    let shopify_installed = install(desk, wasm("shopify"), None).await;
    assert_eq!(
        shopify_installed.status,
        StatusCode::CREATED,
        "{}",
        shopify_installed.text
    );
    let shop = desk
        .server
        .call(
            Method::POST,
            "/api/v1/shops",
            &desk.admin,
            Some(json!({
                "name": "Web shop",
                "plugin": "shopify",
                "config": { "shop_domain": "magaza.myshopify.com", "api_version": shopify::API_VERSION },
                "secrets": { "access_token": shopify::TOKEN },
            })),
        )
        .await;
    assert_eq!(shop.status, StatusCode::CREATED, "{}", shop.text);
}

#[tokio::test]
async fn a_default_flow_answers_looks_the_order_up_in_the_shop_and_ends_the_conversation() {
    use omnigate_fakes::shopify::Shop;
    let shop_fake = FakeServer::start(&["magaza.myshopify.com"], Shop::seeded().router()).unwrap();
    let (desk, channel) = desk_with_flow(&[&shop_fake]).await;
    let server = &desk.server;
    configure_shopify(&desk).await;

    // Rule 1: the new conversation starts in the channel's default flow,
    // which greets by name and asks with buttons.
    let id = write(&desk, &channel, "m1", "Merhaba").await;
    let bot = bot_messages(&desk, id, 2).await;
    assert_eq!(text_of(&bot[0]), "Hello Customer ayse!");
    assert_eq!(bot[1]["content"]["type"], "interactive", "{}", bot[1]);
    assert_eq!(
        conversation(server, &desk.admin, id).await["status"],
        "in_flow"
    );
    // A typed keyword picks the first choice; the number is looked up in
    // the shop and the flow ends the conversation with its reason.
    write(&desk, &channel, "m2", "siparişim nerede").await;
    let bot = bot_messages(&desk, id, 3).await;
    assert_eq!(text_of(&bot[2]), "Please type your order number.");
    write(&desk, &channel, "m3", "1003").await;
    let bot = bot_messages(&desk, id, 4).await;
    let answer = text_of(&bot[3]);
    assert!(answer.starts_with("Order #1003 is "), "{answer}");
    assert!(answer.contains("TRY"), "{answer}");
    let ended = wait_for_status(&desk, id, "ended").await;
    assert_eq!(ended["end"]["reason"], "Resolved", "{ended}");
    let audit = server
        .call(
            Method::GET,
            "/api/v1/audit?action=conversation.ended_by_flow",
            &desk.admin,
            None,
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    assert!(
        audit.text.contains(&format!("conversation:{id}")),
        "{}",
        audit.text
    );
    // A redelivered message is not answered twice.
    write(&desk, &channel, "m3", "1003").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(bot_messages(&desk, id, 4).await.len(), 4);
}

/// A shop that takes its time answers one conversation late and holds
/// back no other: each conversation in a flow runs on its own.
#[tokio::test]
async fn a_slow_shop_lookup_holds_back_only_its_own_conversation() {
    use omnigate_fakes::shopify::Shop;
    let shop = Shop::seeded();
    let shop_fake = FakeServer::start(&["magaza.myshopify.com"], shop.router()).unwrap();
    let (desk, channel) = desk_with_flow(&[&shop_fake]).await;
    configure_shopify(&desk).await;

    let ayse = write(&desk, &channel, "a1", "Merhaba").await;
    bot_messages(&desk, ayse, 2).await;
    write(&desk, &channel, "a2", "sipariş").await;
    bot_messages(&desk, ayse, 3).await;
    // Ayşe's order number goes to the shop, which does not answer yet.
    let slow = shop.hold();
    write(&desk, &channel, "a3", "1003").await;
    for _ in 0..200 {
        if shop.waiting() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(shop.waiting(), 1, "the lookup never reached the shop");

    // Meanwhile Mehmet writes and is greeted.
    let reply = write_in(&desk.server, &channel, "mehmet", "m1", "Selam").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let mehmet = reply.body["conversation_id"].as_u64().unwrap();
    let greeted = bot_messages(&desk, mehmet, 2).await;
    assert_eq!(text_of(&greeted[0]), "Hello Customer mehmet!");
    assert_eq!(shop.waiting(), 1, "Ayşe's lookup is still waiting");
    assert_eq!(thread(&desk.server, &desk.admin, ayse).await.len(), 6);

    // The shop answers; Ayşe gets her order.
    drop(slow);
    let bot = bot_messages(&desk, ayse, 4).await;
    assert!(text_of(&bot[3]).starts_with("Order #1003 is "), "{bot:#?}");
}

#[tokio::test]
async fn a_flow_hands_over_with_its_note_and_an_online_agent_gets_the_conversation() {
    let (desk, channel) = desk_with_flow(&[]).await;
    let server = &desk.server;
    let (agent_id, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let id = write(&desk, &channel, "m1", "Merhaba").await;
    bot_messages(&desk, id, 2).await;
    // Nobody gets a conversation that is in a flow.
    assert_eq!(
        conversation(server, &desk.admin, id).await["agent_id"],
        Value::Null
    );
    write(&desk, &channel, "m2", "2").await;
    let assigned = wait_for_status(&desk, id, "assigned").await;
    assert_eq!(assigned["agent_id"], agent_id, "{assigned}");
    let messages = thread(server, &agent, id).await;
    let note = messages
        .iter()
        .find(|m| m["direction"] == "note" && m["author"] == "bot")
        .unwrap_or_else(|| panic!("no note from the flow in {messages:#?}"));
    let note = text_of(note);
    assert!(note.contains("asked for a person"), "{note}");
    assert!(note.contains("topic = agent"), "{note}");
    // The contact's next message goes to the agent, not the bot.
    write(&desk, &channel, "m3", "hello?").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(bot_messages(&desk, id, 3).await.len(), 3);
}

#[tokio::test]
async fn agents_hand_conversations_to_configured_flows_and_a_broken_flow_gives_them_back() {
    let (desk, _) = desk_with_flow(&[]).await;
    let server = &desk.server;
    let queue_channel = api_channel(&desk, json!({ "name": "Plain" })).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let reply = write_in(server, &queue_channel, "mehmet", "q1", "I need help").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let id = reply.body["conversation_id"].as_u64().unwrap();
    wait_for_status(&desk, id, "assigned").await;

    // Agents see the flows to pick from; only configured flows are taken.
    let flows = server
        .call(Method::GET, "/api/v1/flows", &agent, None)
        .await;
    assert_eq!(flows.status, StatusCode::OK, "{}", flows.text);
    assert_eq!(flows.body["flows"][0]["name"], "support");
    act(
        server,
        &agent,
        id,
        "transfer-to-flow",
        Some(json!({ "flow": "nope" })),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let handed = act(
        server,
        &agent,
        id,
        "transfer-to-flow",
        Some(json!({ "flow": "support" })),
    )
    .await;
    assert_eq!(handed.status, StatusCode::OK, "{}", handed.text);
    // The flow opens at once over the contact's latest message.
    let bot = bot_messages(&desk, id, 2).await;
    assert_eq!(text_of(&bot[0]), "Hello Customer mehmet!");

    // An admin disables the flow: the contact's next message goes to the
    // queue with a note saying why, and the agent gets it back.
    let flow_id = flows.body["flows"][0]["id"].as_u64().unwrap();
    let disabled = server
        .call(
            Method::PATCH,
            &format!("/api/v1/flows/{flow_id}"),
            &desk.admin,
            Some(json!({ "disabled": true })),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    let reply = write_in(server, &queue_channel, "mehmet", "q2", "1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    wait_for_status(&desk, id, "assigned").await;
    let messages = thread(server, &agent, id).await;
    assert!(
        messages
            .iter()
            .any(|m| m["direction"] == "note" && text_of(m).contains("is disabled")),
        "{messages:#?}"
    );
}

#[tokio::test]
async fn flows_are_checked_when_configured_and_refused_to_agents() {
    let (desk, channel) = desk_with_flow(&[]).await;
    let server = &desk.server;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    let flow = |body: Value| server.call(Method::POST, "/api/v1/flows", &desk.admin, Some(body));
    // A name is unique; the plugin must be a flow plugin; settings follow
    // its manifest; the end reason is a configured one.
    flow(
        json!({ "name": "support", "plugin": "guided-flow", "config": { "definition": SUPPORT } }),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "conflict");
    flow(json!({ "name": "x", "plugin": "well-behaved" }))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    flow(json!({ "name": "x", "plugin": "guided-flow" }))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    flow(json!({ "name": "x", "plugin": "guided-flow", "config": { "definition": SUPPORT }, "end_reason": "Bored" }))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    server
        .call(
            Method::POST,
            "/api/v1/flows",
            &agent,
            Some(json!({ "name": "mine", "plugin": "guided-flow" })),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    // Channels name configured flows only; a flow in use is not deleted.
    server
        .call(
            Method::PATCH,
            &format!("/api/v1/channels/{}", channel.id),
            &desk.admin,
            Some(json!({ "default_flow": "nope" })),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let flows = server
        .call(Method::GET, "/api/v1/flows", &desk.admin, None)
        .await;
    let listed = &flows.body["flows"][0];
    assert_eq!(
        listed["default_of_channels"],
        json!([channel.id]),
        "{listed}"
    );
    let id = listed["id"].as_u64().unwrap();
    server
        .call(
            Method::DELETE,
            &format!("/api/v1/flows/{id}"),
            &desk.admin,
            None,
        )
        .await
        .assert_error(StatusCode::CONFLICT, "flow_in_use");
    // A definition with a mistake is refused when it is saved, with the
    // step at fault named (the flow is opened once with it).
    let broken = server
        .call(
            Method::PATCH,
            &format!("/api/v1/flows/{id}"),
            &desk.admin,
            Some(json!({ "config": { "definition": "{\"start\":\"a\",\"steps\":{\"a\":{\"next\":\"b\"}}}" } })),
        )
        .await;
    broken.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "flow_invalid");
    assert!(
        broken
            .text
            .contains("`next` names `b`, which is not a step"),
        "{}",
        broken.text
    );
    flow(json!({ "name": "y", "plugin": "guided-flow", "config": { "definition": "{}" } }))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "flow_invalid");
    // The flow as saved still answers.
    let conversation_id = write(&desk, &channel, "m1", "Merhaba").await;
    bot_messages(&desk, conversation_id, 2).await;
}

#[tokio::test]
async fn a_conversation_in_a_flow_resumes_at_its_step_after_a_restart() {
    let (desk, channel) = desk_with_flow(&[]).await;
    let id = write(&desk, &channel, "m1", "Merhaba").await;
    bot_messages(&desk, id, 2).await;
    // A graceful stop: the session written with the bot's answers is on
    // disk (the flow worker writes both with no await between them).
    let desk = desk.restart(false).await;
    write(&desk, &channel, "m2", "1").await;
    let bot = bot_messages(&desk, id, 3).await;
    assert_eq!(text_of(&bot[2]), "Please type your order number.");
}
