//! Login, logout, the caller's own account.

use axum::Json as ResponseJson;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use omnigate_domain::{Actor, AuditAction, AuditEvent, Email, PasswordPolicy, Refusal, Timestamp};
use omnigate_store::{SessionRecord, UserUpdate};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{self, Credential, Principal, secret};
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{ClientAddr, Json};
use crate::openapi::schemas;
use crate::state::AppState;
use crate::views::{LoginResponse, UserView};

/// Credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    #[schema(format = Email)]
    email: String,
    #[schema(format = Password)]
    password: String,
}

/// Log in.
///
/// Checks the password, applies the lockout rules, starts a session (the
/// `__Host-omnigate_session` cookie) and returns the user with the
/// session's CSRF token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in.", body = LoginResponse,
            headers(("Set-Cookie" = String, description = "The session cookie `__Host-omnigate_session` (Secure, HttpOnly, SameSite=Strict, Path=/)."))),
        (status = 401, description = "`invalid_credentials`: unknown account, wrong password or disabled account (not told apart).", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: the account or the address is locked out, or other logins for it are being checked.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the next attempt may succeed."))),
        (status = 503, description = "`storage_unavailable`: the server cannot write to disk.", body = ErrorBody),
    )
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let now = state.now();
    state.refuse_if_read_only()?;
    let store = &state.inner.store;
    let email = Email::parse(&request.email).ok();
    // Throttle and audit keys stay small whatever is posted: the normalised
    // address, or one shared key for anything that is not an address.
    let account_key = email
        .as_ref()
        .map_or_else(|| "(not an e-mail address)".to_owned(), Email::to_string);
    let address_key = client.label().unwrap_or_else(|| "unknown".into());
    let attempt = match state.begin_attempt(&account_key, &address_key, now) {
        Ok(attempt) => attempt,
        // Refusals during a lockout are not audited one by one (the start
        // of the lockout is), so a locked-out client cannot fill the disk.
        Err(Refusal::LockedUntil(until)) => return Err(locked_out(until, now)),
        Err(Refusal::Busy) => {
            return Err(ApiError::too_many_attempts(
                "other logins for this account or from this address are being checked; try again in a moment",
                1,
            ));
        }
    };

    let credentials = match &email {
        Some(email) => store.user_credentials(email)?,
        None => None,
    };
    let (user, hash) = match credentials {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let plausible = request.password.chars().count() <= PasswordPolicy::MAX_CHARS;
    let password_ok = plausible
        && state
            .verify_password(request.password, hash.clone())
            .await?;
    let refusal = match &user {
        None => Some("unknown account"),
        Some(_) if !password_ok => Some("wrong password"),
        Some(user) if user.disabled => Some("account disabled"),
        Some(_) => None,
    };
    let user = match (refusal, user) {
        (None, Some(user)) => user,
        (reason, _) => {
            let lockout = attempt.failed(state.now());
            let mut detail = json!({ "reason": reason.unwrap_or("refused") });
            if let Some(until) = lockout {
                detail["lockout_until"] = json!(until.to_rfc3339());
            }
            state.audit(
                &AuditEvent::new(Actor::Anonymous, AuditAction::LoginFailed)
                    .target(account_key)
                    .source(client.label())
                    .detail(detail.to_string()),
            )?;
            state.durable().await?;
            return Err(lockout.map_or_else(invalid_credentials, |until| locked_out(until, now)));
        }
    };
    attempt.succeeded();

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
    store.put_session(&token_hash, &session)?;
    // A password reset or change that landed while this password was being
    // checked wins: the session made with the old password is withdrawn.
    // (The reset ends sessions after changing the hash, so one of the two
    // always sees the other.)
    if store.password_hash(user.id)? != hash {
        store.delete_session(&token_hash)?;
        return Err(invalid_credentials());
    }
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

    let body = LoginResponse {
        user: UserView::from(&user),
        csrf_token: &session.csrf_token,
        session_expires_at: expires_at.to_rfc3339(),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        auth::session_cookie_header(&token, expires_at, now)
            .parse()
            .map_err(|e| ApiError::internal(&e))?,
    );
    Ok((headers, ResponseJson(body)).into_response())
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "the e-mail or password is wrong, or the account is disabled",
    )
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

/// Log out.
///
/// Ends the current session and clears the cookie. Only for sessions: an API
/// token is revoked with `DELETE /api/v1/tokens/{id}`.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    operation_id = "logout",
    tag = "auth",
    responses(
        (status = 204, description = "Logged out.",
            headers(("Set-Cookie" = String, description = "Clears `__Host-omnigate_session`."))),
        (status = 400, description = "`not_a_session`: the caller used an API token.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
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

/// The caller and how they authenticated.
#[derive(Serialize, ToSchema)]
pub(crate) struct Me<'a> {
    user: UserView<'a>,
    #[schema(schema_with = schemas::authenticated_by)]
    authenticated_by: &'static str,
    /// For a session: its CSRF token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    csrf_token: Option<&'a str>,
    /// For a session: when it ends at the latest.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = DateTime)]
    session_expires_at: Option<String>,
    /// For an API token: its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64)]
    token_id: Option<u64>,
}

/// The caller.
///
/// The caller, and for a session its CSRF token and expiry (so a reloaded
/// console can carry on without logging in again).
#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "me",
    tag = "account",
    responses(
        (status = 200, description = "The caller.", body = Me),
    ),
    security(("session" = []), ("api_token" = []))
)]
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

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangePassword {
    #[schema(format = Password)]
    current_password: String,
    /// Must satisfy the password policy.
    #[schema(format = Password)]
    new_password: String,
}

/// Change the caller's password.
///
/// Needs the current password; a wrong one counts as a failed login for
/// the account. Ends the user's other sessions, since a password change
/// often follows a suspected leak.
#[utoipa::path(
    post,
    path = "/api/v1/me/password",
    operation_id = "change_own_password",
    tag = "account",
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed."),
        (status = 403, description = "`wrong_password`: the current password is wrong.", body = ErrorBody),
        (status = 422, description = "`invalid_request`: the new password breaks the password policy.", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many wrong passwords for this account or from this address.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the next attempt may succeed."))),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
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
    // Guessing through this endpoint (with a stolen session or token) is
    // throttled and audited like guessing at the login form.
    let account_key = principal.user.email.to_string();
    let address_key = client.label().unwrap_or_else(|| "unknown".into());
    let attempt = match state.begin_attempt(&account_key, &address_key, state.now()) {
        Ok(attempt) => attempt,
        Err(Refusal::LockedUntil(until)) => return Err(locked_out(until, state.now())),
        Err(Refusal::Busy) => {
            return Err(ApiError::too_many_attempts(
                "another password check for this account is in progress; try again in a moment",
                1,
            ));
        }
    };
    let current = store.password_hash(principal.user.id)?;
    if !state
        .verify_password(request.current_password, current)
        .await?
    {
        let lockout = attempt.failed(state.now());
        let mut detail = json!({ "reason": "wrong current password" });
        if let Some(until) = lockout {
            detail["lockout_until"] = json!(until.to_rfc3339());
        }
        state.audit(
            &AuditEvent::new(principal.actor(), AuditAction::PasswordChangeFailed)
                .target(format!("user:{}", principal.user.id))
                .source(client.label())
                .detail(detail.to_string()),
        )?;
        state.durable().await?;
        if let Some(until) = lockout {
            return Err(locked_out(until, state.now()));
        }
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "the current password is wrong",
        ));
    }
    attempt.succeeded();
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
