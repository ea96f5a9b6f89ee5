//! The server as a process: probes, TLS, headers, restarts, the data dir lock.

use reqwest::{Method, StatusCode, Version};
use serde_json::json;

use crate::harness::{Auth, Fixture, Server, client_for, create_admin, omnigate};

#[tokio::test]
async fn probes_answer_over_http2_and_http1_with_security_headers() {
    let f = Fixture::start().await;
    let reply = f
        .server
        .call(Method::GET, "/healthz", &Auth::None, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({ "status": "ok" }));
    assert_eq!(reply.version, Version::HTTP_2, "ALPN should choose h2");
    assert!(
        reply
            .header("strict-transport-security")
            .contains("max-age=")
    );
    assert!(
        reply
            .header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(reply.header("x-content-type-options"), "nosniff");

    let ready = f
        .server
        .call(Method::GET, "/readyz", &Auth::None, None)
        .await;
    assert_eq!(ready.body, json!({ "status": "ready" }));

    // The API's description is public: it describes, it grants nothing.
    let openapi = f
        .server
        .call(Method::GET, "/api/v1/openapi.json", &Auth::None, None)
        .await;
    assert_eq!(openapi.status, StatusCode::OK, "{}", openapi.text);
    assert!(
        openapi
            .header("content-type")
            .starts_with("application/json")
    );
    assert_eq!(openapi.body["openapi"], "3.1.0");
    assert!(
        openapi.body["paths"]["/api/v1/conversations/{id}/messages"]["post"].is_object(),
        "{}",
        openapi.text
    );

    let http1 = client_for(&f.server.data_dir, true)
        .get(f.server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(http1.version(), Version::HTTP_11);
    assert_eq!(http1.status(), StatusCode::OK);
}

#[tokio::test]
async fn tls_1_2_clients_are_served_and_plain_http_is_not() {
    let f = Fixture::start().await;
    let pem = std::fs::read(f.dir.path().join("tls/self-signed.crt")).unwrap();
    let tls12 = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    let reply = tls12.get(f.server.url("/healthz")).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);

    // Plain HTTP on the TLS port gets no HTTP answer at all.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/healthz", f.server.addr.port()))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
}

#[tokio::test]
async fn the_self_signed_certificate_is_kept_and_reused_across_restarts() {
    let f = Fixture::start().await;
    let cert = std::fs::read(f.dir.path().join("tls/self-signed.crt")).unwrap();
    let log = f.server.log();
    let fingerprint = |log: &str| {
        log.lines()
            .find(|l| l.contains("\"listening\""))
            .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| {
                v["tls_fingerprint_sha256"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .unwrap()
    };
    let first = fingerprint(&log);
    assert_eq!(first.len(), 95, "{first}");
    assert!(f.server.stop().await.success());
    let again = Server::start(f.dir.path(), &[]).await;
    assert_eq!(fingerprint(&again.log()), first);
    assert_eq!(
        std::fs::read(f.dir.path().join("tls/self-signed.crt")).unwrap(),
        cert
    );
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9_and_a_graceful_restart() {
    let f = Fixture::start().await;
    let admin = f.server.admin().await;
    let created = f
        .server
        .call(
            Method::POST,
            "/api/v1/users",
            &admin,
            Some(json!({ "email": "ayse@shop.com", "display_name": "Ayşe", "role": "agent", "password": "a long enough password" })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    // The 201 was the acknowledgement: nothing may be lost now.
    f.server.kill9();

    let server = Server::start(f.dir.path(), &[]).await;
    let agent = server
        .login("ayse@shop.com", "a long enough password")
        .await;
    assert_eq!(agent.status, StatusCode::OK, "{}", agent.text);
    assert_eq!(agent.body["user"]["display_name"], "Ayşe");
    let status = server.stop().await;
    assert!(status.success(), "graceful stop exited with {status}");

    let server = Server::start(f.dir.path(), &[]).await;
    assert_eq!(
        server
            .login("ayse@shop.com", "a long enough password")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_second_process_on_the_same_data_dir_is_refused_clearly() {
    let f = Fixture::start().await;
    let out = omnigate(f.dir.path()).arg("serve").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("in use by another omnigate process"),
        "{stderr}"
    );
    // The first server is unaffected.
    let reply = f
        .server
        .call(Method::GET, "/readyz", &Auth::None, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn sigterm_stops_gracefully_and_logs_it() {
    let dir = tempfile::tempdir().unwrap();
    create_admin(dir.path());
    let server = Server::start(dir.path(), &[]).await;
    assert!(server.log().contains("\"listening\""));
    let (status, log) = server.stop_with_log().await;
    assert!(status.success(), "{status}");
    for step in [
        "SIGTERM received",
        "finishing in-flight requests",
        "\"stopped\"",
    ] {
        assert!(
            log.contains(step),
            "no `{step}` in the shutdown log:\n{log}"
        );
    }
}

#[tokio::test]
async fn config_changes_between_starts_are_audited() {
    let f = Fixture::start().await;
    assert!(f.server.stop().await.success());
    let server = Server::start(f.dir.path(), &[("OMNIGATE_AUTH__LOCKOUT_SECS", "120")]).await;
    let admin = server.admin().await;
    let reply = server
        .call(
            Method::GET,
            "/api/v1/audit?action=config.changed",
            &admin,
            None,
        )
        .await;
    let entries = reply.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{}", reply.text);
    assert_eq!(
        entries[0]["detail"]["changed_keys"],
        json!(["auth.lockout_secs"])
    );
    assert_eq!(entries[1]["detail"]["first_start"], true);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_report_store_and_process_figures() {
    let f = Fixture::start().await;
    let admin = f.server.admin().await;
    for _ in 0..3 {
        f.server
            .call(Method::GET, "/healthz", &Auth::None, None)
            .await;
    }
    f.server
        .call(Method::GET, "/api/v1/users/12345", &admin, None)
        .await;
    f.server
        .call(Method::GET, "/no/such/page", &Auth::None, None)
        .await;
    let reply = f.server.call(Method::GET, "/metrics", &admin, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(
        reply
            .header("content-type")
            .starts_with("application/openmetrics-text")
    );
    let text = &reply.text;
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in:\n{text}"))
            .to_owned()
    };
    let healthz = line(
        "omnigate_http_request_duration_seconds_count{route=\"/healthz\",method=\"GET\",status=\"200\"}",
    );
    assert!(healthz.ends_with(" 3"), "{healthz}");
    // Ids do not become labels: the route template does.
    line(
        "omnigate_http_request_duration_seconds_count{route=\"/api/v1/users/{id}\",method=\"GET\",status=\"404\"}",
    );
    line(
        "omnigate_http_request_duration_seconds_count{route=\"unmatched\",method=\"GET\",status=\"404\"}",
    );
    line("omnigate_http_request_duration_seconds_bucket{le=");
    for figure in [
        "omnigate_store_flushes_total",
        "omnigate_store_size_bytes",
        "omnigate_users 1",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        line(figure);
    }
}
