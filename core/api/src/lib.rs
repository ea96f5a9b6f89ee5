//! omnigate's HTTP surface, independent of sockets and TLS.
//!
//! [`service`] builds the whole HTTP service from an [`AppState`]: the
//! routes plus the tower layers around them; the server crate serves it over
//! rustls and tests drive it with `oneshot` requests.
//! Every endpoint but login, the health probes and the OpenAPI document
//! (`GET /api/v1/openapi.json`) sits behind [`auth::permit`], which
//! authenticates the caller (session cookie plus CSRF token, or API token),
//! checks the role against the domain's permission table and only then lets
//! the handler run. Errors anywhere, including from
//! axum's own extractors and tower layers, leave as
//! `{"error":{"code","message"}}`.
//! The embedded web console is served at `/` and `/assets/` (module
//! `console`), with its own Content-Security-Policy.

pub mod auth;
mod console;
pub mod error;
mod extract;
mod layers;
pub mod metrics;
mod openapi;
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
use axum::routing::{delete, get, patch, post, put};
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
    use Permission::{
        AuditRead, ChannelsManage, ConversationsSupervise, ConversationsWork, DeskConfigure,
        MetricsRead, OwnAccount, PluginsManage, TokensManage, UsersManage, UsersRead,
    };
    use routes::{attachments, canned, channels, conversations, deliveries, desk, events};
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
        .route(
            "/api/v1/me/presence",
            put(desk::set_own_presence.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/events",
            get(events::events.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/inbox",
            get(conversations::inbox.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/queue/pull",
            post(desk::pull.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/agents",
            get(desk::agents.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/agents/{id}/presence",
            put(desk::set_presence.layer(permit(ConversationsSupervise))),
        )
        .route(
            "/api/v1/agents/{id}/capacity",
            put(desk::set_capacity.layer(permit(DeskConfigure))),
        )
        .route(
            "/api/v1/supervisor/desk",
            get(desk::supervisor_view.layer(permit(ConversationsSupervise))),
        )
        .route(
            "/api/v1/desk/channels",
            get(desk::channels.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/desk/settings",
            get(desk::settings.layer(permit(ConversationsWork)))
                .patch(desk::change_settings.layer(permit(DeskConfigure))),
        )
        .route(
            "/api/v1/conversations",
            get(conversations::list.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}",
            get(conversations::get.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/messages",
            get(conversations::messages.layer(permit(ConversationsWork)))
                .post(conversations::send.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/attachments",
            post(attachments::upload.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/attachments/{sha256}",
            get(attachments::download.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/read",
            post(conversations::mark_read.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/tags",
            put(conversations::set_tags.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/transfer",
            post(conversations::transfer.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/transfer/accept",
            post(conversations::accept_transfer.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/transfer/decline",
            post(conversations::decline_transfer.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/transfer-to-queue",
            post(conversations::transfer_to_queue.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/transfer-to-flow",
            post(conversations::transfer_to_flow.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/end",
            post(conversations::end.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/export",
            get(conversations::export.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/reopen",
            post(conversations::reopen.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/reassign",
            post(conversations::reassign.layer(permit(ConversationsSupervise))),
        )
        .route(
            "/api/v1/canned",
            get(canned::list.layer(permit(ConversationsWork)))
                .post(canned::create.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/canned/{id}",
            patch(canned::update.layer(permit(ConversationsWork)))
                .delete(canned::delete.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/canned/{id}/render",
            post(canned::render_for.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/channels",
            get(channels::list.layer(permit(ChannelsManage)))
                .post(channels::create.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/channels/{id}",
            get(channels::get.layer(permit(ChannelsManage)))
                .patch(channels::update.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/channels/{id}/token",
            post(channels::rotate_token.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/deliveries/pending",
            get(deliveries::pending.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/deliveries/dead",
            get(deliveries::dead.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/deliveries/dead/{message_id}",
            delete(deliveries::discard.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/deliveries/dead/{message_id}/retry",
            post(deliveries::retry.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/flows",
            get(routes::flows::list.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/flows",
            post(routes::flows::create.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/flows/{id}",
            patch(routes::flows::update.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/flows/{id}",
            delete(routes::flows::delete.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/shops",
            get(routes::shops::list.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/shops",
            post(routes::shops::create.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/shops/{id}",
            patch(routes::shops::update.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/shops/{id}",
            delete(routes::shops::delete.layer(permit(ChannelsManage))),
        )
        .route(
            "/api/v1/shops/{id}/products",
            get(routes::shops::products.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/shops/{id}/orders/{order}",
            get(routes::shops::order.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/orders",
            get(routes::shops::contact_orders.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/conversations/{id}/templates",
            get(routes::templates::list.layer(permit(ConversationsWork))),
        )
        .route(
            "/api/v1/plugins",
            get(routes::plugins::list.layer(permit(PluginsManage))),
        )
        .route(
            "/api/v1/plugins",
            post(routes::plugins::install.layer(permit(PluginsManage)).layer(
                axum::extract::DefaultBodyLimit::max(routes::plugins::MAX_PLUGIN_BYTES),
            )),
        )
        .route(
            "/api/v1/plugins/{name}/enable",
            post(routes::plugins::enable.layer(permit(PluginsManage))),
        )
        .route(
            "/api/v1/plugins/{name}/disable",
            post(routes::plugins::disable.layer(permit(PluginsManage))),
        )
        .route(
            "/api/v1/plugins/{name}",
            delete(routes::plugins::remove.layer(permit(PluginsManage))),
        )
        // Authenticated by the channel's own inbound token (API channels)
        // or by the provider's signature, which the plugin checks.
        .route("/webhooks/{channel}", post(channels::webhook))
        .route("/webhooks/{channel}", get(channels::handshake))
        .route(
            "/webhooks/{channel}/attachments",
            post(attachments::upload_inbound),
        )
        // Describes the API; grants nothing, so it needs no permission.
        .route("/api/v1/openapi.json", get(openapi::serve))
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route(
            "/metrics",
            get(routes::health::metrics.layer(permit(MetricsRead))),
        )
        // The web console's pages and assets: not API operations, so they
        // are merged as one block, out of the OpenAPI consistency test's
        // reading of this function's routes.
        .merge(console::router())
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(metrics::RouteTagLayer)
        .with_state(state.clone())
}
