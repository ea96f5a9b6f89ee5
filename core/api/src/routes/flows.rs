//! Chatbot flows: admins configure flows (instances of flow plugins) that
//! channels start new conversations in and agents hand conversations to;
//! agents list them to pick one.

use std::collections::BTreeMap;

use axum::Json as ResponseJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use omnigate_domain::{AuditAction, AuditEvent, Timestamp, ValidationError};
use omnigate_store::flows::{FlowRecord, MAX_FLOW_SETTING_BYTES};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use omnigate_plugin_host::PluginKind;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ClientAddr, Json, parse_id};
use crate::routes::channels::{check_name, double_option};
use crate::routes::plugin_settings::ValueRules;
use crate::state::AppState;

/// A flow's settings may hold a whole flow definition.
const FLOW_VALUES: ValueRules = ValueRules {
    max_bytes: MAX_FLOW_SETTING_BYTES,
    multiline: true,
};

/// A configured flow.
#[derive(Serialize, ToSchema)]
pub(crate) struct FlowView {
    id: u64,
    /// What channels' `default_flow` and hand-overs name; cannot change.
    name: String,
    /// The flow plugin that runs it.
    plugin: String,
    disabled: bool,
    #[schema(format = DateTime)]
    created_at: String,
    /// Config values by the plugin manifest's keys.
    config: BTreeMap<String, String>,
    /// Which secrets are set (values are never shown).
    secrets_set: Vec<String>,
    /// The shop its lookups ask; `null` = the first enabled shop.
    #[schema(required = true)]
    shop_id: Option<u64>,
    /// Used when the flow ends a conversation without naming a
    /// configured end reason.
    #[schema(required = true)]
    end_reason: Option<String>,
    /// Channels whose new conversations start in it.
    default_of_channels: Vec<u64>,
}

impl FlowView {
    fn of(flow: &FlowRecord, state: &AppState) -> Result<FlowView, ApiError> {
        Ok(FlowView {
            id: flow.id,
            name: flow.name.clone(),
            plugin: flow.plugin.clone(),
            disabled: flow.disabled,
            created_at: Timestamp(flow.created_at_ms).to_rfc3339(),
            config: flow.config.clone(),
            secrets_set: flow.secrets.keys().cloned().collect(),
            shop_id: flow.shop_id,
            end_reason: flow.end_reason.clone(),
            default_of_channels: channels_starting_in(state, &flow.name)?,
        })
    }
}

fn channels_starting_in(state: &AppState, flow: &str) -> Result<Vec<u64>, ApiError> {
    Ok(state
        .inner
        .store
        .channels()?
        .into_iter()
        .filter(|c| c.default_flow.as_deref() == Some(flow))
        .map(|c| c.id)
        .collect())
}

/// Every flow.
#[derive(Serialize, ToSchema)]
pub(crate) struct FlowList {
    flows: Vec<FlowView>,
}

/// Fields of a flow an admin sets; on a change absent fields stay, and in
/// `config` and `secrets` an empty value removes a key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowFields {
    /// 1 to 100 characters, unique; required on create, cannot change
    /// (channels and conversations refer to a flow by name).
    name: Option<String>,
    /// An installed flow plugin's name (`guided-flow`); required on
    /// create, cannot change.
    plugin: Option<String>,
    disabled: Option<bool>,
    /// Values may hold line breaks and up to 64 KiB (a flow definition).
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    config: Option<BTreeMap<String, String>>,
    /// Write-only.
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    secrets: Option<BTreeMap<String, String>>,
    /// The shop its lookups ask; `null` = the first enabled shop.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<u64>, required = false)]
    shop_id: Option<Option<u64>>,
    /// One of the configured end reasons; `null` = none (a flow that ends
    /// without naming a configured reason then hands over to the queue).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, required = false)]
    end_reason: Option<Option<String>>,
}

/// Opens the flow once with these settings, so a mistake in them is the
/// admin's error now rather than a customer's hand-over later.
async fn try_settings(state: &AppState, flow: &FlowRecord) -> Result<(), ApiError> {
    state
        .engine()
        .try_flow_settings(&flow.name, &flow.plugin, &flow.config, &flow.secrets)
        .await
        .map_err(|why| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "flow_invalid",
                format!("the flow does not start with these settings: {why}"),
            )
        })
}

fn check_shop(state: &AppState, shop: Option<u64>) -> Result<Option<u64>, ApiError> {
    match shop {
        Some(id) if state.inner.store.shop(id)?.is_none() => {
            Err(ValidationError::new("shop_id", format!("no shop with id {id}")).into())
        }
        other => Ok(other),
    }
}

fn check_end_reason(state: &AppState, reason: Option<String>) -> Result<Option<String>, ApiError> {
    match reason.map(|r| r.trim().to_owned()) {
        Some(r) if !state.engine().desk_settings().end_reasons.contains(&r) => {
            Err(ValidationError::new(
                "end_reason",
                format!("`{r}` is not one of the configured end reasons"),
            )
            .into())
        }
        other => Ok(other),
    }
}

/// List flows.
#[utoipa::path(
    get,
    path = "/api/v1/flows",
    operation_id = "list_flows",
    tag = "flows",
    responses((status = 200, description = "Every configured flow, without secrets.", body = FlowList)),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<ResponseJson<FlowList>, ApiError> {
    let flows = state
        .inner
        .store
        .flows()?
        .iter()
        .map(|f| FlowView::of(f, &state))
        .collect::<Result<_, _>>()?;
    Ok(ResponseJson(FlowList { flows }))
}

/// Configure a flow.
///
/// `plugin` names an installed flow plugin; `config` and `secrets` hold
/// its manifest's keys. Audited.
#[utoipa::path(
    post,
    path = "/api/v1/flows",
    operation_id = "create_flow",
    tag = "flows",
    request_body = FlowFields,
    responses(
        (status = 201, description = "Created.", body = FlowView),
        (status = 409, description = "`conflict`: another flow has that name.", body = ErrorBody),
        (status = 422, description = "`invalid_request`: a field is wrong (unknown plugin, shop or end reason; unknown or missing settings). `flow_invalid`: the flow, opened once with these settings, failed; the message gives its reason (for the guided flow, the step at fault).", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<FlowFields>,
) -> Result<(StatusCode, ResponseJson<FlowView>), ApiError> {
    state.refuse_if_read_only()?;
    let name = check_name(body.name.as_deref().unwrap_or_default())?;
    let crate::routes::plugin_settings::Instance {
        plugin,
        config,
        secrets,
    } = crate::routes::plugin_settings::for_new_instance(
        &state,
        body.plugin,
        PluginKind::Flow,
        body.config,
        body.secrets,
        FLOW_VALUES,
    )?;
    let flow = FlowRecord {
        id: 0,
        name,
        plugin,
        config,
        secrets,
        shop_id: check_shop(&state, body.shop_id.flatten())?,
        end_reason: check_end_reason(&state, body.end_reason.flatten())?,
        disabled: body.disabled.unwrap_or(false),
        created_at_ms: state.now().0,
    };
    try_settings(&state, &flow).await?;
    let flow = state.inner.store.create_flow(flow)?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::FlowConfigured)
            .target(format!("flow:{}", flow.id))
            .source(client.label())
            .detail(
                json!({ "change": "created", "name": flow.name, "plugin": flow.plugin })
                    .to_string(),
            ),
    )?;
    state.durable().await?;
    Ok((
        StatusCode::CREATED,
        ResponseJson(FlowView::of(&flow, &state)?),
    ))
}

fn find(state: &AppState, raw: &str) -> Result<FlowRecord, ApiError> {
    let id = parse_id("flow", raw)?;
    state
        .inner
        .store
        .flow(id)?
        .ok_or_else(|| ApiError::not_found(format!("no flow with id `{raw}`")))
}

/// Change a flow.
///
/// Absent fields stay. A change applies to the next message each
/// conversation in the flow receives. Audited.
#[utoipa::path(
    patch,
    path = "/api/v1/flows/{id}",
    operation_id = "update_flow",
    tag = "flows",
    params(("id" = u64, Path, description = "The flow's id.")),
    request_body = FlowFields,
    responses(
        (status = 200, description = "The flow as changed.", body = FlowView),
        (status = 404, description = "`not_found`: no such flow.", body = ErrorBody),
        (status = 422, description = "`invalid_request`: a field is wrong, or the name or plugin would change. `flow_invalid`: the flow does not start with the new settings.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<FlowFields>,
) -> Result<ResponseJson<FlowView>, ApiError> {
    state.refuse_if_read_only()?;
    let mut flow = find(&state, &id)?;
    if body.plugin.as_ref().is_some_and(|p| *p != flow.plugin) {
        return Err(ValidationError::new("plugin", "a flow's plugin cannot change").into());
    }
    if body.name.as_ref().is_some_and(|n| n.trim() != flow.name) {
        return Err(ValidationError::new(
            "name",
            "a flow's name cannot change: channels and conversations refer to it; create a new flow instead",
        )
        .into());
    }
    if let Some(disabled) = body.disabled {
        flow.disabled = disabled;
    }
    if let Some(shop) = body.shop_id {
        flow.shop_id = check_shop(&state, shop)?;
    }
    if let Some(reason) = body.end_reason {
        flow.end_reason = check_end_reason(&state, reason)?;
    }
    if body.config.is_some() || body.secrets.is_some() {
        let manifest =
            crate::routes::plugin_settings::manifest_of(&state, &flow.plugin, PluginKind::Flow)?;
        crate::routes::plugin_settings::merge(
            &manifest,
            &mut flow.config,
            &mut flow.secrets,
            body.config,
            body.secrets,
            FLOW_VALUES,
        )?;
        try_settings(&state, &flow).await?;
    }
    state.inner.store.update_flow(&flow)?;
    let view = FlowView::of(&flow, &state)?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::FlowConfigured)
            .target(format!("flow:{}", flow.id))
            .source(client.label())
            .detail(json!({ "change": "updated", "view": view }).to_string()),
    )?;
    state.durable().await?;
    Ok(ResponseJson(view))
}

/// Delete a flow.
///
/// Refused while a channel starts its conversations in it. Conversations
/// still in the flow go to the queue with their next message. Audited.
#[utoipa::path(
    delete,
    path = "/api/v1/flows/{id}",
    operation_id = "delete_flow",
    tag = "flows",
    params(("id" = u64, Path, description = "The flow's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`not_found`: no such flow.", body = ErrorBody),
        (status = 409, description = "`flow_in_use`: a channel's default flow; the message names the channels.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    state.refuse_if_read_only()?;
    let flow = find(&state, &id)?;
    let channels = channels_starting_in(&state, &flow.name)?;
    if !channels.is_empty() {
        return Err(ApiError::conflict(
            "flow_in_use",
            format!(
                "flow `{}` is the default flow of channel(s) {channels:?}; change them first",
                flow.name
            ),
        ));
    }
    state.inner.store.delete_flow(flow.id)?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::FlowConfigured)
            .target(format!("flow:{}", flow.id))
            .source(client.label())
            .detail(json!({ "change": "deleted", "name": flow.name }).to_string()),
    )?;
    state.durable().await?;
    Ok(StatusCode::NO_CONTENT)
}
