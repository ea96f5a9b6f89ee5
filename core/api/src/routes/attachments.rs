//! Attachments: streamed uploads (size-limited, typed by their content),
//! and downloads for those who may read the conversation.

use axum::Json as ResponseJson;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use omnigate_domain::conversation::{SNIFF_BYTES, sniff};
use omnigate_engine::{Upload, parse_sha256};
use omnigate_store::attachments::AttachmentRecord;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::channels::AuthenticatedChannel;
use super::conversations::caller;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ClientAddr, Query, parse_id};
use crate::state::AppState;

/// The upload's name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Named {
    filename: Option<String>,
}

fn view(record: &AttachmentRecord) -> Value {
    json!({
        "sha256": hex::encode(record.sha256),
        "size_bytes": record.size_bytes,
        "mime": record.mime,
        "kind": record.kind,
        "filename": record.filename,
    })
}

fn clean_filename(raw: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(name) = raw.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    // Only the last path component, no control characters or quotes, so it
    // can go into a Content-Disposition header as it is.
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    if base.is_empty()
        || base.chars().count() > 200
        || base.chars().any(|c| c.is_control() || c == '"')
    {
        return Err(omnigate_domain::ValidationError::new(
            "filename",
            "at most 200 characters, no control characters or quotes",
        )
        .into());
    }
    Ok(Some(base.to_owned()))
}

/// Streams the body to the staging directory, hashing and counting as it
/// goes, and refuses it as soon as it passes `limit` or once it is clear
/// that its content is of no supported type.
async fn receive_upload(
    state: &AppState,
    body: Body,
    filename: Option<String>,
) -> Result<Upload, ApiError> {
    let limit = state.engine().config().max_media_bytes;
    let staged = state.inner.store.staging_path()?;
    let mut file = tokio::fs::File::create(&staged)
        .await
        .map_err(|e| ApiError::internal(&format!("creating {}: {e}", staged.display())))?;
    let outcome = async {
        let mut body = body;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                ApiError::bad_request("bad_request", format!("reading the upload failed: {e}"))
            })?;
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            size += chunk.len() as u64;
            if size > limit {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("attachments are limited to {limit} bytes (desk.max_media_bytes)"),
                ));
            }
            if head.len() < SNIFF_BYTES {
                let take = (SNIFF_BYTES - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| ApiError::internal(&format!("writing an upload: {e}")))?;
        }
        file.flush()
            .await
            .map_err(|e| ApiError::internal(&format!("writing an upload: {e}")))?;
        let (mime, kind) = sniff(&head).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the file is not of a supported type (images, video, audio, PDF, office documents, plain text); the type is judged by its content, not its name",
            )
        })?;
        Ok(Upload {
            staged: staged.clone(),
            sha256: hasher.finalize().into(),
            size_bytes: size,
            mime,
            kind,
            filename,
        })
    }
    .await;
    if outcome.is_err() {
        let _ = tokio::fs::remove_file(&staged).await;
    }
    outcome
}

/// `POST /api/v1/conversations/{id}/attachments?filename=`: the raw file as
/// the body. 201 with the attachment once it is on disk; send it with a
/// `media` message naming its `sha256`.
pub(crate) async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Query(named): Query<Named>,
    body: Body,
) -> Result<(StatusCode, ResponseJson<Value>), ApiError> {
    let id = parse_id("conversation", &id)?;
    let filename = clean_filename(named.filename)?;
    let caller = caller(&principal, client);
    // Check access before reading the body.
    state.engine().conversation_for(&caller, id)?;
    let upload = receive_upload(&state, body, filename).await?;
    let engine = state.engine().clone();
    let record = tokio::task::spawn_blocking(move || engine.attach(&caller, id, upload))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    state.engine().durable().await?;
    Ok((
        StatusCode::CREATED,
        ResponseJson(json!({ "attachment": view(&record) })),
    ))
}

/// `POST /webhooks/{channel}/attachments?filename=`: an integrator uploads
/// a file for an inbound media message that follows.
pub(crate) async fn upload_inbound(
    State(state): State<AppState>,
    AuthenticatedChannel(channel): AuthenticatedChannel,
    Query(named): Query<Named>,
    body: Body,
) -> Result<(StatusCode, ResponseJson<Value>), ApiError> {
    if channel.disabled {
        return Err(ApiError::conflict(
            "channel_disabled",
            format!("channel {} is disabled", channel.id),
        ));
    }
    let filename = clean_filename(named.filename)?;
    let upload = receive_upload(&state, body, filename).await?;
    let engine = state.engine().clone();
    let record = tokio::task::spawn_blocking(move || engine.attach_inbound(&channel, upload))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    state.engine().durable().await?;
    Ok((
        StatusCode::CREATED,
        ResponseJson(json!({ "attachment": view(&record) })),
    ))
}

/// `GET /api/v1/conversations/{id}/attachments/{sha256}`: the file, for
/// those who may read the conversation it belongs to.
pub(crate) async fn download(
    State(state): State<AppState>,
    Path((id, sha)): Path<(String, String)>,
    client: ClientAddr,
    principal: Principal,
) -> Result<Response, ApiError> {
    let id = parse_id("conversation", &id)?;
    let engine = state.engine();
    engine.conversation_for(&caller(&principal, client), id)?;
    let missing = || ApiError::not_found(format!("no attachment `{sha}` in conversation {id}"));
    let hash = parse_sha256(&sha).ok_or_else(missing)?;
    if !engine.store().attachment_allowed(id, &hash)? {
        return Err(missing());
    }
    let record = engine.store().attachment(&hash)?.ok_or_else(missing)?;
    let file = tokio::fs::File::open(engine.store().attachment_path(&hash))
        .await
        .map_err(|e| ApiError::internal(&format!("opening attachment {sha}: {e}")))?;
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&record.mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(record.size_bytes));
    let disposition = match &record.filename {
        Some(name) => format!("attachment; filename=\"{name}\""),
        None => "attachment".to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    // Files from customers are never run as a page of this origin.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, immutable"),
    );
    Ok(response)
}
