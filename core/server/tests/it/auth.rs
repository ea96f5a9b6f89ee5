//! Login, logout, cookies, CSRF, lockout, tokens, password changes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, Auth, Fixture};

#[tokio::test]
async fn login_sets_a_locked_down_cookie_and_logout_ends_the_session() {
    let f = Fixture::start().await;
    let reply = f.server.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["user"]["email"], ADMIN_EMAIL);
    assert_eq!(reply.body["user"]["role"], "admin");
    assert!(reply.body["csrf_token"].as_str().unwrap().len() >= 32);
    let cookie = reply.header("set-cookie").to_owned();
    assert!(cookie.starts_with("__Host-omnigate_session="), "{cookie}");
    for flag in ["; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing in {cookie}");
    }
    assert!(!cookie.to_lowercase().contains("domain="), "{cookie}");

    let session = Auth::Session {
        cookie: reply.session_cookie().unwrap(),
        csrf: reply.body["csrf_token"].as_str().unwrap().to_owned(),
    };
    let me = f
        .server
        .call(Method::GET, "/api/v1/me", &session, None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["user"]["email"], ADMIN_EMAIL);
    assert_eq!(me.body["csrf_token"], reply.body["csrf_token"]);

    let out = f
        .server
        .call(Method::POST, "/api/v1/auth/logout", &session, None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    let after = f
        .server
        .call(Method::GET, "/api/v1/me", &session, None)
        .await;
    after.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_temporarily() {
    let f = Fixture::start().await;
    for attempt in 1..=4 {
        let reply = f.server.login(ADMIN_EMAIL, "wrong password!").await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert!(
            !reply.text.contains("unknown"),
            "attempt {attempt} leaks why: {}",
            reply.text
        );
    }
    let fifth = f.server.login(ADMIN_EMAIL, "wrong password!").await;
    fifth.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    let retry_after: u64 = fifth.header("retry-after").parse().unwrap();
    assert!((800..=900).contains(&retry_after), "{retry_after}");
    // Locked: even the right password is refused now.
    let right = f.server.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    right.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    // Unknown accounts answer exactly like wrong passwords.
    let unknown = f
        .server
        .login("nobody@example.com", "wrong password!")
        .await;
    unknown.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

#[tokio::test]
async fn many_failures_from_one_address_lock_that_address() {
    let dir = tempfile::tempdir().unwrap();
    crate::harness::create_admin(dir.path());
    let server = crate::harness::Server::start(
        dir.path(),
        &[("OMNIGATE_AUTH__MAX_FAILURES_PER_ADDRESS", "3")],
    )
    .await;
    for i in 0..2 {
        let reply = server
            .login(&format!("user{i}@example.com"), "guess guess guess")
            .await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let third = server.login("user9@example.com", "guess guess guess").await;
    third.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    let admin = server.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    admin.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
}

#[tokio::test]
async fn state_changes_with_a_cookie_need_the_csrf_token() {
    let f = Fixture::start().await;
    let admin = f.server.admin().await;
    let body = json!({ "email": "x@example.com", "display_name": "X", "role": "agent" });
    let missing = f
        .server
        .call(
            Method::POST,
            "/api/v1/users",
            &admin.without_csrf(),
            Some(body.clone()),
        )
        .await;
    missing.assert_error(StatusCode::FORBIDDEN, "csrf_token_invalid");
    let Auth::Session { cookie, .. } = &admin else {
        unreachable!()
    };
    let wrong = Auth::Session {
        cookie: cookie.clone(),
        csrf: "not-the-token-not-the-token-not-the-token".into(),
    };
    let reply = f
        .server
        .call(Method::POST, "/api/v1/users", &wrong, Some(body.clone()))
        .await;
    reply.assert_error(StatusCode::FORBIDDEN, "csrf_token_invalid");
    // Reads need no token.
    let read = f
        .server
        .call(Method::GET, "/api/v1/users", &admin.without_csrf(), None)
        .await;
    assert_eq!(read.status, StatusCode::OK);
    let ok = f
        .server
        .call(Method::POST, "/api/v1/users", &admin, Some(body))
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
}

#[tokio::test]
async fn api_tokens_are_shown_once_work_without_csrf_and_can_be_revoked() {
    let f = Fixture::start().await;
    let admin = f.server.admin().await;
    let created = f
        .server
        .call(
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({ "name": "CRM sync" })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ogt_"));
    let id = created.body["token"]["id"].as_u64().unwrap();

    let token = Auth::Bearer(secret.clone());
    let me = f.server.call(Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(me.body["authenticated_by"], "api_token");
    let write = f
        .server
        .call(
            Method::POST,
            "/api/v1/tokens",
            &token,
            Some(json!({ "name": "second" })),
        )
        .await;
    assert_eq!(
        write.status,
        StatusCode::CREATED,
        "bearer needs no CSRF: {}",
        write.text
    );

    let list = f
        .server
        .call(Method::GET, "/api/v1/tokens", &admin, None)
        .await;
    assert!(
        !list.text.contains(&secret),
        "the secret is shown only once"
    );
    assert_eq!(list.body["tokens"].as_array().unwrap().len(), 2);

    let revoked = f
        .server
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = f.server.call(Method::GET, "/api/v1/me", &token, None).await;
    after.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let garbage = f
        .server
        .call(
            Method::GET,
            "/api/v1/me",
            &Auth::Bearer("ogt_nope".into()),
            None,
        )
        .await;
    garbage.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn changing_the_password_needs_the_old_one_and_ends_other_sessions() {
    let f = Fixture::start().await;
    let laptop = f.server.admin().await;
    let phone = f.server.admin().await;
    let wrong = f
        .server
        .call(
            Method::POST,
            "/api/v1/me/password",
            &laptop,
            Some(json!({ "current_password": "not it at all", "new_password": "brand new long password" })),
        )
        .await;
    wrong.assert_error(StatusCode::FORBIDDEN, "wrong_password");
    let short = f
        .server
        .call(
            Method::POST,
            "/api/v1/me/password",
            &laptop,
            Some(json!({ "current_password": ADMIN_PASSWORD, "new_password": "short" })),
        )
        .await;
    short.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let changed = f
        .server
        .call(
            Method::POST,
            "/api/v1/me/password",
            &laptop,
            Some(json!({ "current_password": ADMIN_PASSWORD, "new_password": "brand new long password" })),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
    assert_eq!(
        f.server
            .call(Method::GET, "/api/v1/me", &laptop, None)
            .await
            .status,
        StatusCode::OK
    );
    f.server
        .call(Method::GET, "/api/v1/me", &phone, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    f.server
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(
        f.server
            .login(ADMIN_EMAIL, "brand new long password")
            .await
            .status,
        StatusCode::OK
    );
}
