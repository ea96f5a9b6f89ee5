//! Admin user management through the API.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::Fixture;

#[tokio::test]
async fn admins_create_users_with_a_generated_password_shown_once() {
    let f = Fixture::start().await;
    let admin = f.server.admin().await;
    let created = f
        .server
        .call(
            Method::POST,
            "/api/v1/users",
            &admin,
            Some(json!({ "email": "Mehmet@Shop.com", "display_name": "Mehmet Kaya", "role": "supervisor" })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["user"]["email"], "mehmet@shop.com");
    let password = created.body["generated_password"].as_str().unwrap();
    assert!(password.len() >= 16);
    let session = f.server.session("mehmet@shop.com", password).await;
    let me = f
        .server
        .call(Method::GET, "/api/v1/me", &session, None)
        .await;
    assert_eq!(me.body["user"]["role"], "supervisor");
    let listed = f
        .server
        .call(Method::GET, "/api/v1/users", &admin, None)
        .await;
    assert!(!listed.text.contains(password));
    assert_eq!(listed.body["users"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn role_changes_apply_at_once_and_disabling_ends_sessions_and_tokens() {
    let f = Fixture::start().await;
    let server = &f.server;
    let admin = server.admin().await;
    let (id, agent) = server
        .user_with_role(&admin, "agent@example.com", "agent")
        .await;
    let path = format!("/api/v1/users/{id}");
    server
        .call(Method::GET, "/api/v1/users", &agent, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");

    let promoted = server
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({ "role": "supervisor" })),
        )
        .await;
    assert_eq!(
        promoted.body["user"]["role"], "supervisor",
        "{}",
        promoted.text
    );
    assert_eq!(
        server
            .call(Method::GET, "/api/v1/users", &agent, None)
            .await
            .status,
        StatusCode::OK
    );

    let token = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({ "name": "as agent", "user_id": id })),
        )
        .await;
    let bearer = crate::harness::Auth::Bearer(token.body["secret"].as_str().unwrap().to_owned());
    assert_eq!(
        server
            .call(Method::GET, "/api/v1/me", &bearer, None)
            .await
            .status,
        StatusCode::OK
    );

    let disabled = server
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({ "disabled": true })),
        )
        .await;
    assert_eq!(disabled.body["user"]["disabled"], true);
    server
        .call(Method::GET, "/api/v1/me", &agent, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    server
        .call(Method::GET, "/api/v1/me", &bearer, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    server
        .login("agent@example.com", "a long enough password")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");

    let enabled = server
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({ "disabled": false })),
        )
        .await;
    assert_eq!(enabled.body["user"]["disabled"], false);
    assert_eq!(
        server
            .login("agent@example.com", "a long enough password")
            .await
            .status,
        StatusCode::OK
    );

    let unknown_field = server
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({ "rol": "admin" })),
        )
        .await;
    unknown_field.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let bad_role = server
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({ "role": "root" })),
        )
        .await;
    bad_role.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_or_disabled() {
    let f = Fixture::start().await;
    let admin = f.server.admin().await;
    let me = f.server.call(Method::GET, "/api/v1/me", &admin, None).await;
    let path = format!("/api/v1/users/{}", me.body["user"]["id"]);
    for change in [json!({ "role": "agent" }), json!({ "disabled": true })] {
        let reply = f
            .server
            .call(Method::PATCH, &path, &admin, Some(change))
            .await;
        reply.assert_error(StatusCode::CONFLICT, "last_admin");
    }
    // With a second admin it is allowed.
    let (second, _) = f
        .server
        .user_with_role(&admin, "second@example.com", "admin")
        .await;
    assert!(second > 0);
    let reply = f
        .server
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({ "role": "supervisor" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn password_reset_and_session_revocation_log_the_user_out() {
    let f = Fixture::start().await;
    let server = &f.server;
    let admin = server.admin().await;
    let (id, agent) = server
        .user_with_role(&admin, "agent@example.com", "agent")
        .await;
    let reset = server
        .call(
            Method::POST,
            &format!("/api/v1/users/{id}/password"),
            &admin,
            Some(json!({})),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text);
    assert_eq!(reset.body["sessions_ended"], 1);
    let new_password = reset.body["generated_password"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .call(Method::GET, "/api/v1/me", &agent, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let agent = server.session("agent@example.com", &new_password).await;

    let revoked = server
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{id}/sessions"),
            &admin,
            None,
        )
        .await;
    assert_eq!(revoked.body["sessions_ended"], 1, "{}", revoked.text);
    server
        .call(Method::GET, "/api/v1/me", &agent, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
}
