//! The GraphQL documents the plugin sends, as the Admin API reference
//! gives them (`../shared/reference/wire-formats.md` §3). Limits travel as
//! variables so one document serves every page size.

/// The order fields the side panel shows, shared by every order query.
const ORDER_FIELDS: &str = "fragment OrderFields on Order {
  id name createdAt email phone
  displayFinancialStatus displayFulfillmentStatus cancelledAt
  totalPriceSet { shopMoney { amount currencyCode } }
  customer { id firstName lastName email phone }
  lineItems(first: 50) { nodes { title variantTitle sku quantity
    originalUnitPriceSet { shopMoney { amount currencyCode } } } }
  fulfillments { status displayStatus createdAt trackingInfo { company number url } }
}";

/// Products matching Shopify search syntax in `$q`.
pub const SEARCH_PRODUCTS: &str = "query SearchProducts($q: String!, $first: Int!) {
  products(first: $first, query: $q) {
    nodes {
      id title handle status vendor productType totalInventory onlineStoreUrl
      featuredImage { url altText }
      priceRangeV2 { minVariantPrice { amount currencyCode } maxVariantPrice { amount currencyCode } }
      variants(first: 20) { nodes { id title sku barcode price compareAtPrice inventoryQuantity
        availableForSale selectedOptions { name value } } }
    }
  }
}";

/// Orders matching `$q` (`email:…`, `name:#1042`), newest first.
pub fn orders_search() -> String {
    format!(
        "query OrdersSearch($q: String!, $first: Int!) {{
  orders(first: $first, query: $q, sortKey: CREATED_AT, reverse: true) {{
    nodes {{ ...OrderFields }}
  }}
}}
{ORDER_FIELDS}"
    )
}

/// A customer found by `phone:+…` in `$q`, with their latest orders.
/// Phone is not a reliable `orders` filter, so the lookup goes through
/// the customer (reference: [M]).
pub fn orders_by_phone() -> String {
    format!(
        "query OrdersByPhone($q: String!, $first: Int!) {{
  customers(first: 1, query: $q) {{
    nodes {{ id email phone orders(first: $first, reverse: true) {{ nodes {{ ...OrderFields }} }} }}
  }}
}}
{ORDER_FIELDS}"
    )
}

/// One order by its global id.
pub fn order() -> String {
    format!(
        "query Order($id: ID!) {{
  order(id: $id) {{ ...OrderFields }}
}}
{ORDER_FIELDS}"
    )
}
