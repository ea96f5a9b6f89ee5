//! The desk: presence, pull, the agents list, the supervisor's view and
//! the desk settings.

use std::time::Duration;

use axum::Json as ResponseJson;
use axum::extract::{Path, State};
use omnigate_domain::routing::Presence;
use omnigate_domain::{Role, UserId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::conversations::{caller, view};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ClientAddr, Json, parse_id};
use crate::state::AppState;

/// Body of a presence change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetPresence {
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

fn agent_json(state: &AppState, id: UserId) -> Value {
    let agent = state.engine().agent(id);
    json!({
        "user_id": id.0,
        "presence": agent.presence.as_str(),
        "load": agent.load,
        "capacity": agent.capacity,
    })
}

/// `PUT /api/v1/me/presence`: going online may hand out queued
/// conversations at once; break and offline keep what one holds.
pub(crate) async fn set_own_presence(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<SetPresence>,
) -> Result<ResponseJson<Value>, ApiError> {
    let presence = parse_presence(&body.presence)?;
    let engine = state.engine();
    engine.set_presence(&caller(&principal, client), principal.user.id, presence)?;
    engine.durable().await?;
    Ok(ResponseJson(agent_json(&state, principal.user.id)))
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

/// `PUT /api/v1/agents/{id}/presence` (supervisors): audited.
pub(crate) async fn set_presence(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<SetPresence>,
) -> Result<ResponseJson<Value>, ApiError> {
    let agent = existing_agent(&state, &id)?;
    let presence = parse_presence(&body.presence)?;
    let engine = state.engine();
    engine.set_presence(&caller(&principal, client), agent, presence)?;
    engine.durable().await?;
    Ok(ResponseJson(agent_json(&state, agent)))
}

/// Body of a capacity change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetCapacity {
    /// `null` follows the default; 0 = manual pull only.
    capacity: Option<u32>,
}

/// `PUT /api/v1/agents/{id}/capacity` (admins).
pub(crate) async fn set_capacity(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<SetCapacity>,
) -> Result<ResponseJson<Value>, ApiError> {
    let agent = existing_agent(&state, &id)?;
    let engine = state.engine();
    engine.set_capacity(&caller(&principal, client), agent, body.capacity)?;
    engine.durable().await?;
    Ok(ResponseJson(agent_json(&state, agent)))
}

/// `POST /api/v1/queue/pull`: the oldest waiting conversation, regardless
/// of capacity (rule 3).
pub(crate) async fn pull(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<Value>, ApiError> {
    let engine = state.engine();
    let id = engine.pull(&caller(&principal, client))?;
    engine.durable().await?;
    let conversation = engine
        .store()
        .conversation(id)?
        .ok_or_else(|| ApiError::internal(&"pulled conversation missing"))?;
    Ok(ResponseJson(
        json!({ "conversation": view(&state, &conversation)? }),
    ))
}

/// `GET /api/v1/agents`: every enabled agent, supervisor and admin with
/// presence and load; the console lists the online ones as transfer targets.
pub(crate) async fn agents(State(state): State<AppState>) -> Result<ResponseJson<Value>, ApiError> {
    let users = state.inner.store.users()?;
    let agents: Vec<Value> = users
        .iter()
        .filter(|u| !u.disabled)
        .map(|u| {
            let mut agent = agent_json(&state, u.id);
            agent["display_name"] = json!(u.display_name.as_str());
            agent["role"] = json!(u.role.as_str());
            agent
        })
        .collect();
    Ok(ResponseJson(json!({ "agents": agents })))
}

/// `GET /api/v1/supervisor/desk`: the live queue with waiting times and
/// every agent's presence and load.
pub(crate) async fn supervisor_view(
    State(state): State<AppState>,
) -> Result<ResponseJson<Value>, ApiError> {
    let engine = state.engine();
    engine.tick()?;
    let now = state.now();
    let mut queue = Vec::new();
    for (id, since) in engine.queue() {
        let Some(conversation) = engine.store().conversation(id)? else {
            continue;
        };
        let mut item = serde_json::to_value(view(&state, &conversation)?)
            .map_err(|e| ApiError::internal(&e))?;
        item["waiting_secs"] = json!(now.since(since).as_secs());
        queue.push(item);
    }
    let users = state.inner.store.users()?;
    let agents: Vec<Value> = users
        .iter()
        .filter(|u| (!u.disabled && u.role != Role::Admin) || engine.agent(u.id).load > 0)
        .map(|u| {
            let mut agent = agent_json(&state, u.id);
            agent["display_name"] = json!(u.display_name.as_str());
            agent["conversations"] = json!(engine.inbox_of(u.id));
            agent
        })
        .collect();
    Ok(ResponseJson(json!({ "queue": queue, "agents": agents })))
}

fn settings_json(state: &AppState) -> Value {
    let settings = state.engine().desk_settings();
    json!({
        "default_capacity": settings.default_capacity,
        "transfer_timeout_secs": settings.transfer_timeout.as_secs(),
        "end_reasons": settings.end_reasons,
    })
}

/// `GET /api/v1/desk/settings`: everyone working the desk reads them (the
/// end reasons are the console's list).
pub(crate) async fn settings(State(state): State<AppState>) -> ResponseJson<Value> {
    ResponseJson(settings_json(&state))
}

/// Body of a settings change; absent fields stay.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeSettings {
    default_capacity: Option<u32>,
    transfer_timeout_secs: Option<u64>,
    end_reasons: Option<Vec<String>>,
}

/// `PATCH /api/v1/desk/settings` (admins): audited.
pub(crate) async fn change_settings(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<ChangeSettings>,
) -> Result<ResponseJson<Value>, ApiError> {
    let engine = state.engine();
    engine.configure_desk(
        &caller(&principal, client),
        body.default_capacity,
        body.transfer_timeout_secs.map(Duration::from_secs),
        body.end_reasons,
    )?;
    engine.durable().await?;
    Ok(ResponseJson(settings_json(&state)))
}
