//! Plugins, for admins: what is installed and how it is doing; install or
//! upgrade (the `.wasm` is the body), enable, disable, remove, all without
//! a restart.

use axum::Json as ResponseJson;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use omnigate_domain::Timestamp;
use omnigate_engine::plugins::{PluginStatus, Plugins, PluginsError};
use omnigate_plugin_host::manifest::FieldType;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ClientAddr;
use crate::state::AppState;

/// Largest plugin accepted (a component with its std is a few MiB).
pub(crate) const MAX_PLUGIN_BYTES: usize = 64 * 1024 * 1024;

/// Header carrying the base64 ed25519 signature (`omnigate plugin sign`).
const SIGNATURE_HEADER: &str = "x-omnigate-signature";

/// One setting a plugin asks for, as the console renders it.
#[derive(Serialize, ToSchema)]
pub(crate) struct PluginFieldView {
    /// The key under `config` or `secrets`.
    key: String,
    /// Label shown to the admin.
    label: String,
    /// `string`, `url`, `integer`, `boolean` (secrets are masked strings).
    #[serde(rename = "type")]
    field_type: &'static str,
    required: bool,
    /// Secrets are written, never shown again.
    secret: bool,
    /// Pre-filled value.
    #[schema(required = true)]
    default: Option<String>,
}

/// How often a plugin was called and how that went, since it was loaded.
#[derive(Serialize, ToSchema)]
pub(crate) struct PluginMetricsView {
    calls: u64,
    errors: u64,
    timeouts: u64,
    memory_caps: u64,
    traps: u64,
    /// Mean call latency in microseconds.
    mean_latency_us: u64,
}

/// An installed plugin.
#[derive(Serialize, ToSchema)]
pub(crate) struct PluginView {
    /// The manifest name, unique on the appliance; a channel's `kind`.
    name: String,
    version: String,
    /// `channel`, `flow` or `commerce`.
    kind: String,
    /// The interface version it was built against.
    interface: String,
    /// SHA-256 of the `.wasm`.
    sha256: String,
    /// Whether it is meant to run (an admin's choice).
    enabled: bool,
    /// Whether it is loaded and callable now.
    loaded: bool,
    /// Whether the circuit breaker stopped it after repeated failures
    /// (enable it again to resume).
    tripped: bool,
    /// Why it could not be loaded at start.
    #[schema(required = true)]
    load_error: Option<String>,
    /// When this version was installed (RFC 3339).
    installed_at: String,
    /// Id of the trusted key that signed it.
    #[schema(required = true)]
    signed_by: Option<String>,
    /// From the manifest, when loaded.
    #[schema(required = true)]
    description: Option<String>,
    /// Hosts it may call, when loaded.
    allowed_hosts: Vec<String>,
    /// The settings a channel or shop of this plugin needs, when loaded.
    settings: Vec<PluginFieldView>,
    #[schema(required = true)]
    metrics: Option<PluginMetricsView>,
}

impl From<PluginStatus> for PluginView {
    fn from(status: PluginStatus) -> PluginView {
        let record = status.record;
        let manifest = status.manifest;
        PluginView {
            loaded: manifest.is_some(),
            description: manifest.as_ref().map(|m| m.description.clone()),
            allowed_hosts: manifest
                .as_ref()
                .map(|m| m.allowed_hosts.clone())
                .unwrap_or_default(),
            settings: manifest
                .as_ref()
                .map(|m| {
                    m.fields
                        .iter()
                        .map(|f| PluginFieldView {
                            key: f.key.clone(),
                            label: f.label.clone(),
                            field_type: match f.field_type {
                                FieldType::String => "string",
                                FieldType::Url => "url",
                                FieldType::Integer => "integer",
                                FieldType::Boolean => "boolean",
                            },
                            required: f.required,
                            secret: f.secret,
                            default: f.default.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            metrics: status.metrics.map(|m| PluginMetricsView {
                calls: m.calls,
                errors: m.errors,
                timeouts: m.timeouts,
                memory_caps: m.memory_caps,
                traps: m.traps,
                mean_latency_us: m.latency_sum_us.checked_div(m.calls).unwrap_or(0),
            }),
            tripped: status.tripped,
            load_error: status.load_error,
            name: record.id,
            version: record.version,
            kind: record.kind,
            interface: record.interface,
            sha256: record.sha256,
            enabled: record.enabled,
            installed_at: Timestamp(record.installed_at_ms).to_rfc3339(),
            signed_by: record.signed_by,
        }
    }
}

/// Every installed plugin.
#[derive(Serialize, ToSchema)]
pub(crate) struct PluginList {
    plugins: Vec<PluginView>,
}

impl From<PluginsError> for ApiError {
    fn from(error: PluginsError) -> ApiError {
        let message = error.to_string();
        match error {
            PluginsError::Invalid(_) => ApiError::bad_request("invalid_plugin", message),
            PluginsError::Signature(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "plugin_signature", message)
            }
            PluginsError::NotNewer { .. } => ApiError::conflict("plugin_not_newer", message),
            PluginsError::NotFound(_) => ApiError::not_found(message),
            PluginsError::InUse { .. } => ApiError::conflict("plugin_in_use", message),
            PluginsError::NotEnabled(_) => ApiError::conflict("plugin_not_enabled", message),
            PluginsError::Store(store) => store.into(),
            PluginsError::Io(_) => ApiError::internal(&message),
        }
    }
}

/// The plugin host, or the 503 that says it is not running.
pub(crate) fn running(state: &AppState) -> Result<Arc<Plugins>, ApiError> {
    state.engine().plugins().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "plugins_unavailable",
            "the plugin host is not running on this server",
        )
    })
}

/// Runs an admin operation (file and store I/O, maybe a compile) off the
/// async threads, then makes what it wrote durable.
async fn admin<T: Send + 'static>(
    state: &AppState,
    op: impl FnOnce(&Plugins) -> Result<T, PluginsError> + Send + 'static,
) -> Result<T, ApiError> {
    let plugins = running(state)?;
    let value = tokio::task::spawn_blocking(move || op(&plugins))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    state.engine().durable().await?;
    Ok(value)
}

/// List plugins.
#[utoipa::path(
    get,
    path = "/api/v1/plugins",
    operation_id = "list_plugins",
    tag = "plugins",
    responses(
        (status = 200, description = "Every installed plugin, with its manifest's settings and its health.", body = PluginList),
        (status = 503, description = "`plugins_unavailable`: the plugin host is not running.", body = ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<ResponseJson<PluginList>, ApiError> {
    let list = running(&state)?.list()?;
    Ok(ResponseJson(PluginList {
        plugins: list.into_iter().map(PluginView::from).collect(),
    }))
}

/// Install or upgrade a plugin.
///
/// The body is the component (`.wasm`); a signature made with `omnigate
/// plugin sign` goes in `X-Omnigate-Signature` (required when the appliance
/// accepts signed plugins only). A plugin whose name is installed replaces
/// it when its version is higher (calls in flight finish on the old one);
/// the same file again changes nothing. Audited.
#[utoipa::path(
    post,
    path = "/api/v1/plugins",
    operation_id = "install_plugin",
    tag = "plugins",
    request_body(content = crate::routes::attachments::FileBytes, content_type = "application/wasm"),
    params(("X-Omnigate-Signature" = Option<String>, Header, description = "Base64 ed25519 signature of the file.")),
    responses(
        (status = 201, description = "Installed (or already installed), and loaded unless disabled.", body = PluginView),
        (status = 400, description = "`invalid_plugin`: not a component, an interface version this server does not run, a bad manifest, missing exports.", body = ErrorBody),
        (status = 403, description = "`plugin_signature`: no signature in signed-only mode, or one that does not verify.", body = ErrorBody),
        (status = 409, description = "`plugin_not_newer`: the installed version is the same or higher.", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 64 MiB.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn install(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, ResponseJson<PluginView>), ApiError> {
    state.refuse_if_read_only()?;
    let wasm = axum::body::to_bytes(body, MAX_PLUGIN_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a plugin may have at most {MAX_PLUGIN_BYTES} bytes"),
            )
        })?;
    let signature = headers
        .get(SIGNATURE_HEADER)
        .map(|v| {
            v.to_str().map(str::to_owned).map_err(|_| {
                ApiError::bad_request("bad_request", "X-Omnigate-Signature must be base64 text")
            })
        })
        .transpose()?;
    let actor = principal.actor();
    let source = client.label();
    let status = admin(&state, move |plugins| {
        plugins.install(&wasm, signature.as_deref(), actor, source)
    })
    .await?;
    Ok((StatusCode::CREATED, ResponseJson(PluginView::from(status))))
}

/// Enable a plugin.
///
/// Loads a disabled plugin, or lets one the circuit breaker stopped run
/// again. Audited.
#[utoipa::path(
    post,
    path = "/api/v1/plugins/{name}/enable",
    operation_id = "enable_plugin",
    tag = "plugins",
    params(("name" = String, Path, description = "The plugin's name.")),
    responses(
        (status = 200, description = "Enabled and loaded.", body = PluginView),
        (status = 404, description = "`not_found`: no plugin of that name.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn enable(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<ResponseJson<PluginView>, ApiError> {
    state.refuse_if_read_only()?;
    let (actor, source) = (principal.actor(), client.label());
    let status = admin(&state, move |p| p.enable(&name, actor, source)).await?;
    Ok(ResponseJson(PluginView::from(status)))
}

/// Disable a plugin.
///
/// Unloads it: its channels take no webhooks (providers redeliver later)
/// and their outbound messages wait. Audited.
#[utoipa::path(
    post,
    path = "/api/v1/plugins/{name}/disable",
    operation_id = "disable_plugin",
    tag = "plugins",
    params(("name" = String, Path, description = "The plugin's name.")),
    responses(
        (status = 200, description = "Disabled.", body = PluginView),
        (status = 404, description = "`not_found`: no plugin of that name.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn disable(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<ResponseJson<PluginView>, ApiError> {
    state.refuse_if_read_only()?;
    let (actor, source) = (principal.actor(), client.label());
    let status = admin(&state, move |p| p.disable(&name, actor, source)).await?;
    Ok(ResponseJson(PluginView::from(status)))
}

/// Remove a plugin.
///
/// Deletes it and everything it stored. Refused while a channel uses it.
/// Audited.
#[utoipa::path(
    delete,
    path = "/api/v1/plugins/{name}",
    operation_id = "remove_plugin",
    tag = "plugins",
    params(("name" = String, Path, description = "The plugin's name.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "`not_found`: no plugin of that name.", body = ErrorBody),
        (status = 409, description = "`plugin_in_use`: channels still use it.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.refuse_if_read_only()?;
    let (actor, source) = (principal.actor(), client.label());
    admin(&state, move |p| p.remove(&name, actor, source)).await?;
    Ok(StatusCode::NO_CONTENT)
}
