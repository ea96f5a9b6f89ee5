//! omnigate's HTTP surface, independent of sockets and TLS.
//!
//! [`service`] builds the whole HTTP service from an [`AppState`]: the
//! routes plus the tower layers around them; the server crate serves it over
//! rustls and tests drive it with `oneshot` requests.
//! Every endpoint but login and the health probes sits behind
//! [`auth::permit`], which authenticates the caller (session cookie plus CSRF
//! token, or API token), checks the role against the domain's permission
//! table and only then lets the handler run. Errors anywhere, including from
//! axum's own extractors and tower layers, leave as
//! `{"error":{"code","message"}}`.

pub mod auth;
pub mod error;
mod extract;
mod layers;
pub mod metrics;
mod routes;
mod state;
mod views;

pub use error::ApiError;
pub use state::{ApiConfig, AppState};

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::handler::Handler;
use axum::response::Response;
use axum::routing::{delete, get, post};
use omnigate_domain::Permission;

/// Name of the session cookie. The `__Host-` prefix makes browsers refuse it
/// unless it is Secure, has no Domain and has Path=/.
pub const SESSION_COOKIE: &str = "__Host-omnigate_session";

/// Header carrying the CSRF token on state-changing cookie-authenticated requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The complete HTTP service, cheap to clone (one allocation) per request.
pub type ApiService = tower::util::BoxCloneSyncService<Request<Body>, Response, Infallible>;

/// Builds the complete service: API, health probes, metrics, error handling
/// and security layers.
pub fn service(state: AppState) -> ApiService {
    layers::wrap(routes(&state), &state)
}

/// The routes, each guarded by its permission.
fn routes(state: &AppState) -> Router {
    use Permission::{AuditRead, MetricsRead, OwnAccount, TokensManage, UsersManage, UsersRead};
    let permit = |permission| auth::permit(state, permission);

    Router::new()
        .route("/api/v1/auth/login", post(routes::account::login))
        .route(
            "/api/v1/auth/logout",
            post(routes::account::logout.layer(permit(OwnAccount))),
        )
        .route(
            "/api/v1/me",
            get(routes::account::me.layer(permit(OwnAccount))),
        )
        .route(
            "/api/v1/me/password",
            post(routes::account::change_password.layer(permit(OwnAccount))),
        )
        .route(
            "/api/v1/users",
            get(routes::users::list.layer(permit(UsersRead)))
                .post(routes::users::create.layer(permit(UsersManage))),
        )
        .route(
            "/api/v1/users/{id}",
            get(routes::users::get.layer(permit(UsersRead)))
                .patch(routes::users::update.layer(permit(UsersManage))),
        )
        .route(
            "/api/v1/users/{id}/password",
            post(routes::users::reset_password.layer(permit(UsersManage))),
        )
        .route(
            "/api/v1/users/{id}/sessions",
            delete(routes::users::revoke_sessions.layer(permit(UsersManage))),
        )
        .route(
            "/api/v1/tokens",
            get(routes::tokens::list.layer(permit(TokensManage)))
                .post(routes::tokens::create.layer(permit(TokensManage))),
        )
        .route(
            "/api/v1/tokens/{id}",
            delete(routes::tokens::revoke.layer(permit(TokensManage))),
        )
        .route(
            "/api/v1/audit",
            get(routes::audit::list.layer(permit(AuditRead))),
        )
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route(
            "/metrics",
            get(routes::health::metrics.layer(permit(MetricsRead))),
        )
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(metrics::RouteTagLayer)
        .with_state(state.clone())
}
