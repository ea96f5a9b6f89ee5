//! Admin user management.

use axum::Json as ResponseJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use omnigate_domain::{AuditAction, AuditEvent, DisplayName, Email, Role, User, UserId};
use omnigate_store::{NewUser, UserUpdate};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Principal, secret};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ClientAddr, Json, parse_id};
use crate::openapi::schemas;
use crate::state::AppState;
use crate::views::{CreatedUser, PasswordReset, SessionsEnded, UserBody, UserList, UserView};

/// List users.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "list_users",
    tag = "users",
    responses(
        (status = 200, description = "Every user.", body = UserList),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let users = state.inner.store.users()?;
    let users: Vec<UserView> = users.iter().map(UserView::from).collect();
    Ok(ResponseJson(UserList { users }).into_response())
}

/// One user.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    operation_id = "get_user",
    tag = "users",
    params(("id" = u64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user.", body = UserBody),
        (status = 404, description = "`not_found`: no such user.", body = ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = find(&state, &id)?;
    Ok(ResponseJson(UserBody {
        user: UserView::from(&user),
    })
    .into_response())
}

fn find(state: &AppState, raw_id: &str) -> Result<User, ApiError> {
    let id = UserId(parse_id("user", raw_id)?);
    state
        .inner
        .store
        .user(id)?
        .ok_or_else(|| ApiError::not_found(format!("no user with id `{raw_id}`")))
}

/// A new user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUser {
    #[schema(format = Email)]
    email: String,
    display_name: String,
    #[schema(schema_with = schemas::role)]
    role: String,
    /// Generated (and returned once) when left out.
    #[schema(format = Password)]
    password: Option<String>,
}

/// Create a user.
///
/// Without a password one is generated and returned once, for the admin to
/// hand over.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "create_user",
    tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created.", body = CreatedUser),
        (status = 409, description = "`email_taken`: another user has this e-mail address.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(request): Json<CreateUser>,
) -> Result<(StatusCode, Response), ApiError> {
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
    let body = CreatedUser {
        user: UserView::from(&user),
        generated_password: generated.then_some(password),
    };
    Ok((StatusCode::CREATED, ResponseJson(body).into_response()))
}

/// Changes to a user; absent fields stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateUser {
    display_name: Option<String>,
    #[schema(schema_with = schemas::role_or_null, required = false)]
    role: Option<String>,
    /// Disabling ends the user's sessions and stops their tokens.
    disabled: Option<bool>,
}

/// Change a user.
///
/// Rename, change role, disable or enable. The last enabled admin cannot be
/// demoted or disabled, so an installation can never lock itself out of its
/// own administration.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    operation_id = "update_user",
    tag = "users",
    params(("id" = u64, Path, description = "The user's id.")),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The user as changed.", body = UserBody),
        (status = 404, description = "`not_found`: no such user.", body = ErrorBody),
        (status = 409, description = "`last_admin`: this is the only enabled admin.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(request): Json<UpdateUser>,
) -> Result<Response, ApiError> {
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
    Ok(ResponseJson(UserBody {
        user: UserView::from(&after),
    })
    .into_response())
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

/// A password reset.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetPassword {
    /// Generated (and returned once) when left out.
    #[schema(format = Password)]
    password: Option<String>,
}

/// Reset a user's password.
///
/// Sets a new password (generated when none is given) and ends the user's
/// sessions.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/password",
    operation_id = "reset_password",
    tag = "users",
    params(("id" = u64, Path, description = "The user's id.")),
    request_body = ResetPassword,
    responses(
        (status = 200, description = "Reset.", body = PasswordReset),
        (status = 404, description = "`not_found`: no such user.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(request): Json<ResetPassword>,
) -> Result<Response, ApiError> {
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
    let body = PasswordReset {
        user: UserView::from(&target),
        sessions_ended: ended,
        generated_password: generated.then_some(password),
    };
    Ok(ResponseJson(body).into_response())
}

/// End a user's sessions.
///
/// Logs the user out everywhere (their API tokens stay).
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/sessions",
    operation_id = "revoke_sessions",
    tag = "users",
    params(("id" = u64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "Ended.", body = SessionsEnded),
        (status = 404, description = "`not_found`: no such user.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn revoke_sessions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<SessionsEnded>, ApiError> {
    let target = find(&state, &id)?;
    let ended = state.inner.store.delete_sessions_of(target.id, None)?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::SessionsRevoked)
            .target(format!("user:{}", target.id))
            .source(client.label())
            .detail(json!({ "sessions_ended": ended }).to_string()),
    )?;
    state.durable().await?;
    Ok(ResponseJson(SessionsEnded {
        sessions_ended: ended,
    }))
}
