//! Channels: admins configure them; the API channel's integrators POST
//! inbound messages and delivery reports to `/webhooks/{channel}`.

use axum::Json as ResponseJson;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use omnigate_domain::conversation::DeliveryStatus;
use omnigate_domain::{AuditAction, AuditEvent, ValidationError};
use omnigate_engine::{InboundMessage, wire};
use omnigate_store::channels::{ChannelRecord, ChannelSettingsRecord};
use omnigate_store::conversations::delivery;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::auth::{Principal, secret};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ClientAddr, Json, parse_id};
use crate::openapi::schemas;
use crate::state::AppState;
use crate::views::{
    ChannelBody, ChannelList, ChannelSecrets, ChannelView, DeliveryRecorded, InboundAck,
    MessageReceived,
};

/// Prefix of channel inbound tokens, so a leaked one is recognisable.
const CHANNEL_TOKEN_PREFIX: &str = "ogc_";

/// List channels.
#[utoipa::path(
    get,
    path = "/api/v1/channels",
    operation_id = "list_channels",
    tag = "channels",
    responses(
        (status = 200, description = "Every channel, without secrets.", body = ChannelList),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<ResponseJson<ChannelList>, ApiError> {
    let store = &state.inner.store;
    let channels = store
        .channels()?
        .iter()
        .map(|c| Ok(ChannelView::from(c).with_settings(store.channel_settings(c.id)?)))
        .collect::<Result<Vec<ChannelView>, ApiError>>()?;
    Ok(ResponseJson(ChannelList { channels }))
}

/// Fields of a channel an admin sets. On a change absent fields stay and
/// `null` clears.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChannelFields {
    /// 1 to 100 characters; required on create.
    name: Option<String>,
    /// `api` (the default) or the name of an installed channel plugin
    /// (`whatsapp-cloud`, `telegram`). Cannot change.
    kind: Option<String>,
    /// 1 second to 30 days; `null` = no service window.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<u64>, required = false, minimum = 1, maximum = 2592000)]
    service_window_secs: Option<Option<u64>>,
    /// The flow new conversations start in; `null` = the queue.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, required = false)]
    default_flow: Option<Option<String>>,
    /// An absolute `http://` or `https://` URL outbound messages are POSTed
    /// to; `null` = none.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, required = false)]
    webhook_url: Option<Option<String>>,
    disabled: Option<bool>,
    /// A plugin channel's config values by the manifest's keys; on a
    /// change, given keys replace, an empty value removes.
    #[schema(value_type = Option<std::collections::BTreeMap<String, String>>)]
    config: Option<std::collections::BTreeMap<String, String>>,
    /// A plugin channel's secrets, the same way; write-only.
    #[schema(value_type = Option<std::collections::BTreeMap<String, String>>)]
    secrets: Option<std::collections::BTreeMap<String, String>>,
}

/// Applies the given config values and secrets to `settings` and checks
/// the result against the channel plugin's manifest: only keys it
/// declares, every required one set.
fn apply_settings(
    state: &AppState,
    kind: &str,
    settings: &mut ChannelSettingsRecord,
    config: Option<std::collections::BTreeMap<String, String>>,
    secrets: Option<std::collections::BTreeMap<String, String>>,
) -> Result<(), ApiError> {
    if kind == "api" {
        if config.as_ref().is_some_and(|c| !c.is_empty())
            || secrets.as_ref().is_some_and(|s| !s.is_empty())
        {
            return Err(
                ValidationError::new("config", "API channels take no plugin settings").into(),
            );
        }
        return Ok(());
    }
    let plugins = crate::routes::plugins::running(state)?;
    let loaded = plugins.channel_plugin(kind).map_err(|e| {
        ApiError::from(ValidationError::new(
            "kind",
            format!("`{kind}` is not an installed, enabled channel plugin ({e})"),
        ))
    })?;
    crate::routes::plugin_settings::merge(
        loaded.plugin.manifest(),
        &mut settings.config,
        &mut settings.secrets,
        config,
        secrets,
        crate::routes::plugin_settings::ValueRules::LINE,
    )
}

/// Distinguishes an absent field (keep) from `null` (clear).
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// A channel's or shop's name: trimmed, 1 to 100 characters.
pub(crate) fn check_name(name: &str) -> Result<String, ValidationError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ValidationError::new(
            "name",
            "must have 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

fn check_webhook_url(url: &str) -> Result<String, ValidationError> {
    let url = url.trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2000
        && reqwest_like_parse(url);
    if ok {
        Ok(url.to_owned())
    } else {
        Err(ValidationError::new(
            "webhook_url",
            "must be an absolute http:// or https:// URL",
        ))
    }
}

/// A URL with a host after the scheme and no whitespace.
fn reqwest_like_parse(url: &str) -> bool {
    let rest = url.split_once("://").map_or("", |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && !url.chars().any(char::is_whitespace)
}

fn check_window(secs: Option<u64>) -> Result<Option<u64>, ValidationError> {
    match secs {
        Some(s) if s == 0 || s > 30 * 86_400 => Err(ValidationError::new(
            "service_window_secs",
            "must be 1 second to 30 days, or null for no window",
        )),
        other => Ok(other),
    }
}

/// A channel's default flow names a configured flow (or none).
fn check_flow(state: &AppState, flow: Option<String>) -> Result<Option<String>, ApiError> {
    match flow.map(|f| f.trim().to_owned()) {
        None => Ok(None),
        Some(f) if state.inner.store.flow_named(&f)?.is_some() => Ok(Some(f)),
        Some(f) => Err(ValidationError::new(
            "default_flow",
            format!("no flow named `{f}` is configured (see /api/v1/flows), or give null"),
        )
        .into()),
    }
}

/// Create a channel.
///
/// The inbound token and webhook secret are in this answer only.
#[utoipa::path(
    post,
    path = "/api/v1/channels",
    operation_id = "create_channel",
    tag = "channels",
    request_body = ChannelFields,
    responses(
        (status = 201, description = "Created.", body = ChannelSecrets),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<ChannelFields>,
) -> Result<(StatusCode, ResponseJson<ChannelSecrets>), ApiError> {
    let name = check_name(body.name.as_deref().unwrap_or_default())?;
    let kind = body.kind.unwrap_or_else(|| "api".into());
    let mut settings = ChannelSettingsRecord::default();
    apply_settings(&state, &kind, &mut settings, body.config, body.secrets)?;
    let token = format!("{CHANNEL_TOKEN_PREFIX}{}", secret::random_token());
    let channel = state.inner.store.create_channel(ChannelRecord {
        id: 0,
        name,
        kind,
        service_window_secs: check_window(body.service_window_secs.flatten())?,
        default_flow: check_flow(&state, body.default_flow.flatten())?,
        webhook_url: body
            .webhook_url
            .flatten()
            .map(|u| check_webhook_url(&u))
            .transpose()?,
        webhook_secret: secret::random_token(),
        inbound_token_hash: secret::sha256(&token),
        disabled: body.disabled.unwrap_or(false),
        created_at_ms: state.now().0,
    })?;
    if channel.kind != "api" {
        state
            .inner
            .store
            .put_channel_settings(channel.id, &settings)?;
    }
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::ChannelCreated)
            .target(format!("channel:{}", channel.id))
            .source(client.label())
            .detail(json!({ "name": channel.name, "kind": channel.kind }).to_string()),
    )?;
    state.durable().await?;
    Ok((
        StatusCode::CREATED,
        ResponseJson(ChannelSecrets {
            channel: ChannelView::from(&channel).with_settings(settings),
            inbound_token: token,
            webhook_secret: channel.webhook_secret,
        }),
    ))
}

fn find(state: &AppState, raw: &str) -> Result<ChannelRecord, ApiError> {
    let id = parse_id("channel", raw)?;
    state
        .inner
        .store
        .channel(id)?
        .ok_or_else(|| ApiError::not_found(format!("no channel with id `{raw}`")))
}

/// One channel.
#[utoipa::path(
    get,
    path = "/api/v1/channels/{id}",
    operation_id = "get_channel",
    tag = "channels",
    params(("id" = u64, Path, description = "The channel's id.")),
    responses(
        (status = 200, description = "The channel, without secrets.", body = ChannelBody),
        (status = 404, description = "`not_found`: no such channel.", body = ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<ResponseJson<ChannelBody>, ApiError> {
    let channel = find(&state, &id)?;
    let settings = state.inner.store.channel_settings(channel.id)?;
    Ok(ResponseJson(ChannelBody {
        channel: ChannelView::from(&channel).with_settings(settings),
    }))
}

/// Change a channel.
///
/// Absent fields stay, `null` clears. Audited.
#[utoipa::path(
    patch,
    path = "/api/v1/channels/{id}",
    operation_id = "update_channel",
    tag = "channels",
    params(("id" = u64, Path, description = "The channel's id.")),
    request_body = ChannelFields,
    responses(
        (status = 200, description = "The channel as changed.", body = ChannelBody),
        (status = 404, description = "`not_found`: no such channel.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<ChannelFields>,
) -> Result<ResponseJson<ChannelBody>, ApiError> {
    let mut channel = find(&state, &id)?;
    if body.kind.as_ref().is_some_and(|k| *k != channel.kind) {
        return Err(ValidationError::new("kind", "a channel's kind cannot change").into());
    }
    if let Some(name) = &body.name {
        channel.name = check_name(name)?;
    }
    if let Some(window) = body.service_window_secs {
        channel.service_window_secs = check_window(window)?;
    }
    if let Some(flow) = body.default_flow {
        channel.default_flow = check_flow(&state, flow)?;
    }
    if let Some(url) = body.webhook_url {
        channel.webhook_url = url.map(|u| check_webhook_url(&u)).transpose()?;
    }
    if let Some(disabled) = body.disabled {
        channel.disabled = disabled;
    }
    let mut settings = state.inner.store.channel_settings(channel.id)?;
    let settings_given = body.config.is_some() || body.secrets.is_some();
    if settings_given {
        apply_settings(
            &state,
            &channel.kind,
            &mut settings,
            body.config,
            body.secrets,
        )?;
        state
            .inner
            .store
            .put_channel_settings(channel.id, &settings)?;
        if let Some(plugins) = state.engine().plugins() {
            plugins.channel_settings_changed(channel.id);
        }
    }
    state.inner.store.update_channel(&channel)?;
    state.engine().channel_changed(channel.id)?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::ChannelUpdated)
            .target(format!("channel:{}", channel.id))
            .source(client.label())
            .detail(
                json!({ "view": ChannelView::from(&channel).with_settings(settings.clone()) })
                    .to_string(),
            ),
    )?;
    state.durable().await?;
    Ok(ResponseJson(ChannelBody {
        channel: ChannelView::from(&channel).with_settings(settings),
    }))
}

/// Rotate a channel's secrets.
///
/// A new inbound token (the old one stops working at once) and a new
/// webhook secret, shown once.
#[utoipa::path(
    post,
    path = "/api/v1/channels/{id}/token",
    operation_id = "rotate_channel_token",
    tag = "channels",
    params(("id" = u64, Path, description = "The channel's id.")),
    responses(
        (status = 200, description = "The new secrets.", body = ChannelSecrets),
        (status = 404, description = "`not_found`: no such channel.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn rotate_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<ChannelSecrets>, ApiError> {
    let mut channel = find(&state, &id)?;
    let token = format!("{CHANNEL_TOKEN_PREFIX}{}", secret::random_token());
    channel.inbound_token_hash = secret::sha256(&token);
    channel.webhook_secret = secret::random_token();
    state.inner.store.update_channel(&channel)?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::ChannelUpdated)
            .target(format!("channel:{}", channel.id))
            .source(client.label())
            .detail(json!({ "rotated": "inbound_token,webhook_secret" }).to_string()),
    )?;
    state.durable().await?;
    Ok(ResponseJson(ChannelSecrets {
        channel: ChannelView::from(&channel),
        inbound_token: token,
        webhook_secret: channel.webhook_secret,
    }))
}

/// The channel whose inbound token the request carries, which must be the
/// channel in the path. An extractor from the request head, so that an
/// unauthenticated caller learns nothing about what the body should be.
pub(crate) struct AuthenticatedChannel(pub(crate) ChannelRecord);

impl FromRequestParts<AppState> for AuthenticatedChannel {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<AuthenticatedChannel, ApiError> {
        let refused = token_refused;
        let token = inbound_token(parts)?;
        let channel = state
            .inner
            .store
            .channel_by_token(&secret::sha256(token))?
            .ok_or_else(refused)?;
        let Ok(Path(raw_id)) = Path::<String>::from_request_parts(parts, state).await else {
            return Err(refused());
        };
        if raw_id.parse::<u64>().ok() != Some(channel.id) {
            return Err(refused());
        }
        Ok(AuthenticatedChannel(channel))
    }
}

/// Body of an inbound webhook call, told apart by `type`.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum InboundBody {
    /// A contact's message.
    Message {
        /// The integrator's id for the message (makes retries idempotent).
        message_id: String,
        contact: InboundContact,
        #[schema(value_type = schemas::MessageContent)]
        content: Value,
    },
    /// A delivery report for one of our outbound messages; name the message
    /// by exactly one of `message_id` and `omnigate_message_id`.
    Status {
        /// The id the integrator's webhook answered with...
        message_id: Option<String>,
        /// ...or omnigate's own message id.
        omnigate_message_id: Option<u64>,
        #[schema(schema_with = schemas::reported_status)]
        status: String,
        /// Why a `failed` message failed (at most 500 characters).
        reason: Option<String>,
    },
}

/// The contact of an inbound message.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InboundContact {
    /// The channel's id for the contact.
    id: String,
    /// At most 200 characters.
    name: Option<String>,
    /// At most 40 characters.
    phone: Option<String>,
}

fn optional_text(
    field: &'static str,
    raw: Option<String>,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    match raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > max || s.chars().any(char::is_control) => {
            Err(ValidationError::new(
                field,
                format!("at most {max} characters, no control characters"),
            ))
        }
        other => Ok(other),
    }
}

/// Deliver an inbound message or a delivery report.
///
/// An API channel's integrator posts a contact's message or a delivery
/// report for an outbound one. Answers 200 only once the message is on
/// disk; a retry with the same `message_id` answers the same and stores
/// nothing new.
#[utoipa::path(
    post,
    path = "/webhooks/{channel}",
    operation_id = "channel_inbound",
    tag = "webhooks",
    params(("channel" = u64, Path, description = "The channel's id.")),
    request_body = InboundBody,
    responses(
        (status = 200, description = "For a `message`: stored (or a duplicate of one stored). For a `status`: the delivery status now.", body = InboundAck),
        (status = 401, description = "`unauthenticated`: no inbound token, or not this channel's.", body = ErrorBody),
        (status = 404, description = "`not_found`: the status names no outbound message of this channel.", body = ErrorBody),
        (status = 409, description = "`channel_disabled`: the channel is disabled.", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`: the server cannot write to disk.", body = ErrorBody),
    ),
    security(("channel_token" = []))
)]
pub(crate) async fn inbound(
    State(state): State<AppState>,
    AuthenticatedChannel(channel): AuthenticatedChannel,
    Json(body): Json<InboundBody>,
) -> Result<ResponseJson<InboundAck>, ApiError> {
    state.refuse_if_read_only()?;
    let engine = state.engine();
    match body {
        InboundBody::Message {
            message_id,
            contact,
            content,
        } => {
            let provider_id = omnigate_domain::conversation::ProviderMessageId::parse(&message_id)?;
            let contact_id = omnigate_domain::conversation::ExternalId::parse(&contact.id)?;
            let content = wire::content_from_json(&content)?;
            let received = engine
                .receive(
                    &channel,
                    InboundMessage {
                        contact_id: contact_id.as_str().to_owned(),
                        contact_name: optional_text("contact.name", contact.name, 200)?,
                        contact_phone: optional_text("contact.phone", contact.phone, 40)?,
                        provider_id: provider_id.as_str().to_owned(),
                        content,
                    },
                )
                .await?;
            // The message is on disk (the inbound journal); anything else
            // receiving changed is made so here.
            if received.needs_flush {
                engine.durable().await?;
            }
            Ok(ResponseJson(InboundAck::Received(MessageReceived {
                message_id: received.message.id,
                conversation_id: received.message.conversation_id,
                duplicate: received.duplicate,
            })))
        }
        InboundBody::Status {
            message_id,
            omnigate_message_id,
            status,
            reason,
        } => {
            let next = match status.as_str() {
                "sent" => DeliveryStatus::Sent,
                "delivered" => DeliveryStatus::Delivered,
                "read" => DeliveryStatus::Read,
                "failed" => DeliveryStatus::Failed {
                    reason: optional_text("reason", reason, 500)?
                        .unwrap_or_else(|| "reported failed by the channel".into()),
                },
                other => {
                    return Err(ValidationError::new(
                        "status",
                        format!("`{other}` is not one of sent, delivered, read, failed"),
                    )
                    .into());
                }
            };
            let store = engine.store();
            let message = match (message_id, omnigate_message_id) {
                (Some(provider), None) => {
                    store.outbound_by_provider_id(channel.id, provider.trim())?
                }
                (None, Some(id)) => store.message(id)?,
                _ => {
                    return Err(ValidationError::new(
                        "message_id",
                        "name the message by exactly one of message_id or omnigate_message_id",
                    )
                    .into());
                }
            };
            let message = message
                .filter(|m| {
                    store
                        .conversation(m.conversation_id)
                        .ok()
                        .flatten()
                        .is_some_and(|c| c.channel_id == channel.id)
                })
                .filter(|m| m.delivery != delivery::NONE)
                .ok_or_else(|| {
                    ApiError::not_found("no outbound message of this channel has that id")
                })?;
            let updated = engine.record_delivery(&message, &next)?;
            engine.durable().await?;
            let current = updated.unwrap_or(message);
            Ok(ResponseJson(InboundAck::Recorded(DeliveryRecorded {
                message_id: current.id,
                delivery: wire::delivery_status(current.delivery, current.failure).as_str(),
            })))
        }
    }
}

/// `POST /webhooks/{channel}`: an API channel's integrator (bearer token,
/// our JSON) or a plugin channel's provider (its own format and
/// signature, which the plugin checks).
pub(crate) async fn webhook(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<axum::response::Response, ApiError> {
    use axum::extract::FromRequest as _;
    use axum::response::IntoResponse as _;
    let (mut parts, body) = request.into_parts();
    // One path extraction and one (cached) channel read serve both kinds.
    let channel = match path_channel(&mut parts, &state).await? {
        Some(channel) if channel.kind != "api" => channel,
        api_channel => {
            let authenticated = authenticate_api_channel(&parts, &state, api_channel)?;
            let request = axum::extract::Request::from_parts(parts, body);
            let json = Json::<InboundBody>::from_request(request, &state)
                .await
                .map_err(axum::response::IntoResponse::into_response);
            let json = match json {
                Ok(json) => json,
                Err(response) => return Ok(response),
            };
            return Ok(inbound(State(state), authenticated, json)
                .await
                .into_response());
        }
    };
    state.refuse_if_read_only()?;
    let bytes = axum::body::to_bytes(body, state.config().body_limit_bytes)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than the server accepts (server.request_body_limit_bytes)",
            )
        })?;
    let request = webhook_request(&parts, bytes.to_vec());
    let taken = state
        .engine()
        .plugin_webhook(&channel, request)
        .await
        .map_err(refusal)?;
    Ok(ResponseJson(json!({
        "received": taken.messages,
        "duplicates": taken.duplicates,
        "statuses": taken.statuses,
    }))
    .into_response())
}

/// A plugin channel's subscription handshake.
///
/// Some providers (WhatsApp Cloud) confirm a webhook URL with a GET the
/// channel's plugin answers (`hub.challenge`); the answer is the plugin's.
/// API channels have no handshake.
#[utoipa::path(
    get,
    path = "/webhooks/{channel}",
    operation_id = "channel_handshake",
    tag = "webhooks",
    params(("channel" = u64, Path, description = "The channel's id.")),
    responses(
        (status = 200, description = "The plugin's answer (for WhatsApp, the challenge as text).", content_type = "text/plain", body = String),
        (status = 404, description = "`not_found`: no plugin channel with that id.", body = ErrorBody),
        (status = 503, description = "`plugin_unavailable`: the channel's plugin is not running.", body = ErrorBody),
    ),
    security(())
)]
pub(crate) async fn handshake(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    let (mut parts, _) = request.into_parts();
    let channel = plugin_channel_of(&mut parts, &state)
        .await?
        .ok_or_else(|| ApiError::not_found("no plugin channel has that id"))?;
    let request = webhook_request(&parts, Vec::new());
    let answer = state
        .engine()
        .plugin_handshake(&channel, request)
        .await
        .map_err(refusal)?;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    // Only the body and its type pass: a plugin does not set cookies or
    // security headers on the appliance's origin.
    let content_type = answer
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map_or_else(|| "text/plain".to_owned(), |(_, v)| v.clone());
    Ok((status, [(header::CONTENT_TYPE, content_type)], answer.body).into_response())
}

/// The channel in the path when it is a plugin channel; `None` for API
/// channels and unknown ids (which the API channel's token check refuses
/// without saying which).
async fn plugin_channel_of(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<ChannelRecord>, ApiError> {
    Ok(path_channel(parts, state)
        .await?
        .filter(|channel| channel.kind != "api"))
}

/// The channel the path names, of any kind; `None` for unknown ids.
async fn path_channel(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<ChannelRecord>, ApiError> {
    let Ok(Path(raw)) = Path::<String>::from_request_parts(parts, state).await else {
        return Ok(None);
    };
    let Ok(id) = raw.parse::<u64>() else {
        return Ok(None);
    };
    Ok(state.inner.store.channel(id)?)
}

/// [`AuthenticatedChannel`] for the channel the path named (already read):
/// the bearer token must be that channel's inbound token. An unknown id and
/// a wrong token are refused alike.
fn authenticate_api_channel(
    parts: &Parts,
    state: &AppState,
    channel: Option<ChannelRecord>,
) -> Result<AuthenticatedChannel, ApiError> {
    let refused = token_refused;
    let token = inbound_token(parts)?;
    let owner = state
        .inner
        .store
        .channel_id_by_token(&secret::sha256(token))?;
    match channel {
        Some(channel) if owner == Some(channel.id) => Ok(AuthenticatedChannel(channel)),
        _ => Err(refused()),
    }
}

/// The request as a channel plugin sees it: method, decoded query, headers
/// with lower-case names, the exact body bytes (signatures cover them).
fn webhook_request(
    parts: &Parts,
    body: Vec<u8>,
) -> omnigate_plugin_host::types::channel::WebhookRequest {
    let query = parts.uri.query().map(query_pairs).unwrap_or_default();
    omnigate_plugin_host::types::channel::WebhookRequest {
        method: parts.method.as_str().to_owned(),
        path: "/".to_owned(),
        query,
        headers: parts
            .headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body,
    }
}

/// The bearer token of an API-channel call.
fn inbound_token(parts: &Parts) -> Result<&str, ApiError> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(token_refused)
}

/// A missing or wrong inbound token, refused alike, saying how to send one.
fn token_refused() -> ApiError {
    ApiError::unauthenticated(
        "send this channel's inbound token as `Authorization: Bearer <token>`",
    )
}

/// `a=1&b=%20x` as decoded pairs, in order.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{query}").parse().unwrap_or_default(),
    )
    .map(|q| q.0)
    .unwrap_or_default()
}

fn refusal(refusal: omnigate_engine::plugins::channel::WebhookRefusal) -> ApiError {
    use omnigate_engine::plugins::channel::WebhookRefusal;
    match refusal {
        WebhookRefusal::Unauthenticated(why) => ApiError::unauthenticated(why),
        WebhookRefusal::Malformed(why) => ApiError::bad_request("malformed_webhook", why),
        WebhookRefusal::Unavailable(why) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "plugin_unavailable", why)
        }
        WebhookRefusal::Engine(error) => error.into(),
    }
}
