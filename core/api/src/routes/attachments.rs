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
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, ToSchema};

use super::channels::AuthenticatedChannel;
use super::conversations::caller;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ClientAddr, Query, parse_id};
use crate::state::AppState;

/// The upload's name.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Named {
    /// The file's name, shown to agents and used for downloads (the type is
    /// judged by the content, not by this name).
    filename: Option<String>,
}

/// `attachment`, with the name as an ASCII fallback and RFC 5987's UTF-8
/// form (`sipariş.pdf` must still download as a file, not open inline).
pub(crate) fn content_disposition(filename: Option<&str>) -> HeaderValue {
    let Some(name) = filename else {
        return HeaderValue::from_static("attachment");
    };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

/// A stored attachment.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttachmentView {
    /// SHA-256 of the content, in hex: the attachment's name in `media`
    /// messages.
    sha256: String,
    size_bytes: u64,
    /// Detected from the content.
    mime: String,
    /// `image`, `video`, `audio`, `document` or `sticker`.
    kind: String,
    #[schema(required = true)]
    filename: Option<String>,
}

/// The answer to an upload.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttachmentBody {
    attachment: AttachmentView,
}

/// A file's bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(crate) struct FileBytes(#[allow(dead_code)] Vec<u8>);

fn view(record: &AttachmentRecord) -> AttachmentBody {
    AttachmentBody {
        attachment: AttachmentView {
            sha256: hex::encode(record.sha256),
            size_bytes: record.size_bytes,
            mime: record.mime.clone(),
            kind: record.kind.clone(),
            filename: record.filename.clone(),
        },
    }
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

/// Removes a staged upload when the request ends, however it ends: an
/// error, a timeout or a client that went away must not leave files in the
/// staging directory. After a successful attach the file has been moved,
/// and removing the old name does nothing.
struct Staged(std::path::PathBuf);

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Streams the body to the staging directory, hashing and counting as it
/// goes; refuses it as soon as it passes `limit`, and at the end if its
/// content is of no supported type.
async fn receive_upload(
    state: &AppState,
    body: Body,
    filename: Option<String>,
) -> Result<(Upload, Staged), ApiError> {
    let limit = state.engine().config().max_media_bytes;
    let staged = state.inner.store.staging_path()?;
    let guard = Staged(staged.clone());
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
    outcome.map(|upload| (upload, guard))
}

/// Upload an attachment.
///
/// The raw file is the body. 201 with the attachment once it is on disk;
/// send it with a `media` message naming its `sha256`.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/attachments",
    operation_id = "upload_attachment",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id."), Named),
    request_body(content = FileBytes, content_type = "application/octet-stream", description = "The file, streamed."),
    responses(
        (status = 201, description = "Stored.", body = AttachmentBody),
        (status = 403, description = "`forbidden`: not a conversation the caller may see.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation.", body = ErrorBody),
        (status = 409, description = "`conversation_ended`: the conversation is read-only.", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: larger than `desk.max_media_bytes`.", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the content is of no supported type.", body = ErrorBody),
        (status = 422, description = "`invalid_request`: a bad file name, or a kind or size the channel does not carry.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Query(named): Query<Named>,
    body: Body,
) -> Result<(StatusCode, ResponseJson<AttachmentBody>), ApiError> {
    let id = parse_id("conversation", &id)?;
    let filename = clean_filename(named.filename)?;
    let caller = caller(&principal, client);
    // Refuse before reading the body, with the same rule as the store step.
    state.engine().conversation_to_write(&caller, id)?;
    let (upload, _staged) = receive_upload(&state, body, filename).await?;
    let engine = state.engine().clone();
    let record = tokio::task::spawn_blocking(move || engine.attach(&caller, id, upload))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    state.engine().durable().await?;
    Ok((StatusCode::CREATED, ResponseJson(view(&record))))
}

/// Upload an inbound file.
///
/// An integrator uploads a file for an inbound `media` message that follows
/// and names its `sha256`.
#[utoipa::path(
    post,
    path = "/webhooks/{channel}/attachments",
    operation_id = "channel_upload",
    tag = "webhooks",
    params(("channel" = u64, Path, description = "The channel's id."), Named),
    request_body(content = FileBytes, content_type = "application/octet-stream", description = "The file, streamed."),
    responses(
        (status = 201, description = "Stored.", body = AttachmentBody),
        (status = 401, description = "`unauthenticated`: no inbound token, or not this channel's.", body = ErrorBody),
        (status = 409, description = "`channel_disabled`: the channel is disabled.", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: larger than `desk.max_media_bytes`.", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the content is of no supported type.", body = ErrorBody),
        (status = 422, description = "`invalid_request`: a bad file name, or a kind or size the channel does not carry.", body = ErrorBody),
    ),
    security(("channel_token" = []))
)]
pub(crate) async fn upload_inbound(
    State(state): State<AppState>,
    AuthenticatedChannel(channel): AuthenticatedChannel,
    Query(named): Query<Named>,
    body: Body,
) -> Result<(StatusCode, ResponseJson<AttachmentBody>), ApiError> {
    if channel.disabled {
        return Err(ApiError::conflict(
            "channel_disabled",
            format!("channel {} is disabled", channel.id),
        ));
    }
    let filename = clean_filename(named.filename)?;
    let (upload, _staged) = receive_upload(&state, body, filename).await?;
    let engine = state.engine().clone();
    let record = tokio::task::spawn_blocking(move || engine.attach_inbound(&channel, upload))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    state.engine().durable().await?;
    Ok((StatusCode::CREATED, ResponseJson(view(&record))))
}

/// Download an attachment.
///
/// The file, for those who may read the conversation it belongs to, with
/// its detected type and a sandboxing CSP.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}/attachments/{sha256}",
    operation_id = "download_attachment",
    tag = "conversations",
    params(
        ("id" = u64, Path, description = "The conversation's id."),
        ("sha256" = String, Path, description = "The attachment's SHA-256 in hex."),
    ),
    responses(
        (status = 200, description = "The file.", body = FileBytes, content_type = "application/octet-stream"),
        (status = 403, description = "`forbidden`: not a conversation the caller may see.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation, or no such attachment in it.", body = ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
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
    headers.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(record.filename.as_deref()),
    );
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
