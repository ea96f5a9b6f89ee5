//! A minimal shop with fixed answers, for tests that need a commerce
//! plugin without any HTTP: one product named after the query (price,
//! SKU, stock, a link, an image address and two variants); orders by phone only (like
//! Ticimax, which has no e-mail filter): two fixed orders for a phone
//! ending in 7, none for any other; those two orders by id. An `api_key`
//! secret that does not start with `echo-` makes every call fail as the
//! shop refusing the credentials.

use omnigate_plugin_sdk::commerce::{
    Commerce, Customer, CustomerRef, Money, Order, OrderLine, OrderStatus, Product, ProductVariant,
    ShopError, Tracking,
};
use omnigate_plugin_sdk::config;

struct EchoCommerce;

/// Refuses every call when the configured API key is not an echo key.
fn check_key() -> Result<(), ShopError> {
    match config::secret("api_key") {
        Some(key) if !key.starts_with("echo-") => {
            Err(ShopError::Auth("the API key is not an echo key".into()))
        }
        _ => Ok(()),
    }
}

fn store_url() -> String {
    config::get("store_url")
        .unwrap_or_else(|| "https://shop.example.com".into())
        .trim_end_matches('/')
        .to_owned()
}

fn money(amount: &str) -> Option<Money> {
    Some(Money {
        amount: amount.into(),
        currency: "TRY".into(),
    })
}

/// The two orders a phone ending in 7 has, newest first.
fn orders(phone: Option<String>) -> Vec<Order> {
    let customer = || Customer {
        name: Some("Ayşe Yılmaz".into()),
        email: None,
        phone: phone.clone(),
    };
    vec![
        Order {
            id: "1001".into(),
            number: "#1001".into(),
            created_at: Some("2026-11-20T10:30:00Z".into()),
            status: OrderStatus::Shipped,
            status_label: "Kargoya verildi".into(),
            customer: customer(),
            total: money("349.70"),
            lines: vec![
                OrderLine {
                    title: "Mavi tişört - M".into(),
                    sku: Some("TS-MAVI-M".into()),
                    quantity: 2,
                    unit_price: money("149.90"),
                    tracking: Vec::new(),
                },
                OrderLine {
                    title: "Çorap".into(),
                    sku: None,
                    quantity: 1,
                    unit_price: money("49.90"),
                    tracking: Vec::new(),
                },
            ],
            tracking: vec![Tracking {
                company: Some("Yurtiçi Kargo".into()),
                number: "YK123456".into(),
                url: Some("https://kargo.example.com/track/YK123456".into()),
            }],
            extensions: Vec::new(),
        },
        Order {
            id: "998".into(),
            number: "#998".into(),
            created_at: Some("2026-10-02T08:00:00Z".into()),
            status: OrderStatus::Delivered,
            status_label: "Teslim edildi".into(),
            customer: customer(),
            total: money("89.00"),
            lines: vec![OrderLine {
                title: "Kupa".into(),
                sku: Some("KUPA-1".into()),
                quantity: 1,
                unit_price: money("89.00"),
                tracking: Vec::new(),
            }],
            tracking: Vec::new(),
            extensions: Vec::new(),
        },
    ]
}

impl Commerce for EchoCommerce {
    fn search_products(query: String, limit: u32) -> Result<Vec<Product>, ShopError> {
        check_key()?;
        let base = store_url();
        Ok((0..limit.min(1))
            .map(|_| Product {
                id: "p1".into(),
                title: query.clone(),
                sku: Some("ECHO-1".into()),
                price: money("149.90"),
                stock: Some(5),
                url: Some(format!("{base}/products/p1")),
                image_url: Some(format!("{base}/images/p1.png")),
                variants: vec![
                    ProductVariant {
                        id: "p1-m".into(),
                        title: "M".into(),
                        sku: Some("ECHO-1-M".into()),
                        price: money("149.90"),
                        stock: Some(5),
                    },
                    ProductVariant {
                        id: "p1-l".into(),
                        title: "L".into(),
                        sku: Some("ECHO-1-L".into()),
                        price: money("159.90"),
                        stock: Some(0),
                    },
                ],
                extensions: Vec::new(),
            })
            .collect())
    }

    fn orders_by_customer(customer: CustomerRef, limit: u32) -> Result<Vec<Order>, ShopError> {
        check_key()?;
        match customer {
            CustomerRef::Phone(phone) if phone.ends_with('7') => Ok(orders(Some(phone))
                .into_iter()
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .collect()),
            CustomerRef::Phone(_) => Ok(Vec::new()),
            CustomerRef::Email(_) => Err(ShopError::Unsupported(
                "this shop cannot look orders up by e-mail".into(),
            )),
        }
    }

    fn get_order(order_id: String) -> Result<Option<Order>, ShopError> {
        check_key()?;
        Ok(orders(None).into_iter().find(|o| o.id == order_id))
    }
}

omnigate_plugin_sdk::export_commerce!(EchoCommerce);
