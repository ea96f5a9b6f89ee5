//! A fake Ideasoft store: the REST Admin API under `/admin-api/` and the
//! OAuth2 token endpoint `POST /oauth/v2/token` (wire-formats.md §5).
//!
//! List endpoints answer bare JSON arrays and page with `page`/`limit`;
//! `products` filters by `name` (a case-insensitive substring: the real
//! matching is unverified) and `sku` (exact); `orders` sorts by `sort=id`
//! or `sort=-id` and refuses other sort keys, so a request the fake does
//! not understand fails instead of being answered blindly. Tokens rotate
//! like the real server's: a refresh spends the refresh token and issues a
//! new pair. Order field names are unverified [L]; they are written in
//! [`order_json`] only, to be corrected in one place.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

/// The OAuth2 client the seeded store knows.
pub const CLIENT_ID: &str = "omnigate-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "omnigate-secret";
/// The refresh token the seeded store issued first.
pub const REFRESH_TOKEN: &str = "rt-initial";

/// A product.
#[derive(Debug, Clone)]
pub struct Product {
    /// Product id.
    pub id: u64,
    /// Matched by `name=` as a case-insensitive substring.
    pub name: String,
    /// Matched by `sku=` exactly.
    pub sku: String,
    /// Units in stock.
    pub stock_amount: f64,
    /// List price, a decimal.
    pub price1: f64,
    /// Discount: a percent when `discount_type` is 1, an amount when 0.
    pub discount: f64,
    /// 1 = percent, 0 = fixed amount.
    pub discount_type: u8,
    /// Whether `price1` includes tax.
    pub tax_included: bool,
    /// Tax percent.
    pub tax: u32,
    /// Image URL.
    pub image_url: Option<String>,
}

/// One line of an order.
#[derive(Debug, Clone)]
pub struct OrderItem {
    /// Product name.
    pub product_name: String,
    /// SKU.
    pub product_sku: String,
    /// Unit price.
    pub product_price: f64,
    /// Units.
    pub product_quantity: u32,
}

/// An order.
#[derive(Debug, Clone)]
pub struct Order {
    /// Order id.
    pub id: u64,
    /// The number customers quote.
    pub transaction_id: String,
    /// Given name.
    pub customer_firstname: String,
    /// Family name.
    pub customer_surname: String,
    /// E-mail.
    pub customer_email: String,
    /// As the customer typed it.
    pub customer_phone: String,
    /// `waiting_for_approval`, `approved`, `being_prepared`, `fulfilled`,
    /// `delivered`, `cancelled`, `refunded`.
    pub status: String,
    /// Payable total.
    pub final_amount: f64,
    /// `YYYY-MM-DD HH:MM:SS` in the store's zone.
    pub created_at: String,
    /// Lines.
    pub items: Vec<OrderItem>,
    /// Carrier tracking code.
    pub tracking_code: Option<String>,
    /// Carrier name.
    pub tracking_company: Option<String>,
}

/// An answer the next Admin API request gets instead of the real one.
#[derive(Debug, Clone)]
pub enum Failure {
    /// HTTP 429 with this `Retry-After`.
    TooManyRequests {
        /// The header's value in seconds.
        retry_after: String,
    },
    /// This HTTP status.
    Status(u16),
}

/// What the store holds; tests change it through [`Store`].
#[derive(Debug, Clone)]
pub struct StoreState {
    /// The OAuth2 client id accepted.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// Refresh tokens not yet spent.
    pub refresh_tokens: Vec<String>,
    /// Access tokens accepted now.
    pub access_tokens: Vec<String>,
    /// `expires_in` of issued tokens, seconds.
    pub expires_in: u64,
    /// Tokens issued so far, to number new ones.
    pub issued: u64,
    /// The catalogue.
    pub products: Vec<Product>,
    /// The orders.
    pub orders: Vec<Order>,
    /// Answers served before any real one, first first.
    pub failures: VecDeque<Failure>,
}

/// A handle on the fake store, shared with its router.
#[derive(Clone)]
pub struct Store {
    state: Arc<Mutex<StoreState>>,
}

impl Store {
    /// A store with three products and 105 orders (so a customer's orders
    /// span pages): Ayşe (`ayse@example.com`, `0532 111 22 33`) has
    /// orders 3 and 104, Mehmet has order 2; the rest belong to others.
    #[must_use]
    pub fn seeded() -> Store {
        let product =
            |id, name: &str, sku: &str, price1, discount, discount_type, tax_included| Product {
                id,
                name: name.into(),
                sku: sku.into(),
                stock_amount: 4.0,
                price1,
                discount,
                discount_type,
                tax_included,
                tax: 20,
                image_url: Some(format!("https://cdn.myideasoft.com/{id}.jpg")),
            };
        let order =
            |id: u64, first: &str, last: &str, email: &str, phone: &str, status: &str| Order {
                id,
                transaction_id: format!("IDS{id:05}"),
                customer_firstname: first.into(),
                customer_surname: last.into(),
                customer_email: email.into(),
                customer_phone: phone.into(),
                status: status.into(),
                final_amount: 120.0,
                created_at: format!("2025-01-{:02} 10:00:00", 1 + id % 28),
                items: vec![OrderItem {
                    product_name: "Pamuklu Tişört".into(),
                    product_sku: "TS-M".into(),
                    product_price: 120.0,
                    product_quantity: 1,
                }],
                tracking_code: None,
                tracking_company: None,
            };
        let mut orders: Vec<Order> = (1..=105)
            .map(|id| {
                order(
                    id,
                    "Diğer",
                    "Müşteri",
                    &format!("other{id}@example.com"),
                    &format!("0555 000 {:02} {:02}", id / 100, id % 100),
                    "approved",
                )
            })
            .collect();
        orders[1] = order(
            2,
            "Mehmet",
            "Demir",
            "mehmet@example.com",
            "05339998877",
            "approved",
        );
        orders[2] = order(
            3,
            "Ayşe",
            "Yılmaz",
            "ayse@example.com",
            "0532 111 22 33",
            "delivered",
        );
        let mut latest = order(
            104,
            "Ayşe",
            "Yılmaz",
            "AYSE@example.com",
            "+90 532 111 2233",
            "fulfilled",
        );
        latest.created_at = "2025-02-10 14:30:00".into();
        latest.tracking_code = Some("MNG987654".into());
        latest.tracking_company = Some("MNG Kargo".into());
        orders[103] = latest;
        let state = StoreState {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            refresh_tokens: vec![REFRESH_TOKEN.into()],
            access_tokens: Vec::new(),
            expires_in: 86_400,
            issued: 0,
            products: vec![
                product(1, "Pamuklu Tişört", "TS-M", 100.0, 10.0, 1, false),
                product(2, "Kot Pantolon", "KP-32", 500.0, 50.0, 0, true),
                product(3, "Yün Kazak", "YK-1", 300.0, 0.0, 0, true),
            ],
            orders,
            failures: VecDeque::new(),
        };
        Store {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// Changes the store's state.
    pub fn with<R>(&self, f: impl FnOnce(&mut StoreState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Serves `failure` to the next Admin API request.
    pub fn fail_next(&self, failure: Failure) {
        self.with(|s| s.failures.push_back(failure));
    }

    /// Expires every access token, as a day passing would.
    pub fn expire_access_tokens(&self) {
        self.with(|s| s.access_tokens.clear());
    }

    /// The router to hand [`crate::FakeServer::start`].
    pub fn router(&self) -> Router {
        Router::new()
            .route("/oauth/v2/token", post(token))
            .route("/admin-api/products", get(products))
            .route("/admin-api/products/{id}", get(product))
            .route("/admin-api/orders", get(orders))
            .route("/admin-api/orders/{id}", get(order))
            .with_state(self.clone())
    }
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// `application/x-www-form-urlencoded` decoding.
fn form(body: &[u8]) -> HashMap<String, String> {
    let decode = |s: &str| -> String {
        let hex = |b: u8| {
            char::from(b)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let escaped = (bytes[i] == b'%')
                .then(|| Some(hex(*bytes.get(i + 1)?)? * 16 + hex(*bytes.get(i + 2)?)?))
                .flatten();
            match (bytes[i], escaped) {
                (_, Some(b)) => {
                    out.push(b);
                    i += 3;
                }
                (b'+', None) => {
                    out.push(b' ');
                    i += 1;
                }
                (b, None) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

async fn token(State(store): State<Store>, headers: HeaderMap, body: Bytes) -> Response {
    let form_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_body {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid grant_type parameter or parameter missing",
        );
    }
    let params = form(&body);
    let param = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    store.with(|s| {
        if param("client_id") != s.client_id || param("client_secret") != s.client_secret {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                "The client credentials are invalid",
            );
        }
        if param("grant_type") != "refresh_token" {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "This fake store serves the refresh_token grant only",
            );
        }
        let Some(at) = s
            .refresh_tokens
            .iter()
            .position(|t| t == param("refresh_token"))
        else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Invalid refresh token",
            );
        };
        s.refresh_tokens.remove(at);
        s.issued += 1;
        let access = format!("at-{}", s.issued);
        let refresh = format!("rt-{}", s.issued);
        s.access_tokens.push(access.clone());
        s.refresh_tokens.push(refresh.clone());
        Json(json!({
            "access_token": access,
            "expires_in": s.expires_in,
            "token_type": "bearer",
            "scope": null,
            "refresh_token": refresh,
        }))
        .into_response()
    })
}

/// The bearer check and scripted failures every Admin API call goes
/// through: the answer to send instead of the real one, if any.
fn refused(store: &Store, headers: &HeaderMap) -> Option<Response> {
    store.with(|s| {
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !bearer.is_some_and(|t| s.access_tokens.iter().any(|a| a == t)) {
            return Some(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "The access token provided is invalid.",
            ));
        }
        match s.failures.pop_front()? {
            Failure::TooManyRequests { retry_after } => Some(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", retry_after)],
                    Json(json!({ "errorMessage": "Too Many Requests" })),
                )
                    .into_response(),
            ),
            Failure::Status(status) => Some(
                (
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    Json(json!({ "errorMessage": "Internal Server Error" })),
                )
                    .into_response(),
            ),
        }
    })
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "errorMessage": message })),
    )
        .into_response()
}

/// Items to skip and to take from `page` (from 1) and `limit` (1-100).
fn paging(query: &HashMap<String, String>) -> Result<(usize, usize), String> {
    let number = |key: &str, default: usize| match query.get(key) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| format!("`{key}` must be a number")),
    };
    let page = number("page", 1)?;
    let limit = number("limit", 20)?;
    if page == 0 || limit == 0 || limit > 100 {
        return Err("page starts at 1; limit is 1 to 100".into());
    }
    Ok(((page - 1) * limit, limit))
}

async fn products(
    State(store): State<Store>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = refused(&store, &headers) {
        return refused;
    }
    let (skip, limit) = match paging(&query) {
        Ok(p) => p,
        Err(message) => return bad_request(&message),
    };
    let name = query.get("name").map(|n| n.to_lowercase());
    let sku = query.get("sku");
    let found: Vec<Value> = store.with(|s| {
        s.products
            .iter()
            .filter(|p| {
                name.as_ref()
                    .is_none_or(|n| p.name.to_lowercase().contains(n))
            })
            .filter(|p| sku.is_none_or(|k| &p.sku == k))
            .skip(skip)
            .take(limit)
            .map(product_json)
            .collect()
    });
    Json(Value::Array(found)).into_response()
}

async fn product(State(store): State<Store>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    if let Some(refused) = refused(&store, &headers) {
        return refused;
    }
    match store.with(|s| s.products.iter().find(|p| p.id == id).map(product_json)) {
        Some(p) => Json(p).into_response(),
        None => not_found(),
    }
}

async fn orders(
    State(store): State<Store>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = refused(&store, &headers) {
        return refused;
    }
    let (skip, limit) = match paging(&query) {
        Ok(p) => p,
        Err(message) => return bad_request(&message),
    };
    let descending = match query.get("sort").map(String::as_str) {
        None | Some("id") => false,
        Some("-id") => true,
        Some(other) => {
            return bad_request(&format!("unknown sort `{other}`"));
        }
    };
    let found: Vec<Value> = store.with(|s| {
        let mut all: Vec<&Order> = s.orders.iter().collect();
        all.sort_by_key(|o| o.id);
        if descending {
            all.reverse();
        }
        all.into_iter()
            .skip(skip)
            .take(limit)
            .map(order_json)
            .collect()
    });
    Json(Value::Array(found)).into_response()
}

async fn order(State(store): State<Store>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    if let Some(refused) = refused(&store, &headers) {
        return refused;
    }
    match store.with(|s| s.orders.iter().find(|o| o.id == id).map(order_json)) {
        Some(o) => Json(o).into_response(),
        None => not_found(),
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "errorMessage": "Not Found" })),
    )
        .into_response()
}

fn currency() -> Value {
    json!({ "id": 1, "label": "Türk Lirası", "abbr": "TL" })
}

fn product_json(p: &Product) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "fullName": p.name,
        "slug": p.name.to_lowercase().replace(' ', "-"),
        "sku": p.sku,
        "barcode": null,
        "stockAmount": p.stock_amount,
        "stockTypeLabel": "Adet",
        "price1": p.price1,
        "currency": currency(),
        "discount": p.discount,
        "discountType": p.discount_type,
        "taxIncluded": u8::from(p.tax_included),
        "tax": p.tax,
        "status": 1,
        "hasOption": 0,
        "images": p.image_url.iter().map(|u| json!({ "originalUrl": u })).collect::<Vec<_>>(),
        "parent": null,
    })
}

/// The one place order field names are written [L].
fn order_json(o: &Order) -> Value {
    json!({
        "id": o.id,
        "transactionId": o.transaction_id,
        "customerFirstname": o.customer_firstname,
        "customerSurname": o.customer_surname,
        "customerEmail": o.customer_email,
        "customerPhone": o.customer_phone,
        "status": o.status,
        "paymentStatus": "success",
        "amount": o.final_amount,
        "finalAmount": o.final_amount,
        "currency": "TL",
        "createdAt": o.created_at,
        "updatedAt": o.created_at,
        "orderItems": o.items.iter().map(|i| json!({
            "productName": i.product_name,
            "productSku": i.product_sku,
            "productPrice": i.product_price,
            "productQuantity": i.product_quantity,
        })).collect::<Vec<_>>(),
        "shippingTrackingCode": o.tracking_code,
        "shippingCompanyName": o.tracking_company,
    })
}
