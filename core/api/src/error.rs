//! The API's one error type and its JSON shape.
//!
//! Client errors carry their message to the client. Internal errors are
//! logged with their cause and answered with a generic message, so nothing
//! about the server's insides leaks.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use omnigate_domain::ValidationError;
use omnigate_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answered as `{"error":{"code","message"}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error with an explicit status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// 400: the request is syntactically fine but makes no sense.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no valid session or token.
    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 403: authenticated, but the role does not allow it.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    /// 429 with a `Retry-After` header.
    pub fn too_many_attempts(message: impl Into<String>, retry_after_secs: u64) -> ApiError {
        ApiError {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", message)
        }
    }

    /// 500: logs `cause` and tells the client only that something failed.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error while handling a request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to handle the request; the cause is in its log",
        )
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            err.to_string(),
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::Conflict(message) => ApiError::conflict("conflict", message),
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Flush(_) => {
                tracing::error!(error = %err, "write could not be made durable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "writing to disk failed, so the outcome of this request is unknown; the server refuses further changes until an administrator fixes the disk and restarts it",
                )
            }
            other => ApiError::internal(&other),
        }
    }
}

/// The body of every error answer: `{"error":{"code","message"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody<'a> {
    pub error: ErrorDetail<'a>,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorDetail<'a> {
    /// Machine-readable, stable: `not_found`, `invalid_request`, ...
    pub code: &'a str,
    /// For people; names the offending field where there is one.
    pub message: &'a str,
}

/// The JSON body of an error.
pub(crate) fn body(code: &str, message: &str) -> String {
    let body = ErrorBody {
        error: ErrorDetail { code, message },
    };
    // A struct of two strings cannot fail to serialize; the fallback only
    // keeps this function total.
    serde_json::to_string(&body).unwrap_or_else(|_| {
        r#"{"error":{"code":"internal","message":"the error could not be encoded"}}"#.to_owned()
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body(self.code, &self.message),
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<omnigate_engine::EngineError> for ApiError {
    fn from(err: omnigate_engine::EngineError) -> ApiError {
        use omnigate_domain::routing::RuleError;
        use omnigate_engine::EngineError;
        let message = err.to_string();
        match err {
            EngineError::Store(store) => store.into(),
            EngineError::Search(cause) | EngineError::Internal(cause) => ApiError::internal(&cause),
            EngineError::Invalid(invalid) => invalid.into(),
            EngineError::WindowClosed(_) => ApiError::conflict("template_required", message),
            EngineError::Forbidden(_) => ApiError::forbidden(message),
            EngineError::ReadOnly(_) => ApiError::conflict("conversation_ended", message),
            EngineError::ChannelDisabled(_) => ApiError::conflict("channel_disabled", message),
            EngineError::Rule(rule) => match rule {
                RuleError::UnknownConversation(_) => ApiError::not_found(message),
                RuleError::DuplicateConversation(_) => ApiError::conflict("conflict", message),
                RuleError::WrongState { .. } => ApiError::conflict("wrong_state", message),
                RuleError::NotHolder { .. } => ApiError::new(
                    StatusCode::FORBIDDEN,
                    "not_holder",
                    format!("{message}; only the agent who holds it may do this"),
                ),
                RuleError::NotOnline(_) => ApiError::conflict("agent_not_online", message),
                RuleError::TransferToSelf => {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
                }
                RuleError::NotTransferTarget { .. } => {
                    ApiError::new(StatusCode::FORBIDDEN, "not_transfer_target", message)
                }
                RuleError::QueueEmpty => ApiError::conflict("queue_empty", message),
                RuleError::EndReasonRequired | RuleError::UnknownEndReason(_) => ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_end_reason",
                    message,
                ),
            },
        }
    }
}
