//! History search: full-text over message text, filtered by what the
//! caller may see, paged, kept across restarts and rebuildable.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::desk_helpers::{api_channel, member, set_presence, write_in};
use crate::harness::{Auth, Desk, Server, run_cli};

/// Searches until the indexer (about a second behind) has what we expect.
async fn search_until(server: &Server, auth: &Auth, query: &str, expected: usize) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let reply = server
            .call(
                Method::GET,
                &format!("/api/v1/conversations?{query}"),
                auth,
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        if reply.body["conversations"].as_array().unwrap().len() == expected {
            return reply.body;
        }
        last = reply.body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{query}: expected {expected} conversations, last saw {last}");
}

fn ids(body: &Value) -> Vec<u64> {
    body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn message_text_is_searchable_by_those_who_may_see_it_and_survives_restarts() {
    let desk = Desk::start().await;
    let channel = api_channel(&desk, json!({})).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    let (_, supervisor) = member(&desk, "sup@example.com", "supervisor").await;
    set_presence(&desk.server, &agent, "online").await;
    let server = &desk.server;
    let a = write_in(
        server,
        &channel,
        "c1",
        "m1",
        "Kargom hâlâ gelmedi, sipariş 1001",
    )
    .await;
    desk.clock.advance_secs(10);
    let b = write_in(server, &channel, "c2", "m2", "İade talebim var").await;
    desk.clock.advance_secs(10);
    let c = write_in(server, &channel, "c3", "m3", "kargo ücreti ne kadar?").await;
    let id = |r: &crate::harness::Reply| r.body["conversation_id"].as_u64().unwrap();

    // Newest match first, without Turkish letters.
    let found = search_until(server, &supervisor, "q=kargo", 1).await;
    assert_eq!(ids(&found), vec![id(&c)]);
    let found = search_until(server, &supervisor, "q=iade", 1).await;
    assert_eq!(ids(&found), vec![id(&b)]);
    assert!(found["conversations"][0]["match"]["message_id"].is_u64());
    let found = search_until(server, &supervisor, "q=siparis+1001", 1).await;
    assert_eq!(ids(&found), vec![id(&a)]);

    // An agent finds only what is theirs (capacity 3: all three are hers
    // here), a colleague nothing.
    let (_, colleague) = member(&desk, "colleague@example.com", "agent").await;
    search_until(server, &agent, "q=iade", 1).await;
    search_until(server, &colleague, "q=iade", 0).await;

    // Paging through many matches.
    for n in 0..5 {
        write_in(
            server,
            &channel,
            &format!("p{n}"),
            &format!("p{n}"),
            "fatura lazım",
        )
        .await;
        desk.clock.advance_secs(1);
    }
    // All five indexed (the indexer commits about once a second), then paged.
    search_until(server, &supervisor, "q=fatura&limit=10", 5).await;
    let first = search_until(server, &supervisor, "q=fatura&limit=2", 2).await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = server
        .call(
            Method::GET,
            &format!("/api/v1/conversations?q=fatura&limit=2&cursor={cursor}"),
            &supervisor,
            None,
        )
        .await;
    let third_cursor = second.body["next_cursor"].as_str().unwrap().to_owned();
    let third = server
        .call(
            Method::GET,
            &format!("/api/v1/conversations?q=fatura&limit=2&cursor={third_cursor}"),
            &supervisor,
            None,
        )
        .await;
    let mut all = ids(&first);
    all.extend(ids(&second.body));
    all.extend(ids(&third.body));
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 5, "every match once across pages");
    assert!(third.body["next_cursor"].is_null(), "{}", third.text);

    // A graceful restart keeps the index; a rebuild recreates it.
    let desk = desk.restart(false).await;
    let supervisor = desk
        .server
        .session("sup@example.com", "a long enough password")
        .await;
    search_until(&desk.server, &supervisor, "q=kargo", 1).await;
    assert!(
        !desk.server.log().contains("rebuilding it from the store"),
        "the index was not kept"
    );
    let dir = desk.dir.path().to_path_buf();
    desk.server.stop().await;
    let out = run_cli(&dir, &["search", "rebuild"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("messages"));
}
