//! Shop integrations beside the conversation: the contact's orders from
//! every enabled shop, a shop's products, one order. Each shop is a
//! configured instance of a commerce plugin; the calls wait on the shop's
//! API, so they run on the blocking pool, shops side by side.

use std::sync::Arc;

use omnigate_plugin_host::types::commerce::{CustomerRef, Order, Product, ShopError};
use omnigate_store::shops::ShopRecord;
use omnigate_store::{ContactRecord, ConversationRecord, StoreError};

use super::PluginsError;
use crate::{Engine, EngineError};

/// Most orders asked of each shop for the contact panel.
const ORDERS_PER_SHOP: u32 = 10;

/// One shop's answer for the contact panel.
#[derive(Debug)]
pub struct ShopOrders {
    /// The shop.
    pub shop_id: u64,
    /// Its name.
    pub shop_name: String,
    /// The contact's orders there, newest first, or why they could not
    /// be had (the panel shows the others anyway).
    pub orders: Result<Vec<Order>, String>,
}

/// Why a shop call failed, as the agent reads it.
#[derive(Debug, thiserror::Error)]
pub enum ShopFailure {
    /// No such shop, or it is disabled.
    #[error("{0}")]
    NotFound(String),
    /// The shop or its plugin could not answer.
    #[error("{0}")]
    Unavailable(String),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for ShopFailure {
    fn from(error: StoreError) -> ShopFailure {
        ShopFailure::Engine(error.into())
    }
}

impl Engine {
    /// The contact's orders in every enabled shop, looked up by the
    /// contact's phone (their number on WhatsApp).
    pub async fn orders_of_contact(
        &self,
        conversation: &ConversationRecord,
    ) -> Result<(Option<String>, Vec<ShopOrders>), EngineError> {
        let contact = self.store().contact(conversation.contact_id)?;
        let Some(phone) = contact.as_ref().and_then(phone_of) else {
            return Ok((None, Vec::new()));
        };
        let shops: Vec<ShopRecord> = self
            .store()
            .shops()?
            .into_iter()
            .filter(|s| !s.disabled)
            .collect();
        let lookups = shops.into_iter().map(|shop| {
            let phone = phone.clone();
            async move {
                let orders = self
                    .shop_call(&shop, move |loaded, binding| {
                        loaded.plugin.orders_by_customer(
                            &binding,
                            &CustomerRef::Phone(phone),
                            ORDERS_PER_SHOP,
                        )
                    })
                    .await
                    .map_err(|e| e.to_string());
                ShopOrders {
                    shop_id: shop.id,
                    shop_name: shop.name,
                    orders,
                }
            }
        });
        let found = futures_util::future::join_all(lookups).await;
        Ok((Some(phone), found))
    }

    /// Products of shop `shop_id` matching `query`.
    pub async fn shop_products(
        &self,
        shop_id: u64,
        query: String,
        limit: u32,
    ) -> Result<Vec<Product>, ShopFailure> {
        let shop = self.enabled_shop(shop_id)?;
        self.shop_call(&shop, move |loaded, binding| {
            loaded.plugin.search_products(&binding, &query, limit)
        })
        .await
    }

    /// One order of shop `shop_id`.
    pub async fn shop_order(
        &self,
        shop_id: u64,
        order_id: String,
    ) -> Result<Option<Order>, ShopFailure> {
        let shop = self.enabled_shop(shop_id)?;
        self.shop_call(&shop, move |loaded, binding| {
            loaded.plugin.get_order(&binding, &order_id)
        })
        .await
    }

    fn enabled_shop(&self, shop_id: u64) -> Result<ShopRecord, ShopFailure> {
        self.store()
            .shop(shop_id)?
            .filter(|s| !s.disabled)
            .ok_or_else(|| ShopFailure::NotFound(format!("no enabled shop with id {shop_id}")))
    }

    /// Runs one commerce call for `shop` on the blocking pool.
    async fn shop_call<T: Send + 'static>(
        &self,
        shop: &ShopRecord,
        call: impl FnOnce(
            Arc<super::Loaded>,
            Arc<omnigate_plugin_host::Binding>,
        ) -> Result<Result<T, ShopError>, omnigate_plugin_host::PluginError>
        + Send
        + 'static,
    ) -> Result<T, ShopFailure> {
        match self.shop_call_raw(shop, call).await? {
            Ok(value) => Ok(value),
            Err(error) => Err(ShopFailure::Unavailable(format!(
                "{}: {}",
                shop.name,
                shop_error_text(&error)
            ))),
        }
    }

    /// Runs one commerce call for `shop` on the blocking pool, keeping the
    /// shop's own error (a flow reads it).
    pub(crate) async fn shop_call_raw<T: Send + 'static>(
        &self,
        shop: &ShopRecord,
        call: impl FnOnce(
            Arc<super::Loaded>,
            Arc<omnigate_plugin_host::Binding>,
        ) -> Result<Result<T, ShopError>, omnigate_plugin_host::PluginError>
        + Send
        + 'static,
    ) -> Result<Result<T, ShopError>, ShopFailure> {
        let plugins = self
            .plugins()
            .ok_or_else(|| ShopFailure::Unavailable("plugins are not running".into()))?;
        let loaded = plugins
            .commerce_plugin(&shop.plugin)
            .map_err(|e: PluginsError| ShopFailure::Unavailable(format!("{}: {e}", shop.name)))?;
        let binding = plugins.shop_binding(shop);
        let name = shop.name.clone();
        let answer = tokio::task::spawn_blocking(move || call(loaded, binding))
            .await
            .map_err(|e| {
                ShopFailure::Unavailable(format!("{name}: the call did not finish: {e}"))
            })?;
        answer.map_err(|error| {
            tracing::warn!(shop = shop.id, %error, "a shop plugin call failed");
            ShopFailure::Unavailable(format!("{}: {error}", shop.name))
        })
    }
}

/// The contact's phone: the one the channel gave, else their channel id
/// when it is a phone number (WhatsApp's `wa_id`). Bare international
/// digits (WhatsApp gives numbers without the `+`) get their `+`, so shops
/// that store E.164 match them.
fn phone_of(contact: &ContactRecord) -> Option<String> {
    let international = |digits: &str| {
        (digits.len() >= 7 && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| format!("+{digits}"))
    };
    if let Some(phone) = contact
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        return Some(international(phone).unwrap_or_else(|| phone.to_owned()));
    }
    international(contact.external_id.trim_start_matches('+'))
}

fn shop_error_text(error: &ShopError) -> String {
    match error {
        ShopError::NotFound(m) => format!("not found: {m}"),
        ShopError::Auth(m) => {
            format!("the shop refused the credentials; an admin must fix them: {m}")
        }
        ShopError::RateLimited(limit) => match limit.retry_after_ms {
            Some(ms) => format!("the shop asks to wait {} s", ms.div_ceil(1000)),
            None => "the shop asks to slow down".to_owned(),
        },
        ShopError::TransientUpstream(m) => format!("the shop did not answer: {m}"),
        ShopError::Unsupported(m) => format!("not supported by this shop: {m}"),
        ShopError::Invalid(m) => format!("refused by the shop: {m}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(external_id: &str, phone: Option<&str>) -> ContactRecord {
        ContactRecord {
            id: 1,
            channel_id: 1,
            external_id: external_id.into(),
            name: String::new(),
            phone: phone.map(str::to_owned),
            created_at_ms: 0,
        }
    }

    #[test]
    fn the_phone_is_the_channels_or_a_numeric_channel_id() {
        assert_eq!(
            phone_of(&contact("905321112233", None)).as_deref(),
            Some("+905321112233")
        );
        assert_eq!(
            phone_of(&contact("x", Some("+90 532 111 22 33"))).as_deref(),
            Some("+90 532 111 22 33")
        );
        assert_eq!(phone_of(&contact("telegram-user-1", None)), None);
        assert_eq!(phone_of(&contact("12345", None)), None);
        assert_eq!(
            phone_of(&contact("x", Some("905321112233"))).as_deref(),
            Some("+905321112233")
        );
    }
}
