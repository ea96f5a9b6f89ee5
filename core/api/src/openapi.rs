//! The OpenAPI document of the API, generated from the code so that it
//! cannot drift: each handler's `#[utoipa::path]` attribute names its
//! method, path, parameters, body and answers; the wire types derive
//! `ToSchema`. Served at `GET /api/v1/openapi.json` (no authentication: it
//! describes, it grants nothing) and kept in `docs/openapi.json`, which a
//! test compares with what the code generates.
//!
//! Answers that do not depend on the handler are added here, by
//! [`CommonErrors`], from what the operation declares, so that each
//! attribute lists only what its handler itself can answer:
//! - a security requirement on the session or an API token means the
//!   `permit` layer runs first: 401 `unauthenticated`, 403 `forbidden`, and
//!   for state-changing methods 403 `csrf_token_invalid` and 503
//!   `storage_unavailable` (a server that cannot write refuses changes);
//! - a JSON request body means the `Json` extractor: 400 `malformed_json`,
//!   413 `payload_too_large`, 415 `unsupported_media_type`, 422
//!   `invalid_request`;
//! - query parameters mean the `Query` extractor: 400 `invalid_request`;
//! - every operation: 500 `internal` and 503 `timeout`.

use std::sync::LazyLock;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::error::{ApiError, ErrorBody};
use crate::routes;

/// The document's root: info, every operation, the security schemes and tags.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "omnigate API",
        version = env!("CARGO_PKG_VERSION"),
        description = "The JSON API of omnigate, the on-prem omnichannel customer-service server. \
            Every error is `{\"error\":{\"code\",\"message\"}}` with the status that fits; \
            times are RFC 3339 in UTC. Browsers use the session cookie from `POST /api/v1/auth/login` \
            and send its CSRF token as `X-CSRF-Token` on every state-changing request; \
            integrations send `Authorization: Bearer <api token>`.",
        license(name = "Apache-2.0")
    ),
    paths(
        routes::account::login,
        routes::account::logout,
        routes::account::me,
        routes::account::change_password,
        routes::users::list,
        routes::users::create,
        routes::users::get,
        routes::users::update,
        routes::users::reset_password,
        routes::users::revoke_sessions,
        routes::tokens::list,
        routes::tokens::create,
        routes::tokens::revoke,
        routes::audit::list,
        routes::desk::set_own_presence,
        routes::desk::pull,
        routes::desk::agents,
        routes::desk::set_presence,
        routes::desk::set_capacity,
        routes::desk::supervisor_view,
        routes::desk::channels,
        routes::desk::settings,
        routes::desk::change_settings,
        routes::conversations::inbox,
        routes::conversations::list,
        routes::conversations::get,
        routes::conversations::messages,
        routes::conversations::send,
        routes::conversations::mark_read,
        routes::conversations::set_tags,
        routes::conversations::transfer,
        routes::conversations::accept_transfer,
        routes::conversations::decline_transfer,
        routes::conversations::transfer_to_queue,
        routes::conversations::transfer_to_flow,
        routes::conversations::end,
        routes::conversations::reopen,
        routes::conversations::reassign,
        routes::attachments::upload,
        routes::attachments::download,
        routes::attachments::upload_inbound,
        routes::events::events,
        routes::canned::list,
        routes::canned::create,
        routes::canned::update,
        routes::canned::delete,
        routes::canned::render_for,
        routes::channels::list,
        routes::channels::create,
        routes::channels::get,
        routes::channels::update,
        routes::channels::rotate_token,
        routes::channels::inbound,
        routes::channels::handshake,
        routes::plugins::list,
        routes::flows::list,
        routes::flows::create,
        routes::flows::update,
        routes::flows::delete,
        routes::shops::list,
        routes::shops::create,
        routes::shops::update,
        routes::shops::delete,
        routes::shops::contact_orders,
        routes::templates::list,
        routes::shops::products,
        routes::shops::order,
        routes::plugins::install,
        routes::plugins::enable,
        routes::plugins::disable,
        routes::plugins::remove,
        routes::conversations::export,
        routes::deliveries::pending,
        routes::deliveries::dead,
        routes::deliveries::retry,
        routes::deliveries::discard,
        routes::health::healthz,
        routes::health::readyz,
        routes::health::metrics,
        serve,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes, &CommonErrors),
    tags(
        (name = "auth", description = "Logging in and out."),
        (name = "account", description = "The caller's own account."),
        (name = "users", description = "User administration."),
        (name = "tokens", description = "API tokens for integrations."),
        (name = "audit", description = "The tamper-evident audit log."),
        (name = "desk", description = "Presence, capacity, the queue and the supervisor's view."),
        (name = "conversations", description = "The inbox, history, threads and the agent's actions."),
        (name = "canned", description = "Canned responses."),
        (name = "channels", description = "Channel configuration."),
        (name = "deliveries", description = "Outbound messages waiting to be delivered, and those given up on."),
        (name = "flows", description = "Chatbot flows: configuration, and the list agents hand conversations to."),
        (name = "shops", description = "Shop integrations: configuration, and the orders and products agents see beside a conversation."),
        (name = "plugins", description = "Installed plugins: install, upgrade, enable, disable, remove."),
        (name = "webhooks", description = "What integrators of an API channel, and the providers of plugin channels, send to omnigate."),
        (name = "health", description = "Probes, metrics and this document."),
    )
)]
pub(crate) struct ApiDoc;

/// Names of the security schemes, as the `security(...)` attributes use them.
mod scheme {
    pub(super) const SESSION: &str = "session";
    pub(super) const CSRF: &str = "csrf";
    pub(super) const API_TOKEN: &str = "api_token";
    pub(super) const CHANNEL_TOKEN: &str = "channel_token";
}

/// Declares the security schemes the operations refer to.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            scheme::SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::SESSION_COOKIE,
                "The browser session set by `POST /api/v1/auth/login` (Secure, HttpOnly, SameSite=Strict).",
            ))),
        );
        components.add_security_scheme(
            scheme::CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's CSRF token (from login or `GET /api/v1/me`), required with the session cookie on every request that is not GET or HEAD.",
            ))),
        );
        components.add_security_scheme(
            scheme::API_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ogt_...")
                    .description(Some(
                        "An API token (`POST /api/v1/tokens`); acts as its user with that user's role. No CSRF token needed.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            scheme::CHANNEL_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ogc_...")
                    .description(Some(
                        "A channel's inbound token (from creating the channel or rotating its token), valid only for that channel's `/webhooks/{channel}`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the answers that come from layers and extractors rather than from
/// the handler (see the module documentation).
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (&mut item.get, false),
                (&mut item.put, true),
                (&mut item.post, true),
                (&mut item.delete, true),
                (&mut item.patch, true),
            ];
            for (operation, changes_state) in operations {
                if let Some(operation) = operation {
                    add_common_errors(operation, changes_state);
                }
            }
        }
    }
}

fn add_common_errors(operation: &mut Operation, changes_state: bool) {
    // Whether the `permit` layer guards it: a session or API token is one
    // of the ways in. (`SecurityRequirement` keeps its scheme names private;
    // its JSON form shows them.)
    let by_user = operation.security.as_ref().is_some_and(|requirements| {
        let json = serde_json::to_value(requirements).unwrap_or_default();
        json.as_array().is_some_and(|list| {
            list.iter()
                .any(|r| r.get(scheme::SESSION).is_some() || r.get(scheme::API_TOKEN).is_some())
        })
    });
    let has_query = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Query);
    if operation.request_body.is_some() {
        add_error(operation, 400, "`malformed_json`: the body is not JSON.");
        add_error(
            operation,
            413,
            "`payload_too_large`: the body is larger than `server.request_body_limit_bytes`.",
        );
        add_error(
            operation,
            415,
            "`unsupported_media_type`: the body is not sent as `application/json`.",
        );
        add_error(
            operation,
            422,
            "`invalid_request`: the JSON does not match the schema, or a value breaks a rule (the message names the field).",
        );
    }
    if has_query {
        add_error(
            operation,
            400,
            "`invalid_request`: a query parameter is malformed.",
        );
    }
    if by_user {
        add_error(
            operation,
            401,
            "`unauthenticated`: no session or API token, or one that expired or was revoked.",
        );
        add_error(
            operation,
            403,
            "`forbidden`: the caller's role does not allow this.",
        );
        if changes_state {
            add_error(
                operation,
                403,
                "`csrf_token_invalid`: a session request without the session's `X-CSRF-Token`.",
            );
            add_error(
                operation,
                503,
                "`storage_unavailable`: a flush to disk failed; the server refuses changes until it is repaired and restarted.",
            );
        }
    }
    add_error(
        operation,
        500,
        "`internal`: a bug; the cause is in the server log, not in the answer.",
    );
    add_error(
        operation,
        503,
        "`timeout`: the request took longer than `server.request_timeout_secs`.",
    );
}

/// Adds `description` to the operation's answer with `status`, creating it
/// (with the error body) if the operation does not have one yet.
fn add_error(operation: &mut Operation, status: u16, description: &str) {
    let responses = &mut operation.responses.responses;
    match responses.get_mut(&status.to_string()) {
        Some(RefOr::T(response)) => {
            if !response.description.contains(description) {
                response.description = format!("{} {description}", response.description);
            }
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            let response = ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build();
            responses.insert(status.to_string(), RefOr::T(response));
        }
    }
}

/// The document as compact JSON, made once.
static DOCUMENT: LazyLock<Result<String, String>> =
    LazyLock::new(|| ApiDoc::openapi().to_json().map_err(|e| e.to_string()));

/// The OpenAPI document.
///
/// This document, describing every endpoint, its parameters, bodies,
/// answers and security.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    tag = "health",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", body = Object, content_type = "application/json"),
    )
)]
pub(crate) async fn serve() -> Result<Response, ApiError> {
    match &*DOCUMENT {
        Ok(json) => Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json.clone(),
        )
            .into_response()),
        Err(error) => Err(ApiError::internal(error)),
    }
}

/// Schemas the derives cannot express: strings from a fixed set, and
/// message content.
pub(crate) mod schemas {
    use omnigate_domain::conversation::MessageLimits;
    use utoipa::openapi::schema::{
        ArrayBuilder, Discriminator, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
    };
    use utoipa::openapi::{Ref, RefOr};
    use utoipa::{PartialSchema, ToSchema};

    fn one_of(values: &[&str]) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
    }

    fn nullable_one_of(values: &[&str]) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .enum_values(Some(
                values
                    .iter()
                    .map(|v| serde_json::Value::from(*v))
                    .chain([serde_json::Value::Null]),
            ))
    }

    /// A user's role.
    pub(crate) fn role() -> ObjectBuilder {
        one_of(&["agent", "supervisor", "admin"])
    }

    /// A user's role, where `null` means no change.
    pub(crate) fn role_or_null() -> ObjectBuilder {
        nullable_one_of(&["agent", "supervisor", "admin"])
    }

    /// An agent's presence.
    pub(crate) fn presence() -> ObjectBuilder {
        one_of(&["online", "break", "offline"])
    }

    /// A conversation's status.
    pub(crate) fn conversation_status() -> ObjectBuilder {
        one_of(&["in_flow", "queued", "assigned", "transfer_pending", "ended"])
    }

    /// A message's direction.
    pub(crate) fn direction() -> ObjectBuilder {
        one_of(&["inbound", "outbound", "note"])
    }

    /// Who wrote a message.
    pub(crate) fn author() -> ObjectBuilder {
        one_of(&["contact", "agent", "bot", "system"])
    }

    /// An outbound message's delivery status; `null` for others.
    pub(crate) fn delivery() -> ObjectBuilder {
        nullable_one_of(&["queued", "sent", "delivered", "read", "failed"])
    }

    /// An outbound message's delivery status.
    pub(crate) fn delivery_status() -> ObjectBuilder {
        one_of(&["queued", "sent", "delivered", "read", "failed"])
    }

    /// How the caller of `GET /api/v1/me` authenticated.
    pub(crate) fn authenticated_by() -> ObjectBuilder {
        one_of(&["session", "api_token"])
    }

    /// What a health probe says.
    pub(crate) fn probe_status() -> ObjectBuilder {
        one_of(&["ok", "ready"])
    }

    /// A delivery status an integrator reports.
    pub(crate) fn reported_status() -> ObjectBuilder {
        one_of(&["sent", "delivered", "read", "failed"])
    }

    /// A `status` filter of the history.
    pub(crate) fn status_filter() -> ObjectBuilder {
        one_of(&[
            "in_flow",
            "queued",
            "assigned",
            "transfer_pending",
            "ended",
            "open",
        ])
        .description(Some("A status, or `open` for every one but `ended`."))
    }

    /// Message content: a JSON object whose `type` says which of the
    /// variants it is (the format of `omnigate_engine::wire`).
    pub(crate) struct MessageContent;

    const CONTENT_DESCRIPTION: &str = "Message content, told apart by `type`. \
        Requests may leave out the optional fields; answers carry every field, `null` when absent.";

    impl PartialSchema for MessageContent {
        fn schema() -> RefOr<Schema> {
            let variants = content_variants();
            let mut one_of = OneOfBuilder::new().description(Some(CONTENT_DESCRIPTION));
            for (name, _, _) in &variants {
                one_of = one_of.item(Ref::from_schema_name(*name));
            }
            one_of
                .discriminator(Some(Discriminator::with_mapping(
                    "type",
                    variants
                        .iter()
                        .map(|(name, tag, _)| (*tag, format!("#/components/schemas/{name}"))),
                )))
                .into()
        }
    }

    impl ToSchema for MessageContent {
        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            for (name, _, schema) in content_variants() {
                schemas.push((name.to_owned(), schema));
            }
        }
    }

    fn string(description: &str) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
    }

    fn bounded(description: &str, max_chars: usize) -> ObjectBuilder {
        string(description)
            .min_length(Some(1))
            .max_length(Some(max_chars))
    }

    fn nullable(description: &str, max_chars: Option<usize>) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .description(Some(description))
            .max_length(max_chars)
    }

    fn strings(description: &str, min: usize, max: usize, max_chars: usize) -> ArrayBuilder {
        ArrayBuilder::new()
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(max_chars)),
            )
            .min_items(Some(min))
            .max_items(Some(max))
            .description(Some(description))
    }

    fn number(description: &str, bound: f64) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Double,
            )))
            .minimum(Some(-bound))
            .maximum(Some(bound))
            .description(Some(description))
    }

    /// One variant: an object with `type` fixed to `tag`, the given
    /// properties, and the required ones.
    fn variant(
        tag: &str,
        description: &str,
        properties: Vec<(&str, RefOr<Schema>)>,
        required: &[&str],
    ) -> RefOr<Schema> {
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(description))
            .property("type", one_of(&[tag]))
            .required("type");
        for (name, schema) in properties {
            object = object.property(name, schema);
        }
        for name in required {
            object = object.required(*name);
        }
        object.into()
    }

    /// (schema name, `type` value, schema) of every content variant.
    fn content_variants() -> Vec<(&'static str, &'static str, RefOr<Schema>)> {
        let button = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("id", bounded("Returned in the reply.", 256))
            .property(
                "title",
                bounded("The button's label.", MessageLimits::BUTTON_TITLE_CHARS),
            )
            .required("id")
            .required("title");
        vec![
            (
                "TextContent",
                "text",
                variant(
                    "text",
                    "Plain text (emoji included).",
                    vec![(
                        "text",
                        bounded("The text.", MessageLimits::TEXT_CHARS).into(),
                    )],
                    &["text"],
                ),
            ),
            (
                "MediaContent",
                "media",
                variant(
                    "media",
                    "A file: image, video, audio, document or sticker.",
                    vec![
                        (
                            "kind",
                            one_of(&["image", "video", "audio", "document", "sticker"]).into(),
                        ),
                        (
                            "attachment",
                            bounded(
                                "The stored attachment (content hash) or the provider's media id.",
                                200,
                            )
                            .into(),
                        ),
                        (
                            "mime",
                            bounded("MIME type; `application/octet-stream` when left out.", 100)
                                .into(),
                        ),
                        (
                            "size_bytes",
                            ObjectBuilder::new()
                                .schema_type(Type::Integer)
                                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                                    utoipa::openapi::KnownFormat::Int64,
                                )))
                                .minimum(Some(0))
                                .description(Some("Size in bytes; 0 when left out."))
                                .into(),
                        ),
                        (
                            "caption",
                            nullable(
                                "Caption shown under it.",
                                Some(MessageLimits::CAPTION_CHARS),
                            )
                            .into(),
                        ),
                        (
                            "filename",
                            nullable("Original file name, for documents.", None).into(),
                        ),
                    ],
                    &["kind", "attachment"],
                ),
            ),
            (
                "TemplateContent",
                "template",
                variant(
                    "template",
                    "An approved template message; the only content allowed outside the service window.",
                    vec![
                        ("name", bounded("The template's name.", 512).into()),
                        (
                            "language",
                            bounded("Its language code, such as `tr` or `en_US`.", 20).into(),
                        ),
                        (
                            "parameters",
                            strings(
                                "Values for the template's placeholders, in order.",
                                0,
                                MessageLimits::TEMPLATE_PARAMETERS,
                                1024,
                            )
                            .into(),
                        ),
                    ],
                    &["name", "language"],
                ),
            ),
            (
                "InteractiveContent",
                "interactive",
                variant(
                    "interactive",
                    "Text with quick-reply buttons.",
                    vec![
                        ("body", bounded("The text above the buttons.", 1024).into()),
                        (
                            "buttons",
                            ArrayBuilder::new()
                                .items(button)
                                .min_items(Some(1))
                                .max_items(Some(MessageLimits::BUTTONS))
                                .into(),
                        ),
                    ],
                    &["body", "buttons"],
                ),
            ),
            (
                "InteractiveReplyContent",
                "interactive_reply",
                variant(
                    "interactive_reply",
                    "The contact's answer to an interactive message.",
                    vec![
                        ("id", bounded("The id of the chosen button.", 256).into()),
                        ("title", bounded("Its title.", 256).into()),
                    ],
                    &["id", "title"],
                ),
            ),
            (
                "LocationContent",
                "location",
                variant(
                    "location",
                    "A point on the map.",
                    vec![
                        ("latitude", number("Degrees north.", 90.0).into()),
                        ("longitude", number("Degrees east.", 180.0).into()),
                        ("name", nullable("Name of the place.", Some(1000)).into()),
                        ("address", nullable("Its address.", Some(1000)).into()),
                    ],
                    &["latitude", "longitude"],
                ),
            ),
            (
                "ContactCardContent",
                "contact_card",
                variant(
                    "contact_card",
                    "A shared contact card.",
                    vec![
                        ("name", bounded("The person's name.", 200).into()),
                        ("phones", strings("Their phone numbers.", 1, 10, 40).into()),
                    ],
                    &["name", "phones"],
                ),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt;
    use omnigate_domain::SystemClock;
    use tower::ServiceExt;

    use super::*;
    use crate::state::{ApiConfig, AppState};

    const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

    /// The document, pretty-printed as `docs/openapi.json` keeps it.
    fn pretty() -> String {
        let mut text = ApiDoc::openapi().to_pretty_json().unwrap();
        text.push('\n');
        text
    }

    #[test]
    fn docs_openapi_json_is_what_the_code_generates() {
        let generated = pretty();
        if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
            std::fs::write(DOC_PATH, &generated).unwrap();
            return;
        }
        let kept = std::fs::read_to_string(DOC_PATH).unwrap_or_default();
        assert!(
            kept == generated,
            "docs/openapi.json differs from the document the code generates; \
             run `UPDATE_OPENAPI=1 cargo test -p omnigate-api openapi` and commit the file"
        );
    }

    /// Every (method, path) registered in `routes()`, read from its source
    /// text: each `.route("path", ...)` call and the method routers in it.
    fn registered_routes() -> BTreeSet<(String, String)> {
        let source = include_str!("lib.rs");
        let body = source
            .split_once("fn routes(")
            .map(|(_, rest)| rest)
            .and_then(|rest| rest.split_once(".fallback(").map(|(body, _)| body))
            .expect("lib.rs has fn routes() ending with .fallback(");
        let mut routes = BTreeSet::new();
        for call in body.split(".route(").skip(1) {
            let path = call
                .split('"')
                .nth(1)
                .expect("each .route( starts with its path literal");
            let rest = &call[call.find(',').expect("a comma after the path")..];
            let mut methods = 0;
            for method in ["get", "post", "put", "patch", "delete"] {
                let needle = format!("{method}(");
                let mut from = 0;
                while let Some(at) = rest[from..].find(&needle) {
                    let start = from + at;
                    let before = rest[..start].chars().next_back();
                    if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                        routes.insert((method.to_uppercase(), path.to_owned()));
                        methods += 1;
                    }
                    from = start + needle.len();
                }
            }
            assert!(methods > 0, "no method found for route {path}");
        }
        routes
    }

    fn documented_routes() -> BTreeSet<(String, String)> {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut routes = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
        routes
    }

    #[test]
    fn every_route_is_documented_and_every_operation_is_routed() {
        let registered = registered_routes();
        let documented = documented_routes();
        assert!(registered.len() > 40, "{registered:?}");
        let undocumented: Vec<_> = registered.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&registered).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "routes without an operation in the document: {undocumented:?}; \
             operations without a route: {unrouted:?}"
        );
    }

    /// The source reading above is checked against the real router: every
    /// documented (method, path) reaches a handler or its permit layer, not
    /// the fallbacks for unknown paths and methods.
    #[tokio::test]
    async fn every_documented_operation_reaches_the_router() {
        let dir = tempfile::tempdir().unwrap();
        let store = omnigate_store::Store::open(dir.path()).unwrap();
        let clock: Arc<dyn omnigate_domain::Clock> = Arc::new(SystemClock);
        let engine = omnigate_engine::Engine::start(
            Arc::clone(&store),
            Arc::clone(&clock),
            omnigate_engine::EngineConfig::default(),
        )
        .unwrap();
        let app = crate::service(AppState::new(store, engine, clock, ApiConfig::default()));
        for (method, path) in documented_routes() {
            let uri = path.replace("{id}", "1").replace("{channel}", "1");
            let request = Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(&uri)
                .body(Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let text = String::from_utf8_lossy(&body);
            assert!(
                !text.contains("\"method_not_allowed\"") && !text.contains("no route for"),
                "{method} {path}: {status} {text}"
            );
        }
    }

    #[tokio::test]
    async fn the_document_is_served_without_authentication() {
        let response = serve().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["info"]["title"], "omnigate API");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        assert!(doc["paths"]["/api/v1/openapi.json"]["get"]["security"].is_null());
    }

    #[test]
    fn state_changing_operations_need_csrf_with_the_session() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let Some(requirements) = operation["security"].as_array() else {
                    continue;
                };
                for requirement in requirements {
                    if requirement.get(scheme::SESSION).is_some() {
                        assert_eq!(
                            requirement.get(scheme::CSRF).is_some(),
                            method != "get",
                            "{method} {path}: {requirement}"
                        );
                    }
                }
                assert!(
                    operation["responses"]["500"].is_object(),
                    "{method} {path} has no 500"
                );
            }
        }
    }
}
