//! Every kind of bad request gets `{"error":{"code","message"}}` and the right status.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Auth, Fixture};

#[tokio::test]
async fn bad_requests_get_json_errors_with_the_right_status() {
    let f = Fixture::start().await;
    let server = &f.server;
    let admin = server.admin().await;
    let Auth::Session { cookie, csrf } = &admin else {
        unreachable!()
    };
    let raw = |method: Method, path: &str| {
        server
            .client
            .request(method, server.url(path))
            .header("cookie", format!("__Host-omnigate_session={cookie}"))
            .header("x-csrf-token", csrf)
    };
    let reply = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let text = response.text().await.unwrap();
        (
            status,
            content_type,
            serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default(),
            text,
        )
    };
    let check =
        |(status, content_type, body, text): (StatusCode, String, serde_json::Value, String),
         want: StatusCode,
         code: &str| {
            assert_eq!(status, want, "{text}");
            assert_eq!(content_type, "application/json", "{text}");
            assert_eq!(body["error"]["code"], code, "{text}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{text}"
            );
        };

    // Malformed JSON.
    check(
        reply(
            raw(Method::POST, "/api/v1/users")
                .header("content-type", "application/json")
                .body("{\"email\":"),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    // Well-formed JSON of the wrong shape.
    check(
        reply(raw(Method::POST, "/api/v1/users").json(&json!({ "email": "a@b.c" }))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    );
    // Values that break a rule name the field.
    let (status, _, body, text) = reply(raw(Method::POST, "/api/v1/users").json(&json!({
        "email": "not-an-email", "display_name": "X", "role": "agent"
    })))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("email:"),
        "{text}"
    );
    // Wrong content type.
    check(
        reply(
            raw(Method::POST, "/api/v1/users")
                .header("content-type", "text/plain")
                .body("hello"),
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    // Oversized body (the default limit is 1 MiB).
    let big = format!("{{\"email\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    check(
        reply(
            raw(Method::POST, "/api/v1/users")
                .header("content-type", "application/json")
                .body(big),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    // Unknown route and unsupported method.
    check(
        reply(raw(Method::GET, "/api/v1/nothing-here")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    check(
        reply(raw(Method::PUT, "/api/v1/users")).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    // Unknown id.
    check(
        reply(raw(Method::GET, "/api/v1/users/999")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    check(
        reply(raw(Method::GET, "/api/v1/users/abc")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // Bad query parameters.
    check(
        reply(raw(Method::GET, "/api/v1/audit?since=yesterday")).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    check(
        reply(raw(Method::GET, "/api/v1/audit?colour=red")).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // Conflict.
    let user = json!({ "email": "dup@example.com", "display_name": "D", "role": "agent" });
    assert_eq!(
        reply(raw(Method::POST, "/api/v1/users").json(&user))
            .await
            .0,
        StatusCode::CREATED
    );
    check(
        reply(raw(Method::POST, "/api/v1/users").json(&user)).await,
        StatusCode::CONFLICT,
        "email_taken",
    );

    // Missing and wrong authentication, and a forbidden role.
    let anonymous = server
        .call(Method::GET, "/api/v1/users", &Auth::None, None)
        .await;
    anonymous.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let bad_scheme = reply(
        server
            .client
            .get(server.url("/api/v1/me"))
            .header("authorization", "Basic Zm9vOmJhcg=="),
    )
    .await;
    check(bad_scheme, StatusCode::UNAUTHORIZED, "unauthenticated");
    let stale = Auth::Session {
        cookie: "no-such-session".into(),
        csrf: "x".into(),
    };
    server
        .call(Method::GET, "/api/v1/me", &stale, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let (_, agent) = server
        .user_with_role(&admin, "agent@example.com", "agent")
        .await;
    server
        .call(Method::GET, "/api/v1/audit", &agent, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
}
