//! A fake Shopify shop: the GraphQL Admin API at
//! `POST /admin/api/{version}/graphql.json` (wire-formats.md §3).
//!
//! It checks what a real shop checks (the API version, the
//! `X-Shopify-Access-Token`, a JSON body) and reads the request the way the
//! real API would: the operation's root field, its arguments (variables
//! resolved), and Shopify's search syntax in `query`. A plugin that sends
//! the wrong field, forgets a variable or searches the wrong field gets
//! Shopify's error or no match, not a canned answer. Every answer carries
//! `extensions.cost` from a leaky bucket (configurable: older shops have
//! 1000 points at 50/s, current ones 2000 at 100/s), which answers
//! `THROTTLED` when a query costs more than the bucket holds; tests can
//! also script throttling, 429 and 5xx answers, and hold answers back
//! ([`Shop::hold`]) to play a slow shop without sleeping.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

/// The answer Shopify gives a bad token, word for word.
pub const INVALID_TOKEN: &str =
    "[API] Invalid API key or access token (unrecognized login or wrong password)";

/// A product variant.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Numeric id; the API shows `gid://shopify/ProductVariant/{id}`.
    pub id: u64,
    /// `M`, or `Default Title` for a product without options.
    pub title: String,
    /// Stock keeping unit.
    pub sku: String,
    /// The `Money` scalar: a decimal string.
    pub price: String,
    /// Units in stock.
    pub inventory: i64,
}

/// A product of the catalogue.
#[derive(Debug, Clone)]
pub struct Product {
    /// Numeric id; the API shows `gid://shopify/Product/{id}`.
    pub id: u64,
    /// Searched by `title:` and free text.
    pub title: String,
    /// The URL slug.
    pub handle: String,
    /// Searched by `vendor:` and free text.
    pub vendor: String,
    /// Searched by `product_type:` and free text.
    pub product_type: String,
    /// The featured image.
    pub image_url: Option<String>,
    /// Sizes, colours; prices and stock live here.
    pub variants: Vec<Variant>,
}

/// A customer.
#[derive(Debug, Clone)]
pub struct Customer {
    /// Numeric id; the API shows `gid://shopify/Customer/{id}`.
    pub id: u64,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Searched by `email:`.
    pub email: String,
    /// E.164, as Shopify stores it.
    pub phone: String,
}

/// One shipment's tracking.
#[derive(Debug, Clone)]
pub struct Shipment {
    /// The carrier.
    pub company: String,
    /// The tracking number.
    pub number: String,
    /// The carrier's tracking page.
    pub url: String,
    /// `displayStatus`, e.g. `FULFILLED`, `DELIVERED`.
    pub display_status: String,
}

/// One line of an order.
#[derive(Debug, Clone)]
pub struct Line {
    /// The product title.
    pub title: String,
    /// `M`; `Default Title` or none without options.
    pub variant_title: Option<String>,
    /// The variant's SKU.
    pub sku: String,
    /// Units ordered.
    pub quantity: i64,
    /// Before discounts, a decimal string.
    pub unit_price: String,
}

/// An order.
#[derive(Debug, Clone)]
pub struct Order {
    /// Numeric id; the API shows `gid://shopify/Order/{id}`.
    pub id: u64,
    /// `#1001`.
    pub name: String,
    /// RFC 3339 in UTC.
    pub created_at: String,
    /// Whose order it is (a [`Customer::id`]).
    pub customer_id: u64,
    /// `displayFinancialStatus`: `PAID`, `REFUNDED`...
    pub financial_status: String,
    /// `displayFulfillmentStatus`: `UNFULFILLED`, `FULFILLED`...
    pub fulfillment_status: String,
    /// RFC 3339 when cancelled.
    pub cancelled_at: Option<String>,
    /// `totalPriceSet`, a decimal string.
    pub total: String,
    /// What was bought.
    pub lines: Vec<Line>,
    /// Fulfillments with tracking.
    pub shipments: Vec<Shipment>,
}

/// An answer the next request gets instead of the real one.
#[derive(Debug, Clone)]
pub enum Failure {
    /// HTTP 200 with a `THROTTLED` error and this many points available.
    Throttled {
        /// `throttleStatus.currentlyAvailable` in the answer.
        currently_available: f64,
    },
    /// HTTP 429 with `Retry-After` (`"2.0"`), as the REST API answers.
    TooManyRequests {
        /// The header's value.
        retry_after: String,
    },
    /// This HTTP status with Shopify's plain error body.
    Status(u16),
}

/// The shop's leaky bucket of query cost points.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// `maximumAvailable` points.
    pub maximum: f64,
    /// Points restored per second.
    pub restore_rate: f64,
    available: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket.
    #[must_use]
    pub fn full(maximum: f64, restore_rate: f64) -> Bucket {
        Bucket {
            maximum,
            restore_rate,
            available: maximum,
            at: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let gained = now.duration_since(self.at).as_secs_f64() * self.restore_rate;
        self.available = (self.available + gained).min(self.maximum);
        self.at = now;
    }
}

/// What the shop holds; tests change it through [`Shop`].
#[derive(Debug, Clone)]
pub struct ShopState {
    /// The only `X-Shopify-Access-Token` accepted.
    pub token: String,
    /// The only API version served; others are 404.
    pub api_version: String,
    /// The shop currency of every amount.
    pub currency: String,
    /// The catalogue.
    pub products: Vec<Product>,
    /// The customers.
    pub customers: Vec<Customer>,
    /// The orders.
    pub orders: Vec<Order>,
    /// Query cost accounting.
    pub bucket: Bucket,
    /// Whether the app is approved for protected customer data; without
    /// it customers' e-mail and phone read `null` with `ACCESS_DENIED`.
    pub protected_customer_data: bool,
    /// Answers served before any real one, first first.
    pub failures: VecDeque<Failure>,
}

/// A handle on the fake shop, shared with its router.
#[derive(Clone)]
pub struct Shop {
    state: Arc<Mutex<ShopState>>,
    /// `true` while a [`Hold`] keeps answers back.
    held: Arc<tokio::sync::watch::Sender<bool>>,
    /// Requests waiting for a hold to end.
    waiting: Arc<AtomicUsize>,
}

/// Keeps every answer of its [`Shop`] back until dropped.
pub struct Hold {
    held: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.held.send_replace(false);
    }
}

/// The token [`Shop::seeded`] accepts.
pub const TOKEN: &str = "shpat_fake_0123456789abcdef";
/// The API version [`Shop::seeded`] serves.
pub const API_VERSION: &str = "2025-01";

impl Shop {
    /// A shop in TRY with three products, two customers and three orders:
    /// Ayşe (`+905321112233`, `ayse@example.com`) has `#1001` and `#1003`
    /// (shipped, with tracking), Mehmet has `#1002`.
    #[must_use]
    pub fn seeded() -> Shop {
        let line = |title: &str, variant: Option<&str>, sku: &str, quantity, price: &str| Line {
            title: title.into(),
            variant_title: variant.map(Into::into),
            sku: sku.into(),
            quantity,
            unit_price: price.into(),
        };
        let state = ShopState {
            token: TOKEN.into(),
            api_version: API_VERSION.into(),
            currency: "TRY".into(),
            products: vec![
                Product {
                    id: 8_001,
                    title: "Pamuklu Tişört".into(),
                    handle: "pamuklu-tisort".into(),
                    vendor: "Acme".into(),
                    product_type: "Giyim".into(),
                    image_url: Some("https://cdn.shopify.com/s/files/tisort.jpg".into()),
                    variants: vec![
                        Variant {
                            id: 9_001,
                            title: "M".into(),
                            sku: "TS-M".into(),
                            price: "199.90".into(),
                            inventory: 5,
                        },
                        Variant {
                            id: 9_002,
                            title: "L".into(),
                            sku: "TS-L".into(),
                            price: "209.90".into(),
                            inventory: 0,
                        },
                    ],
                },
                Product {
                    id: 8_002,
                    title: "Kot Pantolon".into(),
                    handle: "kot-pantolon".into(),
                    vendor: "Acme".into(),
                    product_type: "Giyim".into(),
                    image_url: None,
                    variants: vec![Variant {
                        id: 9_003,
                        title: "Default Title".into(),
                        sku: "KP-32".into(),
                        price: "549.00".into(),
                        inventory: 12,
                    }],
                },
                Product {
                    id: 8_003,
                    title: "Deri Ceket".into(),
                    handle: "deri-ceket".into(),
                    vendor: "Zeta".into(),
                    product_type: "Dış Giyim".into(),
                    image_url: None,
                    variants: vec![Variant {
                        id: 9_004,
                        title: "Default Title".into(),
                        sku: "DC-1".into(),
                        price: "2499.00".into(),
                        inventory: 2,
                    }],
                },
            ],
            customers: vec![
                Customer {
                    id: 7_001,
                    first_name: "Ayşe".into(),
                    last_name: "Yılmaz".into(),
                    email: "ayse@example.com".into(),
                    phone: "+905321112233".into(),
                },
                Customer {
                    id: 7_002,
                    first_name: "Mehmet".into(),
                    last_name: "Demir".into(),
                    email: "mehmet@example.com".into(),
                    phone: "+905339998877".into(),
                },
            ],
            orders: vec![
                Order {
                    id: 5_001,
                    name: "#1001".into(),
                    created_at: "2025-01-10T09:30:00Z".into(),
                    customer_id: 7_001,
                    financial_status: "PAID".into(),
                    fulfillment_status: "UNFULFILLED".into(),
                    cancelled_at: None,
                    total: "399.80".into(),
                    lines: vec![line("Pamuklu Tişört", Some("M"), "TS-M", 2, "199.90")],
                    shipments: Vec::new(),
                },
                Order {
                    id: 5_002,
                    name: "#1002".into(),
                    created_at: "2025-01-20T12:00:00Z".into(),
                    customer_id: 7_002,
                    financial_status: "PAID".into(),
                    fulfillment_status: "FULFILLED".into(),
                    cancelled_at: None,
                    total: "2499.00".into(),
                    lines: vec![line("Deri Ceket", Some("Default Title"), "DC-1", 1, "2499.00")],
                    shipments: Vec::new(),
                },
                Order {
                    id: 5_003,
                    name: "#1003".into(),
                    created_at: "2025-02-01T15:45:00Z".into(),
                    customer_id: 7_001,
                    financial_status: "PAID".into(),
                    fulfillment_status: "FULFILLED".into(),
                    cancelled_at: None,
                    total: "549.00".into(),
                    lines: vec![line("Kot Pantolon", None, "KP-32", 1, "549.00")],
                    shipments: vec![Shipment {
                        company: "Yurtiçi Kargo".into(),
                        number: "YK123456789".into(),
                        url: "https://www.yurticikargo.com/tr/online-servisler/gonderi-sorgula?code=YK123456789".into(),
                        display_status: "FULFILLED".into(),
                    }],
                },
            ],
            bucket: Bucket::full(2000.0, 100.0),
            protected_customer_data: true,
            failures: VecDeque::new(),
        };
        Shop {
            state: Arc::new(Mutex::new(state)),
            held: Arc::new(tokio::sync::watch::Sender::new(false)),
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A slow shop: requests wait, unanswered, until the [`Hold`] is
    /// dropped.
    #[must_use]
    pub fn hold(&self) -> Hold {
        self.held.send_replace(true);
        Hold {
            held: Arc::clone(&self.held),
        }
    }

    /// How many requests a [`Hold`] keeps waiting now.
    #[must_use]
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Changes the shop's state.
    pub fn with<R>(&self, f: impl FnOnce(&mut ShopState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Serves `failure` to the next request instead of its real answer.
    pub fn fail_next(&self, failure: Failure) {
        self.with(|s| s.failures.push_back(failure));
    }

    /// The router to hand [`crate::FakeServer::start`].
    pub fn router(&self) -> Router {
        Router::new()
            .route("/admin/api/{version}/graphql.json", post(graphql))
            .with_state(self.clone())
    }
}

/// A GraphQL error answer (HTTP 200, `errors`, no `data`).
fn graphql_error(message: &str, code: &str) -> Response {
    Json(json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }))
        .into_response()
}

async fn graphql(
    State(shop): State<Shop>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut held = shop.held.subscribe();
    if *held.borrow_and_update() {
        shop.waiting.fetch_add(1, Ordering::SeqCst);
        // The sender lives as long as the shop; an error is its end.
        let _ = held.wait_for(|held| !held).await;
        shop.waiting.fetch_sub(1, Ordering::SeqCst);
    }
    let mut state = shop.state.lock().unwrap_or_else(PoisonError::into_inner);
    if version != state.api_version {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "errors": "Not Found" })),
        )
            .into_response();
    }
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(state.token.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "errors": INVALID_TOKEN })),
        )
            .into_response();
    }
    if let Some(failure) = state.failures.pop_front() {
        return failure_answer(&state, failure);
    }
    let json_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errors": "Content-Type must be application/json" })),
        )
            .into_response();
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errors": "Bad Request: invalid JSON" })),
        )
            .into_response();
    };
    let Some(query) = request.get("query").and_then(Value::as_str) else {
        return graphql_error("No query string was present", "BAD_REQUEST");
    };
    let variables = request
        .get("variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let operation = match Operation::parse(query, &variables) {
        Ok(op) => op,
        Err(message) => return graphql_error(&message, "GRAPHQL_VALIDATION_FAILED"),
    };
    let requested = operation.cost();
    state.bucket.refill();
    if requested > state.bucket.available {
        let available = state.bucket.available;
        return throttled(&state, requested, available);
    }
    let data = match execute(&state, &operation) {
        Ok(data) => data,
        Err(message) => return graphql_error(&message, "BAD_REQUEST"),
    };
    state.bucket.available -= requested;
    let mut answer =
        json!({ "data": data, "extensions": cost(&state, Some(requested), requested) });
    let touches_customers = matches!(operation.field.as_str(), "orders" | "order" | "customers");
    if touches_customers && !state.protected_customer_data {
        answer["errors"] = json!([{
            "message": "This app is not approved to access the Customer object. See https://shopify.dev/docs/apps/launch/protected-customer-data for more details.",
            "extensions": { "code": "ACCESS_DENIED" },
            "path": [operation.field],
        }]);
    }
    Json(answer).into_response()
}

fn failure_answer(state: &ShopState, failure: Failure) -> Response {
    match failure {
        Failure::Throttled {
            currently_available,
        } => throttled(state, 752.0, currently_available),
        Failure::TooManyRequests { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after)],
            Json(json!({ "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service." })),
        )
            .into_response(),
        Failure::Status(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Json(json!({ "errors": "Internal Server Error" })),
        )
            .into_response(),
    }
}

/// The throttled answer: HTTP 200, `THROTTLED`, no `data`.
fn throttled(state: &ShopState, requested: f64, available: f64) -> Response {
    let mut extensions = cost(state, None, requested);
    extensions["cost"]["throttleStatus"]["currentlyAvailable"] = json!(available);
    Json(json!({
        "errors": [{ "message": "Throttled", "extensions": {
            "code": "THROTTLED",
            "documentation": "https://shopify.dev/api/usage/rate-limits" } }],
        "extensions": extensions,
    }))
    .into_response()
}

fn cost(state: &ShopState, actual: Option<f64>, requested: f64) -> Value {
    json!({ "cost": {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": {
            "maximumAvailable": state.bucket.maximum,
            "currentlyAvailable": state.bucket.available,
            "restoreRate": state.bucket.restore_rate,
        },
    }})
}

/// The root field of a query and its arguments, variables resolved.
#[derive(Debug)]
struct Operation {
    field: String,
    args: Map<String, Value>,
    /// Arguments of a nested `orders(...)` selection (the phone lookup).
    nested_orders: Option<Map<String, Value>>,
}

impl Operation {
    /// Reads `query Name($a: T!, ...) { field(args) { ... } }`: declared
    /// variables must be provided, arguments must name declared
    /// variables or be literals.
    fn parse(query: &str, variables: &Map<String, Value>) -> Result<Operation, String> {
        let open = query
            .find('{')
            .ok_or_else(|| "Parse error: expected a selection set".to_owned())?;
        let header = &query[..open];
        if header.trim_start().starts_with("mutation") {
            return Err("this fake shop serves queries only".into());
        }
        let declared: Vec<String> = header
            .split('$')
            .skip(1)
            .filter_map(|d| d.split(':').next())
            .map(|n| n.trim().to_owned())
            .collect();
        for name in &declared {
            if !variables.contains_key(name) {
                return Err(format!(
                    "Variable ${name} of type was provided invalid value"
                ));
            }
        }
        let rest = query[open + 1..].trim_start();
        let field: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if field.is_empty() {
            return Err("Parse error: expected a field".into());
        }
        let after = &rest[field.len()..];
        let args = match after.trim_start().strip_prefix('(') {
            Some(inner) => {
                let close = inner
                    .find(')')
                    .ok_or_else(|| "Parse error: unclosed arguments".to_owned())?;
                arguments(&inner[..close], variables, &declared)?
            }
            None => Map::new(),
        };
        let nested_orders = match after.find("orders(") {
            Some(at) => {
                let inner = &after[at + "orders(".len()..];
                let close = inner
                    .find(')')
                    .ok_or_else(|| "Parse error: unclosed arguments".to_owned())?;
                Some(arguments(&inner[..close], variables, &declared)?)
            }
            None => None,
        };
        Ok(Operation {
            field,
            args,
            nested_orders,
        })
    }

    fn first(&self) -> Result<usize, String> {
        first_of(&self.args)
    }

    /// A rough calculated cost: one point per object a page may return,
    /// as Shopify's calculator estimates from `first`.
    fn cost(&self) -> f64 {
        let page = self
            .args
            .get("first")
            .and_then(Value::as_f64)
            .unwrap_or(1.0);
        let nested = self
            .nested_orders
            .as_ref()
            .and_then(|a| a.get("first"))
            .and_then(Value::as_f64)
            .unwrap_or(1.0);
        2.0 + page * nested * 3.0
    }
}

fn first_of(args: &Map<String, Value>) -> Result<usize, String> {
    let first = args
        .get("first")
        .and_then(Value::as_u64)
        .ok_or_else(|| "you must provide one of first or last".to_owned())?;
    if first == 0 || first > 250 {
        return Err(format!("first must be between 1 and 250, not {first}"));
    }
    usize::try_from(first).map_err(|e| e.to_string())
}

/// `name: value, ...` with `$var`, numbers, strings, booleans and enums.
fn arguments(
    text: &str,
    variables: &Map<String, Value>,
    declared: &[String],
) -> Result<Map<String, Value>, String> {
    let mut args = Map::new();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, value) = pair
            .split_once(':')
            .ok_or_else(|| format!("Parse error on `{pair}`"))?;
        let value = value.trim();
        let parsed = if let Some(var) = value.strip_prefix('$') {
            if !declared.iter().any(|d| d == var) {
                return Err(format!("Variable ${var} is used but not declared"));
            }
            variables.get(var).cloned().unwrap_or(Value::Null)
        } else if let Some(s) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Value::String(s.to_owned())
        } else if let Ok(n) = value.parse::<u64>() {
            json!(n)
        } else if value == "true" || value == "false" {
            Value::Bool(value == "true")
        } else {
            Value::String(value.to_owned())
        };
        args.insert(name.trim().to_owned(), parsed);
    }
    Ok(args)
}

fn execute(state: &ShopState, op: &Operation) -> Result<Value, String> {
    match op.field.as_str() {
        "products" => {
            let first = op.first()?;
            let query = op.args.get("query").and_then(Value::as_str).unwrap_or("");
            let found: Vec<Value> = state
                .products
                .iter()
                .filter(|p| product_matches(p, query))
                .take(first)
                .map(|p| product_json(state, p))
                .collect();
            Ok(json!({ "products": connection(found) }))
        }
        "orders" => {
            let first = op.first()?;
            let query = op.args.get("query").and_then(Value::as_str).unwrap_or("");
            let mut found: Vec<&Order> = state
                .orders
                .iter()
                .filter(|o| order_matches(state, o, query))
                .collect();
            sort_orders(&mut found, &op.args);
            let found = found
                .into_iter()
                .take(first)
                .map(|o| order_json(state, o))
                .collect();
            Ok(json!({ "orders": connection(found) }))
        }
        "customers" if !state.protected_customer_data => Ok(json!({ "customers": null })),
        "customers" => {
            let first = op.first()?;
            let query = op.args.get("query").and_then(Value::as_str).unwrap_or("");
            let found: Vec<Value> = state
                .customers
                .iter()
                .filter(|c| customer_matches(c, query))
                .take(first)
                .map(|c| {
                    let orders = match &op.nested_orders {
                        Some(args) => {
                            let first = first_of(args)?;
                            let mut mine: Vec<&Order> = state
                                .orders
                                .iter()
                                .filter(|o| o.customer_id == c.id)
                                .collect();
                            // Without a sort key Shopify sorts by id.
                            mine.sort_by_key(|o| o.id);
                            if args.get("reverse") == Some(&Value::Bool(true)) {
                                mine.reverse();
                            }
                            connection(
                                mine.into_iter()
                                    .take(first)
                                    .map(|o| order_json(state, o))
                                    .collect(),
                            )
                        }
                        None => Value::Null,
                    };
                    let mut customer = customer_json(c);
                    customer["orders"] = orders;
                    Ok(customer)
                })
                .collect::<Result<_, String>>()?;
            Ok(json!({ "customers": connection(found) }))
        }
        "order" => {
            let id = op
                .args
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| "Argument 'id' on Field 'order' is required".to_owned())?;
            let number = id
                .strip_prefix("gid://shopify/Order/")
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| format!("Invalid global id '{id}'"))?;
            let order = state
                .orders
                .iter()
                .find(|o| o.id == number)
                .map(|o| order_json(state, o));
            Ok(json!({ "order": order }))
        }
        other => Err(format!("Field '{other}' doesn't exist on type 'QueryRoot'")),
    }
}

fn sort_orders(orders: &mut [&Order], args: &Map<String, Value>) {
    match args.get("sortKey").and_then(Value::as_str) {
        Some("CREATED_AT") => orders.sort_by(|a, b| a.created_at.cmp(&b.created_at)),
        _ => orders.sort_by_key(|o| o.id),
    }
    if args.get("reverse") == Some(&Value::Bool(true)) {
        orders.reverse();
    }
}

/// Both connection forms, as Shopify offers them.
fn connection(nodes: Vec<Value>) -> Value {
    let edges: Vec<Value> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| json!({ "cursor": format!("cursor{i}"), "node": n }))
        .collect();
    json!({
        "edges": edges,
        "nodes": nodes,
        "pageInfo": { "hasNextPage": false, "endCursor": null },
    })
}

/// Lower case for matching, Turkish `İ`/`I` included.
fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| *c != '\u{307}')
        .map(|c| if c == 'ı' { 'i' } else { c })
        .collect()
}

/// `*x*`-style wildcard match, case-insensitive.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (fold(pattern), fold(text));
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(_), Some(_)) => text.contains(pattern.trim_matches('*')),
        (Some(rest), None) => text.ends_with(rest),
        (None, Some(rest)) => text.starts_with(rest),
        (None, None) => text == pattern,
    }
}

/// Shopify search syntax: terms separated by spaces are ANDed; a
/// `field:value` term searches that field, a bare term the default fields
/// (title, vendor, product type, SKUs).
fn product_matches(p: &Product, query: &str) -> bool {
    query
        .split_whitespace()
        .all(|term| match term.split_once(':') {
            Some(("title", v)) => wildcard(v, &p.title),
            Some(("sku", v)) => p.variants.iter().any(|x| wildcard(v, &x.sku)),
            Some(("vendor", v)) => wildcard(v, &p.vendor),
            Some(("product_type", v)) => wildcard(v, &p.product_type),
            Some(_) => false,
            None => {
                let t = fold(term);
                [&p.title, &p.vendor, &p.product_type]
                    .iter()
                    .any(|f| fold(f).contains(&t))
                    || p.variants.iter().any(|x| fold(&x.sku) == t)
            }
        })
}

fn order_matches(state: &ShopState, o: &Order, query: &str) -> bool {
    let customer = state.customers.iter().find(|c| c.id == o.customer_id);
    query
        .split_whitespace()
        .all(|term| match term.split_once(':') {
            Some(("email", v)) => customer.is_some_and(|c| c.email.eq_ignore_ascii_case(v)),
            Some(("name", v)) => o.name == v || o.name.trim_start_matches('#') == v,
            _ => false,
        })
}

fn customer_matches(c: &Customer, query: &str) -> bool {
    query
        .split_whitespace()
        .all(|term| match term.split_once(':') {
            Some(("phone", v)) => c.phone == v,
            Some(("email", v)) => c.email.eq_ignore_ascii_case(v),
            _ => false,
        })
}

fn money(state: &ShopState, amount: &str) -> Value {
    json!({ "amount": amount, "currencyCode": state.currency })
}

fn product_json(state: &ShopState, p: &Product) -> Value {
    let prices: Vec<&str> = p.variants.iter().map(|v| v.price.as_str()).collect();
    let by_value = |a: &&str, b: &&str| {
        let parse = |s: &str| s.parse::<f64>().unwrap_or(0.0);
        parse(a).total_cmp(&parse(b))
    };
    let min = prices.iter().copied().min_by(by_value).unwrap_or("0.00");
    let max = prices.iter().copied().max_by(by_value).unwrap_or("0.00");
    let variants: Vec<Value> = p
        .variants
        .iter()
        .map(|v| {
            json!({
                "id": format!("gid://shopify/ProductVariant/{}", v.id),
                "title": v.title, "sku": v.sku, "barcode": null,
                "price": v.price, "compareAtPrice": null,
                "inventoryQuantity": v.inventory,
                "availableForSale": v.inventory > 0,
                "selectedOptions": [{ "name": "Size", "value": v.title }],
                "image": null,
            })
        })
        .collect();
    let image = p
        .image_url
        .as_ref()
        .map(|url| json!({ "url": url, "altText": p.title }));
    json!({
        "id": format!("gid://shopify/Product/{}", p.id),
        "title": p.title,
        "handle": p.handle,
        "status": "ACTIVE",
        "vendor": p.vendor,
        "productType": p.product_type,
        "totalInventory": p.variants.iter().map(|v| v.inventory).sum::<i64>(),
        "onlineStoreUrl": format!("https://shop.example.com/products/{}", p.handle),
        "featuredImage": image,
        "priceRangeV2": {
            "minVariantPrice": money(state, min),
            "maxVariantPrice": money(state, max),
        },
        "variants": connection(variants),
        "media": connection(image.iter().map(|i| json!({ "image": i })).collect()),
    })
}

fn customer_json(c: &Customer) -> Value {
    json!({
        "id": format!("gid://shopify/Customer/{}", c.id),
        "firstName": c.first_name,
        "lastName": c.last_name,
        "email": c.email,
        "phone": c.phone,
    })
}

fn order_json(state: &ShopState, o: &Order) -> Value {
    let customer = state
        .customers
        .iter()
        .find(|c| c.id == o.customer_id)
        .filter(|_| state.protected_customer_data);
    let lines: Vec<Value> = o
        .lines
        .iter()
        .map(|l| {
            json!({
                "title": l.title, "variantTitle": l.variant_title, "sku": l.sku,
                "quantity": l.quantity,
                "originalUnitPriceSet": { "shopMoney": money(state, &l.unit_price) },
            })
        })
        .collect();
    let fulfillments: Vec<Value> = o
        .shipments
        .iter()
        .map(|s| {
            json!({
                "status": "SUCCESS",
                "displayStatus": s.display_status,
                "createdAt": o.created_at,
                "trackingInfo": [{ "company": s.company, "number": s.number, "url": s.url }],
            })
        })
        .collect();
    json!({
        "id": format!("gid://shopify/Order/{}", o.id),
        "name": o.name,
        "createdAt": o.created_at,
        "email": customer.map(|c| c.email.clone()),
        "phone": customer.map(|c| c.phone.clone()),
        "displayFinancialStatus": o.financial_status,
        "displayFulfillmentStatus": o.fulfillment_status,
        "cancelledAt": o.cancelled_at,
        "totalPriceSet": { "shopMoney": money(state, &o.total) },
        "customer": customer.map(customer_json),
        "lineItems": connection(lines),
        "fulfillments": fulfillments,
    })
}
