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
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::conversations::caller;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ClientAddr, Json, Query, parse_id};
use crate::state::AppState;
use crate::views::{CannedBody, CannedList, CannedView, RenderedText};

fn view(record: &CannedRecord) -> CannedView {
    CannedView {
        id: record.id,
        shortcut: record.shortcut.clone(),
        text: record.text.clone(),
        shared: record.owner.is_none(),
        owner_id: record.owner,
    }
}

/// Search by shortcut prefix.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Search {
    /// A shortcut prefix (a leading `/` is ignored; case-insensitive).
    prefix: Option<String>,
}

/// List canned responses.
///
/// The caller's own and the shared ones, by shortcut; own ones first when
/// shortcuts clash.
#[utoipa::path(
    get,
    path = "/api/v1/canned",
    operation_id = "list_canned",
    tag = "canned",
    params(Search),
    responses(
        (status = 200, description = "The matching canned responses.", body = CannedList),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<Search>,
) -> Result<ResponseJson<CannedList>, ApiError> {
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
    Ok(ResponseJson(CannedList {
        canned: found.iter().map(view).collect(),
    }))
}

/// Body of a create or change; on a change absent fields stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CannedFields)]
pub(crate) struct Fields {
    /// Required on create.
    shortcut: Option<String>,
    /// Required on create; may hold `{{variables}}`.
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

/// Create a canned response.
///
/// Personal, or shared with everyone (admins only; audited).
#[utoipa::path(
    post,
    path = "/api/v1/canned",
    operation_id = "create_canned",
    tag = "canned",
    request_body = Fields,
    responses(
        (status = 201, description = "Created.", body = CannedBody),
        (status = 403, description = "`forbidden`: only admins create shared ones.", body = ErrorBody),
        (status = 409, description = "`conflict`: the shortcut is taken.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<Fields>,
) -> Result<(StatusCode, ResponseJson<CannedBody>), ApiError> {
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
        ResponseJson(CannedBody {
            canned: view(&record),
        }),
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

/// Change a canned response.
///
/// `shared` is ignored: a canned response stays personal or shared.
#[utoipa::path(
    patch,
    path = "/api/v1/canned/{id}",
    operation_id = "update_canned",
    tag = "canned",
    params(("id" = u64, Path, description = "The canned response's id.")),
    request_body = Fields,
    responses(
        (status = 200, description = "Changed.", body = CannedBody),
        (status = 403, description = "`forbidden`: only admins change shared ones, and only its owner a personal one.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such canned response.", body = ErrorBody),
        (status = 409, description = "`conflict`: the shortcut is taken.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<Fields>,
) -> Result<ResponseJson<CannedBody>, ApiError> {
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
    Ok(ResponseJson(CannedBody {
        canned: view(&record),
    }))
}

/// Delete a canned response.
#[utoipa::path(
    delete,
    path = "/api/v1/canned/{id}",
    operation_id = "delete_canned",
    tag = "canned",
    params(("id" = u64, Path, description = "The canned response's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`forbidden`: only admins delete shared ones, and only its owner a personal one.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such canned response.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
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
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RenderCanned)]
pub(crate) struct RenderFor {
    /// The conversation whose contact, agent and channel fill the variables.
    conversation_id: u64,
}

/// Render a canned response.
///
/// The text with the conversation's contact, agent and channel filled in,
/// ready for the composer.
#[utoipa::path(
    post,
    path = "/api/v1/canned/{id}/render",
    operation_id = "render_canned",
    tag = "canned",
    params(("id" = u64, Path, description = "The canned response's id.")),
    request_body = RenderFor,
    responses(
        (status = 200, description = "The rendered text.", body = RenderedText),
        (status = 403, description = "`forbidden`: an agent named a conversation that is not theirs.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such canned response (or another user's personal one), or no such conversation.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn render_for(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<RenderFor>,
) -> Result<ResponseJson<RenderedText>, ApiError> {
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
    Ok(ResponseJson(RenderedText { text }))
}
