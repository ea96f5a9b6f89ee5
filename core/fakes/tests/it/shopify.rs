//! The `shopify` plugin against the fake shop: GraphQL documents and
//! variables as the Admin API wants them, orders of one customer only,
//! auth and throttling mapped to `shop-error`.

use omnigate_fakes::FakeServer;
use omnigate_fakes::shopify::{self, Failure, Shop};
use omnigate_plugin_host::types::commerce::{CustomerRef, OrderStatus, ShopError};
use omnigate_plugin_host::{Binding, Plugin};
use serde_json::Value;

use std::time::Duration;

use omnigate_plugin_host::HttpClient;
use omnigate_plugin_host::services::OutboundRequest;

use crate::support::{binding, host_for, http_for, load};

const DOMAIN: &str = "magaza.myshopify.com";

struct Fixture {
    shop: Shop,
    fake: FakeServer,
    plugin: Plugin,
    binding: Binding,
}

fn fixture_with_token(token: &str) -> Fixture {
    let shop = Shop::seeded();
    let fake = FakeServer::start(&[DOMAIN], shop.router()).expect("fake shop");
    let host = host_for(&[&fake]);
    let plugin = load(&host, "shopify");
    let binding = binding(
        &[
            ("shop_domain", DOMAIN),
            ("api_version", shopify::API_VERSION),
        ],
        &[("access_token", token)],
    );
    Fixture {
        shop,
        fake,
        plugin,
        binding,
    }
}

fn fixture() -> Fixture {
    fixture_with_token(shopify::TOKEN)
}

/// The one GraphQL request the fake saw, checked for what every Admin API
/// call needs; its JSON body.
fn only_graphql_request(f: &Fixture) -> Value {
    let seen = f.fake.requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/admin/api/2025-01/graphql.json");
    assert_eq!(
        request.header("x-shopify-access-token"),
        Some(shopify::TOKEN)
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    request.json()
}

#[test]
fn product_search_sends_the_documented_query_and_maps_the_matches() {
    let f = fixture();
    let products = f
        .plugin
        .search_products(&f.binding, "tişört", 10)
        .expect("call")
        .expect("products");
    assert_eq!(products.len(), 1, "{products:#?}");
    let p = &products[0];
    assert_eq!(p.id, "gid://shopify/Product/8001");
    assert_eq!(p.title, "Pamuklu Tişört");
    assert_eq!(p.stock, Some(5));
    let price = p.price.as_ref().expect("price");
    assert_eq!(
        (price.amount.as_str(), price.currency.as_str()),
        ("199.90", "TRY")
    );
    assert_eq!(
        p.image_url.as_deref(),
        Some("https://cdn.shopify.com/s/files/tisort.jpg")
    );
    assert_eq!(p.variants.len(), 2);
    assert_eq!(p.variants[1].sku.as_deref(), Some("TS-L"));
    assert_eq!(
        p.variants[1].price.as_ref().map(|m| m.amount.as_str()),
        Some("209.90")
    );
    assert!(
        p.extensions
            .contains(&("shopify.vendor".to_owned(), "\"Acme\"".to_owned()))
    );

    let body = only_graphql_request(&f);
    let query = body["query"].as_str().expect("query");
    assert!(
        query.contains("products(first: $first, query: $q)"),
        "{query}"
    );
    assert_eq!(body["variables"]["q"], "tişört");
    assert_eq!(body["variables"]["first"], 10);
}

#[test]
fn search_syntax_in_the_agents_text_is_neutralised() {
    let f = fixture();
    let products = f
        .plugin
        .search_products(&f.binding, "vendor:Zeta OR (ceket)", 5)
        .expect("call")
        .expect("products");
    // `vendor:` and `OR` must not reach Shopify as syntax: the words are
    // searched as words, and no product has all of them.
    assert!(products.is_empty(), "{products:#?}");
    assert_eq!(
        only_graphql_request(&f)["variables"]["q"],
        "vendor Zeta ceket"
    );
}

#[test]
fn orders_by_email_are_that_customers_newest_first() {
    let f = fixture();
    let orders = f
        .plugin
        .orders_by_customer(
            &f.binding,
            &CustomerRef::Email("ayse@example.com".into()),
            5,
        )
        .expect("call")
        .expect("orders");
    let numbers: Vec<&str> = orders.iter().map(|o| o.number.as_str()).collect();
    assert_eq!(numbers, ["#1003", "#1001"]);
    let shipped = &orders[0];
    assert_eq!(shipped.id, "gid://shopify/Order/5003");
    assert_eq!(shipped.status, OrderStatus::Shipped);
    assert_eq!(shipped.status_label, "PAID, FULFILLED");
    assert_eq!(shipped.created_at.as_deref(), Some("2025-02-01T15:45:00Z"));
    assert_eq!(shipped.customer.name.as_deref(), Some("Ayşe Yılmaz"));
    assert_eq!(shipped.customer.phone.as_deref(), Some("+905321112233"));
    let total = shipped.total.as_ref().expect("total");
    assert_eq!(
        (total.amount.as_str(), total.currency.as_str()),
        ("549.00", "TRY")
    );
    assert_eq!(shipped.tracking.len(), 1);
    assert_eq!(shipped.tracking[0].number, "YK123456789");
    assert_eq!(
        shipped.tracking[0].company.as_deref(),
        Some("Yurtiçi Kargo")
    );
    assert_eq!(orders[1].status, OrderStatus::Confirmed);
    assert_eq!(orders[1].lines[0].title, "Pamuklu Tişört - M");
    assert_eq!(orders[1].lines[0].quantity, 2);

    let body = only_graphql_request(&f);
    let query = body["query"].as_str().expect("query");
    assert!(
        query.contains("orders(first: $first, query: $q, sortKey: CREATED_AT, reverse: true)"),
        "{query}"
    );
    assert_eq!(body["variables"]["q"], "email:ayse@example.com");
    assert_eq!(body["variables"]["first"], 5);
}

#[test]
fn orders_by_phone_go_through_the_customer() {
    let f = fixture();
    // As WhatsApp gives the number: international, without `+`.
    let orders = f
        .plugin
        .orders_by_customer(&f.binding, &CustomerRef::Phone("905339998877".into()), 5)
        .expect("call")
        .expect("orders");
    let numbers: Vec<&str> = orders.iter().map(|o| o.number.as_str()).collect();
    assert_eq!(numbers, ["#1002"]);
    let body = only_graphql_request(&f);
    assert!(
        body["query"]
            .as_str()
            .is_some_and(|q| q.contains("customers(first: 1, query: $q)"))
    );
    assert_eq!(body["variables"]["q"], "phone:+905339998877");

    let nobody = f
        .plugin
        .orders_by_customer(&f.binding, &CustomerRef::Phone("905000000000".into()), 5)
        .expect("call")
        .expect("orders");
    assert!(nobody.is_empty());
}

#[test]
fn get_order_by_id_or_name_and_unknown_is_none() {
    let f = fixture();
    let order = f
        .plugin
        .get_order(&f.binding, "gid://shopify/Order/5001")
        .expect("call")
        .expect("answer")
        .expect("order");
    assert_eq!(order.number, "#1001");
    assert_eq!(
        order.lines[0]
            .unit_price
            .as_ref()
            .map(|m| m.amount.as_str()),
        Some("199.90")
    );
    assert_eq!(
        only_graphql_request(&f)["variables"]["id"],
        "gid://shopify/Order/5001"
    );

    let by_name = f
        .plugin
        .get_order(&f.binding, "#1002")
        .expect("call")
        .expect("answer")
        .expect("order");
    assert_eq!(by_name.id, "gid://shopify/Order/5002");

    let unknown = f.plugin.get_order(&f.binding, "999999").expect("call");
    assert!(matches!(unknown, Ok(None)), "{unknown:?}");
    // Read-only: the reference documents no order mutations.
    assert!(matches!(
        f.plugin.allowed_actions(&f.binding, "gid://shopify/Order/5001"),
        Ok(Ok(ref actions)) if actions.is_empty()
    ));
}

#[test]
fn without_protected_customer_data_orders_still_show_and_phone_lookups_are_refused() {
    let f = fixture();
    f.shop.with(|s| s.protected_customer_data = false);
    let orders = f
        .plugin
        .orders_by_customer(
            &f.binding,
            &CustomerRef::Email("ayse@example.com".into()),
            5,
        )
        .expect("call")
        .expect("orders despite ACCESS_DENIED on the customer fields");
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].customer.email, None);
    assert_eq!(orders[0].customer.name, None);
    assert_eq!(orders[0].tracking[0].number, "YK123456789");

    let by_phone = f
        .plugin
        .orders_by_customer(&f.binding, &CustomerRef::Phone("905321112233".into()), 5)
        .expect("call");
    assert!(matches!(by_phone, Err(ShopError::Auth(_))), "{by_phone:?}");
}

#[test]
fn settings_that_cannot_be_right_are_refused_before_any_request() {
    let f = fixture();
    for (domain, version) in [
        ("magaza.com", shopify::API_VERSION),
        (DOMAIN, "2025-01/../../x"),
    ] {
        let wrong = binding(
            &[("shop_domain", domain), ("api_version", version)],
            &[("access_token", shopify::TOKEN)],
        );
        let answer = f.plugin.search_products(&wrong, "tişört", 5).expect("call");
        assert!(matches!(answer, Err(ShopError::Invalid(_))), "{answer:?}");
    }
    assert!(f.fake.requests().is_empty());
}

#[test]
fn a_wrong_token_is_an_auth_error() {
    let f = fixture_with_token("shpat_wrong");
    let answer = f
        .plugin
        .search_products(&f.binding, "tişört", 5)
        .expect("call");
    match answer {
        Err(ShopError::Auth(message)) => {
            assert!(message.contains(shopify::INVALID_TOKEN), "{message}");
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
}

#[test]
fn throttling_is_rate_limited_with_the_implied_wait() {
    let f = fixture();
    // Requested 752 with 666 available at 100 points/s: 0.86 s.
    f.shop.fail_next(Failure::Throttled {
        currently_available: 666.0,
    });
    let throttled = f
        .plugin
        .search_products(&f.binding, "tişört", 5)
        .expect("call");
    match throttled {
        Err(ShopError::RateLimited(limit)) => assert_eq!(limit.retry_after_ms, Some(860)),
        other => panic!("expected rate-limited, got {other:?}"),
    }

    f.shop.fail_next(Failure::TooManyRequests {
        retry_after: "2.0".into(),
    });
    let too_many = f
        .plugin
        .search_products(&f.binding, "tişört", 5)
        .expect("call");
    assert!(
        matches!(too_many, Err(ShopError::RateLimited(ref l)) if l.retry_after_ms == Some(2000)),
        "{too_many:?}"
    );

    // An empty bucket throttles a real query, not just a scripted one.
    f.shop.with(|s| s.bucket = shopify::Bucket::full(10.0, 1.0));
    let costly = f
        .plugin
        .search_products(&f.binding, "tişört", 50)
        .expect("call");
    assert!(
        matches!(costly, Err(ShopError::RateLimited(ref l)) if l.retry_after_ms.is_some()),
        "{costly:?}"
    );

    f.shop.fail_next(Failure::Status(503));
    assert!(matches!(
        f.plugin.search_products(&f.binding, "tişört", 5),
        Ok(Err(ShopError::TransientUpstream(_)))
    ));
}

/// A hand-written GraphQL request to the fake; its JSON answer.
fn ask(fake: &FakeServer, body: &Value) -> Value {
    let answer = http_for(&[fake])
        .send(
            "test",
            OutboundRequest {
                method: "POST",
                url: format!("https://{DOMAIN}/admin/api/2025-01/graphql.json"),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("x-shopify-access-token".into(), shopify::TOKEN.into()),
                ],
                body: serde_json::to_vec(body).expect("json"),
            },
            Duration::from_secs(5),
        )
        .expect("answer");
    assert_eq!(answer.status, 200);
    serde_json::from_slice(&answer.body).expect("json answer")
}

#[test]
fn the_fake_checks_variables_and_searches_the_named_field() {
    let f = fixture();
    let query =
        "query ($q: String!, $first: Int!) { products(first: $first, query: $q) { nodes { id } } }";
    // A declared variable left out is a validation error, not an answer.
    let missing = ask(
        &f.fake,
        &serde_json::json!({ "query": query, "variables": { "q": "Acme" } }),
    );
    assert_eq!(
        missing["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert!(missing.get("data").is_none());
    // `vendor:` searches the vendor only; both connection forms answer.
    let by_vendor = ask(
        &f.fake,
        &serde_json::json!({ "query": query, "variables": { "q": "vendor:Zeta", "first": 5 } }),
    );
    assert_eq!(
        by_vendor["data"]["products"]["nodes"][0]["title"],
        "Deri Ceket"
    );
    assert_eq!(
        by_vendor["data"]["products"]["edges"][0]["node"]["title"],
        "Deri Ceket"
    );
    assert_eq!(
        by_vendor["data"]["products"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert!(by_vendor["extensions"]["cost"]["throttleStatus"]["restoreRate"].is_number());
}
