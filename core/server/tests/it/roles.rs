//! The permission table, exercised for every endpoint and every role.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Auth, Fixture};

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy)]
enum Allowed {
    Anyone,
    Agent,
    Supervisor,
    Admin,
}

/// Expected outcome per caller: `None` = allowed (any status but 401/403).
fn expected(allowed: Allowed, caller: &str) -> Option<StatusCode> {
    let rank = |who: &str| match who {
        "anonymous" => 0,
        "agent" => 1,
        "supervisor" => 2,
        _ => 3,
    };
    let needed = match allowed {
        Allowed::Anyone => 0,
        Allowed::Agent => 1,
        Allowed::Supervisor => 2,
        Allowed::Admin => 3,
    };
    match (rank(caller) >= needed, caller) {
        (true, _) => None,
        (false, "anonymous") => Some(StatusCode::UNAUTHORIZED),
        (false, _) => Some(StatusCode::FORBIDDEN),
    }
}

#[tokio::test]
async fn every_endpoint_checks_the_role_table_for_every_role() {
    let f = Fixture::start().await;
    let server = &f.server;
    let admin = server.admin().await;
    let (agent_id, agent) = server
        .user_with_role(&admin, "agent@example.com", "agent")
        .await;
    let (_, supervisor) = server
        .user_with_role(&admin, "sup@example.com", "supervisor")
        .await;
    // A throwaway user so admin-only writes have a harmless target.
    let (target, _) = server
        .user_with_role(&admin, "target@example.com", "agent")
        .await;
    let _ = agent_id;

    let user = format!("/api/v1/users/{target}");
    let endpoints: Vec<(Method, String, Option<Value>, Allowed)> = vec![
        (Method::GET, "/healthz".into(), None, Allowed::Anyone),
        (Method::GET, "/readyz".into(), None, Allowed::Anyone),
        (
            Method::GET,
            "/api/v1/openapi.json".into(),
            None,
            Allowed::Anyone,
        ),
        (Method::GET, "/metrics".into(), None, Allowed::Admin),
        (Method::GET, "/api/v1/me".into(), None, Allowed::Agent),
        (
            Method::POST,
            "/api/v1/me/password".into(),
            Some(json!({ "current_password": "x", "new_password": "y" })),
            Allowed::Agent,
        ),
        (
            Method::GET,
            "/api/v1/users".into(),
            None,
            Allowed::Supervisor,
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({ "email": "n@example.com", "display_name": "N", "role": "agent" })),
            Allowed::Admin,
        ),
        (Method::GET, user.clone(), None, Allowed::Supervisor),
        (
            Method::PATCH,
            user.clone(),
            Some(json!({ "display_name": "Renamed" })),
            Allowed::Admin,
        ),
        (
            Method::POST,
            format!("{user}/password"),
            Some(json!({})),
            Allowed::Admin,
        ),
        (
            Method::DELETE,
            format!("{user}/sessions"),
            None,
            Allowed::Admin,
        ),
        (Method::GET, "/api/v1/tokens".into(), None, Allowed::Admin),
        (
            Method::POST,
            "/api/v1/tokens".into(),
            Some(json!({ "name": "t" })),
            Allowed::Admin,
        ),
        (
            Method::DELETE,
            "/api/v1/tokens/999".into(),
            None,
            Allowed::Admin,
        ),
        (Method::GET, "/api/v1/audit".into(), None, Allowed::Admin),
        (Method::GET, "/api/v1/inbox".into(), None, Allowed::Agent),
        (
            Method::PUT,
            "/api/v1/me/presence".into(),
            Some(json!({ "presence": "break" })),
            Allowed::Agent,
        ),
        (
            Method::POST,
            "/api/v1/queue/pull".into(),
            None,
            Allowed::Agent,
        ),
        (Method::GET, "/api/v1/agents".into(), None, Allowed::Agent),
        (
            Method::PUT,
            format!("/api/v1/agents/{target}/presence"),
            Some(json!({ "presence": "break" })),
            Allowed::Supervisor,
        ),
        (
            Method::PUT,
            format!("/api/v1/agents/{target}/capacity"),
            Some(json!({ "capacity": 2 })),
            Allowed::Admin,
        ),
        (
            Method::GET,
            "/api/v1/supervisor/desk".into(),
            None,
            Allowed::Supervisor,
        ),
        (
            Method::GET,
            "/api/v1/desk/channels".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::GET,
            "/api/v1/desk/settings".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::PATCH,
            "/api/v1/desk/settings".into(),
            Some(json!({})),
            Allowed::Admin,
        ),
        (
            Method::GET,
            "/api/v1/conversations".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::GET,
            "/api/v1/conversations/999".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::GET,
            "/api/v1/conversations/999/messages".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::POST,
            "/api/v1/conversations/999/messages".into(),
            Some(json!({ "content": { "type": "text", "text": "hi" } })),
            Allowed::Agent,
        ),
        (
            Method::POST,
            "/api/v1/conversations/999/read".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::PUT,
            "/api/v1/conversations/999/tags".into(),
            Some(json!({ "tags": [] })),
            Allowed::Agent,
        ),
        (
            Method::POST,
            "/api/v1/conversations/999/transfer".into(),
            Some(json!({ "agent_id": target })),
            Allowed::Agent,
        ),
        (
            Method::POST,
            "/api/v1/conversations/999/transfer/accept".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::POST,
            "/api/v1/conversations/999/transfer/decline".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::POST,
            "/api/v1/conversations/999/transfer-to-queue".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::POST,
            "/api/v1/conversations/999/transfer-to-flow".into(),
            Some(json!({ "flow": "faq" })),
            Allowed::Agent,
        ),
        (
            Method::POST,
            "/api/v1/conversations/999/end".into(),
            Some(json!({ "reason": "Resolved" })),
            Allowed::Agent,
        ),
        (
            Method::POST,
            "/api/v1/conversations/999/reopen".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::POST,
            "/api/v1/conversations/999/reassign".into(),
            Some(json!({ "agent_id": target })),
            Allowed::Supervisor,
        ),
        (Method::GET, "/api/v1/canned".into(), None, Allowed::Agent),
        (
            Method::POST,
            "/api/v1/canned".into(),
            Some(json!({ "shortcut": "hello", "text": "Hello!" })),
            Allowed::Agent,
        ),
        (
            Method::PATCH,
            "/api/v1/canned/999".into(),
            Some(json!({ "text": "x" })),
            Allowed::Agent,
        ),
        (
            Method::DELETE,
            "/api/v1/canned/999".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::POST,
            "/api/v1/canned/999/render".into(),
            Some(json!({ "conversation_id": 999 })),
            Allowed::Agent,
        ),
        (Method::GET, "/api/v1/channels".into(), None, Allowed::Admin),
        (
            Method::POST,
            "/api/v1/channels".into(),
            Some(json!({ "name": "API" })),
            Allowed::Admin,
        ),
        (
            Method::GET,
            "/api/v1/channels/999".into(),
            None,
            Allowed::Admin,
        ),
        (
            Method::PATCH,
            "/api/v1/channels/999".into(),
            Some(json!({ "name": "x" })),
            Allowed::Admin,
        ),
        (
            Method::POST,
            "/api/v1/channels/999/token".into(),
            None,
            Allowed::Admin,
        ),
        (
            Method::GET,
            "/api/v1/conversations/999/export".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::GET,
            "/api/v1/deliveries/pending".into(),
            None,
            Allowed::Admin,
        ),
        (
            Method::GET,
            "/api/v1/deliveries/dead".into(),
            None,
            Allowed::Admin,
        ),
        (
            Method::POST,
            "/api/v1/deliveries/dead/999/retry".into(),
            None,
            Allowed::Admin,
        ),
        (
            Method::DELETE,
            "/api/v1/deliveries/dead/999".into(),
            None,
            Allowed::Admin,
        ),
        (Method::GET, "/api/v1/flows".into(), None, Allowed::Agent),
        (Method::POST, "/api/v1/flows".into(), None, Allowed::Admin),
        (
            Method::PATCH,
            "/api/v1/flows/999".into(),
            Some(json!({})),
            Allowed::Admin,
        ),
        (
            Method::DELETE,
            "/api/v1/flows/999".into(),
            None,
            Allowed::Admin,
        ),
        (Method::GET, "/api/v1/shops".into(), None, Allowed::Agent),
        (Method::POST, "/api/v1/shops".into(), None, Allowed::Admin),
        (
            Method::PATCH,
            "/api/v1/shops/999".into(),
            Some(json!({})),
            Allowed::Admin,
        ),
        (
            Method::DELETE,
            "/api/v1/shops/999".into(),
            None,
            Allowed::Admin,
        ),
        (
            Method::GET,
            "/api/v1/shops/999/products?q=x".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::GET,
            "/api/v1/shops/999/orders/1".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::GET,
            "/api/v1/conversations/999/orders".into(),
            None,
            Allowed::Agent,
        ),
        (
            Method::GET,
            "/api/v1/conversations/999/templates".into(),
            None,
            Allowed::Agent,
        ),
        (Method::GET, "/api/v1/plugins".into(), None, Allowed::Admin),
        (Method::POST, "/api/v1/plugins".into(), None, Allowed::Admin),
        (
            Method::POST,
            "/api/v1/plugins/none/enable".into(),
            None,
            Allowed::Admin,
        ),
        (
            Method::POST,
            "/api/v1/plugins/none/disable".into(),
            None,
            Allowed::Admin,
        ),
        (
            Method::DELETE,
            "/api/v1/plugins/none".into(),
            None,
            Allowed::Admin,
        ),
        // Logout last: it ends the caller's session.
        (
            Method::POST,
            "/api/v1/auth/logout".into(),
            None,
            Allowed::Agent,
        ),
    ];
    let callers = [
        ("anonymous", Auth::None),
        ("agent", agent),
        ("supervisor", supervisor),
        ("admin", admin),
    ];
    let mut failures = Vec::new();
    for (method, path, body, allowed) in &endpoints {
        for (name, auth) in &callers {
            let reply = server.call(method.clone(), path, auth, body.clone()).await;
            let outcome = match expected(*allowed, name) {
                Some(denied) if reply.status != denied => Some(format!("expected {denied}")),
                Some(_) => None,
                None if matches!(
                    reply.status,
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                ) =>
                {
                    Some("expected access".to_owned())
                }
                None => None,
            };
            if let Some(why) = outcome {
                failures.push(format!(
                    "{method} {path} as {name}: {why}, got {} {}",
                    reply.status, reply.text
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
