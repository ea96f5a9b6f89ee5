//! PRODUCT.md's conversation rules, one scenario each, driven over HTTPS
//! against the real binary on a clock the test moves.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::desk_helpers::{
    act, api_channel, configure, conversation, conversation_from, inbox, member, reply_text,
    set_presence, write_in,
};
use crate::harness::{Auth, Desk};

#[tokio::test]
async fn rule_1_and_2_the_queue_serves_the_oldest_to_online_agents_within_capacity() {
    let desk = Desk::start().await;
    let server = &desk.server;
    configure(&desk, json!({ "default_capacity": 1 })).await;
    let channel = api_channel(&desk, json!({})).await;
    let (_, ayse) = member(&desk, "ayse@example.com", "agent").await;
    let (_, mehmet) = member(&desk, "mehmet@example.com", "agent").await;
    let (_, zeynep) = member(&desk, "zeynep@example.com", "agent").await;

    // Nobody is online: every new conversation waits in the queue (rule 1).
    let first = conversation_from(server, &channel, "c1", "m1").await;
    desk.clock.advance_secs(5);
    let second = conversation_from(server, &channel, "c2", "m2").await;
    desk.clock.advance_secs(5);
    let third = conversation_from(server, &channel, "c3", "m3").await;
    assert_eq!(
        conversation(server, &desk.admin, first).await["status"],
        "queued"
    );

    // An agent on break gets nothing from the queue (rule 2).
    set_presence(server, &zeynep, "break").await;
    assert!(inbox(server, &zeynep).await.is_empty());

    // Coming online takes the oldest, and only up to capacity.
    set_presence(server, &ayse, "online").await;
    assert_eq!(inbox(server, &ayse).await, vec![first]);
    set_presence(server, &mehmet, "online").await;
    assert_eq!(inbox(server, &mehmet).await, vec![second]);
    let waiting = conversation(server, &desk.admin, third).await;
    assert_eq!(waiting["status"], "queued");

    // A second message from the same contact extends their conversation.
    let again = write_in(server, &channel, "c1", "m1b", "Hâlâ bekliyorum").await;
    assert_eq!(again.body["conversation_id"], first);
    let seen = conversation(server, &ayse, first).await;
    assert_eq!(seen["message_count"], 2);
    assert_eq!(seen["unread"], 2);
    assert_eq!(seen["contact"]["name"], "Customer c1");

    // The queue's figures are in the inbox.
    let reply = server.call(Method::GET, "/api/v1/inbox", &ayse, None).await;
    assert_eq!(reply.body["queue"]["length"], 1);
    assert_eq!(reply.body["queue"]["oldest_waiting_secs"], 0);
    assert_eq!(reply.body["load"], 1);
    assert_eq!(reply.body["capacity"], 1);

    // Raising capacity frees room: the queue drains at once.
    configure(&desk, json!({ "default_capacity": 2 })).await;
    let ayse_now = inbox(server, &ayse).await;
    let mehmet_now = inbox(server, &mehmet).await;
    assert!(
        ayse_now.contains(&third) || mehmet_now.contains(&third),
        "{ayse_now:?} {mehmet_now:?}"
    );
}

#[tokio::test]
async fn rule_3_pull_takes_the_oldest_regardless_of_capacity() {
    let desk = Desk::start().await;
    let server = &desk.server;
    configure(&desk, json!({ "default_capacity": 0 })).await;
    let channel = api_channel(&desk, json!({})).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;

    let reply = act(server, &agent, 0, "x", None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let pull = server
        .call(Method::POST, "/api/v1/queue/pull", &agent, None)
        .await;
    pull.assert_error(StatusCode::CONFLICT, "agent_not_online");

    set_presence(server, &agent, "online").await;
    let empty = server
        .call(Method::POST, "/api/v1/queue/pull", &agent, None)
        .await;
    empty.assert_error(StatusCode::CONFLICT, "queue_empty");

    let older = conversation_from(server, &channel, "c1", "m1").await;
    desk.clock.advance_secs(30);
    let newer = conversation_from(server, &channel, "c2", "m2").await;
    // Capacity 0 = manual only: nothing was handed out automatically.
    assert!(inbox(server, &agent).await.is_empty());
    for expected in [older, newer] {
        let pull = server
            .call(Method::POST, "/api/v1/queue/pull", &agent, None)
            .await;
        assert_eq!(pull.status, StatusCode::OK, "{}", pull.text);
        assert_eq!(pull.body["conversation"]["id"], expected);
        assert_eq!(pull.body["conversation"]["status"], "assigned");
    }
    assert_eq!(inbox(server, &agent).await, vec![older, newer]);
}

#[tokio::test]
async fn rule_4_transfers_need_an_online_target_and_come_back_when_declined_or_unanswered() {
    let desk = Desk::start().await;
    let server = &desk.server;
    configure(&desk, json!({ "transfer_timeout_secs": 60 })).await;
    let channel = api_channel(&desk, json!({})).await;
    let (_, source) = member(&desk, "source@example.com", "agent").await;
    let (target_id, target) = member(&desk, "target@example.com", "agent").await;
    set_presence(server, &source, "online").await;
    let id = conversation_from(server, &channel, "c1", "m1").await;
    assert_eq!(inbox(server, &source).await, vec![id]);

    // A target on break cannot be offered anything.
    set_presence(server, &target, "break").await;
    let refused = act(
        server,
        &source,
        id,
        "transfer",
        Some(json!({ "agent_id": target_id })),
    )
    .await;
    refused.assert_error(StatusCode::CONFLICT, "agent_not_online");

    // Offered: the source keeps it until the target answers.
    set_presence(server, &target, "online").await;
    let offered = act(
        server,
        &source,
        id,
        "transfer",
        Some(json!({ "agent_id": target_id, "note": "VIP, wants a refund" })),
    )
    .await;
    assert_eq!(offered.status, StatusCode::OK, "{}", offered.text);
    let seen = conversation(server, &target, id).await;
    assert_eq!(seen["status"], "transfer_pending");
    assert_eq!(seen["transfer"]["note"], "VIP, wants a refund");
    assert_eq!(inbox(server, &target).await, vec![id]);
    let still = reply_text(server, &source, id, "One moment, I am handing you over.").await;
    assert_eq!(still.status, StatusCode::CREATED, "{}", still.text);

    // Declined: back to the source, with a notice in the thread.
    let declined = act(server, &target, id, "transfer/decline", None).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.text);
    let back = conversation(server, &source, id).await;
    assert_eq!(back["status"], "assigned");
    assert_eq!(back["agent_id"], json!(seen["transfer"]["from"]));
    let thread = server
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}/messages"),
            &source,
            None,
        )
        .await;
    let last = thread.body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["author"], "system");
    assert_eq!(last["direction"], "note");
    assert!(
        last["content"]["text"]
            .as_str()
            .unwrap()
            .contains("declined")
    );

    // Unanswered: comes back when the timeout passes on the clock.
    act(
        server,
        &source,
        id,
        "transfer",
        Some(json!({ "agent_id": target_id })),
    )
    .await;
    desk.clock.advance_secs(59);
    assert_eq!(
        conversation(server, &source, id).await["status"],
        "transfer_pending"
    );
    desk.clock.advance_secs(1);
    assert_eq!(
        conversation(server, &source, id).await["status"],
        "assigned"
    );
    let late = act(server, &target, id, "transfer/accept", None).await;
    late.assert_error(StatusCode::CONFLICT, "wrong_state");

    // Accepted: the target holds it; the source no longer does.
    act(
        server,
        &source,
        id,
        "transfer",
        Some(json!({ "agent_id": target_id })),
    )
    .await;
    let wrong = act(server, &source, id, "transfer/accept", None).await;
    wrong.assert_error(StatusCode::FORBIDDEN, "not_transfer_target");
    let accepted = act(server, &target, id, "transfer/accept", None).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    assert_eq!(inbox(server, &target).await, vec![id]);
    assert!(inbox(server, &source).await.is_empty());
    let not_mine = reply_text(server, &source, id, "still here?").await;
    not_mine.assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Every step is in the audit log.
    let audit = server
        .call(
            Method::GET,
            "/api/v1/audit?action=conversation.transfer_answered",
            &desk.admin,
            None,
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    assert!(
        audit.text.contains("conversation.transfer_answered"),
        "{}",
        audit.text
    );
}

#[tokio::test]
async fn rule_5_and_6_ending_needs_a_listed_reason_and_reopen_brings_it_back() {
    let desk = Desk::start().await;
    let server = &desk.server;
    configure(&desk, json!({ "end_reasons": ["Resolved", "Spam"] })).await;
    let channel = api_channel(&desk, json!({})).await;
    let (agent_id, agent) = member(&desk, "agent@example.com", "agent").await;
    let (_, other) = member(&desk, "other@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let id = conversation_from(server, &channel, "c1", "m1").await;

    let missing = act(server, &agent, id, "end", Some(json!({}))).await;
    missing.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_end_reason");
    let unknown = act(
        server,
        &agent,
        id,
        "end",
        Some(json!({ "reason": "Bored" })),
    )
    .await;
    unknown.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_end_reason");
    let foreign = act(
        server,
        &other,
        id,
        "end",
        Some(json!({ "reason": "Resolved" })),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.text);

    let ended = act(
        server,
        &agent,
        id,
        "end",
        Some(json!({ "reason": "Resolved" })),
    )
    .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.text);
    assert_eq!(ended.body["conversation"]["status"], "ended");
    assert_eq!(ended.body["conversation"]["end"]["reason"], "Resolved");
    assert_eq!(ended.body["conversation"]["end"]["by"], agent_id);
    assert!(inbox(server, &agent).await.is_empty());

    // Read-only: no more messages.
    let closed = reply_text(server, &agent, id, "one more thing").await;
    closed.assert_error(StatusCode::CONFLICT, "conversation_ended");

    // History and terminated list it.
    let history = server
        .call(
            Method::GET,
            "/api/v1/conversations?status=ended&reason=Resolved",
            &agent,
            None,
        )
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    assert_eq!(history.body["conversations"][0]["id"], id);

    // The contact writes again: a new conversation starts (rule 1 again),
    // the ended one stays as it was.
    let newer = conversation_from(server, &channel, "c1", "m2").await;
    assert_ne!(newer, id);
    assert_eq!(conversation(server, &agent, id).await["status"], "ended");
    assert_eq!(
        conversation(server, &agent, newer).await["status"],
        "assigned"
    );
    // While that newer one is open, the old one cannot be reopened.
    let blocked = act(server, &agent, id, "reopen", None).await;
    blocked.assert_error(StatusCode::FORBIDDEN, "forbidden");
    act(
        server,
        &agent,
        newer,
        "end",
        Some(json!({ "reason": "Spam" })),
    )
    .await;

    // Reopen puts it back into the reopening agent's inbox (rule 6), and the
    // contact's next message lands in it.
    let reopened = act(server, &agent, id, "reopen", None).await;
    assert_eq!(reopened.status, StatusCode::OK, "{}", reopened.text);
    assert_eq!(reopened.body["conversation"]["status"], "assigned");
    assert_eq!(inbox(server, &agent).await, vec![id]);
    let next = write_in(server, &channel, "c1", "m3", "Teşekkürler").await;
    assert_eq!(next.body["conversation_id"], id);
    let sent = reply_text(server, &agent, id, "Rica ederim!").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
}

#[tokio::test]
async fn rule_7_outside_the_service_window_only_templates_go() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let channel = api_channel(&desk, json!({ "service_window_secs": 86_400 })).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let id = conversation_from(server, &channel, "c1", "m1").await;

    let open = conversation(server, &agent, id).await;
    assert_eq!(open["window_open"], true);
    assert_eq!(open["window_closes_at"], "2026-11-26T09:00:00.000Z");
    assert_eq!(
        reply_text(server, &agent, id, "inside the window")
            .await
            .status,
        StatusCode::CREATED
    );

    desk.clock.advance_secs(86_400);
    // A day later the agent's session has idled out: log in again.
    let agent = server
        .session("agent@example.com", "a long enough password")
        .await;
    assert_eq!(conversation(server, &agent, id).await["window_open"], false);
    let refused = reply_text(server, &agent, id, "too late").await;
    refused.assert_error(StatusCode::CONFLICT, "template_required");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("template")
    );
    // Private notes never leave, so the window does not apply to them.
    let note = act(
        server,
        &agent,
        id,
        "messages",
        Some(json!({ "note": true, "content": { "type": "text", "text": "customer is away" } })),
    )
    .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.text);
    let template = act(
        server,
        &agent,
        id,
        "messages",
        Some(json!({ "content": {
            "type": "template", "name": "order_update", "language": "tr", "parameters": ["#1001"]
        } })),
    )
    .await;
    assert_eq!(template.status, StatusCode::CREATED, "{}", template.text);

    // The contact's next message opens the window again.
    write_in(server, &channel, "c1", "m2", "Merhaba?").await;
    let reopened = conversation(server, &agent, id).await;
    assert_eq!(reopened["window_open"], true);
    assert_eq!(
        reply_text(server, &agent, id, "welcome back").await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn rule_8_acknowledged_messages_survive_kill_9_and_redelivery_adds_nothing() {
    let desk = Desk::start().await;
    let channel = api_channel(&desk, json!({})).await;
    let (agent_id, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(&desk.server, &agent, "online").await;
    let first = write_in(&desk.server, &channel, "c1", "wamid.1", "first").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["duplicate"], false);
    let again = write_in(&desk.server, &channel, "c1", "wamid.1", "first").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["duplicate"], true);
    assert_eq!(again.body["message_id"], first.body["message_id"]);
    let id = first.body["conversation_id"].as_u64().unwrap();
    // Follow-ups of a routed conversation are durable through the inbound
    // journal alone (no database flush before their 200).
    let mut last_id = 0;
    for (provider, text) in [("wamid.2", "second"), ("wamid.3", "third")] {
        let next = write_in(&desk.server, &channel, "c1", provider, text).await;
        assert_eq!(next.status, StatusCode::OK, "{}", next.text);
        assert_eq!(next.body["conversation_id"], id);
        last_id = next.body["message_id"].as_u64().unwrap();
    }

    // Killed right after the acknowledgement: nothing is lost, the
    // assignment and presence included.
    let desk = desk.restart(true).await;
    let server = &desk.server;
    let agent_again = server
        .session("agent@example.com", "a long enough password")
        .await;
    let _ = agent;
    let seen = conversation(server, &agent_again, id).await;
    assert_eq!(seen["status"], "assigned");
    assert_eq!(seen["agent_id"], agent_id);
    assert_eq!(seen["message_count"], 3);
    assert_eq!(seen["unread"], 3);
    assert_eq!(seen["preview"], "third");
    for (provider, text) in [("wamid.1", "first"), ("wamid.3", "third")] {
        let redelivered = write_in(server, &channel, "c1", provider, text).await;
        assert_eq!(redelivered.body["duplicate"], true, "{provider}");
    }
    // Ids handed out before the crash are never handed out again.
    let fourth = write_in(server, &channel, "c1", "wamid.4", "fourth").await;
    assert!(fourth.body["message_id"].as_u64().unwrap() > last_id);
    let thread = server
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}/messages"),
            &agent_again,
            None,
        )
        .await;
    let providers: Vec<&str> = thread.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["provider_message_id"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["wamid.1", "wamid.2", "wamid.3", "wamid.4"]);
}

#[tokio::test]
async fn supervisors_see_the_live_queue_set_presence_and_reassign_with_an_audit_trail() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let channel = api_channel(&desk, json!({})).await;
    let (agent_id, agent) = member(&desk, "agent@example.com", "agent").await;
    let (other_id, other) = member(&desk, "other@example.com", "agent").await;
    let (_, supervisor) = member(&desk, "sup@example.com", "supervisor").await;
    let id = conversation_from(server, &channel, "c1", "m1").await;
    desk.clock.advance_secs(90);

    let view = server
        .call(Method::GET, "/api/v1/supervisor/desk", &supervisor, None)
        .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    assert_eq!(view.body["queue"][0]["id"], id);
    assert_eq!(view.body["queue"][0]["waiting_secs"], 90);
    let agents = view.body["agents"].as_array().unwrap();
    assert!(
        agents
            .iter()
            .any(|a| a["user_id"] == agent_id && a["presence"] == "offline")
    );

    // An agent who walked away is set online by the supervisor and gets work.
    let set = server
        .call(
            Method::PUT,
            &format!("/api/v1/agents/{agent_id}/presence"),
            &supervisor,
            Some(json!({ "presence": "online" })),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.body["load"], 1);
    assert_eq!(inbox(server, &agent).await, vec![id]);
    // Agents cannot set each other's presence.
    let denied = server
        .call(
            Method::PUT,
            &format!("/api/v1/agents/{other_id}/presence"),
            &agent,
            Some(json!({ "presence": "online" })),
        )
        .await;
    denied.assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Reassign to an online agent only.
    let offline = act(
        server,
        &supervisor,
        id,
        "reassign",
        Some(json!({ "agent_id": other_id })),
    )
    .await;
    offline.assert_error(StatusCode::CONFLICT, "agent_not_online");
    set_presence(server, &other, "online").await;
    let moved = act(
        server,
        &supervisor,
        id,
        "reassign",
        Some(json!({ "agent_id": other_id })),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(inbox(server, &other).await, vec![id]);
    assert!(inbox(server, &agent).await.is_empty());
    // The former holder no longer reads it (not theirs, not queued).
    let hidden = server
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}"),
            &agent,
            None,
        )
        .await;
    hidden.assert_error(StatusCode::FORBIDDEN, "forbidden");

    for action in ["agent.presence_set", "conversation.reassigned"] {
        let audit = server
            .call(
                Method::GET,
                &format!("/api/v1/audit?action={action}"),
                &desk.admin,
                None,
            )
            .await;
        let entries = audit.body["entries"].as_array().map_or(0, Vec::len);
        assert_eq!(entries, 1, "{action}: {}", audit.text);
    }
}

#[tokio::test]
async fn canned_responses_are_found_by_prefix_and_filled_in() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let channel = api_channel(&desk, json!({ "name": "Web" })).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let id = conversation_from(server, &channel, "c1", "m1").await;

    let shared = server
        .call(
            Method::POST,
            "/api/v1/canned",
            &desk.admin,
            Some(json!({ "shortcut": "thanks", "text": "Thank you {{contact.name}}!", "shared": true })),
        )
        .await;
    assert_eq!(shared.status, StatusCode::CREATED, "{}", shared.text);
    let not_admin = server
        .call(
            Method::POST,
            "/api/v1/canned",
            &agent,
            Some(json!({ "shortcut": "x", "text": "y", "shared": true })),
        )
        .await;
    not_admin.assert_error(StatusCode::FORBIDDEN, "forbidden");
    let bad_variable = server
        .call(
            Method::POST,
            "/api/v1/canned",
            &agent,
            Some(json!({ "shortcut": "hi", "text": "Hi {{contact.age}}" })),
        )
        .await;
    bad_variable.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let mine = server
        .call(
            Method::POST,
            "/api/v1/canned",
            &agent,
            Some(json!({ "shortcut": "/Thx-short", "text": "Thanks, {{agent.name}} from {{channel.name}}" })),
        )
        .await;
    assert_eq!(mine.status, StatusCode::CREATED, "{}", mine.text);
    assert_eq!(mine.body["canned"]["shortcut"], "thx-short");

    let found = server
        .call(Method::GET, "/api/v1/canned?prefix=th", &agent, None)
        .await;
    let shortcuts: Vec<&str> = found.body["canned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["shortcut"].as_str().unwrap())
        .collect();
    assert_eq!(shortcuts, vec!["thanks", "thx-short"]);
    let other_prefix = server
        .call(Method::GET, "/api/v1/canned?prefix=/thx", &agent, None)
        .await;
    assert_eq!(other_prefix.body["canned"].as_array().unwrap().len(), 1);

    let shared_id = shared.body["canned"]["id"].as_u64().unwrap();
    let rendered = server
        .call(
            Method::POST,
            &format!("/api/v1/canned/{shared_id}/render"),
            &agent,
            Some(json!({ "conversation_id": id })),
        )
        .await;
    assert_eq!(rendered.status, StatusCode::OK, "{}", rendered.text);
    assert_eq!(rendered.body["text"], "Thank you Customer c1!");
    let mine_id = mine.body["canned"]["id"].as_u64().unwrap();
    let rendered = server
        .call(
            Method::POST,
            &format!("/api/v1/canned/{mine_id}/render"),
            &agent,
            Some(json!({ "conversation_id": id })),
        )
        .await;
    assert_eq!(rendered.body["text"], "Thanks, agent@example.com from Web");
}

#[tokio::test]
async fn bad_input_on_the_conversation_endpoints_gets_json_errors() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let channel = api_channel(&desk, json!({})).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let id = conversation_from(server, &channel, "c1", "m1").await;
    let hook = format!("/webhooks/{}", channel.id);

    // Webhook authentication.
    let none = server
        .call(Method::POST, &hook, &Auth::None, Some(json!({})))
        .await;
    none.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let wrong = server
        .call(
            Method::POST,
            &hook,
            &Auth::Bearer("ogc_wrong".into()),
            Some(json!({})),
        )
        .await;
    wrong.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let other_channel = api_channel(&desk, json!({ "name": "Other" })).await;
    let crossed = server
        .call(
            Method::POST,
            &format!("/webhooks/{}", other_channel.id),
            &Auth::Bearer(channel.token.clone()),
            Some(json!({})),
        )
        .await;
    crossed.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");

    // Webhook bodies.
    let bearer = Auth::Bearer(channel.token.clone());
    let malformed = server
        .client
        .post(server.url(&hook))
        .bearer_auth(&channel.token)
        .header("content-type", "application/json")
        .body("{\"type\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let cases = [
        (
            json!({ "type": "fax" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            json!({ "type": "message", "message_id": "", "contact": { "id": "c" }, "content": { "type": "text", "text": "x" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            json!({ "type": "message", "message_id": "m9", "contact": { "id": "c" }, "content": { "type": "video_call" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            json!({ "type": "message", "message_id": "m9", "contact": { "id": "c" }, "content": { "type": "text", "text": "x".repeat(5000) } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            json!({ "type": "status", "message_id": "nope", "status": "read" }),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({ "type": "status", "message_id": "m1", "status": "lost" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let reply = server
            .call(Method::POST, &hook, &bearer, Some(body.clone()))
            .await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
        reply.assert_error(status, code);
    }

    // Agent endpoints.
    let path = |p: &str| format!("/api/v1/conversations/{id}/{p}");
    let cases = [
        (
            Method::POST,
            path("messages"),
            json!({ "content": { "type": "text" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            Method::POST,
            path("messages"),
            json!({ "content": "hi" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            Method::POST,
            path("messages"),
            json!({ "text": "hi" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            Method::POST,
            path("transfer"),
            json!({ "agent_id": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            Method::PUT,
            path("tags"),
            json!({ "tags": ["two words"] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            Method::PUT,
            "/api/v1/me/presence".into(),
            json!({ "presence": "asleep" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/conversations/abc/end".into(),
            json!({ "reason": "Resolved" }),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::POST,
            "/api/v1/conversations/999999/end".into(),
            json!({ "reason": "Resolved" }),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let reply = server
            .call(method.clone(), &path, &agent, Some(body.clone()))
            .await;
        assert_eq!(
            reply.status, status,
            "{method} {path} {body}: {}",
            reply.text
        );
        reply.assert_error(status, code);
    }
    let bad_query = server
        .call(
            Method::GET,
            "/api/v1/conversations?from=yesterday",
            &agent,
            None,
        )
        .await;
    bad_query.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    let bad_settings = server
        .call(
            Method::PATCH,
            "/api/v1/desk/settings",
            &desk.admin,
            Some(json!({ "end_reasons": [] })),
        )
        .await;
    bad_settings.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let tags = server
        .call(
            Method::PUT,
            &path("tags"),
            &agent,
            Some(json!({ "tags": ["VIP", "refund", "vip"] })),
        )
        .await;
    assert_eq!(tags.body["conversation"]["tags"], json!(["refund", "vip"]));
    let by_tag = server
        .call(
            Method::GET,
            "/api/v1/conversations?tag=vip&contact=customer",
            &agent,
            None,
        )
        .await;
    assert_eq!(by_tag.body["conversations"][0]["id"], id, "{}", by_tag.text);
}

#[tokio::test]
async fn a_rotated_token_or_a_disabled_channel_takes_effect_at_once() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let mut channel = api_channel(&desk, json!({})).await;
    // Used once, so the token and the channel are warm in any cache.
    let first = write_in(server, &channel, "c1", "m1", "hello").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);

    let rotated = server
        .call(
            Method::POST,
            &format!("/api/v1/channels/{}/token", channel.id),
            &desk.admin,
            None,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    write_in(server, &channel, "c1", "m2", "old token")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    channel.token = rotated.body["inbound_token"].as_str().unwrap().to_owned();
    let again = write_in(server, &channel, "c1", "m3", "new token").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);

    let disabled = server
        .call(
            Method::PATCH,
            &format!("/api/v1/channels/{}", channel.id),
            &desk.admin,
            Some(json!({ "disabled": true })),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    write_in(server, &channel, "c1", "m4", "while disabled")
        .await
        .assert_error(StatusCode::CONFLICT, "channel_disabled");
}

#[tokio::test]
async fn a_conversation_exports_as_json_or_a_transcript_and_every_export_is_audited() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let channel = api_channel(&desk, json!({})).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    let (_, other) = member(&desk, "other@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let id = conversation_from(server, &channel, "c1", "m1").await;
    assert_eq!(
        reply_text(server, &agent, id, "Siparişiniz yolda")
            .await
            .status,
        StatusCode::CREATED
    );
    let note = act(
        server,
        &agent,
        id,
        "messages",
        Some(json!({ "content": { "type": "text", "text": "VIP customer" }, "note": true })),
    )
    .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.text);

    let text = server
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}/export?format=text"),
            &agent,
            None,
        )
        .await;
    assert_eq!(text.status, StatusCode::OK, "{}", text.text);
    assert!(text.header("content-type").starts_with("text/plain"));
    assert!(
        text.header("content-disposition")
            .contains(&format!("conversation-{id}.txt"))
    );
    assert_eq!(text.header("cache-control"), "no-store");
    assert!(
        text.text.contains(&format!("Conversation {id}")),
        "{}",
        text.text
    );
    assert!(
        text.text.contains("Contact:  Customer c1 (+905551112233)"),
        "{}",
        text.text
    );
    assert!(
        text.text
            .contains("Customer c1:\n  Merhaba, siparişim nerede?"),
        "{}",
        text.text
    );
    assert!(text.text.contains("Siparişiniz yolda"), "{}", text.text);
    assert!(
        text.text.contains("(private note):\n  VIP customer"),
        "{}",
        text.text
    );

    let json_export = server
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}/export"),
            &agent,
            None,
        )
        .await;
    assert_eq!(json_export.status, StatusCode::OK, "{}", json_export.text);
    assert_eq!(json_export.body["conversation"]["id"], id);
    assert_eq!(json_export.body["channel"]["name"], "Website API");
    // An agent, who may not list channels, sees the channel's name and kind.
    let seen = conversation(server, &agent, id).await;
    assert_eq!(seen["channel_name"], "Website API");
    assert_eq!(seen["channel_kind"], "api");
    assert_eq!(json_export.body["contact"]["external_id"], "c1");
    assert_eq!(json_export.body["exported_by"], "agent@example.com");
    assert_eq!(json_export.body["messages"].as_array().unwrap().len(), 3);

    // Only those who may read the conversation export it; formats are named.
    server
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}/export"),
            &other,
            None,
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    server
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}/export?format=pdf"),
            &agent,
            None,
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");

    let audit = server
        .call(
            Method::GET,
            "/api/v1/audit?action=conversation.exported",
            &desk.admin,
            None,
        )
        .await;
    let entries = audit.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{}", audit.text);
    assert_eq!(entries[0]["target"], format!("conversation:{id}"));
    assert_eq!(entries[0]["actor"], "agent@example.com");
    assert_eq!(entries[1]["detail"]["format"], "text", "{}", audit.text);
    assert_eq!(entries[1]["detail"]["messages"], 3);
}

#[tokio::test]
async fn agents_list_the_channels_by_name_without_their_configuration() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let web = api_channel(&desk, json!({ "name": "Web shop" })).await;
    let app = api_channel(
        &desk,
        json!({ "name": "App", "webhook_url": "https://hooks.example.com/omnigate" }),
    )
    .await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;

    let listed = server
        .call(Method::GET, "/api/v1/desk/channels", &agent, None)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(
        listed.body,
        json!({ "channels": [
            { "id": app.id, "name": "App", "kind": "api", "disabled": false },
            { "id": web.id, "name": "Web shop", "kind": "api", "disabled": false },
        ] })
    );
    // The admin's list, with the configuration, stays the admin's.
    let refused = server
        .call(Method::GET, "/api/v1/channels", &agent, None)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
}
