//! The `ideasoft` plugin against the fake store: OAuth2 refresh with
//! rotating tokens, product search, a customer's orders found among the
//! recent ones, statuses mapped to `shop-error`.

use omnigate_fakes::FakeServer;
use omnigate_fakes::ideasoft::{self, Failure, Store};
use omnigate_plugin_host::types::commerce::{CustomerRef, OrderStatus, ShopError};
use omnigate_plugin_host::{Binding, Plugin};

use crate::support::{binding, host_for, load};

const DOMAIN: &str = "magaza.myideasoft.com";

struct Fixture {
    store: Store,
    fake: FakeServer,
    plugin: Plugin,
    binding: Binding,
}

fn fixture_with_secret(client_secret: &str) -> Fixture {
    let store = Store::seeded();
    let fake = FakeServer::start(&[DOMAIN], store.router()).expect("fake store");
    let host = host_for(&[&fake]);
    let plugin = load(&host, "ideasoft");
    let binding = binding(
        &[("store_domain", DOMAIN)],
        &[
            ("client_id", ideasoft::CLIENT_ID),
            ("client_secret", client_secret),
            ("refresh_token", ideasoft::REFRESH_TOKEN),
        ],
    );
    Fixture {
        store,
        fake,
        plugin,
        binding,
    }
}

fn fixture() -> Fixture {
    fixture_with_secret(ideasoft::CLIENT_SECRET)
}

/// `(path, query)` of every request, in order.
fn paths(f: &Fixture) -> Vec<(String, String)> {
    f.fake
        .requests()
        .into_iter()
        .map(|r| (r.path, r.query.unwrap_or_default()))
        .collect()
}

#[test]
fn product_search_refreshes_the_token_then_searches_by_name() {
    let f = fixture();
    let products = f
        .plugin
        .search_products(&f.binding, "tişört", 10)
        .expect("call")
        .expect("products");
    assert_eq!(products.len(), 1, "{products:#?}");
    let p = &products[0];
    assert_eq!((p.id.as_str(), p.title.as_str()), ("1", "Pamuklu Tişört"));
    assert_eq!(p.sku.as_deref(), Some("TS-M"));
    assert_eq!(p.stock, Some(4));
    // 100 less 10 %, plus 20 % tax (price1 excludes it).
    let price = p.price.as_ref().expect("price");
    assert_eq!(
        (price.amount.as_str(), price.currency.as_str()),
        ("108.00", "TRY")
    );
    assert_eq!(
        p.image_url.as_deref(),
        Some("https://cdn.myideasoft.com/1.jpg")
    );

    let seen = f.fake.requests();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    let token = &seen[0];
    assert_eq!(
        (token.method.as_str(), token.path.as_str()),
        ("POST", "/oauth/v2/token")
    );
    assert_eq!(
        token.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        String::from_utf8_lossy(&token.body),
        "grant_type=refresh_token&client_id=omnigate-client&client_secret=omnigate-secret&refresh_token=rt-initial"
    );
    let search = &seen[1];
    assert_eq!(
        (search.method.as_str(), search.path.as_str()),
        ("GET", "/admin-api/products")
    );
    assert_eq!(
        search.query.as_deref(),
        Some("name=ti%C5%9F%C3%B6rt&limit=10&page=1")
    );
    assert_eq!(search.header("authorization"), Some("Bearer at-1"));
    assert_eq!(search.header("accept"), Some("application/json"));
}

#[test]
fn a_stock_code_is_tried_when_no_name_matches_and_the_token_is_reused() {
    let f = fixture();
    let products = f
        .plugin
        .search_products(&f.binding, "KP-32", 5)
        .expect("call")
        .expect("products");
    assert_eq!(products.len(), 1);
    // 500 less a fixed 50; the price includes tax.
    assert_eq!(
        products[0].price.as_ref().map(|m| m.amount.as_str()),
        Some("450.00")
    );
    assert!(matches!(
        f.plugin.search_products(&f.binding, "kazak", 5),
        Ok(Ok(ref found)) if found.len() == 1
    ));
    let seen = paths(&f);
    let token_calls = seen.iter().filter(|(p, _)| p == "/oauth/v2/token").count();
    assert_eq!(token_calls, 1, "{seen:#?}");
    assert_eq!(
        seen[2],
        (
            "/admin-api/products".into(),
            "sku=KP-32&limit=5&page=1".into()
        )
    );
}

#[test]
fn an_expired_token_is_refreshed_with_the_rotated_refresh_token() {
    let f = fixture();
    assert!(matches!(
        f.plugin.search_products(&f.binding, "tişört", 5),
        Ok(Ok(_))
    ));
    f.store.expire_access_tokens();
    assert!(matches!(
        f.plugin.search_products(&f.binding, "tişört", 5),
        Ok(Ok(ref found)) if found.len() == 1
    ));
    let seen = f.fake.requests();
    let refreshes: Vec<String> = seen
        .iter()
        .filter(|r| r.path == "/oauth/v2/token")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(refreshes.len(), 2);
    // The first refresh token is spent; the second refresh uses its heir.
    assert!(
        refreshes[1].ends_with("refresh_token=rt-1"),
        "{refreshes:?}"
    );
    assert_eq!(
        seen.last().and_then(|r| r.header("authorization")),
        Some("Bearer at-2")
    );
}

#[test]
fn orders_by_email_or_phone_are_that_customers_across_pages() {
    let f = fixture();
    let by_email = f
        .plugin
        .orders_by_customer(
            &f.binding,
            &CustomerRef::Email("ayse@example.com".into()),
            5,
        )
        .expect("call")
        .expect("orders");
    let ids: Vec<&str> = by_email.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["104", "3"]);
    let latest = &by_email[0];
    assert_eq!(latest.number, "IDS00104");
    assert_eq!(latest.status, OrderStatus::Shipped);
    assert_eq!(latest.status_label, "fulfilled");
    assert_eq!(
        latest.created_at.as_deref(),
        Some("2025-02-10T14:30:00+03:00")
    );
    assert_eq!(latest.customer.name.as_deref(), Some("Ayşe Yılmaz"));
    assert_eq!(
        latest
            .total
            .as_ref()
            .map(|m| (m.amount.as_str(), m.currency.as_str())),
        Some(("120.00", "TRY"))
    );
    assert_eq!(latest.tracking[0].number, "MNG987654");
    assert_eq!(latest.tracking[0].company.as_deref(), Some("MNG Kargo"));
    assert_eq!(latest.lines[0].title, "Pamuklu Tişört");
    assert_eq!(by_email[1].status, OrderStatus::Delivered);

    let pages: Vec<String> = paths(&f)
        .into_iter()
        .filter(|(p, _)| p == "/admin-api/orders")
        .map(|(_, q)| q)
        .collect();
    assert_eq!(
        pages,
        ["limit=100&page=1&sort=-id", "limit=100&page=2&sort=-id"]
    );

    // WhatsApp's form of the number matches both ways the shop stored it.
    let by_phone = f
        .plugin
        .orders_by_customer(&f.binding, &CustomerRef::Phone("905321112233".into()), 5)
        .expect("call")
        .expect("orders");
    let ids: Vec<&str> = by_phone.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["104", "3"]);
}

#[test]
fn get_order_and_unknown_is_none() {
    let f = fixture();
    let order = f
        .plugin
        .get_order(&f.binding, "2")
        .expect("call")
        .expect("answer")
        .expect("order");
    assert_eq!(order.customer.email.as_deref(), Some("mehmet@example.com"));
    assert_eq!(order.status, OrderStatus::Confirmed);
    assert_eq!(order.lines[0].quantity, 1);
    assert!(matches!(
        f.plugin.get_order(&f.binding, "9999"),
        Ok(Ok(None))
    ));
    assert!(paths(&f).iter().any(|(p, _)| p == "/admin-api/orders/9999"));
}

#[test]
fn refused_credentials_are_auth_errors() {
    let f = fixture_with_secret("wrong-secret");
    let answer = f
        .plugin
        .search_products(&f.binding, "tişört", 5)
        .expect("call");
    assert!(matches!(answer, Err(ShopError::Auth(_))), "{answer:?}");
    // No Admin API call without a token.
    assert_eq!(paths(&f).len(), 1);
}

#[test]
fn rate_limits_and_server_errors_map_to_their_variants() {
    let f = fixture();
    f.store.fail_next(Failure::TooManyRequests {
        retry_after: "3".into(),
    });
    let limited = f
        .plugin
        .search_products(&f.binding, "tişört", 5)
        .expect("call");
    assert!(
        matches!(limited, Err(ShopError::RateLimited(ref l)) if l.retry_after_ms == Some(3000)),
        "{limited:?}"
    );
    f.store.fail_next(Failure::Status(502));
    assert!(matches!(
        f.plugin.get_order(&f.binding, "3"),
        Ok(Err(ShopError::TransientUpstream(_)))
    ));
}
