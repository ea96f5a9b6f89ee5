//! A fake of the Telegram Bot API, reference section 2: the send methods,
//! `getFile` and file downloads, `answerCallbackQuery` and `setWebhook`,
//! the token in the path, scriptable failures, and builders of inbound
//! updates with the secret-token header.
//!
//! Parameters are read from a JSON body, the query string, or a
//! `multipart/form-data` body (file uploads: the file goes in the part
//! named after the method's file parameter, with a file name; other parts
//! are text parameters).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::server::FakeServer;
use crate::webhook::InboundWebhook;

/// The Bot API host.
pub const HOST: &str = "api.telegram.org";
/// The fake bot's user id.
pub const BOT_ID: i64 = 7_000_000_001;
/// The date the fake stamps on sent messages (Unix seconds).
pub const SENT_DATE: i64 = 1_717_000_100;

/// A Bot API error: `{"ok": false, "error_code", "description",
/// "parameters"?}` with the HTTP status equal to `error_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotFailure {
    /// `error_code` and the HTTP status.
    pub code: u16,
    /// `description`.
    pub description: String,
    /// `parameters.retry_after` (seconds).
    pub retry_after: Option<u64>,
    /// `parameters.migrate_to_chat_id`.
    pub migrate_to_chat_id: Option<i64>,
}

impl BotFailure {
    /// Any error.
    #[must_use]
    pub fn new(code: u16, description: &str) -> BotFailure {
        BotFailure {
            code,
            description: description.to_owned(),
            retry_after: None,
            migrate_to_chat_id: None,
        }
    }

    /// 429 with `parameters.retry_after`.
    #[must_use]
    pub fn too_many_requests(retry_after: u64) -> BotFailure {
        BotFailure {
            retry_after: Some(retry_after),
            ..BotFailure::new(
                429,
                &format!("Too Many Requests: retry after {retry_after}"),
            )
        }
    }

    /// 403: the user blocked the bot.
    #[must_use]
    pub fn blocked() -> BotFailure {
        BotFailure::new(403, "Forbidden: bot was blocked by the user")
    }

    /// 400: no such chat.
    #[must_use]
    pub fn chat_not_found() -> BotFailure {
        BotFailure::new(400, "Bad Request: chat not found")
    }

    /// 401: the token is wrong.
    #[must_use]
    pub fn unauthorized() -> BotFailure {
        BotFailure::new(401, "Unauthorized")
    }

    /// 500.
    #[must_use]
    pub fn server_error() -> BotFailure {
        BotFailure::new(500, "Internal Server Error")
    }

    /// The error body.
    #[must_use]
    pub fn body(&self) -> Value {
        let mut body =
            json!({ "ok": false, "error_code": self.code, "description": self.description });
        let mut parameters = Map::new();
        if let Some(secs) = self.retry_after {
            parameters.insert("retry_after".into(), json!(secs));
        }
        if let Some(chat) = self.migrate_to_chat_id {
            parameters.insert("migrate_to_chat_id".into(), json!(chat));
        }
        if !parameters.is_empty() {
            body["parameters"] = Value::Object(parameters);
        }
        body
    }

    fn response(&self) -> Response {
        (
            StatusCode::from_u16(self.code).unwrap_or(StatusCode::BAD_REQUEST),
            axum::Json(self.body()),
        )
            .into_response()
    }
}

/// A file uploaded in a multipart `send*` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The method (`sendPhoto`).
    pub method: String,
    /// The part's name (`photo`).
    pub field: String,
    /// The part's file name.
    pub filename: String,
    /// The part's `Content-Type`.
    pub content_type: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The file_id the answer gave it.
    pub file_id: String,
}

/// Bots send files of at most 50 MB (Bot API documentation; the
/// reference only says uploads are multipart).
const MAX_UPLOAD_BYTES: usize = 50 * 1000 * 1000;

/// One accepted Bot API call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The method (`sendMessage`).
    pub method: String,
    /// Its parameters as JSON.
    pub params: Value,
}

#[derive(Debug, Default)]
struct Inner {
    token: String,
    failures: VecDeque<BotFailure>,
    /// file_id → (file_path, bytes).
    files: HashMap<String, (String, Vec<u8>)>,
    calls: Vec<Call>,
    next_message_id: i64,
    webhook: Option<Value>,
    uploads: Vec<Upload>,
}

/// What a test scripts and reads; cheap to clone, shared with the router.
#[derive(Debug, Clone, Default)]
pub struct TelegramState(Arc<Mutex<Inner>>);

impl TelegramState {
    /// State for the bot with `token`.
    #[must_use]
    pub fn new(token: &str) -> TelegramState {
        let state = TelegramState::default();
        {
            let mut inner = state.lock();
            inner.token = token.to_owned();
            inner.next_message_id = 1000;
        }
        state
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `n` method calls (after the token check) fail with `failure`.
    pub fn fail_next(&self, n: usize, failure: &BotFailure) {
        let mut inner = self.lock();
        for _ in 0..n {
            inner.failures.push_back(failure.clone());
        }
    }

    /// A file `getFile` knows, downloadable at `file_path`.
    pub fn add_file(&self, file_id: &str, file_path: &str, bytes: &[u8]) {
        self.lock()
            .files
            .insert(file_id.to_owned(), (file_path.to_owned(), bytes.to_vec()));
    }

    /// Every accepted call, oldest first.
    #[must_use]
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The files uploaded in accepted calls, oldest first.
    #[must_use]
    pub fn uploads(&self) -> Vec<Upload> {
        self.lock().uploads.clone()
    }

    /// The parameters of `setWebhook`, once called.
    #[must_use]
    pub fn webhook(&self) -> Option<Value> {
        self.lock().webhook.clone()
    }
}

/// A running fake and its state.
pub struct TelegramFake {
    /// The HTTPS server.
    pub server: FakeServer,
    /// What the test scripts and reads.
    pub state: TelegramState,
}

impl TelegramFake {
    /// Serves `api.telegram.org` for the bot with `token`.
    ///
    /// # Errors
    /// When the server cannot start.
    pub fn start(token: &str) -> Result<TelegramFake, String> {
        let state = TelegramState::new(token);
        let server = FakeServer::start(&[HOST], router(state.clone()))?;
        Ok(TelegramFake { server, state })
    }
}

/// The fake's routes over `state`.
pub fn router(state: TelegramState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

fn ok(result: Value) -> Response {
    axum::Json(json!({ "ok": true, "result": result })).into_response()
}

fn not_found() -> Response {
    BotFailure::new(404, "Not Found").response()
}

async fn handle(State(state): State<TelegramState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, crate::server::MAX_BODY_BYTES).await else {
        return BotFailure::new(413, "Request Entity Too Large").response();
    };
    let path = parts.uri.path().trim_start_matches('/').to_owned();
    let bot = format!("bot{}", state.lock().token);
    // File downloads: /file/bot<TOKEN>/<file_path>.
    if let Some(rest) = path.strip_prefix("file/") {
        let Some(file_path) = rest.strip_prefix(&format!("{bot}/")) else {
            return not_found();
        };
        let inner = state.lock();
        return match inner.files.values().find(|(p, _)| p == file_path) {
            Some((_, bytes)) => Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(Body::from(bytes.clone()))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
            None => not_found(),
        };
    }
    let Some((token_part, method)) = path.split_once('/') else {
        return not_found();
    };
    if !token_part.starts_with("bot") {
        return not_found();
    }
    if token_part != bot {
        return BotFailure::unauthorized().response();
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut files = Vec::new();
    let mut params = if content_type.to_ascii_lowercase().starts_with("multipart/") {
        if body.len() > MAX_UPLOAD_BYTES {
            return BotFailure::new(413, "Request Entity Too Large").response();
        }
        match crate::multipart::parse(&content_type, &body) {
            Ok(form) => {
                let mut map = Map::new();
                for part in form {
                    if part.filename.is_some() {
                        files.push(part);
                    } else {
                        map.insert(part.name.clone(), Value::String(part.text()));
                    }
                }
                map
            }
            Err(_) => return bad_request("can't parse request body").response(),
        }
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    };
    if let Ok(query) = axum::extract::Query::<HashMap<String, String>>::try_from_uri(&parts.uri) {
        for (k, v) in query.0 {
            params.entry(k).or_insert(Value::String(v));
        }
    }
    if let Some(failure) = state.lock().failures.pop_front() {
        return failure.response();
    }
    call(&state, method, Value::Object(params), files)
}

fn bad_request(description: &str) -> BotFailure {
    BotFailure::new(400, &format!("Bad Request: {description}"))
}

/// Runs one method; unknown methods answer 404 like the real API.
fn call(
    state: &TelegramState,
    method: &str,
    params: Value,
    files: Vec<crate::multipart::Part>,
) -> Response {
    let result = match method {
        "getMe" => Ok(bot_user()),
        "getFile" => get_file(state, &params),
        "answerCallbackQuery" => {
            if params["callback_query_id"].is_null() {
                Err(bad_request(
                    "query is too old and response timeout expired or query ID is invalid",
                ))
            } else {
                Ok(json!(true))
            }
        }
        "setWebhook" => {
            state.lock().webhook = Some(params.clone());
            record(state, method, &params);
            return axum::Json(
                json!({ "ok": true, "result": true, "description": "Webhook was set" }),
            )
            .into_response();
        }
        "sendMessage" | "sendPhoto" | "sendVideo" | "sendAudio" | "sendVoice" | "sendDocument"
        | "sendSticker" | "sendLocation" | "sendVenue" | "sendContact" => {
            sent_message(state, method, &params, files)
        }
        _ => return not_found(),
    };
    match result {
        Ok(result) => {
            record(state, method, &params);
            ok(result)
        }
        Err(failure) => failure.response(),
    }
}

fn record(state: &TelegramState, method: &str, params: &Value) {
    state.lock().calls.push(Call {
        method: method.to_owned(),
        params: params.clone(),
    });
}

fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "Omnigate Test Bot", "username": "omnigate_test_bot" })
}

fn get_file(state: &TelegramState, params: &Value) -> Result<Value, BotFailure> {
    let id = params["file_id"].as_str().unwrap_or_default();
    let inner = state.lock();
    let (path, bytes) = inner
        .files
        .get(id)
        .ok_or_else(|| bad_request("invalid file_id"))?;
    Ok(json!({
        "file_id": id,
        "file_unique_id": format!("AQAD{}", id.len()),
        "file_size": bytes.len(),
        "file_path": path,
    }))
}

/// The chat of a `chat_id`: a number is a private chat, `@name` a channel.
fn chat(chat_id: &Value) -> Result<Value, BotFailure> {
    match chat_id {
        Value::Number(n) => Ok(json!({ "id": n, "first_name": "Contact", "type": "private" })),
        Value::String(s) if s.starts_with('@') => Ok(
            json!({ "id": -1_001_234_567_890_i64, "title": s, "username": &s[1..], "type": "channel" }),
        ),
        Value::String(s) => match s.parse::<i64>() {
            Ok(id) => Ok(json!({ "id": id, "first_name": "Contact", "type": "private" })),
            Err(_) => Err(bad_request("chat not found")),
        },
        _ => Err(bad_request("chat_id is empty")),
    }
}

/// A file object for a sent file: the given file_id, or a new one when a
/// URL was sent.
fn sent_file(reference: &str, n: i64) -> Value {
    let file_id = if reference.starts_with("http://") || reference.starts_with("https://") {
        format!("BQACAgQAAxkDAAI{n:08}")
    } else {
        reference.to_owned()
    };
    json!({ "file_id": file_id, "file_unique_id": format!("AgAD{n}") })
}

/// Whether `bytes` start like an image Telegram can process as a photo.
fn looks_like_image(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        || bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(b"GIF8")
        || (bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
}

/// The Message a send method answers with.
fn sent_message(
    state: &TelegramState,
    method: &str,
    params: &Value,
    files: Vec<crate::multipart::Part>,
) -> Result<Value, BotFailure> {
    let chat = chat(&params["chat_id"])?;
    let text = |key: &str| params[key].as_str().filter(|s| !s.is_empty());
    let mut message = json!({ "from": bot_user(), "chat": chat, "date": SENT_DATE });
    match method {
        "sendMessage" => {
            let body = text("text").ok_or_else(|| bad_request("message text is empty"))?;
            message["text"] = json!(body);
        }
        "sendLocation" | "sendVenue" => {
            if !params["latitude"].is_number() || !params["longitude"].is_number() {
                return Err(bad_request("wrong latitude or longitude"));
            }
            let location =
                json!({ "latitude": params["latitude"], "longitude": params["longitude"] });
            if method == "sendVenue" {
                message["venue"] = json!({ "location": location, "title": params["title"], "address": params["address"] });
            }
            message["location"] = location;
        }
        "sendContact" => {
            let phone = text("phone_number").ok_or_else(|| bad_request("phone number is empty"))?;
            message["contact"] =
                json!({ "phone_number": phone, "first_name": params["first_name"] });
        }
        _ => {
            let field = method.trim_start_matches("send").to_ascii_lowercase();
            let n = state.lock().next_message_id;
            if let Some(stray) = files.iter().find(|f| f.name != field) {
                return Err(bad_request(&format!(
                    "unexpected file part `{}` for {method}",
                    stray.name
                )));
            }
            let file = match files.into_iter().next() {
                Some(upload) => {
                    if method == "sendPhoto" && !looks_like_image(&upload.body) {
                        return Err(bad_request("IMAGE_PROCESS_FAILED"));
                    }
                    if upload.body.is_empty() {
                        return Err(bad_request("file must be non-empty"));
                    }
                    let file_id = format!("BQACAgQAAxkDAAJ{n:08}");
                    state.lock().uploads.push(Upload {
                        method: method.to_owned(),
                        field: field.clone(),
                        filename: upload.filename.clone().unwrap_or_default(),
                        content_type: upload.content_type.clone(),
                        bytes: upload.body,
                        file_id: file_id.clone(),
                    });
                    let mut file =
                        json!({ "file_id": file_id, "file_unique_id": format!("AgAD{n}") });
                    if method == "sendDocument" {
                        file["file_name"] = json!(upload.filename);
                        if let Some(mime) = upload.content_type {
                            file["mime_type"] = json!(mime);
                        }
                    }
                    file
                }
                None => {
                    let reference = text(&field).ok_or_else(|| {
                        bad_request(&format!("there is no {field} in the request"))
                    })?;
                    sent_file(reference, n)
                }
            };
            message[field.as_str()] = if field == "photo" {
                json!([file])
            } else {
                file
            };
            if let Some(caption) = text("caption") {
                message["caption"] = json!(caption);
            }
        }
    }
    if !params["reply_markup"].is_null() {
        message["reply_markup"] = params["reply_markup"].clone();
    }
    let mut inner = state.lock();
    inner.next_message_id += 1;
    message["message_id"] = json!(inner.next_message_id);
    Ok(message)
}

/// A Telegram user who writes to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// User id, also the private chat's id.
    pub id: i64,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: Option<String>,
    /// `@username` without the `@`.
    pub username: Option<String>,
    /// IETF language tag of the user's client.
    pub language_code: Option<String>,
}

impl Sender {
    /// A user with only an id and a first name.
    #[must_use]
    pub fn new(id: i64, first_name: &str) -> Sender {
        Sender {
            id,
            first_name: first_name.to_owned(),
            last_name: None,
            username: None,
            language_code: None,
        }
    }

    /// The `User` object.
    #[must_use]
    pub fn user(&self) -> Value {
        let mut user = json!({ "id": self.id, "is_bot": false, "first_name": self.first_name });
        if let Some(last) = &self.last_name {
            user["last_name"] = json!(last);
        }
        if let Some(username) = &self.username {
            user["username"] = json!(username);
        }
        if let Some(language) = &self.language_code {
            user["language_code"] = json!(language);
        }
        user
    }

    /// The private `Chat` with this user.
    #[must_use]
    pub fn chat(&self) -> Value {
        let mut chat = json!({ "id": self.id, "first_name": self.first_name, "type": "private" });
        if let Some(last) = &self.last_name {
            chat["last_name"] = json!(last);
        }
        if let Some(username) = &self.username {
            chat["username"] = json!(username);
        }
        chat
    }
}

/// A `Message` from `from` in their private chat, with `fields` (`{"text":
/// "..."}`, `{"photo": [...], "caption": "..."}`...) merged in.
#[must_use]
pub fn message(from: &Sender, message_id: i64, date: i64, fields: Value) -> Value {
    let mut message = json!({
        "message_id": message_id,
        "from": from.user(),
        "chat": from.chat(),
        "date": date,
    });
    if let (Some(target), Value::Object(extra)) = (message.as_object_mut(), fields) {
        target.extend(extra);
    }
    message
}

/// An Update carrying `message` under `kind` (`message`, `edited_message`).
#[must_use]
pub fn update(update_id: i64, kind: &str, message: Value) -> Value {
    let mut update = json!({ "update_id": update_id });
    update[kind] = message;
    update
}

/// An Update with one text message.
#[must_use]
pub fn text_update(update_id: i64, from: &Sender, message_id: i64, text: &str, date: i64) -> Value {
    update(
        update_id,
        "message",
        message(from, message_id, date, json!({ "text": text })),
    )
}

/// An Update for a tapped inline button with `data`, on the bot's message
/// `message_id` that carried `keyboard` (an `inline_keyboard` markup).
#[must_use]
pub fn callback_update(
    update_id: i64,
    from: &Sender,
    query_id: &str,
    data: &str,
    message_id: i64,
    keyboard: Value,
) -> Value {
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": query_id,
            "from": from.user(),
            "message": {
                "message_id": message_id,
                "from": bot_user(),
                "chat": from.chat(),
                "date": SENT_DATE,
                "text": "…",
                "reply_markup": keyboard,
            },
            "chat_instance": "-3840113795432197391",
            "data": data,
        },
    })
}

/// The webhook POST Telegram makes with `update`, carrying `secret` in
/// `X-Telegram-Bot-Api-Secret-Token`.
#[must_use]
pub fn webhook(secret: &str, update: &Value) -> InboundWebhook {
    InboundWebhook::post(
        vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            (
                "x-telegram-bot-api-secret-token".to_owned(),
                secret.to_owned(),
            ),
        ],
        update.to_string().into_bytes(),
    )
}
