//! Shopify: a shop's products and a customer's orders beside the
//! conversation, through the GraphQL Admin API
//! (`../shared/reference/wire-formats.md` §3).
//!
//! - `client`: the one GraphQL call, auth, and rate limits (throttled
//!   answers and 429 become `rate-limited` with the wait Shopify implies);
//! - `queries`: the documents sent;
//! - `model`: the answers and their mapping to the interface's records.
//!
//! The integration is read-only: the reference documents no order
//! mutations, so `allowed-actions` is empty (the SDK's default).

mod client;
mod model;
mod queries;

use omnigate_plugin_sdk::commerce::{Commerce, CustomerRef, Order, Product, ShopError};
use serde_json::json;

use client::Shop;
use model::{CustomersData, OrderData, OrdersData, ProductsData};

/// The Admin API allows up to 250 per page; the side panel shows far fewer,
/// and the query cost grows with the page.
const MAX_PAGE: u32 = 50;

struct Shopify;

impl Commerce for Shopify {
    fn search_products(query: String, limit: u32) -> Result<Vec<Product>, ShopError> {
        let terms = search_terms(&query);
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let shop = Shop::from_config()?;
        let data: ProductsData = shop.query(
            queries::SEARCH_PRODUCTS,
            json!({ "q": terms, "first": limit.min(MAX_PAGE) }),
        )?;
        Ok(data
            .products
            .nodes
            .into_iter()
            .map(model::ShopifyProduct::into_product)
            .collect())
    }

    fn orders_by_customer(customer: CustomerRef, limit: u32) -> Result<Vec<Order>, ShopError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let first = limit.min(MAX_PAGE);
        let shop = Shop::from_config()?;
        let mut orders = match customer {
            CustomerRef::Email(email) => {
                let email = search_value(&email, "e-mail")?;
                let data: OrdersData = shop.query(
                    &queries::orders_search(),
                    json!({ "q": format!("email:{email}"), "first": first }),
                )?;
                data.orders.nodes
            }
            CustomerRef::Phone(phone) => {
                let phone = shop_common::phone::e164(&phone).ok_or_else(|| {
                    ShopError::Invalid(format!("`{phone}` is not a phone number"))
                })?;
                let data: CustomersData = shop.query(
                    &queries::orders_by_phone(),
                    json!({ "q": format!("phone:{phone}"), "first": first }),
                )?;
                data.customers
                    .nodes
                    .into_iter()
                    .flat_map(|c| c.orders.nodes)
                    .collect()
            }
        };
        // The customer's `orders` connection has no sort key in the
        // reference's query; RFC 3339 in one zone sorts as text.
        orders.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        orders.truncate(first as usize);
        Ok(orders
            .into_iter()
            .map(model::ShopifyOrder::into_order)
            .collect())
    }

    fn get_order(order_id: String) -> Result<Option<Order>, ShopError> {
        let shop = Shop::from_config()?;
        let id = order_id.trim();
        if let Some(name) = id.strip_prefix('#') {
            // What the customer quotes: the order name, `#1042`.
            let name = search_value(name, "order number")?;
            let data: OrdersData = shop.query(
                &queries::orders_search(),
                json!({ "q": format!("name:#{name}"), "first": 1 }),
            )?;
            return Ok(data
                .orders
                .nodes
                .into_iter()
                .next()
                .map(model::ShopifyOrder::into_order));
        }
        let gid = if id.starts_with("gid://shopify/Order/") {
            id.to_owned()
        } else if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            format!("gid://shopify/Order/{id}")
        } else {
            return Err(ShopError::Invalid(format!(
                "`{order_id}` is not a Shopify order id (gid://shopify/Order/…, a number, or #name)"
            )));
        };
        let data: OrderData = shop.query(&queries::order(), json!({ "id": gid }))?;
        Ok(data.order.map(model::ShopifyOrder::into_order))
    }
}

/// Free text for Shopify's search syntax: characters that would change the
/// query's meaning (`field:`, grouping, quotes, wildcards) become spaces,
/// so the agent's words are searched as words across the default fields.
fn search_terms(query: &str) -> String {
    query
        .chars()
        .map(|c| {
            if matches!(c, ':' | '(' | ')' | '"' | '\\' | '*' | '\'') {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split_whitespace()
        .filter(|w| !matches!(*w, "AND" | "OR" | "NOT"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A single search value (an e-mail, an order name) that must not carry
/// search syntax; refused rather than silently widened.
fn search_value<'a>(value: &'a str, what: &str) -> Result<&'a str, ShopError> {
    let value = value.trim();
    let clean = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ':' | '(' | ')' | '"' | '\\' | '*' | '\''));
    if clean {
        Ok(value)
    } else {
        Err(ShopError::Invalid(format!(
            "`{value}` is not a usable {what}"
        )))
    }
}

omnigate_plugin_sdk::export_commerce!(Shopify);
