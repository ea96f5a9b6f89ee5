//! Canned responses: personal ones for everyone at the desk, shared ones
//! managed by admins; searched by shortcut prefix and rendered with the
//! conversation's variables.

use axum::Json as ResponseJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use omnigate_domain::conversation::{CannedResponse, Shortcut, Variables, render};
use omnigate_domain::{AuditAction, AuditEvent, Permission, ValidationError};
use omnigate_store::canned::CannedRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use super::conversations::caller;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ClientAddr, Json, Query, parse_id};
use crate::state::AppState;

fn view(record: &CannedRecord) -> Value {
    json!({
        "id": record.id,
        "shortcut": record.shortcut,
        "text": record.text,
        "shared": record.owner.is_none(),
        "owner_id": record.owner,
    })
}

/// Search by shortcut prefix.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Search {
    prefix: Option<String>,
}

/// `GET /api/v1/canned?prefix=`: the caller's own and the shared ones,
/// by shortcut; own ones first when shortcuts clash.
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<Search>,
) -> Result<ResponseJson<Value>, ApiError> {
    let prefix = q
        .prefix
        .map(|p| p.trim().trim_start_matches('/').to_lowercase())
        .unwrap_or_default();
    let me = principal.user.id.0;
    let mut found: Vec<CannedRecord> = state
        .inner
        .store
        .all_canned()?
        .into_iter()
        .filter(|c| c.owner.is_none_or(|o| o == me) && c.shortcut.starts_with(&prefix))
        .collect();
    found.sort_by(|a, b| {
        (a.shortcut.as_str(), a.owner.is_none()).cmp(&(b.shortcut.as_str(), b.owner.is_none()))
    });
    Ok(ResponseJson(
        json!({ "canned": found.iter().map(view).collect::<Vec<_>>() }),
    ))
}

/// Body of a create or change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fields {
    shortcut: Option<String>,
    text: Option<String>,
    /// Shared with everyone (admins only).
    #[serde(default)]
    shared: bool,
}

fn may_manage(principal: &Principal, record: &CannedRecord) -> Result<(), ApiError> {
    let allowed = match record.owner {
        Some(owner) => owner == principal.user.id.0,
        None => principal.user.role.allows(Permission::DeskConfigure),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only admins manage shared canned responses, and only its owner a personal one",
        ))
    }
}

fn check_unique(state: &AppState, record: &CannedRecord) -> Result<(), ApiError> {
    let clash = state
        .inner
        .store
        .all_canned()?
        .into_iter()
        .any(|c| c.id != record.id && c.owner == record.owner && c.shortcut == record.shortcut);
    if clash {
        Err(ApiError::conflict(
            "conflict",
            format!("the shortcut /{} is taken", record.shortcut),
        ))
    } else {
        Ok(())
    }
}

async fn audit_shared(
    state: &AppState,
    principal: &Principal,
    client: ClientAddr,
    record: &CannedRecord,
    change: &str,
) -> Result<(), ApiError> {
    if record.owner.is_none() {
        state.audit(
            &AuditEvent::new(principal.actor(), AuditAction::CannedChanged)
                .target(format!("canned:{}", record.id))
                .source(client.label())
                .detail(json!({ "change": change, "shortcut": record.shortcut }).to_string()),
        )?;
    }
    Ok(())
}

/// `POST /api/v1/canned`.
pub(crate) async fn create(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<Fields>,
) -> Result<(StatusCode, ResponseJson<Value>), ApiError> {
    let shortcut = Shortcut::parse(body.shortcut.as_deref().unwrap_or_default())?;
    let text = body
        .text
        .ok_or_else(|| ValidationError::new("text", "is required"))?;
    CannedResponse::check_text(&text)?;
    let record = CannedRecord {
        id: 0,
        owner: (!body.shared).then_some(principal.user.id.0),
        shortcut: shortcut.as_str().to_owned(),
        text,
    };
    may_manage(&principal, &record)?;
    let _guard = state.inner.user_admin.lock().await;
    check_unique(&state, &record)?;
    let record = state.inner.store.create_canned(record)?;
    audit_shared(&state, &principal, client, &record, "created").await?;
    state.durable().await?;
    Ok((
        StatusCode::CREATED,
        ResponseJson(json!({ "canned": view(&record) })),
    ))
}

fn find(state: &AppState, raw: &str) -> Result<CannedRecord, ApiError> {
    let id = parse_id("canned response", raw)?;
    state
        .inner
        .store
        .canned(id)?
        .ok_or_else(|| ApiError::not_found(format!("no canned response with id `{raw}`")))
}

/// `PATCH /api/v1/canned/{id}`.
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<Fields>,
) -> Result<ResponseJson<Value>, ApiError> {
    let mut record = find(&state, &id)?;
    may_manage(&principal, &record)?;
    if let Some(shortcut) = &body.shortcut {
        record.shortcut = Shortcut::parse(shortcut)?.as_str().to_owned();
    }
    if let Some(text) = body.text {
        CannedResponse::check_text(&text)?;
        record.text = text;
    }
    let _guard = state.inner.user_admin.lock().await;
    check_unique(&state, &record)?;
    state.inner.store.update_canned(&record)?;
    audit_shared(&state, &principal, client, &record, "changed").await?;
    state.durable().await?;
    Ok(ResponseJson(json!({ "canned": view(&record) })))
}

/// `DELETE /api/v1/canned/{id}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    let record = find(&state, &id)?;
    may_manage(&principal, &record)?;
    state.inner.store.delete_canned(record.id)?;
    audit_shared(&state, &principal, client, &record, "deleted").await?;
    state.durable().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of a render.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RenderFor {
    conversation_id: u64,
}

/// `POST /api/v1/canned/{id}/render`: the text with the conversation's
/// contact, agent and channel filled in, ready for the composer.
pub(crate) async fn render_for(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<RenderFor>,
) -> Result<ResponseJson<Value>, ApiError> {
    let record = find(&state, &id)?;
    if record.owner.is_some_and(|o| o != principal.user.id.0) {
        return Err(ApiError::not_found(format!(
            "no canned response with id `{id}`"
        )));
    }
    let engine = state.engine();
    let conversation =
        engine.conversation_for(&caller(&principal, client), body.conversation_id)?;
    let store = engine.store();
    let contact = store.contact(conversation.contact_id)?;
    let channel = store.channel(conversation.channel_id)?;
    let text = render(
        &record.text,
        &Variables {
            contact_name: contact.as_ref().map_or("", |c| c.name.as_str()),
            contact_phone: contact
                .as_ref()
                .and_then(|c| c.phone.as_deref())
                .unwrap_or(""),
            agent_name: principal.user.display_name.as_str(),
            channel_name: channel.as_ref().map_or("", |c| c.name.as_str()),
        },
    );
    Ok(ResponseJson(json!({ "text": text })))
}
