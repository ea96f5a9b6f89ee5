//! A channel's approved message templates, for the console's template
//! picker: outside the service window only a template goes, and an agent
//! should pick one the provider approved rather than type its name.
//!
//! The list comes from the channel's plugin (`list-templates`, which asks
//! the provider) and is kept for a few minutes per channel binding: agents
//! open closed-window conversations all day, the provider's list changes
//! rarely, and a reconfigured channel gets a new binding, so a new list.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omnigate_plugin_host::types::channel::TemplateInfo;
use omnigate_store::channels::ChannelRecord;

use super::channel::{WebhookRefusal, blocking, failing, provider_error_text};
use crate::{Engine, EngineError};

/// How long a channel's list is reused before the provider is asked again.
const TEMPLATES_TTL: Duration = Duration::from_secs(300);

/// Why a channel's templates could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum TemplatesFailure {
    /// The channel's plugin or its provider could not answer.
    #[error("{0}")]
    Unavailable(String),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// One template an agent may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedTemplate {
    /// The name a template message gives.
    pub name: String,
    /// The language code the provider approved it in (`tr`, `en_US`).
    pub language: String,
    /// The provider's category (`MARKETING`, `UTILITY`, ...), if it says.
    pub category: Option<String>,
    /// How many `{{n}}` parameters the body takes.
    pub parameter_count: u32,
    /// The body with its placeholders, for the preview.
    pub body: Option<String>,
}

/// A list and when it was fetched.
type Fetched = (Instant, Arc<Vec<ApprovedTemplate>>);

/// The lists fetched lately, by channel binding.
#[derive(Default)]
pub(crate) struct TemplatesCache {
    lists: Mutex<HashMap<usize, Fetched>>,
}

impl TemplatesCache {
    fn get(&self, key: usize, now: Instant) -> Option<Arc<Vec<ApprovedTemplate>>> {
        let lists = self.lists.lock().ok()?;
        let (at, list) = lists.get(&key)?;
        (now.duration_since(*at) < TEMPLATES_TTL).then(|| Arc::clone(list))
    }

    fn put(&self, key: usize, now: Instant, list: Arc<Vec<ApprovedTemplate>>) {
        if let Ok(mut lists) = self.lists.lock() {
            lists.retain(|_, (at, _)| now.duration_since(*at) < TEMPLATES_TTL);
            lists.insert(key, (now, list));
        }
    }
}

impl Engine {
    /// The approved templates of `channel`, newest list at most five
    /// minutes old. `None` for a channel without a provider list (the API
    /// channel: the integrator takes any template name).
    pub async fn approved_templates(
        &self,
        channel: &ChannelRecord,
    ) -> Result<Option<Arc<Vec<ApprovedTemplate>>>, TemplatesFailure> {
        if channel.kind == "api" {
            return Ok(None);
        }
        let (loaded, binding) = self.channel_plugin(channel).map_err(refused)?;
        // A reconfigured channel gets a new binding: its list is not reused.
        let key = Arc::as_ptr(&binding) as usize;
        let now = Instant::now();
        if let Some(list) = self.templates.get(key, now) {
            return Ok(Some(list));
        }
        let listed = blocking(move || loaded.plugin.list_templates(&binding))
            .await
            .map_err(refused)?
            .map_err(|e| refused(failing(channel, &e)))?
            .map_err(|e| TemplatesFailure::Unavailable(provider_error_text(&e)))?;
        let list = Arc::new(approved(listed));
        self.templates.put(key, now, Arc::clone(&list));
        Ok(Some(list))
    }
}

/// The templates the provider approved, by name and language.
fn approved(listed: Vec<TemplateInfo>) -> Vec<ApprovedTemplate> {
    let mut list: Vec<ApprovedTemplate> = listed
        .into_iter()
        .filter(|t| t.status.eq_ignore_ascii_case("approved"))
        .map(|t| ApprovedTemplate {
            name: t.name,
            language: t.language,
            category: t.category,
            parameter_count: t.parameter_count,
            body: t.body,
        })
        .collect();
    list.sort_by(|a, b| (&a.name, &a.language).cmp(&(&b.name, &b.language)));
    list
}

fn refused(refusal: WebhookRefusal) -> TemplatesFailure {
    match refusal {
        WebhookRefusal::Engine(e) => TemplatesFailure::Engine(e),
        other => TemplatesFailure::Unavailable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, language: &str, status: &str) -> TemplateInfo {
        TemplateInfo {
            name: name.into(),
            language: language.into(),
            category: Some("UTILITY".into()),
            status: status.into(),
            parameter_count: 1,
            body: Some("Siparişiniz {{1}} kargoda".into()),
            extensions: Vec::new(),
        }
    }

    #[test]
    fn only_approved_templates_are_offered_sorted_by_name_and_language() {
        let list = approved(vec![
            info("order_shipped", "tr", "APPROVED"),
            info("promo", "tr", "REJECTED"),
            info("draft", "en", "PENDING"),
            info("order_shipped", "en", "approved"),
            info("greeting", "tr", "APPROVED"),
        ]);
        let names: Vec<(&str, &str)> = list
            .iter()
            .map(|t| (t.name.as_str(), t.language.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("greeting", "tr"),
                ("order_shipped", "en"),
                ("order_shipped", "tr")
            ]
        );
    }

    #[test]
    fn a_list_is_reused_for_five_minutes_per_binding() {
        let cache = TemplatesCache::default();
        let start = Instant::now();
        let list = Arc::new(approved(vec![info("greeting", "tr", "APPROVED")]));
        cache.put(1, start, Arc::clone(&list));
        assert_eq!(cache.get(1, start + Duration::from_secs(299)), Some(list));
        assert_eq!(cache.get(1, start + TEMPLATES_TTL), None);
        assert_eq!(cache.get(2, start), None);
    }
}
