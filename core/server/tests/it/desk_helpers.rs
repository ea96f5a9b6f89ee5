//! Helpers for the conversation tests: channels, contacts writing in,
//! agents at the desk.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Auth, Desk, Reply, Server};

/// An API channel: its id and inbound token.
pub struct Channel {
    pub id: u64,
    pub token: String,
    pub webhook_secret: String,
}

pub async fn api_channel(desk: &Desk, extra: Value) -> Channel {
    let mut body = json!({ "name": "Website API" });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let reply = desk
        .server
        .call(Method::POST, "/api/v1/channels", &desk.admin, Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    Channel {
        id: reply.body["channel"]["id"].as_u64().unwrap(),
        token: reply.body["inbound_token"].as_str().unwrap().to_owned(),
        webhook_secret: reply.body["webhook_secret"].as_str().unwrap().to_owned(),
    }
}

/// A contact writes `text` as message `message_id`.
pub async fn write_in(
    server: &Server,
    channel: &Channel,
    contact: &str,
    message_id: &str,
    text: &str,
) -> Reply {
    server
        .call(
            Method::POST,
            &format!("/webhooks/{}", channel.id),
            &Auth::Bearer(channel.token.clone()),
            Some(json!({
                "type": "message",
                "message_id": message_id,
                "contact": { "id": contact, "name": format!("Customer {contact}"), "phone": "+905551112233" },
                "content": { "type": "text", "text": text },
            })),
        )
        .await
}

/// Writes in and returns the conversation id, failing the test otherwise.
pub async fn conversation_from(
    server: &Server,
    channel: &Channel,
    contact: &str,
    message_id: &str,
) -> u64 {
    let reply = write_in(
        server,
        channel,
        contact,
        message_id,
        "Merhaba, siparişim nerede?",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["conversation_id"].as_u64().unwrap()
}

/// An agent (or other role) with a session.
pub async fn member(desk: &Desk, email: &str, role: &str) -> (u64, Auth) {
    desk.server.user_with_role(&desk.admin, email, role).await
}

pub async fn set_presence(server: &Server, auth: &Auth, presence: &str) -> Reply {
    let reply = server
        .call(
            Method::PUT,
            "/api/v1/me/presence",
            auth,
            Some(json!({ "presence": presence })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply
}

pub async fn configure(desk: &Desk, settings: Value) {
    let reply = desk
        .server
        .call(
            Method::PATCH,
            "/api/v1/desk/settings",
            &desk.admin,
            Some(settings),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

/// A conversation as `auth` sees it.
pub async fn conversation(server: &Server, auth: &Auth, id: u64) -> Value {
    let reply = server
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}"),
            auth,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["conversation"].clone()
}

/// The ids in `auth`'s inbox.
pub async fn inbox(server: &Server, auth: &Auth) -> Vec<u64> {
    let reply = server.call(Method::GET, "/api/v1/inbox", auth, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let mut ids: Vec<u64> = reply.body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// POSTs an action on a conversation.
pub async fn act(
    server: &Server,
    auth: &Auth,
    id: u64,
    action: &str,
    body: Option<Value>,
) -> Reply {
    server
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{id}/{action}"),
            auth,
            Some(body.unwrap_or_else(|| json!({}))),
        )
        .await
}

/// Sends text as an agent.
pub async fn reply_text(server: &Server, auth: &Auth, id: u64, text: &str) -> Reply {
    act(
        server,
        auth,
        id,
        "messages",
        Some(json!({ "content": { "type": "text", "text": text } })),
    )
    .await
}
