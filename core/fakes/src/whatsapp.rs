//! A fake of the WhatsApp Business Cloud API (Meta Graph API), reference
//! section 1: the send endpoint, media URL and download, the template list,
//! bearer-token checks, scriptable failures, and builders of signed inbound
//! webhooks.
//!
//! Start it with [`WhatsAppFake::start`]; it serves `graph.facebook.com`
//! and the media host `lookaside.fbsbx.com` from one address. Tests script
//! it through [`WhatsAppState`] (the next answers fail, media to download,
//! templates to list) and read what was sent back from it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::server::FakeServer;
use crate::webhook::InboundWebhook;

/// The Graph API host.
pub const GRAPH_HOST: &str = "graph.facebook.com";
/// Where media URLs point.
pub const MEDIA_HOST: &str = "lookaside.fbsbx.com";
/// A phone number id, as in the reference's examples.
pub const PHONE_NUMBER_ID: &str = "106540352242922";
/// The display number that goes with [`PHONE_NUMBER_ID`].
pub const DISPLAY_PHONE_NUMBER: &str = "15550783881";
/// A WhatsApp Business Account id.
pub const WABA_ID: &str = "102290129340398";

/// A Graph API error answer: HTTP status plus the `{"error": {...}}`
/// envelope of reference 1.5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphFailure {
    /// The HTTP status.
    pub status: u16,
    /// `error.code`.
    pub code: i64,
    /// `error.error_subcode`.
    pub subcode: Option<i64>,
    /// The title, which makes `error.message` (`(#code) title`).
    pub title: String,
    /// `error.error_data.details`.
    pub details: String,
    /// A `Retry-After` header in seconds (Meta rarely sends one; some BSPs do).
    pub retry_after_secs: Option<u64>,
}

impl GraphFailure {
    /// Any Graph error.
    #[must_use]
    pub fn new(status: u16, code: i64, title: &str, details: &str) -> GraphFailure {
        GraphFailure {
            status,
            code,
            subcode: None,
            title: title.to_owned(),
            details: details.to_owned(),
            retry_after_secs: None,
        }
    }

    /// 131047: more than 24 hours since the contact's last message (the
    /// synchronous form; the asynchronous one is [`failed_status`]).
    #[must_use]
    pub fn re_engagement() -> GraphFailure {
        GraphFailure::new(
            400,
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        )
    }

    /// 130429: the Cloud API throughput limit.
    #[must_use]
    pub fn throughput_limit() -> GraphFailure {
        GraphFailure::new(
            429,
            130429,
            "Rate limit hit",
            "Cloud API message throughput has been reached.",
        )
    }

    /// 131056: too many messages to the same contact in a short time.
    #[must_use]
    pub fn pair_rate_limit() -> GraphFailure {
        GraphFailure::new(
            400,
            131056,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.",
        )
    }

    /// 131026: the recipient cannot receive the message.
    #[must_use]
    pub fn undeliverable() -> GraphFailure {
        GraphFailure::new(
            400,
            131026,
            "Message Undeliverable",
            "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number.",
        )
    }

    /// 131030: the recipient is not in a test number's allowed list.
    #[must_use]
    pub fn not_in_allowed_list() -> GraphFailure {
        GraphFailure::new(
            400,
            131030,
            "Recipient phone number not in allowed list",
            "Recipient phone number not in allowed list: Add recipient phone number to recipient list and try again.",
        )
    }

    /// 190: the access token is invalid or expired.
    #[must_use]
    pub fn invalid_token() -> GraphFailure {
        GraphFailure::new(
            401,
            190,
            "Invalid OAuth access token - Cannot parse access token",
            "",
        )
    }

    /// 131000: something went wrong at Meta.
    #[must_use]
    pub fn server_error() -> GraphFailure {
        GraphFailure::new(
            500,
            131000,
            "Something went wrong",
            "Message failed to send due to an unknown error.",
        )
    }

    /// 132001: no template of that name and language.
    #[must_use]
    pub fn template_missing(name: &str, language: &str) -> GraphFailure {
        GraphFailure::new(
            400,
            132001,
            "Template name does not exist in the translation",
            &format!("template name ({name}) does not exist in {language}"),
        )
    }

    /// The same failure with a `Retry-After` header.
    #[must_use]
    pub fn with_retry_after(mut self, secs: u64) -> GraphFailure {
        self.retry_after_secs = Some(secs);
        self
    }

    /// The `{"error": {...}}` body.
    #[must_use]
    pub fn body(&self) -> Value {
        let mut error = json!({
            "message": format!("(#{}) {}", self.code, self.title),
            "type": "OAuthException",
            "code": self.code,
            "fbtrace_id": "AI5Ob2z72R0JAUB5zOF-nao",
        });
        if !self.details.is_empty() {
            error["error_data"] =
                json!({ "messaging_product": "whatsapp", "details": self.details });
        }
        if let Some(subcode) = self.subcode {
            error["error_subcode"] = json!(subcode);
        }
        json!({ "error": error })
    }

    fn response(&self) -> Response {
        let mut response = (
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST),
            axum::Json(self.body()),
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Whether the fake enforces the 24-hour service window on free-form
/// sends (reference 1.7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WindowMode {
    /// Every send goes through (the default).
    #[default]
    Off,
    /// A free-form send outside the window fails at once with 131047.
    Sync,
    /// It is accepted with a wamid, and a `failed` status with 131047
    /// waits in [`WhatsAppState::take_failed_statuses`], as Cloud API
    /// usually reports it.
    Async,
}

/// A file uploaded through `POST /{version}/{phone-number-id}/media`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The media id answered.
    pub id: String,
    /// The phone number id in the path.
    pub phone_number_id: String,
    /// The `type` field.
    pub media_type: String,
    /// The `file` part's file name.
    pub filename: String,
    /// The `file` part's bytes.
    pub bytes: Vec<u8>,
}

/// Types the Cloud API takes and their upload limits (Meta's "supported
/// media types" table; the reference lists the upload call only).
fn upload_limit(mime: &str) -> Option<usize> {
    const MB: usize = 1024 * 1024;
    Some(match mime {
        "image/jpeg" | "image/png" => 5 * MB,
        "image/webp" => 500 * 1024,
        "video/mp4" | "video/3gpp" => 16 * MB,
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => 16 * MB,
        "text/plain"
        | "application/pdf"
        | "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation" => 100 * MB,
        _ => return None,
    })
}

/// A stored media file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMedia {
    /// The bytes the download returns.
    pub bytes: Vec<u8>,
    /// Its MIME type.
    pub mime: String,
}

#[derive(Debug, Default)]
struct Inner {
    token: String,
    failures: VecDeque<GraphFailure>,
    media: HashMap<String, StoredMedia>,
    templates: Vec<Value>,
    template_page_size: usize,
    sent: Vec<Value>,
    next_id: u64,
    window: WindowMode,
    now_secs: u64,
    last_inbound: HashMap<String, u64>,
    failed_statuses: Vec<Value>,
    uploads: Vec<Upload>,
}

/// What a test scripts and reads; cheap to clone, shared with the router.
#[derive(Debug, Clone, Default)]
pub struct WhatsAppState(Arc<Mutex<Inner>>);

impl WhatsAppState {
    /// State that accepts `access_token` as the bearer token.
    #[must_use]
    pub fn new(access_token: &str) -> WhatsAppState {
        let state = WhatsAppState::default();
        {
            let mut inner = state.lock();
            inner.token = access_token.to_owned();
            inner.template_page_size = 25;
        }
        state
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `n` Graph API answers (after the token check) are `failure`.
    pub fn fail_next(&self, n: usize, failure: &GraphFailure) {
        let mut inner = self.lock();
        for _ in 0..n {
            inner.failures.push_back(failure.clone());
        }
    }

    /// Stores media `id` for `GET /{version}/{id}` and the download.
    pub fn add_media(&self, id: &str, bytes: &[u8], mime: &str) {
        self.lock().media.insert(
            id.to_owned(),
            StoredMedia {
                bytes: bytes.to_vec(),
                mime: mime.to_owned(),
            },
        );
    }

    /// The templates `message_templates` lists (see [`template`]). While
    /// the list is not empty, sending a template not on it fails with
    /// 132001.
    pub fn set_templates(&self, templates: Vec<Value>) {
        self.lock().templates = templates;
    }

    /// Templates per page when the request gives no `limit` or a larger
    /// one, to make tests follow `paging.next`.
    pub fn set_template_page_size(&self, size: usize) {
        self.lock().template_page_size = size.max(1);
    }

    /// Enforces the service window in `mode`, with the fake's clock at
    /// `now_secs` (Unix seconds).
    pub fn enforce_window(&self, mode: WindowMode, now_secs: u64) {
        let mut inner = self.lock();
        inner.window = mode;
        inner.now_secs = now_secs;
    }

    /// Moves the fake's clock (Unix seconds).
    pub fn set_now(&self, now_secs: u64) {
        self.lock().now_secs = now_secs;
    }

    /// Records that `wa_id` wrote at `ts_secs`, which opens its window.
    pub fn note_inbound(&self, wa_id: &str, ts_secs: u64) {
        self.lock().last_inbound.insert(wa_id.to_owned(), ts_secs);
    }

    /// The `failed` statuses [`WindowMode::Async`] produced since the last
    /// call, each as the signed webhook Meta would post.
    #[must_use]
    pub fn take_failed_statuses(&self, app_secret: &str) -> Vec<InboundWebhook> {
        std::mem::take(&mut self.lock().failed_statuses)
            .into_iter()
            .map(|status| {
                signed(
                    app_secret,
                    meta_json(&envelope(vec![statuses_value(vec![status])])),
                )
            })
            .collect()
    }

    /// The files uploaded (and accepted), oldest first.
    #[must_use]
    pub fn uploads(&self) -> Vec<Upload> {
        self.lock().uploads.clone()
    }

    /// The JSON bodies of accepted sends, oldest first.
    #[must_use]
    pub fn sent(&self) -> Vec<Value> {
        self.lock().sent.clone()
    }
}

/// A running fake and its state.
pub struct WhatsAppFake {
    /// The HTTPS server (requests, CA, resolve entries).
    pub server: FakeServer,
    /// What the test scripts and reads.
    pub state: WhatsAppState,
}

impl WhatsAppFake {
    /// Serves both hosts, accepting `access_token`.
    ///
    /// # Errors
    /// When the server cannot start.
    pub fn start(access_token: &str) -> Result<WhatsAppFake, String> {
        let state = WhatsAppState::new(access_token);
        let server = FakeServer::start(&[GRAPH_HOST, MEDIA_HOST], router(state.clone()))?;
        Ok(WhatsAppFake { server, state })
    }
}

/// The fake's routes over `state`, for embedding in another server.
pub fn router(state: WhatsAppState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

fn graph_error(
    status: u16,
    code: i64,
    subcode: Option<i64>,
    title: &str,
    details: &str,
) -> Response {
    GraphFailure {
        subcode,
        ..GraphFailure::new(status, code, title, details)
    }
    .response()
}

async fn handle(State(state): State<WhatsAppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, crate::server::MAX_BODY_BYTES).await else {
        return graph_error(413, 100, None, "Request entity too large", "");
    };
    let path = parts.uri.path().to_owned();
    let query = parse_query(parts.uri.query().unwrap_or_default());
    let authorized = {
        let inner = state.lock();
        parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            == Some(format!("Bearer {}", inner.token).as_str())
    };
    if path.starts_with("/whatsapp_business/attachments") {
        return download(&state, authorized, &query);
    }
    if !authorized {
        return GraphFailure::invalid_token().response();
    }
    if let Some(failure) = state.lock().failures.pop_front() {
        return failure.response();
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (parts.method.as_str(), segments.as_slice()) {
        ("POST", [_version, _phone, "messages"]) => send(&state, &body),
        ("POST", [_version, phone, "media"]) => {
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            upload(&state, phone, content_type, &body)
        }
        ("GET", [version, waba, "message_templates"]) => templates(&state, version, waba, &query),
        ("GET", [_version, media_id]) => media_url(&state, media_id),
        ("DELETE", [_version, media_id]) => {
            if state.lock().media.remove(*media_id).is_some() {
                axum::Json(json!({ "success": true })).into_response()
            } else {
                unknown_object(media_id)
            }
        }
        _ => graph_error(400, 2500, None, "Unknown path components", &path),
    }
}

fn unknown_object(id: &str) -> Response {
    let title = format!(
        "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
    );
    let mut failure = GraphFailure::new(400, 100, &title, "");
    failure.subcode = Some(33);
    failure.response()
}

fn parse_query(query: &str) -> HashMap<String, String> {
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(
        &format!("/?{query}").parse().unwrap_or_default(),
    )
    .map(|q| q.0)
    .unwrap_or_default()
}

/// `POST /{version}/{phone-number-id}/messages`.
fn send(state: &WhatsAppState, body: &[u8]) -> Response {
    let Ok(message) = serde_json::from_slice::<Value>(body) else {
        return graph_error(
            400,
            100,
            None,
            "Invalid parameter",
            "Request body is not JSON",
        );
    };
    if message["messaging_product"] != "whatsapp" {
        return graph_error(
            400,
            100,
            None,
            "The parameter messaging_product is required.",
            "",
        );
    }
    if message["status"] == "read" {
        return axum::Json(json!({ "success": true })).into_response();
    }
    let Some(to) = message["to"].as_str() else {
        return graph_error(
            400,
            131008,
            None,
            "Required parameter is missing",
            "Parameter 'to' is required",
        );
    };
    let kinds = [
        "text",
        "image",
        "video",
        "audio",
        "document",
        "sticker",
        "template",
        "interactive",
        "location",
        "contacts",
        "reaction",
    ];
    let Some(kind) = message["type"].as_str().filter(|k| kinds.contains(k)) else {
        return graph_error(
            400,
            100,
            None,
            "Invalid parameter",
            "Param type must be one of {TEXT, IMAGE, VIDEO, AUDIO, DOCUMENT, STICKER, TEMPLATE, INTERACTIVE, LOCATION, CONTACTS, REACTION}",
        );
    };
    if message[kind].is_null() {
        return graph_error(
            400,
            131008,
            None,
            "Required parameter is missing",
            &format!("Parameter '{kind}' is required"),
        );
    }
    let mut inner = state.lock();
    if kind == "template" && !inner.templates.is_empty() {
        let name = message["template"]["name"].as_str().unwrap_or_default();
        let language = message["template"]["language"]["code"]
            .as_str()
            .unwrap_or_default();
        let known = inner
            .templates
            .iter()
            .any(|t| t["name"] == name && t["language"] == language);
        if !known {
            return GraphFailure::template_missing(name, language).response();
        }
    }
    let outside_window = inner.window != WindowMode::Off
        && kind != "template"
        && inner
            .last_inbound
            .get(to)
            .is_none_or(|last| inner.now_secs.saturating_sub(*last) > 24 * 60 * 60);
    if outside_window && inner.window == WindowMode::Sync {
        return GraphFailure::re_engagement().response();
    }
    inner.next_id += 1;
    let wamid = format!(
        "wamid.HBgM{}FQIAERgS{:016X}",
        to.chars().filter(char::is_ascii_digit).collect::<String>(),
        inner.next_id
    );
    if outside_window {
        let status = failed(&wamid, to, &GraphFailure::re_engagement(), inner.now_secs);
        inner.failed_statuses.push(status);
    }
    inner.sent.push(message.clone());
    drop(inner);
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": to.trim_start_matches('+') }],
        "messages": [{ "id": wamid, "message_status": "accepted" }],
    }))
    .into_response()
}

/// `POST /{version}/{phone-number-id}/media` (reference 1.6): a
/// multipart form with `messaging_product=whatsapp`, `type` and the
/// `file` (with a file name and its own type, which must be `type`);
/// answers `{"id": ...}` and keeps the file as media that id names.
fn upload(state: &WhatsAppState, phone: &str, content_type: &str, body: &[u8]) -> Response {
    let invalid = |details: &str| graph_error(400, 100, None, "Invalid parameter", details);
    let parts = match crate::multipart::parse(content_type, body) {
        Ok(parts) => parts,
        Err(why) => return invalid(&format!("The request is not a valid multipart form: {why}")),
    };
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())
    };
    if field("messaging_product")
        .map(crate::multipart::Part::text)
        .as_deref()
        != Some("whatsapp")
    {
        return graph_error(
            400,
            100,
            None,
            "The parameter messaging_product is required.",
            "",
        );
    }
    let Some(file) = parts
        .iter()
        .find(|p| p.name == "file" && p.filename.is_some())
    else {
        return graph_error(
            400,
            131008,
            None,
            "Required parameter is missing",
            "Parameter 'file' is required",
        );
    };
    let Some(media_type) = field("type").map(crate::multipart::Part::text) else {
        return graph_error(
            400,
            131008,
            None,
            "Required parameter is missing",
            "Parameter 'type' is required",
        );
    };
    if file.content_type.as_deref() != Some(media_type.as_str()) {
        return invalid(&format!(
            "The file's content type ({}) does not match param type ({media_type})",
            file.content_type.as_deref().unwrap_or("none")
        ));
    }
    let Some(limit) = upload_limit(&media_type) else {
        return invalid(&format!(
            "Param type {media_type} is not a supported media type"
        ));
    };
    if file.body.is_empty() || file.body.len() > limit {
        return graph_error(
            400,
            131053,
            None,
            "Media upload error",
            &format!(
                "Uploaded file of {} bytes; {media_type} files are 1 to {limit} bytes",
                file.body.len()
            ),
        );
    }
    let mut inner = state.lock();
    inner.next_id += 1;
    let id = format!("{}", 1_037_543_291_543_600_u64 + inner.next_id);
    inner.media.insert(
        id.clone(),
        StoredMedia {
            bytes: file.body.clone(),
            mime: media_type.clone(),
        },
    );
    inner.uploads.push(Upload {
        id: id.clone(),
        phone_number_id: phone.to_owned(),
        media_type,
        filename: file.filename.clone().unwrap_or_default(),
        bytes: file.body.clone(),
    });
    axum::Json(json!({ "id": id })).into_response()
}

/// `GET /{version}/{media-id}`: the short-lived download URL.
fn media_url(state: &WhatsAppState, id: &str) -> Response {
    let inner = state.lock();
    let Some(media) = inner.media.get(id) else {
        return unknown_object(id);
    };
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "url": format!("https://{MEDIA_HOST}/whatsapp_business/attachments/?mid={id}&ext=1749416383&hash=ATuQ2c3GZq"),
        "mime_type": media.mime,
        "sha256": hex::encode(Sha256::digest(&media.bytes)),
        "file_size": media.bytes.len().to_string(),
        "id": id,
    }))
    .into_response()
}

/// The download itself: the bytes, only with the bearer token.
fn download(state: &WhatsAppState, authorized: bool, query: &HashMap<String, String>) -> Response {
    if !authorized {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let inner = state.lock();
    match query.get("mid").and_then(|id| inner.media.get(id)) {
        Some(media) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, media.mime.as_str())
            .body(Body::from(media.bytes.clone()))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

/// `GET /{version}/{waba-id}/message_templates`, paged with `limit` and an
/// `after` cursor.
fn templates(
    state: &WhatsAppState,
    version: &str,
    waba: &str,
    query: &HashMap<String, String>,
) -> Response {
    // Another business account is an object this token cannot load.
    if waba != WABA_ID {
        return unknown_object(waba);
    }
    let inner = state.lock();
    let page_size = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(inner.template_page_size)
        .min(inner.template_page_size)
        .max(1);
    let start = query
        .get("after")
        .and_then(|a| a.parse::<usize>().ok())
        .unwrap_or(0)
        .min(inner.templates.len());
    let end = (start + page_size).min(inner.templates.len());
    let mut paging =
        json!({ "cursors": { "before": start.to_string(), "after": end.to_string() } });
    if end < inner.templates.len() {
        paging["next"] = json!(format!(
            "https://{GRAPH_HOST}/{version}/{waba}/message_templates?limit={page_size}&after={end}"
        ));
    }
    axum::Json(json!({ "data": inner.templates[start..end], "paging": paging })).into_response()
}

/// A template as `message_templates` lists it, with a BODY component.
#[must_use]
pub fn template(name: &str, language: &str, category: &str, status: &str, body: &str) -> Value {
    json!({
        "name": name,
        "language": language,
        "status": status,
        "category": category,
        "id": format!("{}", 1_000_000 + name.len() * 7919 + language.len()),
        "components": [
            { "type": "BODY", "text": body },
        ],
    })
}

/// JSON the way Meta sends it: non-ASCII characters as `\uXXXX` escapes
/// (reference 1.2), which is what the signature covers.
#[must_use]
pub fn meta_json(value: &Value) -> Vec<u8> {
    let raw = value.to_string();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.into_bytes()
}

/// `sha256=<hex HMAC-SHA256(app secret, body)>`.
#[must_use]
pub fn signature(app_secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A webhook POST of exactly `body`, signed with `app_secret`.
#[must_use]
pub fn signed(app_secret: &str, body: Vec<u8>) -> InboundWebhook {
    InboundWebhook::post(
        vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            (
                "x-hub-signature-256".to_owned(),
                signature(app_secret, &body),
            ),
        ],
        body,
    )
}

/// The `object`/`entry`/`changes` envelope around change `values`.
#[must_use]
pub fn envelope(values: Vec<Value>) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": WABA_ID,
            "changes": values
                .into_iter()
                .map(|value| json!({ "field": "messages", "value": value }))
                .collect::<Vec<_>>(),
        }],
    })
}

fn metadata() -> Value {
    json!({ "display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": PHONE_NUMBER_ID })
}

/// A change value with `messages` from `from`, whose profile name is `name`.
#[must_use]
pub fn messages_value(from: &str, name: &str, messages: Vec<Value>) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(),
        "contacts": [{ "profile": { "name": name }, "wa_id": from }],
        "messages": messages,
    })
}

/// A change value with `statuses`.
#[must_use]
pub fn statuses_value(statuses: Vec<Value>) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(),
        "statuses": statuses,
    })
}

/// One `messages[]` entry of type `kind` with its type-specific `body`
/// (`{"body": "..."}` for text, `{"id", "mime_type", ...}` for media...).
#[must_use]
pub fn message(from: &str, wamid: &str, ts: u64, kind: &str, body: Value) -> Value {
    let mut message = json!({
        "from": from,
        "id": wamid,
        "timestamp": ts.to_string(),
        "type": kind,
    });
    message[kind] = body;
    message
}

/// One `statuses[]` entry (`sent`, `delivered`, `read`).
#[must_use]
pub fn status(wamid: &str, recipient: &str, status: &str, ts: u64) -> Value {
    json!({
        "id": wamid,
        "status": status,
        "timestamp": ts.to_string(),
        "recipient_id": recipient,
        "pricing": { "billable": true, "pricing_model": "PMP", "category": "service", "type": "free_customer_service" },
    })
}

/// A `failed` status with one error (131047 and 131026 arrive this way).
#[must_use]
pub fn failed(wamid: &str, recipient: &str, failure: &GraphFailure, ts: u64) -> Value {
    json!({
        "id": wamid,
        "status": "failed",
        "timestamp": ts.to_string(),
        "recipient_id": recipient,
        "errors": [{
            "code": failure.code,
            "title": failure.title,
            "message": failure.title,
            "error_data": { "details": failure.details },
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }],
    })
}

/// A signed webhook with one text message, as Meta sends it.
#[must_use]
pub fn inbound_text(
    app_secret: &str,
    from: &str,
    name: &str,
    wamid: &str,
    text: &str,
    ts: u64,
) -> InboundWebhook {
    let message = message(from, wamid, ts, "text", json!({ "body": text }));
    signed(
        app_secret,
        meta_json(&envelope(vec![messages_value(from, name, vec![message])])),
    )
}

/// A signed webhook with one status of a sent message.
#[must_use]
pub fn status_webhook(
    app_secret: &str,
    wamid: &str,
    recipient: &str,
    state: &str,
    ts: u64,
) -> InboundWebhook {
    let status = status(wamid, recipient, state, ts);
    signed(
        app_secret,
        meta_json(&envelope(vec![statuses_value(vec![status])])),
    )
}

/// A signed webhook with one `failed` status (asynchronous 131047/131026).
#[must_use]
pub fn failed_status(
    app_secret: &str,
    wamid: &str,
    recipient: &str,
    failure: &GraphFailure,
    ts: u64,
) -> InboundWebhook {
    let status = failed(wamid, recipient, failure, ts);
    signed(
        app_secret,
        meta_json(&envelope(vec![statuses_value(vec![status])])),
    )
}

/// Meta's subscription handshake GET.
#[must_use]
pub fn handshake(verify_token: &str, challenge: &str) -> InboundWebhook {
    InboundWebhook {
        method: "GET".to_owned(),
        query: vec![
            ("hub.mode".to_owned(), "subscribe".to_owned()),
            ("hub.verify_token".to_owned(), verify_token.to_owned()),
            ("hub.challenge".to_owned(), challenge.to_owned()),
        ],
        headers: Vec::new(),
        body: Vec::new(),
    }
}
