//! The desk: presence, pull, the agents list, the supervisor's view and
//! the desk settings.

use std::time::Duration;

use axum::Json as ResponseJson;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use omnigate_domain::routing::Presence;
use omnigate_domain::{Role, UserId};
use serde::Deserialize;
use utoipa::ToSchema;

use super::conversations::{caller, view};
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ClientAddr, Json, parse_id};
use crate::openapi::schemas;
use crate::state::AppState;
use crate::views::{
    AgentList, AgentStatus, AgentSummary, ConversationBody, DeskSettingsView, QueuedConversation,
    SupervisorAgent, SupervisorDesk,
};

/// Body of a presence change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetPresence {
    #[schema(schema_with = schemas::presence)]
    presence: String,
}

fn parse_presence(raw: &str) -> Result<Presence, ApiError> {
    match raw {
        "online" => Ok(Presence::Online),
        "break" => Ok(Presence::Break),
        "offline" => Ok(Presence::Offline),
        other => Err(omnigate_domain::ValidationError::new(
            "presence",
            format!("`{other}` is not one of online, break, offline"),
        )
        .into()),
    }
}

fn agent_status(state: &AppState, id: UserId) -> AgentStatus {
    let agent = state.engine().agent(id);
    AgentStatus {
        user_id: id.0,
        presence: agent.presence.as_str(),
        load: agent.load,
        capacity: agent.capacity,
    }
}

/// Set the caller's presence.
///
/// Going online may hand out queued conversations at once; break and
/// offline keep what one holds.
#[utoipa::path(
    put,
    path = "/api/v1/me/presence",
    operation_id = "set_own_presence",
    tag = "desk",
    request_body = SetPresence,
    responses(
        (status = 200, description = "The caller's desk figures now.", body = AgentStatus),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn set_own_presence(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<SetPresence>,
) -> Result<ResponseJson<AgentStatus>, ApiError> {
    let presence = parse_presence(&body.presence)?;
    let engine = state.engine();
    engine.set_presence(&caller(&principal, client), principal.user.id, presence)?;
    engine.durable().await?;
    Ok(ResponseJson(agent_status(&state, principal.user.id)))
}

fn existing_agent(state: &AppState, raw: &str) -> Result<UserId, ApiError> {
    let id = UserId(parse_id("user", raw)?);
    match state.inner.store.user(id)? {
        Some(user) if !user.disabled => Ok(id),
        Some(_) => Err(ApiError::conflict(
            "user_disabled",
            format!("user {id} is disabled"),
        )),
        None => Err(ApiError::not_found(format!("no user with id `{raw}`"))),
    }
}

/// Set an agent's presence (supervisors).
///
/// Audited.
#[utoipa::path(
    put,
    path = "/api/v1/agents/{id}/presence",
    operation_id = "set_agent_presence",
    tag = "desk",
    params(("id" = u64, Path, description = "The agent's user id.")),
    request_body = SetPresence,
    responses(
        (status = 200, description = "The agent's desk figures now.", body = AgentStatus),
        (status = 404, description = "`not_found`: no such user.", body = ErrorBody),
        (status = 409, description = "`user_disabled`: the user is disabled.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn set_presence(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<SetPresence>,
) -> Result<ResponseJson<AgentStatus>, ApiError> {
    let agent = existing_agent(&state, &id)?;
    let presence = parse_presence(&body.presence)?;
    let engine = state.engine();
    engine.set_presence(&caller(&principal, client), agent, presence)?;
    engine.durable().await?;
    Ok(ResponseJson(agent_status(&state, agent)))
}

/// Body of a capacity change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetCapacity {
    /// `null` follows the default; 0 = manual pull only.
    capacity: Option<u32>,
}

/// Set an agent's capacity (admins).
#[utoipa::path(
    put,
    path = "/api/v1/agents/{id}/capacity",
    operation_id = "set_agent_capacity",
    tag = "desk",
    params(("id" = u64, Path, description = "The agent's user id.")),
    request_body = SetCapacity,
    responses(
        (status = 200, description = "The agent's desk figures now.", body = AgentStatus),
        (status = 404, description = "`not_found`: no such user.", body = ErrorBody),
        (status = 409, description = "`user_disabled`: the user is disabled.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn set_capacity(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<SetCapacity>,
) -> Result<ResponseJson<AgentStatus>, ApiError> {
    let agent = existing_agent(&state, &id)?;
    let engine = state.engine();
    engine.set_capacity(&caller(&principal, client), agent, body.capacity)?;
    engine.durable().await?;
    Ok(ResponseJson(agent_status(&state, agent)))
}

/// Pull from the queue.
///
/// Takes the oldest waiting conversation, regardless of capacity (rule 3).
#[utoipa::path(
    post,
    path = "/api/v1/queue/pull",
    operation_id = "pull",
    tag = "desk",
    responses(
        (status = 200, description = "The conversation, now the caller's.", body = ConversationBody),
        (status = 409, description = "`queue_empty`: nothing is waiting. `agent_not_online`: the caller is not online.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn pull(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<ConversationBody>, ApiError> {
    let engine = state.engine();
    let id = engine.pull(&caller(&principal, client))?;
    engine.durable().await?;
    let conversation = engine
        .store()
        .conversation(id)?
        .ok_or_else(|| ApiError::internal(&"pulled conversation missing"))?;
    Ok(ResponseJson(ConversationBody {
        conversation: view(&state, &conversation)?,
    }))
}

/// List agents.
///
/// Every enabled agent, supervisor and admin with presence and load; the
/// console lists the online ones as transfer targets.
#[utoipa::path(
    get,
    path = "/api/v1/agents",
    operation_id = "list_agents",
    tag = "desk",
    responses(
        (status = 200, description = "The agents.", body = AgentList),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn agents(State(state): State<AppState>) -> Result<Response, ApiError> {
    let users = state.inner.store.users()?;
    let agents: Vec<AgentSummary> = users
        .iter()
        .filter(|u| !u.disabled)
        .map(|u| {
            let status = agent_status(&state, u.id);
            AgentSummary {
                user_id: status.user_id,
                presence: status.presence,
                load: status.load,
                capacity: status.capacity,
                display_name: u.display_name.as_str(),
                role: u.role.as_str(),
            }
        })
        .collect();
    Ok(ResponseJson(AgentList { agents }).into_response())
}

/// The channels by name, for everyone at the desk.
#[derive(serde::Serialize, ToSchema)]
pub(crate) struct DeskChannels {
    channels: Vec<DeskChannel>,
}

/// A channel as agents see it: no configuration, no secrets.
#[derive(serde::Serialize, ToSchema)]
pub(crate) struct DeskChannel {
    id: u64,
    name: String,
    /// `api`, or the kind of the channel's plugin (`whatsapp-cloud`, ...).
    kind: String,
    disabled: bool,
}

/// List the channels by name.
///
/// What agents need to filter history by channel and to tell channels
/// apart (admins manage them under `/api/v1/channels`), ordered by name.
#[utoipa::path(
    get,
    path = "/api/v1/desk/channels",
    operation_id = "desk_channels",
    tag = "desk",
    responses(
        (status = 200, description = "Every channel, by name.", body = DeskChannels),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn channels(
    State(state): State<AppState>,
) -> Result<ResponseJson<DeskChannels>, ApiError> {
    let mut channels: Vec<DeskChannel> = state
        .inner
        .store
        .channels()?
        .into_iter()
        .map(|c| DeskChannel {
            id: c.id,
            name: c.name,
            kind: c.kind,
            disabled: c.disabled,
        })
        .collect();
    channels.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.id.cmp(&b.id))
    });
    Ok(ResponseJson(DeskChannels { channels }))
}

/// The supervisor's view of the desk.
///
/// The live queue with waiting times and every agent's presence and load.
#[utoipa::path(
    get,
    path = "/api/v1/supervisor/desk",
    operation_id = "supervisor_desk",
    tag = "desk",
    responses(
        (status = 200, description = "The queue and the agents.", body = SupervisorDesk),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn supervisor_view(State(state): State<AppState>) -> Result<Response, ApiError> {
    let engine = state.engine();
    engine.tick()?;
    let now = state.now();
    let mut queue = Vec::new();
    for (id, since) in engine.queue() {
        let Some(conversation) = engine.store().conversation(id)? else {
            continue;
        };
        queue.push(QueuedConversation {
            conversation: view(&state, &conversation)?,
            waiting_secs: now.since(since).as_secs(),
        });
    }
    let users = state.inner.store.users()?;
    let agents: Vec<SupervisorAgent> = users
        .iter()
        .filter(|u| (!u.disabled && u.role != Role::Admin) || engine.agent(u.id).load > 0)
        .map(|u| {
            let status = agent_status(&state, u.id);
            SupervisorAgent {
                user_id: status.user_id,
                presence: status.presence,
                load: status.load,
                capacity: status.capacity,
                display_name: u.display_name.as_str(),
                conversations: engine.inbox_of(u.id),
            }
        })
        .collect();
    Ok(ResponseJson(SupervisorDesk { queue, agents }).into_response())
}

fn settings_view(state: &AppState) -> DeskSettingsView {
    let settings = state.engine().desk_settings();
    DeskSettingsView {
        default_capacity: settings.default_capacity,
        transfer_timeout_secs: settings.transfer_timeout.as_secs(),
        end_reasons: settings.end_reasons,
    }
}

/// The desk settings.
///
/// Everyone working the desk reads them (the end reasons are the console's
/// list).
#[utoipa::path(
    get,
    path = "/api/v1/desk/settings",
    operation_id = "desk_settings",
    tag = "desk",
    responses(
        (status = 200, description = "The settings.", body = DeskSettingsView),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn settings(State(state): State<AppState>) -> ResponseJson<DeskSettingsView> {
    ResponseJson(settings_view(&state))
}

/// Body of a settings change; absent fields stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeSettings {
    default_capacity: Option<u32>,
    transfer_timeout_secs: Option<u64>,
    end_reasons: Option<Vec<String>>,
}

/// Change the desk settings (admins).
///
/// Audited.
#[utoipa::path(
    patch,
    path = "/api/v1/desk/settings",
    operation_id = "change_desk_settings",
    tag = "desk",
    request_body = ChangeSettings,
    responses(
        (status = 200, description = "The settings now.", body = DeskSettingsView),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn change_settings(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<ChangeSettings>,
) -> Result<ResponseJson<DeskSettingsView>, ApiError> {
    let engine = state.engine();
    engine.configure_desk(
        &caller(&principal, client),
        body.default_capacity,
        body.transfer_timeout_secs.map(Duration::from_secs),
        body.end_reasons,
    )?;
    engine.durable().await?;
    Ok(ResponseJson(settings_view(&state)))
}
