//! The Admin API's answer shapes (reference §3) and their mapping to the
//! interface's records. Fields the shop may withhold (protected customer
//! data) or that older API versions lack are optional.

use omnigate_plugin_sdk::commerce::{
    Customer, Money, Order, OrderLine, OrderStatus, Product, ProductVariant, Tracking,
};
use omnigate_plugin_sdk::json;
use omnigate_plugin_sdk::types::Extensions;
use serde::Deserialize;

/// A connection read through `nodes` (the Admin API also offers `edges`).
#[derive(Deserialize)]
pub struct Nodes<T> {
    #[serde(default = "Vec::new")]
    pub nodes: Vec<T>,
}

/// `data` of the product search.
#[derive(Deserialize)]
pub struct ProductsData {
    pub products: Nodes<ShopifyProduct>,
}

/// `data` of an order search.
#[derive(Deserialize)]
pub struct OrdersData {
    pub orders: Nodes<ShopifyOrder>,
}

/// `data` of the phone lookup.
#[derive(Deserialize)]
pub struct CustomersData {
    pub customers: Nodes<CustomerWithOrders>,
}

/// A customer found by phone, with their orders.
#[derive(Deserialize)]
pub struct CustomerWithOrders {
    pub orders: Nodes<ShopifyOrder>,
}

/// `data` of the order-by-id query.
#[derive(Deserialize)]
pub struct OrderData {
    pub order: Option<ShopifyOrder>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyProduct {
    id: String,
    title: String,
    handle: Option<String>,
    status: Option<String>,
    vendor: Option<String>,
    product_type: Option<String>,
    total_inventory: Option<i64>,
    online_store_url: Option<String>,
    featured_image: Option<Image>,
    price_range_v2: Option<PriceRange>,
    variants: Option<Nodes<Variant>>,
}

#[derive(Deserialize)]
struct Image {
    url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceRange {
    min_variant_price: Option<MoneyV2>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoneyV2 {
    amount: String,
    currency_code: String,
}

impl MoneyV2 {
    fn into_money(self) -> Money {
        Money {
            amount: self.amount,
            currency: self.currency_code,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Variant {
    id: String,
    title: String,
    sku: Option<String>,
    /// The `Money` scalar (a decimal string) since 2024-04 [M].
    price: Option<String>,
    inventory_quantity: Option<i64>,
}

impl ShopifyProduct {
    /// The side panel's product. Variant prices are bare decimals, so they
    /// take the currency of the product's price range (the shop currency).
    pub fn into_product(self) -> Product {
        let price = self
            .price_range_v2
            .and_then(|r| r.min_variant_price)
            .map(MoneyV2::into_money);
        let currency = price.as_ref().map(|p| p.currency.clone());
        let variants: Vec<ProductVariant> = self
            .variants
            .map(|v| v.nodes)
            .unwrap_or_default()
            .into_iter()
            .map(|v| ProductVariant {
                id: v.id,
                title: v.title,
                sku: v.sku.filter(|s| !s.is_empty()),
                price: v
                    .price
                    .zip(currency.clone())
                    .map(|(amount, currency)| Money { amount, currency }),
                stock: v.inventory_quantity,
            })
            .collect();
        // A single-variant product's SKU is the product's.
        let sku = match variants.as_slice() {
            [only] => only.sku.clone(),
            _ => None,
        };
        let mut extensions = Extensions::new();
        put(&mut extensions, "shopify.handle", &self.handle);
        put(&mut extensions, "shopify.status", &self.status);
        put(&mut extensions, "shopify.vendor", &self.vendor);
        put(&mut extensions, "shopify.product_type", &self.product_type);
        Product {
            id: self.id,
            title: self.title,
            sku,
            price,
            stock: self.total_inventory,
            url: self.online_store_url,
            image_url: self.featured_image.map(|i| i.url),
            variants,
            extensions,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyOrder {
    id: String,
    name: String,
    pub created_at: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    display_financial_status: Option<String>,
    display_fulfillment_status: Option<String>,
    cancelled_at: Option<String>,
    total_price_set: Option<MoneyBag>,
    customer: Option<OrderCustomer>,
    line_items: Option<Nodes<LineItem>>,
    #[serde(default)]
    fulfillments: Vec<Fulfillment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoneyBag {
    shop_money: MoneyV2,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderCustomer {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineItem {
    title: String,
    variant_title: Option<String>,
    sku: Option<String>,
    quantity: i64,
    original_unit_price_set: Option<MoneyBag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fulfillment {
    display_status: Option<String>,
    #[serde(default)]
    tracking_info: Vec<TrackingInfo>,
}

#[derive(Deserialize)]
struct TrackingInfo {
    company: Option<String>,
    number: Option<String>,
    url: Option<String>,
}

impl ShopifyOrder {
    /// The side panel's order.
    pub fn into_order(self) -> Order {
        let financial = self.display_financial_status.unwrap_or_default();
        let fulfillment = self.display_fulfillment_status.unwrap_or_default();
        let delivered = self
            .fulfillments
            .iter()
            .any(|f| f.display_status.as_deref() == Some("DELIVERED"));
        let status = status(
            self.cancelled_at.is_some(),
            &financial,
            &fulfillment,
            delivered,
        );
        let status_label = if self.cancelled_at.is_some() {
            format!("CANCELLED, {financial}")
        } else {
            [financial.as_str(), fulfillment.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        };
        let customer = self.customer.map_or(
            Customer {
                name: None,
                email: None,
                phone: None,
            },
            |c| Customer {
                name: full_name(c.first_name, c.last_name),
                email: c.email,
                phone: c.phone,
            },
        );
        let customer = Customer {
            name: customer.name,
            email: self.email.or(customer.email),
            phone: self.phone.or(customer.phone),
        };
        let lines = self
            .line_items
            .map(|l| l.nodes)
            .unwrap_or_default()
            .into_iter()
            .map(|item| OrderLine {
                title: match item
                    .variant_title
                    .filter(|v| v != "Default Title" && !v.is_empty())
                {
                    Some(variant) => format!("{} - {variant}", item.title),
                    None => item.title,
                },
                sku: item.sku.filter(|s| !s.is_empty()),
                quantity: u32::try_from(item.quantity).unwrap_or(0),
                unit_price: item
                    .original_unit_price_set
                    .map(|m| m.shop_money.into_money()),
                tracking: Vec::new(),
            })
            .collect();
        let tracking = self
            .fulfillments
            .into_iter()
            .flat_map(|f| f.tracking_info)
            .filter_map(|t| {
                Some(Tracking {
                    number: t.number.filter(|n| !n.is_empty())?,
                    company: t.company,
                    url: t.url,
                })
            })
            .collect();
        let mut extensions = Extensions::new();
        put(
            &mut extensions,
            "shopify.financial_status",
            &Some(financial),
        );
        put(
            &mut extensions,
            "shopify.fulfillment_status",
            &Some(fulfillment),
        );
        put(&mut extensions, "shopify.cancelled_at", &self.cancelled_at);
        Order {
            id: self.id,
            number: self.name,
            created_at: self.created_at,
            status,
            status_label,
            customer,
            total: self.total_price_set.map(|m| m.shop_money.into_money()),
            lines,
            tracking,
            extensions,
        }
    }
}

/// The normalized state from Shopify's two display statuses. Shopify's
/// `FULFILLED` means handed to the carrier; only a fulfillment's
/// `DELIVERED` display status says it arrived.
fn status(cancelled: bool, financial: &str, fulfillment: &str, delivered: bool) -> OrderStatus {
    if cancelled {
        return OrderStatus::Cancelled;
    }
    if financial == "REFUNDED" {
        return OrderStatus::Refunded;
    }
    if delivered {
        return OrderStatus::Delivered;
    }
    match fulfillment {
        "FULFILLED" => OrderStatus::Shipped,
        "PARTIALLY_FULFILLED" | "IN_PROGRESS" | "PENDING_FULFILLMENT" | "SCHEDULED" | "ON_HOLD" => {
            OrderStatus::Processing
        }
        "UNFULFILLED" | "OPEN" | "" => match financial {
            "PENDING" | "AUTHORIZED" | "PARTIALLY_PAID" => OrderStatus::Pending,
            "PAID" | "PARTIALLY_REFUNDED" => OrderStatus::Confirmed,
            _ => OrderStatus::Other,
        },
        _ => OrderStatus::Other,
    }
}

fn full_name(first: Option<String>, last: Option<String>) -> Option<String> {
    let name = [first, last]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

/// Adds a vendor extra when the shop sent it.
fn put(extensions: &mut Extensions, key: &str, value: &Option<String>) {
    if let Some(value) = value.as_ref().filter(|v| !v.is_empty()) {
        // Encoding a string as JSON cannot fail.
        let _ = json::set_extension(extensions, key, value);
    }
}
