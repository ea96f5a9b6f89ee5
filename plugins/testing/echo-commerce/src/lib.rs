//! A minimal shop: one product named after the query, orders by phone
//! only (like Ticimax, which has no e-mail filter), no order by id.

use omnigate_plugin_sdk::commerce::{Commerce, CustomerRef, Order, Product, ShopError};

struct EchoCommerce;

impl Commerce for EchoCommerce {
    fn search_products(query: String, limit: u32) -> Result<Vec<Product>, ShopError> {
        Ok((0..limit.min(1))
            .map(|_| Product {
                id: "p1".into(),
                title: query.clone(),
                sku: None,
                price: None,
                stock: Some(5),
                url: None,
                image_url: None,
                variants: Vec::new(),
                extensions: Vec::new(),
            })
            .collect())
    }

    fn orders_by_customer(customer: CustomerRef, _limit: u32) -> Result<Vec<Order>, ShopError> {
        match customer {
            CustomerRef::Phone(_) => Ok(Vec::new()),
            CustomerRef::Email(_) => Err(ShopError::Unsupported(
                "this shop cannot look orders up by e-mail".into(),
            )),
        }
    }

    fn get_order(_order_id: String) -> Result<Option<Order>, ShopError> {
        Ok(None)
    }
}

omnigate_plugin_sdk::export_commerce!(EchoCommerce);
