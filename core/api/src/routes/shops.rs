//! Shop integrations: admins configure shops (instances of commerce
//! plugins); agents see the contact's orders beside the conversation,
//! search a shop's products and open an order.

use std::collections::BTreeMap;

use axum::Json as ResponseJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use omnigate_domain::{AuditAction, AuditEvent, Timestamp, ValidationError};
use omnigate_engine::plugins::commerce::ShopFailure;
use omnigate_plugin_host::types::commerce::{
    Money, Order, OrderLine, OrderStatus, Product, Tracking,
};
use omnigate_store::shops::ShopRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use omnigate_plugin_host::PluginKind;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ClientAddr, Json, Query, parse_id};
use crate::routes::channels::check_name;
use crate::routes::conversations::caller;
use crate::state::AppState;

/// A configured shop.
#[derive(Serialize, ToSchema)]
pub(crate) struct ShopView {
    id: u64,
    /// Shown to agents.
    name: String,
    /// The commerce plugin that talks to it.
    plugin: String,
    disabled: bool,
    #[schema(format = DateTime)]
    created_at: String,
    /// Config values by the plugin manifest's keys.
    config: BTreeMap<String, String>,
    /// Which secrets are set (values are never shown).
    secrets_set: Vec<String>,
}

impl From<&ShopRecord> for ShopView {
    fn from(shop: &ShopRecord) -> ShopView {
        ShopView {
            id: shop.id,
            name: shop.name.clone(),
            plugin: shop.plugin.clone(),
            disabled: shop.disabled,
            created_at: Timestamp(shop.created_at_ms).to_rfc3339(),
            config: shop.config.clone(),
            secrets_set: shop.secrets.keys().cloned().collect(),
        }
    }
}

/// Every shop.
#[derive(Serialize, ToSchema)]
pub(crate) struct ShopList {
    shops: Vec<ShopView>,
}

/// Fields of a shop an admin sets; on a change absent fields stay, and in
/// `config` and `secrets` an empty value removes a key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShopFields {
    /// 1 to 100 characters; required on create.
    name: Option<String>,
    /// An installed commerce plugin's name (`shopify`, `ticimax`,
    /// `ideasoft`); required on create, cannot change.
    plugin: Option<String>,
    disabled: Option<bool>,
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    config: Option<BTreeMap<String, String>>,
    /// Write-only.
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    secrets: Option<BTreeMap<String, String>>,
}

/// An amount in a currency, as the shop gives it (a decimal string).
#[derive(Serialize, ToSchema)]
pub(crate) struct MoneyView {
    amount: String,
    currency: String,
}

/// A shipment's tracking.
#[derive(Serialize, ToSchema)]
pub(crate) struct TrackingView {
    #[schema(required = true)]
    company: Option<String>,
    number: String,
    #[schema(required = true)]
    url: Option<String>,
}

/// One line of an order.
#[derive(Serialize, ToSchema)]
pub(crate) struct OrderLineView {
    title: String,
    #[schema(required = true)]
    sku: Option<String>,
    quantity: u32,
    #[schema(required = true)]
    unit_price: Option<MoneyView>,
    tracking: Vec<TrackingView>,
}

/// An order.
#[derive(Serialize, ToSchema)]
pub(crate) struct OrderView {
    /// The shop's id for it.
    id: String,
    /// The number the customer knows it by.
    number: String,
    #[schema(required = true)]
    created_at: Option<String>,
    /// `pending`, `confirmed`, `processing`, `shipped`, `delivered`,
    /// `cancelled`, `refunded` or `other`.
    status: &'static str,
    /// The shop's own wording of the status.
    status_label: String,
    #[schema(required = true)]
    customer_name: Option<String>,
    #[schema(required = true)]
    total: Option<MoneyView>,
    lines: Vec<OrderLineView>,
    tracking: Vec<TrackingView>,
}

/// A product.
#[derive(Serialize, ToSchema)]
pub(crate) struct ProductView {
    id: String,
    title: String,
    #[schema(required = true)]
    sku: Option<String>,
    #[schema(required = true)]
    price: Option<MoneyView>,
    /// Units in stock, when the shop says.
    #[schema(required = true)]
    stock: Option<i64>,
    #[schema(required = true)]
    url: Option<String>,
    #[schema(required = true)]
    image_url: Option<String>,
    /// Variant titles with their own price and stock.
    variants: Vec<VariantView>,
}

/// A product variant.
#[derive(Serialize, ToSchema)]
pub(crate) struct VariantView {
    id: String,
    title: String,
    #[schema(required = true)]
    sku: Option<String>,
    #[schema(required = true)]
    price: Option<MoneyView>,
    #[schema(required = true)]
    stock: Option<i64>,
}

fn money(m: Option<Money>) -> Option<MoneyView> {
    m.map(|m| MoneyView {
        amount: m.amount,
        currency: m.currency,
    })
}

fn tracking(list: Vec<Tracking>) -> Vec<TrackingView> {
    list.into_iter()
        .map(|t| TrackingView {
            company: t.company,
            number: t.number,
            url: t.url,
        })
        .collect()
}

impl From<Order> for OrderView {
    fn from(o: Order) -> OrderView {
        OrderView {
            id: o.id,
            number: o.number,
            created_at: o.created_at,
            status: match o.status {
                OrderStatus::Pending => "pending",
                OrderStatus::Confirmed => "confirmed",
                OrderStatus::Processing => "processing",
                OrderStatus::Shipped => "shipped",
                OrderStatus::Delivered => "delivered",
                OrderStatus::Cancelled => "cancelled",
                OrderStatus::Refunded => "refunded",
                OrderStatus::Other => "other",
            },
            status_label: o.status_label,
            customer_name: o.customer.name,
            total: money(o.total),
            lines: o
                .lines
                .into_iter()
                .map(|l: OrderLine| OrderLineView {
                    title: l.title,
                    sku: l.sku,
                    quantity: l.quantity,
                    unit_price: money(l.unit_price),
                    tracking: tracking(l.tracking),
                })
                .collect(),
            tracking: tracking(o.tracking),
        }
    }
}

impl From<Product> for ProductView {
    fn from(p: Product) -> ProductView {
        ProductView {
            id: p.id,
            title: p.title,
            sku: p.sku,
            price: money(p.price),
            stock: p.stock,
            url: p.url,
            image_url: p.image_url,
            variants: p
                .variants
                .into_iter()
                .map(|v| VariantView {
                    id: v.id,
                    title: v.title,
                    sku: v.sku,
                    price: money(v.price),
                    stock: v.stock,
                })
                .collect(),
        }
    }
}

/// One shop's part of the contact panel.
#[derive(Serialize, ToSchema)]
pub(crate) struct ShopOrdersView {
    shop_id: u64,
    shop_name: String,
    /// The contact's orders there, newest first (empty on error).
    orders: Vec<OrderView>,
    /// Why this shop could not answer; the others still show.
    #[schema(required = true)]
    error: Option<String>,
}

/// The contact's orders in every enabled shop.
#[derive(Serialize, ToSchema)]
pub(crate) struct ContactOrders {
    /// The phone they were looked up by; `null` when the contact has none
    /// (then no shop is asked).
    #[schema(required = true)]
    phone: Option<String>,
    shops: Vec<ShopOrdersView>,
}

/// Products found.
#[derive(Serialize, ToSchema)]
pub(crate) struct ProductList {
    products: Vec<ProductView>,
}

/// One order.
#[derive(Serialize, ToSchema)]
pub(crate) struct OrderBody {
    order: OrderView,
}

/// Product search parameters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProductQuery {
    /// Words of the title, or a SKU.
    q: String,
    /// At most this many (default 10, at most 50).
    limit: Option<u32>,
}

impl From<ShopFailure> for ApiError {
    fn from(failure: ShopFailure) -> ApiError {
        match failure {
            ShopFailure::NotFound(m) => ApiError::not_found(m),
            ShopFailure::Unavailable(m) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "shop_unavailable", m)
            }
            ShopFailure::Engine(e) => e.into(),
        }
    }
}

/// List shops.
#[utoipa::path(
    get,
    path = "/api/v1/shops",
    operation_id = "list_shops",
    tag = "shops",
    responses((status = 200, description = "Every configured shop, without secrets.", body = ShopList)),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<ResponseJson<ShopList>, ApiError> {
    let shops = state.inner.store.shops()?;
    Ok(ResponseJson(ShopList {
        shops: shops.iter().map(ShopView::from).collect(),
    }))
}

/// Configure a shop.
///
/// `plugin` names an installed commerce plugin; `config` and `secrets`
/// hold its manifest's keys. Audited.
#[utoipa::path(
    post,
    path = "/api/v1/shops",
    operation_id = "create_shop",
    tag = "shops",
    request_body = ShopFields,
    responses(
        (status = 201, description = "Created.", body = ShopView),
        (status = 422, description = "`invalid_request`: a field is wrong (unknown plugin, unknown or missing settings).", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<ShopFields>,
) -> Result<(StatusCode, ResponseJson<ShopView>), ApiError> {
    state.refuse_if_read_only()?;
    let name = check_name(body.name.as_deref().unwrap_or_default())?;
    let crate::routes::plugin_settings::Instance {
        plugin,
        config,
        secrets,
    } = crate::routes::plugin_settings::for_new_instance(
        &state,
        body.plugin,
        PluginKind::Commerce,
        body.config,
        body.secrets,
        crate::routes::plugin_settings::ValueRules::LINE,
    )?;
    let shop = state.inner.store.create_shop(ShopRecord {
        id: 0,
        name,
        plugin,
        config,
        secrets,
        disabled: body.disabled.unwrap_or(false),
        created_at_ms: state.now().0,
    })?;
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::ShopConfigured)
            .target(format!("shop:{}", shop.id))
            .source(client.label())
            .detail(
                json!({ "change": "created", "name": shop.name, "plugin": shop.plugin })
                    .to_string(),
            ),
    )?;
    state.durable().await?;
    Ok((StatusCode::CREATED, ResponseJson(ShopView::from(&shop))))
}

fn find(state: &AppState, raw: &str) -> Result<ShopRecord, ApiError> {
    let id = parse_id("shop", raw)?;
    state
        .inner
        .store
        .shop(id)?
        .ok_or_else(|| ApiError::not_found(format!("no shop with id `{raw}`")))
}

/// Change a shop.
///
/// Absent fields stay. Audited.
#[utoipa::path(
    patch,
    path = "/api/v1/shops/{id}",
    operation_id = "update_shop",
    tag = "shops",
    params(("id" = u64, Path, description = "The shop's id.")),
    request_body = ShopFields,
    responses(
        (status = 200, description = "The shop as changed.", body = ShopView),
        (status = 404, description = "`not_found`: no such shop.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
    Json(body): Json<ShopFields>,
) -> Result<ResponseJson<ShopView>, ApiError> {
    state.refuse_if_read_only()?;
    let mut shop = find(&state, &id)?;
    if body.plugin.as_ref().is_some_and(|p| *p != shop.plugin) {
        return Err(ValidationError::new("plugin", "a shop's plugin cannot change").into());
    }
    if let Some(name) = &body.name {
        shop.name = check_name(name)?;
    }
    if let Some(disabled) = body.disabled {
        shop.disabled = disabled;
    }
    if body.config.is_some() || body.secrets.is_some() {
        let manifest = crate::routes::plugin_settings::manifest_of(
            &state,
            &shop.plugin,
            PluginKind::Commerce,
        )?;
        crate::routes::plugin_settings::merge(
            &manifest,
            &mut shop.config,
            &mut shop.secrets,
            body.config,
            body.secrets,
            crate::routes::plugin_settings::ValueRules::LINE,
        )?;
    }
    state.inner.store.update_shop(&shop)?;
    if let Some(plugins) = state.engine().plugins() {
        plugins.shop_changed(shop.id);
    }
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::ShopConfigured)
            .target(format!("shop:{}", shop.id))
            .source(client.label())
            .detail(json!({ "change": "updated", "view": ShopView::from(&shop) }).to_string()),
    )?;
    state.durable().await?;
    Ok(ResponseJson(ShopView::from(&shop)))
}

/// Delete a shop.
///
/// Audited.
#[utoipa::path(
    delete,
    path = "/api/v1/shops/{id}",
    operation_id = "delete_shop",
    tag = "shops",
    params(("id" = u64, Path, description = "The shop's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`not_found`: no such shop.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = []), ("api_token" = []))
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    state.refuse_if_read_only()?;
    let shop = find(&state, &id)?;
    state.inner.store.delete_shop(shop.id)?;
    if let Some(plugins) = state.engine().plugins() {
        plugins.shop_changed(shop.id);
    }
    state.audit(
        &AuditEvent::new(principal.actor(), AuditAction::ShopConfigured)
            .target(format!("shop:{}", shop.id))
            .source(client.label())
            .detail(json!({ "change": "deleted", "name": shop.name }).to_string()),
    )?;
    state.durable().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The contact's orders.
///
/// Asks every enabled shop for the orders of the conversation's contact,
/// by their phone; a shop that fails is reported beside the others.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}/orders",
    operation_id = "contact_orders",
    tag = "shops",
    params(("id" = u64, Path, description = "The conversation's id.")),
    responses(
        (status = 200, description = "Each shop's orders of the contact.", body = ContactOrders),
        (status = 403, description = "`forbidden`: not a conversation the caller may see.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation.", body = ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn contact_orders(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    principal: Principal,
) -> Result<ResponseJson<ContactOrders>, ApiError> {
    let id = parse_id("conversation", &id)?;
    let engine = state.engine();
    let conversation = engine.conversation_for(&caller(&principal, client), id)?;
    let (phone, found) = engine.orders_of_contact(&conversation).await?;
    Ok(ResponseJson(ContactOrders {
        phone,
        shops: found
            .into_iter()
            .map(|s| {
                let (orders, error) = match s.orders {
                    Ok(orders) => (orders.into_iter().map(OrderView::from).collect(), None),
                    Err(error) => (Vec::new(), Some(error)),
                };
                ShopOrdersView {
                    shop_id: s.shop_id,
                    shop_name: s.shop_name,
                    orders,
                    error,
                }
            })
            .collect(),
    }))
}

/// Search a shop's products.
#[utoipa::path(
    get,
    path = "/api/v1/shops/{id}/products",
    operation_id = "search_products",
    tag = "shops",
    params(("id" = u64, Path, description = "The shop's id."), ProductQuery),
    responses(
        (status = 200, description = "Matching products.", body = ProductList),
        (status = 404, description = "`not_found`: no enabled shop with that id.", body = ErrorBody),
        (status = 502, description = "`shop_unavailable`: the shop or its plugin could not answer; the message says why.", body = ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn products(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ProductQuery>,
) -> Result<ResponseJson<ProductList>, ApiError> {
    let id = parse_id("shop", &id)?;
    let query = q.q.trim().to_owned();
    if query.is_empty() || query.chars().count() > 200 {
        return Err(ValidationError::new("q", "must have 1 to 200 characters").into());
    }
    let limit = q.limit.unwrap_or(10).clamp(1, 50);
    let products = state.engine().shop_products(id, query, limit).await?;
    Ok(ResponseJson(ProductList {
        products: products.into_iter().map(ProductView::from).collect(),
    }))
}

/// One order of a shop.
#[utoipa::path(
    get,
    path = "/api/v1/shops/{id}/orders/{order}",
    operation_id = "get_shop_order",
    tag = "shops",
    params(
        ("id" = u64, Path, description = "The shop's id."),
        ("order" = String, Path, description = "The order's id or number."),
    ),
    responses(
        (status = 200, description = "The order.", body = OrderBody),
        (status = 404, description = "`not_found`: no such shop or order.", body = ErrorBody),
        (status = 502, description = "`shop_unavailable`: the shop or its plugin could not answer.", body = ErrorBody),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn order(
    State(state): State<AppState>,
    Path((id, order)): Path<(String, String)>,
) -> Result<ResponseJson<OrderBody>, ApiError> {
    let id = parse_id("shop", &id)?;
    let order = state
        .engine()
        .shop_order(id, order)
        .await?
        .ok_or_else(|| ApiError::not_found("the shop has no such order"))?;
    Ok(ResponseJson(OrderBody {
        order: OrderView::from(order),
    }))
}
