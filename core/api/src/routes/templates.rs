//! A conversation's channel templates, for the console's template picker
//! (outside the service window only an approved template goes).

use axum::Json as ResponseJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use omnigate_engine::plugins::templates::{ApprovedTemplate, TemplatesFailure};
use omnigate_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ClientAddr, parse_id};
use crate::routes::conversations::caller;
use crate::state::AppState;

/// The templates an agent may send in a conversation.
#[derive(Serialize, ToSchema)]
pub(crate) struct ConversationTemplates {
    /// Whether the channel's provider keeps a list: `false` for the API
    /// channel, whose integrator takes any template name (then
    /// `templates` is empty and the console asks for a name).
    listed: bool,
    /// The provider's approved templates, by name and language.
    templates: Vec<TemplateView>,
}

/// One approved template.
#[derive(Serialize, ToSchema)]
pub(crate) struct TemplateView {
    /// The name a template message gives.
    name: String,
    /// The language it was approved in (`tr`, `en_US`).
    language: String,
    /// The provider's category (`MARKETING`, `UTILITY`, `AUTHENTICATION`).
    category: Option<String>,
    /// How many `{{n}}` parameters the body takes.
    parameter_count: u32,
    /// The body with its placeholders, for the preview.
    body: Option<String>,
}

impl From<&ApprovedTemplate> for TemplateView {
    fn from(t: &ApprovedTemplate) -> TemplateView {
        TemplateView {
            name: t.name.clone(),
            language: t.language.clone(),
            category: t.category.clone(),
            parameter_count: t.parameter_count,
            body: t.body.clone(),
        }
    }
}

/// Lists the approved templates of the conversation's channel (asked of
/// the provider at most every five minutes per channel).
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}/templates",
    operation_id = "conversation_templates",
    tag = "conversations",
    params(("id" = u64, Path, description = "The conversation's id.")),
    responses(
        (status = 200, description = "The channel's approved templates.", body = ConversationTemplates),
        (status = 403, description = "`forbidden`: not a conversation the caller may see.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation.", body = ErrorBody),
        (status = 502, description = "`templates_unavailable`: the channel's plugin or provider could not list them.", body = ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<ConversationTemplates>, ApiError> {
    let id = parse_id("conversation", &id)?;
    let engine = state.engine();
    let conversation = engine.conversation_for(&caller(&principal, client), id)?;
    let channel = state
        .store()
        .channel(conversation.channel_id)?
        .ok_or_else(|| StoreError::NotFound(format!("channel {}", conversation.channel_id)))?;
    let listed = engine
        .approved_templates(&channel)
        .await
        .map_err(|failure| match failure {
            TemplatesFailure::Unavailable(why) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "templates_unavailable",
                format!("{}: {why}", channel.name),
            ),
            TemplatesFailure::Engine(e) => e.into(),
        })?;
    Ok(ResponseJson(ConversationTemplates {
        listed: listed.is_some(),
        templates: listed
            .map(|list| list.iter().map(TemplateView::from).collect())
            .unwrap_or_default(),
    }))
}
