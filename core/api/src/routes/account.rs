//! Login, logout, the caller's own account.

use axum::Json as ResponseJson;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use omnigate_domain::{Actor, AuditAction, AuditEvent, Email, Timestamp};
use omnigate_store::{SessionRecord, UserUpdate};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::{self, Credential, Principal, secret};
use crate::error::ApiError;
use crate::extract::{ClientAddr, Json};
use crate::state::AppState;
use crate::views::UserView;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    email: String,
    password: String,
}

/// `POST /api/v1/auth/login`: checks the password, applies the lockout rules,
/// starts a session and returns the user with the session's CSRF token.
pub(crate) async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let account_key = request.email.trim().to_lowercase();
    let address_key = client.label().unwrap_or_else(|| "unknown".into());
    let failed = |reason: &str| {
        AuditEvent::new(Actor::Anonymous, AuditAction::LoginFailed)
            .target(account_key.clone())
            .source(client.label())
            .detail(json!({ "reason": reason }).to_string())
    };

    if let Err(until) = state.check_login_throttles(&account_key, &address_key, now) {
        state.audit(&failed("locked out"))?;
        state.durable().await?;
        return Err(locked_out(until, now));
    }

    let credentials = match Email::parse(&request.email) {
        Ok(email) => state.inner.store.user_credentials(&email)?,
        Err(_) => None,
    };
    let (user, hash) = match credentials {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let password_ok = state.verify_password(request.password, hash).await?;
    let refusal = match &user {
        None => Some("unknown account"),
        Some(_) if !password_ok => Some("wrong password"),
        Some(user) if user.disabled => Some("account disabled"),
        Some(_) => None,
    };
    let user = match (refusal, user) {
        (None, Some(user)) => user,
        (reason, _) => {
            let lockout = state.record_login_failure(&account_key, &address_key, now);
            state.audit(&failed(reason.unwrap_or("refused")))?;
            state.durable().await?;
            if let Some(until) = lockout {
                return Err(locked_out(until, now));
            }
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "the e-mail or password is wrong, or the account is disabled",
            ));
        }
    };
    state.clear_account_throttle(&account_key);

    let token = secret::random_token();
    let token_hash = secret::sha256(&token);
    let expires_at = now.plus(state.config().session_ttl);
    let session = SessionRecord {
        user_id: user.id.0,
        created_at_ms: now.0,
        expires_at_ms: expires_at.0,
        last_seen_ms: now.0,
        csrf_token: secret::random_token(),
        source: address_key,
    };
    state.inner.store.put_session(&token_hash, &session)?;
    state.audit(
        &AuditEvent::new(
            Actor::User {
                id: user.id,
                email: user.email.clone(),
            },
            AuditAction::LoginSucceeded,
        )
        .target(format!("user:{}", user.id))
        .source(client.label()),
    )?;
    state.durable().await?;

    let body = json!({
        "user": UserView::from(&user),
        "csrf_token": session.csrf_token,
        "session_expires_at": expires_at.to_rfc3339(),
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        auth::session_cookie_header(&token, expires_at, now)
            .parse()
            .map_err(|e| ApiError::internal(&e))?,
    );
    Ok((headers, ResponseJson(body)).into_response())
}

fn locked_out(until: Timestamp, now: Timestamp) -> ApiError {
    let secs = until.since(now).as_secs();
    ApiError::too_many_attempts(
        format!(
            "too many failed logins; try again after {} (in {} minutes)",
            until.to_rfc3339(),
            secs.div_ceil(60)
        ),
        secs,
    )
}

/// `POST /api/v1/auth/logout`: ends the current session and clears the cookie.
pub(crate) async fn logout(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
) -> Result<Response, ApiError> {
    let Credential::Session { token_hash, .. } = &principal.credential else {
        return Err(ApiError::bad_request(
            "not_a_session",
            "logout ends a browser session; revoke an API token with DELETE /api/v1/tokens/{id}",
        ));
    };
    state.inner.store.delete_session(token_hash)?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::Logout)
            .target(format!("user:{}", principal.user.id))
            .source(client.label()),
    )?;
    state.durable().await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        auth::clear_session_cookie_header()
            .parse()
            .map_err(|e| ApiError::internal(&e))?,
    );
    Ok((headers, StatusCode::NO_CONTENT).into_response())
}

#[derive(Serialize)]
struct Me<'a> {
    user: UserView<'a>,
    authenticated_by: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_id: Option<u64>,
}

/// `GET /api/v1/me`: the caller, and for a session its CSRF token and expiry
/// (so a reloaded console can carry on without logging in again).
pub(crate) async fn me(principal: Principal) -> Response {
    let mut body = Me {
        user: UserView::from(&*principal.user),
        authenticated_by: "session",
        csrf_token: None,
        session_expires_at: None,
        token_id: None,
    };
    match &principal.credential {
        Credential::Session { session, .. } => {
            body.csrf_token = Some(&session.csrf_token);
            body.session_expires_at = Some(session.expires_at().to_rfc3339());
        }
        Credential::Token { id } => {
            body.authenticated_by = "api_token";
            body.token_id = Some(*id);
        }
    }
    ResponseJson(body).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/me/password`: needs the current password; ends the user's
/// other sessions, since a password change often follows a suspected leak.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(request): Json<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    state
        .config()
        .password_policy
        .check(&request.new_password)?;
    let store = &state.inner.store;
    let current = store.password_hash(principal.user.id)?;
    if !state
        .verify_password(request.current_password, current)
        .await?
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "the current password is wrong",
        ));
    }
    let hash = state.hash_password(request.new_password).await?;
    store.update_user(
        principal.user.id,
        UserUpdate {
            password_hash: Some(hash),
            ..UserUpdate::default()
        },
    )?;
    let keep = match &principal.credential {
        Credential::Session { token_hash, .. } => Some(*token_hash),
        Credential::Token { .. } => None,
    };
    let ended = store.delete_sessions_of(principal.user.id, keep.as_ref())?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::PasswordChanged)
            .target(format!("user:{}", principal.user.id))
            .source(client.label())
            .detail(json!({ "other_sessions_ended": ended }).to_string()),
    )?;
    state.durable().await?;
    Ok(StatusCode::NO_CONTENT)
}
