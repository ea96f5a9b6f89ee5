//! Attachments: typed by content, limited in size, stored once, and
//! downloadable only by those who may read the conversation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::desk_helpers::{api_channel, conversation_from, member, set_presence};
use crate::harness::{Auth, Desk, Reply, Server};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89";
const PDF: &[u8] =
    b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
const EXE: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00";

async fn upload(server: &Server, auth: &Auth, path: &str, bytes: &[u8]) -> Reply {
    let mut request = server
        .client
        .post(server.url(path))
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec());
    match auth {
        Auth::Session { cookie, csrf } => {
            request = request
                .header("cookie", format!("__Host-omnigate_session={cookie}"))
                .header("x-csrf-token", csrf);
        }
        Auth::Bearer(token) => request = request.bearer_auth(token),
        _ => {}
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let version = response.version();
    let text = response.text().await.unwrap();
    Reply {
        status,
        headers,
        version,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

async fn download(
    server: &Server,
    auth: &Auth,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let Auth::Session { cookie, .. } = auth else {
        panic!("session needed");
    };
    let response = server
        .client
        .get(server.url(path))
        .header("cookie", format!("__Host-omnigate_session={cookie}"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn uploads_are_typed_by_content_limited_and_shown_only_to_those_who_may_read() {
    let desk = Desk::start_with(&[("OMNIGATE_DESK__MAX_MEDIA_BYTES", "4096")]).await;
    let server = &desk.server;
    let channel = api_channel(&desk, json!({})).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    let (_, other) = member(&desk, "other@example.com", "agent").await;
    let (_, supervisor) = member(&desk, "sup@example.com", "supervisor").await;
    set_presence(server, &agent, "online").await;
    let id = conversation_from(server, &channel, "c1", "m1").await;
    let path = format!("/api/v1/conversations/{id}/attachments");

    // An executable is refused whatever its name says.
    let exe = upload(server, &agent, &format!("{path}?filename=invoice.pdf"), EXE).await;
    exe.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // Too large for the configured limit.
    let mut big = PDF.to_vec();
    big.resize(5000, b' ');
    let large = upload(server, &agent, &path, &big).await;
    large.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Someone who may not see the conversation cannot upload into it.
    let foreign = upload(server, &other, &path, PNG).await;
    foreign.assert_error(StatusCode::FORBIDDEN, "forbidden");

    // A PNG named like a document is an image.
    let stored = upload(server, &agent, &format!("{path}?filename=receipt.doc"), PNG).await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.text);
    assert_eq!(stored.body["attachment"]["mime"], "image/png");
    assert_eq!(stored.body["attachment"]["kind"], "image");
    assert_eq!(stored.body["attachment"]["size_bytes"], PNG.len());
    let sha = stored.body["attachment"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = upload(server, &agent, &path, PNG).await;
    assert_eq!(
        again.body["attachment"]["sha256"], sha,
        "stored once, by content"
    );

    // Sent as a media message: type and size come from the stored file, not
    // from what the client claims.
    let sent = server
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{id}/messages"),
            &agent,
            Some(json!({ "content": {
                "type": "media", "kind": "document", "attachment": sha,
                "mime": "application/x-msdownload", "size_bytes": 1, "caption": "Your receipt"
            } })),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    let content = &sent.body["message"]["content"];
    assert_eq!(content["kind"], "image");
    assert_eq!(content["mime"], "image/png");
    assert_eq!(content["size_bytes"], PNG.len());
    let unknown = server
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{id}/messages"),
            &agent,
            Some(json!({ "content": { "type": "media", "kind": "image", "attachment": "00".repeat(32) } })),
        )
        .await;
    unknown.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");

    // Downloads: the holder and supervisors, nobody else.
    let file = format!("{path}/{sha}");
    let (status, headers, bytes) = download(server, &agent, &file).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PNG);
    assert_eq!(headers["content-type"], "image/png");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("receipt.doc")
    );
    assert_eq!(download(server, &supervisor, &file).await.0, StatusCode::OK);
    assert_eq!(
        download(server, &other, &file).await.0,
        StatusCode::FORBIDDEN
    );
    // The file is not reachable through another conversation either.
    let other_conversation = conversation_from(server, &channel, "c2", "m2").await;
    let elsewhere = format!("/api/v1/conversations/{other_conversation}/attachments/{sha}");
    assert_eq!(
        download(server, &supervisor, &elsewhere).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn integrators_send_files_in_through_the_channel() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let channel = api_channel(&desk, json!({})).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    let bearer = Auth::Bearer(channel.token.clone());
    let hook = format!("/webhooks/{}/attachments?filename=fatura.pdf", channel.id);
    let unauthenticated = upload(server, &Auth::None, &hook, PDF).await;
    unauthenticated.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let stored = upload(server, &bearer, &hook, PDF).await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.text);
    assert_eq!(stored.body["attachment"]["mime"], "application/pdf");
    let sha = stored.body["attachment"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();

    let message = server
        .call(
            Method::POST,
            &format!("/webhooks/{}", channel.id),
            &bearer,
            Some(json!({
                "type": "message", "message_id": "file-1",
                "contact": { "id": "c1", "name": "Ali" },
                "content": { "type": "media", "kind": "document", "attachment": sha }
            })),
        )
        .await;
    assert_eq!(message.status, StatusCode::OK, "{}", message.text);
    let id = message.body["conversation_id"].as_u64().unwrap();
    let (status, headers, bytes) = download(
        server,
        &agent,
        &format!("/api/v1/conversations/{id}/attachments/{sha}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF);
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("fatura.pdf")
    );
    let thread = server
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}/messages"),
            &agent,
            None,
        )
        .await;
    assert_eq!(
        thread.body["messages"][0]["content"]["filename"],
        "fatura.pdf"
    );
    assert_eq!(
        thread.body["messages"][0]["content"]["mime"],
        "application/pdf"
    );
}

#[tokio::test]
async fn an_integrator_names_only_files_its_own_channel_uploaded() {
    let desk = Desk::start().await;
    let server = &desk.server;
    let ours = api_channel(&desk, json!({ "name": "ours" })).await;
    let theirs = api_channel(&desk, json!({ "name": "theirs" })).await;
    let (_, agent) = member(&desk, "agent@example.com", "agent").await;
    set_presence(server, &agent, "online").await;
    // A file of another channel's, and one an agent sent in a conversation.
    let other = upload(
        server,
        &Auth::Bearer(theirs.token.clone()),
        &format!("/webhooks/{}/attachments", theirs.id),
        PDF,
    )
    .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
    let id = conversation_from(server, &ours, "c1", "m1").await;
    let sent = upload(
        server,
        &agent,
        &format!("/api/v1/conversations/{id}/attachments"),
        PNG,
    )
    .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    let bearer = Auth::Bearer(ours.token.clone());
    for (n, (upload, kind)) in [(&other, "document"), (&sent, "image")]
        .into_iter()
        .enumerate()
    {
        let sha = upload.body["attachment"]["sha256"].as_str().unwrap();
        let named = server
            .call(
                Method::POST,
                &format!("/webhooks/{}", ours.id),
                &bearer,
                Some(json!({
                    "type": "message", "message_id": format!("steal-{n}"),
                    "contact": { "id": "c2" },
                    "content": { "type": "media", "kind": kind, "attachment": sha }
                })),
            )
            .await;
        named.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
        assert!(
            named.text.contains("uploaded through this channel"),
            "{}",
            named.text
        );
    }
    // Once this channel uploads the same content itself, it may name it.
    let own = upload(
        server,
        &bearer,
        &format!("/webhooks/{}/attachments", ours.id),
        PDF,
    )
    .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.text);
    let named = server
        .call(
            Method::POST,
            &format!("/webhooks/{}", ours.id),
            &bearer,
            Some(json!({
                "type": "message", "message_id": "own-1",
                "contact": { "id": "c2" },
                "content": { "type": "media", "kind": "document",
                             "attachment": own.body["attachment"]["sha256"] }
            })),
        )
        .await;
    assert_eq!(named.status, StatusCode::OK, "{}", named.text);
}
