//! The tower layers around the router: security headers, metrics, JSON
//! errors for everything, panic catching, timeouts and body limits.

use std::any::Any;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::timeout::TimeoutLayer;

use crate::ApiService;
use crate::error::{self, ApiError};
use crate::extract::payload_too_large;
use crate::metrics;
use crate::state::AppState;

/// Content-Security-Policy for what the API sends (JSON, text, files): such
/// a response may not load or run anything and may not be framed. OWASP's
/// recommendation for APIs; the console's HTML pages will set their own,
/// wider policy (`'self'` scripts and styles), which this layer leaves alone.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Headers every response carries, unless a handler set its own.
const SECURITY_HEADERS: [(HeaderName, &str); 6] = [
    (
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=63072000; includeSubDomains",
    ),
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

pub(crate) fn security_headers(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    let headers = response.headers_mut();
    headers.reserve(SECURITY_HEADERS.len());
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// Wraps the router in the layers every request passes, outermost first.
///
/// They sit outside the router (not `Router::layer`, which would wrap and
/// box every route separately and clone that nest on every request), so a
/// request pays for one clone of this stack.
pub(crate) fn wrap(router: Router, state: &AppState) -> ApiService {
    let limit = state.config().body_limit_bytes;
    let stack = ServiceBuilder::new()
        // Outermost: panic catching, metrics, JSON errors and security
        // headers in one step (each extra layer here costs every request a
        // nested future and, for body-changing layers, a boxed body).
        .layer(metrics::TrackLayer {
            state: state.clone(),
        })
        // Bodies are read only through axum's extractors, which enforce this.
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            state.config().request_timeout,
        ))
        .service(router);
    ApiService::new(stack)
}

pub(crate) fn panic_response(cause: Box<dyn Any + Send + 'static>) -> Response {
    let message = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed to handle the request; the cause is in its log",
    )
    .into_response()
}

/// Gives error responses produced outside our handlers (tower layers, axum's
/// own rejections) the API's JSON error shape.
pub(crate) fn json_errors(response: impl IntoResponse) -> Response {
    let response = response.into_response();
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return payload_too_large().into_response();
    }
    let (code, message) = match status {
        StatusCode::SERVICE_UNAVAILABLE => {
            ("timeout", "the request took too long and was abandoned")
        }
        StatusCode::BAD_REQUEST => ("bad_request", "the request is malformed"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "the body's content type is not supported",
        ),
        _ => ("error", status.canonical_reason().unwrap_or("error")),
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(error::body(code, message)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use omnigate_domain::SystemClock;
    use tower::ServiceExt;

    use super::*;
    use crate::state::ApiConfig;

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_json_500_with_security_headers() {
        let dir = tempfile::tempdir().unwrap();
        let store = omnigate_store::Store::open(dir.path()).unwrap();
        let clock: Arc<dyn omnigate_domain::Clock> = Arc::new(SystemClock);
        let engine = omnigate_engine::Engine::start(
            Arc::clone(&store),
            Arc::clone(&clock),
            omnigate_engine::EngineConfig::default(),
        )
        .unwrap();
        let state = AppState::new(store, engine, clock, ApiConfig::default());
        let boom: Router = Router::new().route(
            "/boom",
            get(|| async {
                let depth = std::hint::black_box(0usize);
                ["only"][depth + 1]
            }),
        );
        let app = wrap(boom, &state);
        let response = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            response.headers()[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"], "internal");
        assert!(!String::from_utf8_lossy(&body).contains("index out of bounds"));
    }
}
