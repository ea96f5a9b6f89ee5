//! The audit log: what is recorded, filters, and tamper detection.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Fixture, run_cli};

#[tokio::test]
async fn logins_and_user_changes_are_recorded_with_who_what_and_where() {
    let f = Fixture::start().await;
    let server = &f.server;
    let _ = server.login("admin@example.com", "wrong wrong wrong").await;
    let admin = server.admin().await;
    let (id, _) = server
        .user_with_role(&admin, "agent@example.com", "agent")
        .await;
    server
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            &admin,
            Some(json!({ "role": "supervisor" })),
        )
        .await;

    let all = server
        .call(Method::GET, "/api/v1/audit", &admin, None)
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let actions: Vec<&str> = all.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "user.role_changed",
            "auth.login_succeeded",
            "user.created",
            "auth.login_succeeded",
            "auth.login_failed",
            "config.changed",
            "user.created",
        ],
        "{}",
        all.text
    );
    let failed = server
        .call(
            Method::GET,
            "/api/v1/audit?action=auth.login_failed",
            &admin,
            None,
        )
        .await;
    let entry = &failed.body["entries"][0];
    assert_eq!(entry["actor"], "anonymous");
    assert_eq!(entry["target"], "admin@example.com");
    assert_eq!(entry["source"], "127.0.0.1");
    assert_eq!(entry["detail"]["reason"], "wrong password");

    let changed = server
        .call(Method::GET, "/api/v1/audit?action=user.", &admin, None)
        .await;
    let first = &changed.body["entries"][0];
    assert_eq!(first["actor"], "admin@example.com");
    assert_eq!(
        first["detail"],
        json!({ "from": "agent", "to": "supervisor" })
    );
    assert_eq!(changed.body["entries"].as_array().unwrap().len(), 3);

    let paged = server
        .call(Method::GET, "/api/v1/audit?limit=2", &admin, None)
        .await;
    let before = paged.body["next_before"].as_u64().unwrap();
    let next = server
        .call(
            Method::GET,
            &format!("/api/v1/audit?limit=2&before={before}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(next.body["entries"][0]["seq"].as_u64().unwrap(), before - 1);

    let future = server
        .call(
            Method::GET,
            "/api/v1/audit?since=2100-01-01T00:00:00Z",
            &admin,
            None,
        )
        .await;
    assert_eq!(future.body["entries"], json!([]));
}

#[tokio::test]
async fn audit_verify_passes_then_names_the_record_that_was_altered() {
    let f = Fixture::start().await;
    let admin = f.server.admin().await;
    f.server
        .user_with_role(&admin, "agent@example.com", "agent")
        .await;
    assert!(f.server.stop().await.success());

    let out = run_cli(f.dir.path(), &["audit", "verify"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("intact") && stdout.contains("5 records"),
        "{stdout}"
    );

    {
        let store = omnigate_store::Store::open(f.dir.path()).unwrap();
        store
            .tamper_with_audit_record(3, |entry| entry.actor = "someone-else@example.com".into())
            .unwrap();
    }
    let out = run_cli(f.dir.path(), &["audit", "verify"], "");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken at record 3"), "{stderr}");
    assert!(stderr.contains("altered"), "{stderr}");
}
