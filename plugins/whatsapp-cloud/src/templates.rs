//! The account's message templates for the console's picker:
//! `GET /{version}/{waba-id}/message_templates`.
//!
//! The reference does not describe this endpoint; the shape below is Meta's
//! documented one (`{"data": [...], "paging": {"cursors": {...}, "next"?}}`,
//! each template with `name`, `language`, `status`, `category`, `id` and
//! `components`, the body component `{"type": "BODY", "text": "... {{1}} ..."}`).

use omnigate_plugin_sdk::channel::{ProviderError, TemplateInfo};
use omnigate_plugin_sdk::http::Request;
use omnigate_plugin_sdk::json::set_extension;
use omnigate_plugin_sdk::types::Extensions;
use serde::Deserialize;
use serde_json::Value;

use crate::graph;

/// Pages followed at most: 100 templates a page, far above what an
/// account has, while a looping `next` cannot run the call out of time.
const MAX_PAGES: usize = 20;

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    data: Vec<WaTemplate>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct WaTemplate {
    name: String,
    language: String,
    status: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    components: Vec<Value>,
}

/// Every template of the account, following `paging.next`.
pub fn list() -> Result<Vec<TemplateInfo>, ProviderError> {
    let waba = graph::business_account_id()?;
    let mut url = Some(format!(
        "{}/{waba}/message_templates?fields=name,language,status,category,id,components&limit=100",
        graph::base_url()
    ));
    let mut templates = Vec::new();
    for _ in 0..MAX_PAGES {
        let Some(next) = url.take() else { break };
        // `next` comes from the answer; only follow it on the Graph API
        // host (the manifest would refuse any other, with a worse message).
        if !next.starts_with(graph::GRAPH_HOST) {
            break;
        }
        let page: Page = graph::send_ok(Request::get(next))?.json().map_err(|e| {
            ProviderError::TransientUpstream(format!("unreadable template list: {e}"))
        })?;
        templates.extend(page.data.into_iter().map(info));
        url = page.paging.and_then(|p| p.next);
    }
    Ok(templates)
}

fn info(template: WaTemplate) -> TemplateInfo {
    let body = template.components.iter().find_map(|c| {
        let is_body = c
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("body"));
        is_body
            .then(|| c.get("text").and_then(Value::as_str).map(str::to_owned))
            .flatten()
    });
    let mut extensions = Extensions::new();
    if let Some(id) = &template.id {
        let _ = set_extension(&mut extensions, "whatsapp.template_id", id);
    }
    if !template.components.is_empty() {
        let _ = set_extension(&mut extensions, "whatsapp.components", &template.components);
    }
    TemplateInfo {
        parameter_count: body.as_deref().map_or(0, parameter_count),
        name: template.name,
        language: template.language,
        category: template.category,
        status: template.status,
        body,
        extensions,
    }
}

/// Distinct `{{...}}` placeholders: `{{1}}`, `{{2}}` or named
/// `{{first_name}}`; a placeholder used twice is one parameter.
pub fn parameter_count(text: &str) -> u32 {
    let mut seen: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty() && !seen.contains(&name) {
            seen.push(name);
        }
        rest = &after[end + 2..];
    }
    u32::try_from(seen.len()).unwrap_or(u32::MAX)
}
