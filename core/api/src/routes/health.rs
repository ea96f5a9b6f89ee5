//! Probes for systemd, load balancers and Prometheus.

use std::sync::atomic::Ordering;

use axum::Json as ResponseJson;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /healthz`: the process is alive and answering.
pub(crate) async fn healthz() -> ResponseJson<Value> {
    ResponseJson(json!({ "status": "ok" }))
}

/// `GET /readyz`: the store takes writes and the server is not shutting down.
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<ResponseJson<Value>, ApiError> {
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
    Ok(ResponseJson(json!({ "status": "ready" })))
}

/// `GET /metrics`: Prometheus/OpenMetrics text.
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
