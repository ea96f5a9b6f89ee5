//! Ideasoft: a store's products and a customer's orders beside the
//! conversation, through the REST Admin API
//! (`../shared/reference/wire-formats.md` §5).
//!
//! - `auth`: OAuth2 refresh, tokens kept in storage;
//! - `api`: the bearer-authenticated GET and its statuses;
//! - `model`: products and orders to the interface's records.
//!
//! The reference knows no customer filter on orders, so a customer's
//! orders are found among the store's most recent ones (newest first,
//! a bounded number of pages). The integration is read-only: the
//! reference documents no order actions.

mod api;
mod auth;
mod model;

use omnigate_plugin_sdk::commerce::{Commerce, CustomerRef, Order, Product, ShopError};
use serde_json::Value;
use shop_common::url::encode;

use api::Api;

/// Products asked for at once.
const MAX_PRODUCTS: u32 = 50;
/// A page of the order scan (the API's usual maximum).
const ORDER_PAGE: usize = 100;
/// Pages of recent orders searched for a customer: the newest 300.
const MAX_ORDER_PAGES: usize = 3;
/// Ideasoft sends times in the store's zone; Turkish stores run on
/// Türkiye time, which has no daylight saving.
const UTC_OFFSET: &str = "+03:00";

struct Ideasoft;

impl Commerce for Ideasoft {
    fn search_products(query: String, limit: u32) -> Result<Vec<Product>, ShopError> {
        let query = query.trim();
        if query.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let api = Api::from_config()?;
        let limit = limit.min(MAX_PRODUCTS);
        // `name=` is the documented filter, its matching unverified [M];
        // a single word that names nothing may be a stock code.
        let mut found = list(
            &api,
            &format!("products?name={}&limit={limit}&page=1", encode(query)),
        )?;
        if found.is_empty() && !query.contains(char::is_whitespace) {
            found = list(
                &api,
                &format!("products?sku={}&limit={limit}&page=1", encode(query)),
            )?;
        }
        Ok(found
            .iter()
            .take(limit as usize)
            .map(model::product)
            .collect())
    }

    fn orders_by_customer(customer: CustomerRef, limit: u32) -> Result<Vec<Order>, ShopError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let matches: Box<dyn Fn(&Value) -> bool> = match customer {
            CustomerRef::Email(email) => {
                let email = email.trim().to_lowercase();
                if !email.contains('@') {
                    return Err(ShopError::Invalid(format!(
                        "`{email}` is not an e-mail address"
                    )));
                }
                Box::new(move |o| model::order_email(o).is_some_and(|e| e.to_lowercase() == email))
            }
            CustomerRef::Phone(phone) => Box::new(move |o| {
                model::order_phone(o).is_some_and(|p| shop_common::phone::same_number(&p, &phone))
            }),
        };
        let api = Api::from_config()?;
        let mut found = Vec::new();
        for page in 1..=MAX_ORDER_PAGES {
            // `sort=-id`: newest first [L]; the reference saw `sort=` on
            // products only.
            let batch = list(
                &api,
                &format!("orders?limit={ORDER_PAGE}&page={page}&sort=-id"),
            )?;
            let last = batch.len() < ORDER_PAGE;
            found.extend(batch.into_iter().filter(|o| matches(o)));
            if found.len() >= limit as usize || last {
                break;
            }
        }
        found.truncate(limit as usize);
        let mut orders: Vec<Order> = found.iter().map(|o| model::order(o, UTC_OFFSET)).collect();
        orders.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(orders)
    }

    fn get_order(order_id: String) -> Result<Option<Order>, ShopError> {
        let id = order_id.trim();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ShopError::Invalid(format!(
                "`{order_id}` is not an Ideasoft order id (a number)"
            )));
        }
        let api = Api::from_config()?;
        Ok(api
            .get(&format!("orders/{id}"))?
            .map(|o| model::order(&o, UTC_OFFSET)))
    }
}

/// A list endpoint: a bare JSON array (reference §5); 404 reads as empty.
fn list(api: &Api, path: &str) -> Result<Vec<Value>, ShopError> {
    match api.get(path)? {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(ShopError::TransientUpstream(format!(
            "Ideasoft answered /admin-api/{path} with something other than a list"
        ))),
    }
}

omnigate_plugin_sdk::export_commerce!(Ideasoft);
