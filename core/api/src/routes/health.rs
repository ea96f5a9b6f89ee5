//! Probes for systemd, load balancers and Prometheus.

use std::sync::atomic::Ordering;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::views::ProbeStatus;
use axum::Json as ResponseJson;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Liveness.
///
/// The process is alive and answering.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "health",
    responses(
        (status = 200, description = "`{\"status\":\"ok\"}`.", body = ProbeStatus),
    )
)]
pub(crate) async fn healthz() -> ResponseJson<ProbeStatus> {
    ResponseJson(ProbeStatus { status: "ok" })
}

/// Readiness.
///
/// The store takes writes and the server is not shutting down.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "health",
    responses(
        (status = 200, description = "`{\"status\":\"ready\"}`.", body = ProbeStatus),
        (status = 503, description = "`shutting_down`: the server is stopping. `storage_unavailable`: the store cannot take writes.", body = ErrorBody),
    )
)]
pub(crate) async fn readyz(
    State(state): State<AppState>,
) -> Result<ResponseJson<ProbeStatus>, ApiError> {
    if !state.inner.accepting.load(Ordering::SeqCst) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down",
        ));
    }
    if !state.inner.store.is_ready() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the store cannot take writes (its flusher stopped or a flush to disk failed; see the log)",
        ));
    }
    Ok(ResponseJson(ProbeStatus { status: "ready" }))
}

/// Metrics.
///
/// Prometheus/OpenMetrics text: requests by route, method and status,
/// group-commit and process figures.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "health",
    responses(
        (status = 200, description = "The metrics.", body = String,
            content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = state
        .inner
        .metrics
        .render()
        .map_err(|e| ApiError::internal(&e))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
