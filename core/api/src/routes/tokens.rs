//! API tokens for integrations.

use axum::Json as ResponseJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use omnigate_domain::{AuditAction, AuditEvent, UserId};
use omnigate_store::tokens::NewToken;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Principal, secret};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ClientAddr, Json, parse_id};
use crate::state::AppState;
use crate::views::{CreatedToken, TokenList, TokenView};

/// List API tokens.
///
/// Every token, without secrets.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    operation_id = "list_tokens",
    tag = "tokens",
    responses(
        (status = 200, description = "Every token.", body = TokenList),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<ResponseJson<TokenList>, ApiError> {
    let tokens = state.inner.store.tokens()?;
    let tokens: Vec<TokenView> = tokens.iter().map(TokenView::from).collect();
    Ok(ResponseJson(TokenList { tokens }))
}

/// A new API token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateToken {
    /// 1 to 100 characters.
    name: String,
    /// The user the token acts as; the caller when absent.
    user_id: Option<u64>,
}

/// Create an API token.
///
/// The secret is in this answer and nowhere else.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    operation_id = "create_token",
    tag = "tokens",
    request_body = CreateToken,
    responses(
        (status = 201, description = "Created.", body = CreatedToken),
        (status = 409, description = "`user_disabled`: the user it would act as is disabled.", body = ErrorBody),
        (status = 422, description = "`invalid_request`: the name is empty or too long, or `user_id` names no user.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(request): Json<CreateToken>,
) -> Result<(StatusCode, ResponseJson<CreatedToken>), ApiError> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(
            omnigate_domain::ValidationError::new("name", "must have 1 to 100 characters").into(),
        );
    }
    let user = match request.user_id {
        None => (*principal.user).clone(),
        Some(id) => state.inner.store.user(UserId(id))?.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                format!("user_id: no user with id {id}"),
            )
        })?,
    };
    if user.disabled {
        return Err(ApiError::conflict(
            "user_disabled",
            "tokens cannot act as a disabled user",
        ));
    }
    let secret = format!("{}{}", secret::API_TOKEN_PREFIX, secret::random_token());
    let token = state.inner.store.create_token(NewToken {
        name: name.to_owned(),
        user: user.id,
        created_by: principal.user.id,
        created_at: state.now(),
        hash: secret::sha256(&secret),
    })?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::TokenCreated)
            .target(format!("token:{}", token.id))
            .source(client.label())
            .detail(json!({ "name": token.name, "acts_as": user.email.as_str() }).to_string()),
    )?;
    state.durable().await?;
    Ok((
        StatusCode::CREATED,
        ResponseJson(CreatedToken {
            token: TokenView::from(&token),
            secret,
        }),
    ))
}

/// Revoke an API token.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    operation_id = "revoke_token",
    tag = "tokens",
    params(("id" = u64, Path, description = "The token's id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "`not_found`: no such token.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    let id = parse_id("token", &id)?;
    let token = state.inner.store.delete_token(id)?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::TokenRevoked)
            .target(format!("token:{}", token.id))
            .source(client.label())
            .detail(json!({ "name": token.name }).to_string()),
    )?;
    state.durable().await?;
    Ok(StatusCode::NO_CONTENT)
}
