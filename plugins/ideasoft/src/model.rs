//! Ideasoft's JSON (reference §5) mapped to the interface's records.
//!
//! Product fields are confirmed by two code bases [M]; order fields are
//! from memory of the schema [L], so every order field name sits in
//! [`order_fields`] to be corrected in one place against a real tenant.
//! Values are read leniently (numbers or numeric strings) for the same
//! reason.

use omnigate_plugin_sdk::commerce::{
    Customer, Money, Order, OrderLine, OrderStatus, Product, Tracking,
};
use omnigate_plugin_sdk::json;
use omnigate_plugin_sdk::types::Extensions;
use serde_json::Value;
use shop_common::decimal::Decimal;

/// The order field names this plugin reads [L].
pub mod order_fields {
    pub const ID: &str = "id";
    pub const NUMBER: &str = "transactionId";
    pub const FIRST_NAME: &str = "customerFirstname";
    pub const SURNAME: &str = "customerSurname";
    pub const EMAIL: &str = "customerEmail";
    pub const PHONE: &str = "customerPhone";
    pub const STATUS: &str = "status";
    pub const PAYMENT_STATUS: &str = "paymentStatus";
    pub const FINAL_AMOUNT: &str = "finalAmount";
    pub const AMOUNT: &str = "amount";
    pub const CURRENCY: &str = "currency";
    pub const CREATED_AT: &str = "createdAt";
    pub const ITEMS: &str = "orderItems";
    pub const ITEM_NAME: &str = "productName";
    pub const ITEM_SKU: &str = "productSku";
    pub const ITEM_PRICE: &str = "productPrice";
    pub const ITEM_QUANTITY: &str = "productQuantity";
    /// The reference says only "a code and a company name" for tracking.
    pub const TRACKING_CODE: &str = "shippingTrackingCode";
    pub const TRACKING_COMPANY: &str = "shippingCompanyName";
}

use order_fields as f;

/// A string or number field as text.
fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn decimal(value: &Value, key: &str) -> Option<Decimal> {
    Decimal::parse(&text(value, key)?)
}

fn whole(value: &Value, key: &str) -> Option<i64> {
    match value.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::String(s) => s.trim().split(['.', ',']).next()?.parse().ok(),
        _ => None,
    }
}

/// ISO 4217 from Ideasoft's currency: an object `{id, label, abbr: "TL"}`
/// on products, a code or the same object on orders.
fn currency(value: Option<&Value>) -> String {
    let code = match value {
        Some(Value::String(s)) => s.trim().to_ascii_uppercase(),
        Some(obj @ Value::Object(_)) => text(obj, "abbr")
            .or_else(|| text(obj, "label"))
            .unwrap_or_default()
            .to_ascii_uppercase(),
        _ => String::new(),
    };
    match code.as_str() {
        "TL" | "YTL" | "" => "TRY".to_owned(),
        other => other.to_owned(),
    }
}

/// A product of `GET /admin-api/products`.
pub fn product(p: &Value) -> Product {
    let currency = currency(p.get("currency"));
    let image_url = p
        .get("images")
        .and_then(Value::as_array)
        .and_then(|images| images.first())
        .and_then(|i| text(i, "originalUrl").or_else(|| text(i, "url")));
    let mut extensions = Extensions::new();
    for key in ["status", "stockTypeLabel", "tax", "slug", "barcode"] {
        if let Some(v) = text(p, key) {
            let _ = json::set_extension(&mut extensions, &format!("ideasoft.{key}"), &v);
        }
    }
    if let Some(parent) = p.get("parent").and_then(|parent| text(parent, "id")) {
        let _ = json::set_extension(&mut extensions, "ideasoft.parent", &parent);
    }
    Product {
        id: text(p, "id").unwrap_or_default(),
        title: text(p, "name").unwrap_or_default(),
        sku: text(p, "sku"),
        price: sale_price(p).map(|amount| Money {
            amount: amount.to_money_string(),
            currency,
        }),
        stock: whole(p, "stockAmount"),
        url: None,
        image_url,
        variants: Vec::new(),
        extensions,
    }
}

/// `price1` minus the discount (`discountType` 1 = percent, 0 = a fixed
/// amount [M]), plus `tax` percent when `taxIncluded` is 0.
fn sale_price(p: &Value) -> Option<Decimal> {
    let mut price = decimal(p, "price1")?;
    if let Some(discount) = decimal(p, "discount").filter(|d| d.is_positive()) {
        price = match whole(p, "discountType") {
            Some(1) => price.minus_percent(discount),
            _ => price.minus(discount),
        };
    }
    if whole(p, "taxIncluded") == Some(0)
        && let Some(rate) = decimal(p, "tax")
    {
        price = price.plus_percent(rate);
    }
    Some(price)
}

/// The order's e-mail, for matching a customer.
pub fn order_email(o: &Value) -> Option<String> {
    text(o, f::EMAIL)
}

/// The order's phone, for matching a customer.
pub fn order_phone(o: &Value) -> Option<String> {
    text(o, f::PHONE)
}

/// An order of `GET /admin-api/orders`.
pub fn order(o: &Value, utc_offset: &str) -> Order {
    let currency = currency(o.get(f::CURRENCY));
    let status_word = text(o, f::STATUS).unwrap_or_default();
    let lines = o
        .get(f::ITEMS)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| OrderLine {
                    title: text(item, f::ITEM_NAME).unwrap_or_default(),
                    sku: text(item, f::ITEM_SKU),
                    quantity: whole(item, f::ITEM_QUANTITY)
                        .and_then(|q| u32::try_from(q).ok())
                        .unwrap_or(0),
                    unit_price: decimal(item, f::ITEM_PRICE).map(|d| Money {
                        amount: d.to_money_string(),
                        currency: currency.clone(),
                    }),
                    tracking: Vec::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    let tracking = text(o, f::TRACKING_CODE)
        .map(|number| Tracking {
            company: text(o, f::TRACKING_COMPANY),
            number,
            url: None,
        })
        .into_iter()
        .collect();
    let name = [text(o, f::FIRST_NAME), text(o, f::SURNAME)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let mut extensions = Extensions::new();
    if let Some(payment) = text(o, f::PAYMENT_STATUS) {
        let _ = json::set_extension(&mut extensions, "ideasoft.paymentStatus", &payment);
    }
    let id = text(o, f::ID).unwrap_or_default();
    Order {
        number: text(o, f::NUMBER).unwrap_or_else(|| id.clone()),
        id,
        created_at: text(o, f::CREATED_AT)
            .and_then(|t| shop_common::time::to_rfc3339(&t, utc_offset)),
        status: status(&status_word),
        status_label: status_word,
        customer: Customer {
            name: (!name.is_empty()).then_some(name),
            email: text(o, f::EMAIL),
            phone: text(o, f::PHONE),
        },
        total: decimal(o, f::FINAL_AMOUNT)
            .or_else(|| decimal(o, f::AMOUNT))
            .map(|d| Money {
                amount: d.to_money_string(),
                currency,
            }),
        lines,
        tracking,
        extensions,
    }
}

/// Ideasoft's status words [L]. `fulfilled` is read as handed to the
/// carrier, `delivered` as arrived.
fn status(word: &str) -> OrderStatus {
    match word {
        "waiting_for_approval" | "waiting_for_payment" => OrderStatus::Pending,
        "approved" => OrderStatus::Confirmed,
        "being_prepared" => OrderStatus::Processing,
        "fulfilled" | "shipped" => OrderStatus::Shipped,
        "delivered" => OrderStatus::Delivered,
        "cancelled" => OrderStatus::Cancelled,
        "refunded" => OrderStatus::Refunded,
        _ => OrderStatus::Other,
    }
}
