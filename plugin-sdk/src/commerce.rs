//! Commerce plugins: a shop's products and a customer's orders beside the
//! conversation, and the few actions the shop allows on an order.

pub use crate::bindings::omnigate::plugin::shop_types::{
    Customer, CustomerRef, Money, Order, OrderAction, OrderLine, OrderStatus, Product,
    ProductVariant, ShopError, Tracking,
};

/// A shop integration. Implement it on a unit struct and export it with
/// [`crate::export_commerce!`].
pub trait Commerce {
    /// Products matching free text, at most `limit`.
    fn search_products(query: String, limit: u32) -> Result<Vec<Product>, ShopError>;

    /// The customer's orders, newest first, at most `limit`. Shops that
    /// cannot filter by one of the references answer `Unsupported`.
    fn orders_by_customer(customer: CustomerRef, limit: u32) -> Result<Vec<Order>, ShopError>;

    /// One order by the shop's id, `None` if there is none.
    fn get_order(order_id: String) -> Result<Option<Order>, ShopError>;

    /// What an agent may do to the order now. The default is nothing, right
    /// for read-only integrations.
    fn allowed_actions(order_id: String) -> Result<Vec<OrderAction>, ShopError> {
        let _ = order_id;
        Ok(Vec::new())
    }

    /// Performs one of [`Commerce::allowed_actions`]. The default refuses,
    /// matching the default of no actions.
    fn perform_action(order_id: String, action_id: String) -> Result<String, ShopError> {
        Err(ShopError::Unsupported(format!(
            "no action `{action_id}` on order {order_id}: this integration is read-only"
        )))
    }
}
