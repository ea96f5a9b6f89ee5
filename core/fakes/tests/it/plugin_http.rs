//! The production plugin HTTP client against a real HTTPS server: host
//! pinning, extra roots, no redirects, bounded answers.

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use omnigate_fakes::FakeServer;
use omnigate_plugin_host::HttpClient;
use omnigate_plugin_host::services::{HttpFailure, OutboundRequest};

use crate::support::http_for;

fn request(method: &'static str, url: &str, body: &[u8]) -> OutboundRequest {
    OutboundRequest {
        method,
        url: url.to_owned(),
        headers: vec![("authorization".into(), "Bearer t0k3n".into())],
        body: body.to_vec(),
    }
}

#[test]
fn reaches_a_pinned_host_over_https_with_headers_and_body_intact() {
    let fake = FakeServer::start(
        &["api.telegram.org"],
        Router::new().route(
            "/bot1/sendMessage",
            post(|body: String| async move { (StatusCode::CREATED, body) }),
        ),
    )
    .expect("fake");
    let http = http_for(&[&fake]);
    let answer = http
        .send(
            "telegram@1.0.0",
            request(
                "POST",
                "https://api.telegram.org/bot1/sendMessage",
                b"{\"a\":1}",
            ),
            Duration::from_secs(5),
        )
        .expect("answer");
    assert_eq!(answer.status, 201);
    assert_eq!(answer.body, b"{\"a\":1}");
    let seen = fake.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), Some("Bearer t0k3n"));
    assert!(
        seen[0]
            .header("user-agent")
            .is_some_and(|ua| ua.starts_with("omnigate/"))
    );
}

#[test]
fn a_redirect_is_handed_to_the_plugin_not_followed() {
    let fake = FakeServer::start(
        &["graph.facebook.com"],
        Router::new().route(
            "/moved",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "https://elsewhere.example/steal")],
                )
            }),
        ),
    )
    .expect("fake");
    let answer = http_for(&[&fake])
        .send(
            "whatsapp-cloud@1.0.0",
            request("GET", "https://graph.facebook.com/moved", b""),
            Duration::from_secs(5),
        )
        .expect("answer");
    assert_eq!(answer.status, 302);
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn an_answer_over_the_limit_is_refused_and_an_untrusted_server_fails() {
    let fake = FakeServer::start(
        &["big.example.com"],
        Router::new().route("/", get(|| async { vec![b'x'; 40 * 1024 * 1024] })),
    )
    .expect("fake");
    let refused = http_for(&[&fake]).send(
        "shop@1",
        request("GET", "https://big.example.com/", b""),
        Duration::from_secs(20),
    );
    assert!(
        matches!(refused, Err(HttpFailure::TooLarge(_))),
        "{refused:?}"
    );

    // The same server without its CA trusted: TLS fails, nothing is sent.
    let other = FakeServer::start(&["big.example.com"], Router::new()).expect("fake");
    let settings = omnigate_plugin_http::HttpSettings {
        resolve: vec![("big.example.com".into(), other.addr())],
        ..Default::default()
    };
    let untrusted = omnigate_plugin_http::ProviderHttp::new(&settings)
        .expect("client")
        .send(
            "shop@1",
            request("GET", "https://big.example.com/", b""),
            Duration::from_secs(5),
        );
    assert!(
        matches!(untrusted, Err(HttpFailure::Transport(_))),
        "{untrusted:?}"
    );
    assert!(other.requests().is_empty());
}
