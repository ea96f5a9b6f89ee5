//! Admin user management.

use axum::Json as ResponseJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use omnigate_domain::{AuditAction, AuditEvent, DisplayName, Email, Role, User, UserId};
use omnigate_store::{NewUser, UserUpdate};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Principal, secret};
use crate::error::ApiError;
use crate::extract::{ClientAddr, Json, parse_id};
use crate::state::AppState;
use crate::views::UserView;

/// `GET /api/v1/users`.
pub(crate) async fn list(State(state): State<AppState>) -> Result<ResponseJson<Value>, ApiError> {
    let users = state.inner.store.users()?;
    let views: Vec<UserView> = users.iter().map(UserView::from).collect();
    Ok(ResponseJson(json!({ "users": views })))
}

/// `GET /api/v1/users/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<ResponseJson<Value>, ApiError> {
    let user = find(&state, &id)?;
    Ok(ResponseJson(json!({ "user": UserView::from(&user) })))
}

fn find(state: &AppState, raw_id: &str) -> Result<User, ApiError> {
    let id = UserId(parse_id("user", raw_id)?);
    state
        .inner
        .store
        .user(id)?
        .ok_or_else(|| ApiError::not_found(format!("no user with id `{raw_id}`")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUser {
    email: String,
    display_name: String,
    role: String,
    password: Option<String>,
}

/// `POST /api/v1/users`: without a password one is generated and returned
/// once, for the admin to hand over.
pub(crate) async fn create(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(request): Json<CreateUser>,
) -> Result<(StatusCode, ResponseJson<Value>), ApiError> {
    let email = Email::parse(&request.email)?;
    let display_name = DisplayName::parse(&request.display_name)?;
    let role: Role = request.role.parse()?;
    let (password, generated) = match request.password {
        Some(password) => {
            state.config().password_policy.check(&password)?;
            (password, false)
        }
        None => (
            secret::generated_password(state.config().password_policy),
            true,
        ),
    };
    let password_hash = state.hash_password(password.clone()).await?;
    let user = state
        .inner
        .store
        .create_user(NewUser {
            email,
            display_name,
            role,
            password_hash,
            created_at: state.now(),
        })
        .map_err(|e| match e {
            omnigate_store::StoreError::Conflict(m) => ApiError::conflict("email_taken", m),
            other => other.into(),
        })?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::UserCreated)
            .target(format!("user:{}", user.id))
            .source(client.label())
            .detail(
                json!({ "email": user.email.as_str(), "role": user.role.as_str() }).to_string(),
            ),
    )?;
    state.durable().await?;
    let mut body = json!({ "user": UserView::from(&user) });
    if generated {
        body["generated_password"] = json!(password);
    }
    Ok((StatusCode::CREATED, ResponseJson(body)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateUser {
    display_name: Option<String>,
    role: Option<String>,
    disabled: Option<bool>,
}

/// `PATCH /api/v1/users/{id}`: rename, change role, disable or enable.
///
/// The last enabled admin cannot be demoted or disabled, so an installation
/// can never lock itself out of its own administration.
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(request): Json<UpdateUser>,
) -> Result<ResponseJson<Value>, ApiError> {
    let update = UserUpdate {
        display_name: request
            .display_name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()?,
        role: request.role.as_deref().map(str::parse).transpose()?,
        disabled: request.disabled,
        password_hash: None,
    };
    let _serial = state.inner.user_admin.lock().await;
    let target = find(&state, &id)?;
    let loses_admin = target.role == Role::Admin
        && !target.disabled
        && (update.role.is_some_and(|r| r != Role::Admin) || update.disabled == Some(true));
    if loses_admin && enabled_admins(&state)? <= 1 {
        return Err(ApiError::conflict(
            "last_admin",
            "this is the only enabled admin; make another user admin first",
        ));
    }
    let store = &state.inner.store;
    let (before, after) = store.update_user(target.id, update)?;
    let event = |action| {
        AuditEvent::new(principal.actor(), action)
            .target(format!("user:{}", after.id))
            .source(client.label())
    };
    if before.role != after.role {
        state.audit(&event(AuditAction::UserRoleChanged).detail(
            json!({ "from": before.role.as_str(), "to": after.role.as_str() }).to_string(),
        ))?;
    }
    if before.display_name != after.display_name {
        state.audit(
            &event(AuditAction::UserRenamed).detail(
                json!({ "from": before.display_name.as_str(), "to": after.display_name.as_str() })
                    .to_string(),
            ),
        )?;
    }
    if before.disabled != after.disabled {
        if after.disabled {
            let ended = store.delete_sessions_of(after.id, None)?;
            state.audit(
                &event(AuditAction::UserDisabled)
                    .detail(json!({ "sessions_ended": ended }).to_string()),
            )?;
        } else {
            state.audit(&event(AuditAction::UserEnabled))?;
        }
    }
    state.durable().await?;
    Ok(ResponseJson(json!({ "user": UserView::from(&after) })))
}

fn enabled_admins(state: &AppState) -> Result<usize, ApiError> {
    Ok(state
        .inner
        .store
        .users()?
        .iter()
        .filter(|u| u.role == Role::Admin && !u.disabled)
        .count())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetPassword {
    password: Option<String>,
}

/// `POST /api/v1/users/{id}/password`: sets a new password (generated when
/// none is given) and ends the user's sessions.
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(request): Json<ResetPassword>,
) -> Result<ResponseJson<Value>, ApiError> {
    let target = find(&state, &id)?;
    let (password, generated) = match request.password {
        Some(password) => {
            state.config().password_policy.check(&password)?;
            (password, false)
        }
        None => (
            secret::generated_password(state.config().password_policy),
            true,
        ),
    };
    let hash = state.hash_password(password.clone()).await?;
    let store = &state.inner.store;
    store.update_user(
        target.id,
        UserUpdate {
            password_hash: Some(hash),
            ..UserUpdate::default()
        },
    )?;
    let ended = store.delete_sessions_of(target.id, None)?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::PasswordReset)
            .target(format!("user:{}", target.id))
            .source(client.label())
            .detail(json!({ "sessions_ended": ended }).to_string()),
    )?;
    state.durable().await?;
    let mut body = json!({ "user": UserView::from(&target), "sessions_ended": ended });
    if generated {
        body["generated_password"] = json!(password);
    }
    Ok(ResponseJson(body))
}

/// `DELETE /api/v1/users/{id}/sessions`: logs the user out everywhere.
pub(crate) async fn revoke_sessions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<Value>, ApiError> {
    let target = find(&state, &id)?;
    let ended = state.inner.store.delete_sessions_of(target.id, None)?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::SessionsRevoked)
            .target(format!("user:{}", target.id))
            .source(client.label())
            .detail(json!({ "sessions_ended": ended }).to_string()),
    )?;
    state.durable().await?;
    Ok(ResponseJson(json!({ "sessions_ended": ended })))
}
