//! Router-level tests of the time-dependent rules, on an injected clock: the
//! router is driven with `oneshot` requests, no socket, no sleeping.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use omnigate_api::ApiService;
use omnigate_api::auth::password::hash_password_blocking;
use omnigate_api::{ApiConfig, AppState};
use omnigate_domain::{DisplayName, Email, ManualClock, Role, Timestamp};
use omnigate_store::{NewUser, Store};
use serde_json::{Value, json};
use tower::ServiceExt;

const EMAIL: &str = "agent@example.com";
const PASSWORD: &str = "a long enough password";

struct World {
    _dir: tempfile::TempDir,
    clock: ManualClock,
    store: Arc<Store>,
    app: ApiService,
}

fn world(config: ApiConfig) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock = ManualClock::starting_at(Timestamp(1_795_619_005_000));
    store
        .create_user(NewUser {
            email: Email::parse(EMAIL).unwrap(),
            display_name: DisplayName::parse("Agent").unwrap(),
            role: Role::Agent,
            password_hash: hash_password_blocking(PASSWORD).unwrap(),
            created_at: Timestamp(0),
        })
        .unwrap();
    let clock_handle: Arc<dyn omnigate_domain::Clock> = Arc::new(clock.clone());
    let engine = omnigate_engine::Engine::start(
        Arc::clone(&store),
        Arc::clone(&clock_handle),
        omnigate_engine::EngineConfig::default(),
    )
    .unwrap();
    let state = AppState::new(Arc::clone(&store), engine, clock_handle, config);
    World {
        _dir: dir,
        clock,
        store,
        app: omnigate_api::service(state),
    }
}

impl World {
    async fn send(&self, request: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        )
    }

    async fn login(&self, password: &str) -> (StatusCode, Value, Option<String>) {
        self.login_as(EMAIL, password).await
    }

    async fn login_as(&self, email: &str, password: &str) -> (StatusCode, Value, Option<String>) {
        let request = Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({ "email": email, "password": password }).to_string(),
            ))
            .unwrap();
        let (status, body, headers) = self.send(request).await;
        let cookie = headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        (status, body, cookie)
    }

    async fn me(&self, cookie: &str) -> StatusCode {
        let request = Request::get("/api/v1/me")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        self.send(request).await.0
    }
}

fn config() -> ApiConfig {
    ApiConfig {
        session_ttl: Duration::from_secs(8 * 3600),
        session_idle_timeout: Duration::from_secs(3600),
        ..ApiConfig::default()
    }
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_expiry_even_when_used() {
    let w = world(config());
    let (status, _, cookie) = w.login(PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = cookie.unwrap();
    // Used every 50 minutes, it never idles out...
    for _ in 0..9 {
        w.clock.advance(Duration::from_secs(50 * 60));
        assert_eq!(w.me(&cookie).await, StatusCode::OK);
    }
    // ...but 8 hours after login it is over.
    w.clock.advance(Duration::from_secs(30 * 60));
    assert_eq!(w.me(&cookie).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unused_session_ends_after_the_idle_timeout() {
    let w = world(config());
    let (_, _, cookie) = w.login(PASSWORD).await;
    let cookie = cookie.unwrap();
    w.clock.advance(Duration::from_secs(59 * 60));
    assert_eq!(w.me(&cookie).await, StatusCode::OK);
    w.clock.advance(Duration::from_secs(3600));
    assert_eq!(w.me(&cookie).await, StatusCode::UNAUTHORIZED);
    // And it stays ended.
    assert_eq!(w.me(&cookie).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_lockout_ends_after_its_duration() {
    let w = world(ApiConfig::default());
    for _ in 0..4 {
        assert_eq!(w.login("wrong password").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, body, _) = w.login("wrong password").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "too_many_attempts");
    w.clock.advance(Duration::from_secs(14 * 60));
    assert_eq!(w.login(PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS);
    w.clock.advance(Duration::from_secs(60));
    assert_eq!(w.login(PASSWORD).await.0, StatusCode::OK);
}

#[tokio::test]
async fn failures_spread_beyond_the_window_do_not_lock() {
    let w = world(ApiConfig::default());
    for _ in 0..10 {
        assert_eq!(w.login("wrong password").await.0, StatusCode::UNAUTHORIZED);
        w.clock.advance(Duration::from_secs(5 * 60));
    }
    assert_eq!(w.login(PASSWORD).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_guesses_cannot_get_past_the_lockout() {
    let w = Arc::new(world(ApiConfig::default()));
    let mut guesses = Vec::new();
    for _ in 0..40 {
        let w = Arc::clone(&w);
        guesses.push(tokio::spawn(
            async move { w.login("wrong password").await.0 },
        ));
    }
    let mut checked = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    // At most max_failures (5) passwords were actually checked.
    assert!(checked <= 5, "{checked} guesses were checked");
    assert_eq!(w.login(PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_huge_login_name_is_not_stored_or_kept() {
    let w = world(ApiConfig::default());
    let huge = "x".repeat(200_000);
    assert_eq!(
        w.login_as(&huge, "whatever whatever").await.0,
        StatusCode::UNAUTHORIZED
    );
    let entries = w
        .store
        .audit_entries(&omnigate_store::AuditFilter::default(), 10)
        .unwrap();
    let failed = entries
        .iter()
        .find(|e| e.action == "auth.login_failed")
        .unwrap();
    assert_eq!(failed.target.as_deref(), Some("(not an e-mail address)"));
}

#[tokio::test]
async fn guessing_through_the_password_change_is_throttled_and_audited() {
    let w = world(ApiConfig::default());
    let (_, body, cookie) = w.login(PASSWORD).await;
    let cookie = cookie.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    let change = |current: &str| {
        Request::post("/api/v1/me/password")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", &csrf)
            .body(Body::from(
                json!({ "current_password": current, "new_password": "another long password" })
                    .to_string(),
            ))
            .unwrap()
    };
    for _ in 0..4 {
        assert_eq!(
            w.send(change("guess guess guess")).await.0,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        w.send(change("guess guess guess")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        w.send(change(PASSWORD)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let refused = w
        .store
        .audit_entries(
            &omnigate_store::AuditFilter {
                action: Some("auth.password_change_failed".into()),
                ..Default::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(refused.len(), 5);
}

#[tokio::test]
async fn a_session_revoked_between_reads_is_not_brought_back_by_the_activity_refresh() {
    let w = world(config());
    let (_, _, cookie) = w.login(PASSWORD).await;
    let cookie = cookie.unwrap();
    assert_eq!(w.me(&cookie).await, StatusCode::OK);
    let user = w.store.users().unwrap()[0].id;
    w.clock.advance(Duration::from_secs(120));
    w.store.delete_sessions_of(user, None).unwrap();
    // The refresh is due now; it must not re-create the session.
    assert_eq!(w.me(&cookie).await, StatusCode::UNAUTHORIZED);
    assert_eq!(w.store.session_count(), 0);
}
