//! The `ticimax` plugin against the fake store: SOAP envelopes as WCF
//! reads them (SOAPAction, members in order), products by stock code or
//! name, a customer's orders by phone, faults mapped to `shop-error`.

use omnigate_fakes::FakeServer;
use omnigate_fakes::ticimax::{self, Failure, Store};
use omnigate_plugin_host::types::commerce::{CustomerRef, OrderStatus, ShopError};
use omnigate_plugin_host::{Binding, Plugin};

use std::time::Duration;

use omnigate_plugin_host::HttpClient;
use omnigate_plugin_host::services::OutboundRequest;

use crate::support::{binding, host_for, http_for, load};

/// A Turkish store on its own domain, which the manifest's `*.tr` admits.
const DOMAIN: &str = "www.magaza.com.tr";

struct Fixture {
    store: Store,
    fake: FakeServer,
    plugin: Plugin,
    binding: Binding,
}

fn fixture_with_code(code: &str) -> Fixture {
    let store = Store::seeded();
    let fake = FakeServer::start(&[DOMAIN], store.router()).expect("fake store");
    let host = host_for(&[&fake]);
    let plugin = load(&host, "ticimax");
    let binding = binding(&[("store_domain", DOMAIN)], &[("uye_kodu", code)]);
    Fixture {
        store,
        fake,
        plugin,
        binding,
    }
}

fn fixture() -> Fixture {
    fixture_with_code(ticimax::UYE_KODU)
}

const NS: &str = "http://schemas.datacontract.org/2004/07/Ticimax.Modeller";

#[test]
fn a_stock_code_search_sends_the_exact_envelope() {
    let f = fixture();
    let products = f
        .plugin
        .search_products(&f.binding, "TS-L", 10)
        .expect("call")
        .expect("products");
    assert_eq!(products.len(), 1, "{products:#?}");
    let p = &products[0];
    assert_eq!((p.id.as_str(), p.title.as_str()), ("10", "Pamuklu Tişört"));
    assert_eq!(p.stock, Some(8));
    assert_eq!(p.url.as_deref(), Some("https://www.magaza.com.tr/urun/10"));
    assert_eq!(
        p.image_url.as_deref(),
        Some("https://static.example.com/urun/10.jpg")
    );
    // 100 + 20 % VAT; the L variant's discounted 90 + 20 %.
    let prices: Vec<(&str, &str)> = p
        .variants
        .iter()
        .map(|v| {
            let m = v.price.as_ref().expect("price");
            (m.amount.as_str(), m.currency.as_str())
        })
        .collect();
    assert_eq!(prices, [("120.00", "TRY"), ("108.00", "TRY")]);
    assert_eq!(p.variants[1].title, "Beden: L");
    assert_eq!(p.variants[1].sku.as_deref(), Some("TS-L"));

    let seen = f.fake.requests();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/Servis/UrunServis.svc");
    assert_eq!(
        request.header("soapaction"),
        Some("\"http://tempuri.org/IUrunServis/SelectUrun\"")
    );
    assert_eq!(
        request.header("content-type"),
        Some("text/xml; charset=utf-8")
    );
    let expected = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><SelectUrun xmlns=\"http://tempuri.org/\"><UyeKodu>{}</UyeKodu><f xmlns:d=\"{NS}\"><d:Aktif>-1</d:Aktif><d:Firsat>-1</d:Firsat><d:Indirimli>-1</d:Indirimli><d:KategoriID>0</d:KategoriID><d:MarkaID>0</d:MarkaID><d:StokKodu>TS-L</d:StokKodu><d:UrunKartiID>0</d:UrunKartiID><d:Vitrin>-1</d:Vitrin></f><s xmlns:d=\"{NS}\"><d:BaslangicIndex>0</d:BaslangicIndex><d:KayitSayisi>100</d:KayitSayisi><d:SiralamaDegeri>ID</d:SiralamaDegeri><d:SiralamaYonu>DESC</d:SiralamaYonu></s></SelectUrun></soap:Body></soap:Envelope>",
        ticimax::UYE_KODU
    );
    assert_eq!(String::from_utf8_lossy(&request.body), expected);
}

#[test]
fn a_name_search_pages_through_products_and_matches_turkish_case() {
    let f = fixture();
    let products = f
        .plugin
        .search_products(&f.binding, "pamuklu TİŞÖRT", 10)
        .expect("call")
        .expect("products");
    let titles: Vec<&str> = products.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["Pamuklu Tişört"]);
    // Words: no stock-code attempt, one page without a StokKodu filter.
    let seen = f.fake.requests();
    assert_eq!(seen.len(), 1);
    assert!(!String::from_utf8_lossy(&seen[0].body).contains("StokKodu"));

    // One word that is no stock code: the code first, then the names.
    let kazak = f
        .plugin
        .search_products(&f.binding, "kazak", 10)
        .expect("call")
        .expect("products");
    assert_eq!(kazak.len(), 1);
    assert_eq!(kazak[0].title, "Yün Kazak");
    assert_eq!(f.fake.requests().len(), 3);
}

#[test]
fn orders_by_phone_are_that_customers_newest_first() {
    let f = fixture();
    let orders = f
        .plugin
        .orders_by_customer(&f.binding, &CustomerRef::Phone("905321112233".into()), 10)
        .expect("call")
        .expect("orders");
    let ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["1003", "1001"]);
    let newest = &orders[0];
    assert_eq!(newest.number, "TCX1003");
    assert_eq!(newest.status, OrderStatus::Pending);
    assert_eq!(newest.status_label, "OnayBekliyor");
    // Two payments, 500 + 40.
    assert_eq!(
        newest
            .total
            .as_ref()
            .map(|m| (m.amount.as_str(), m.currency.as_str())),
        Some(("540.00", "TRY"))
    );
    let shipped = &orders[1];
    assert_eq!(shipped.status, OrderStatus::Shipped);
    assert_eq!(shipped.status_label, "KargoyaVerildi");
    assert_eq!(
        shipped.created_at.as_deref(),
        Some("2025-01-10T09:30:00+03:00")
    );
    assert_eq!(shipped.customer.name.as_deref(), Some("Ayşe Yılmaz"));
    assert_eq!(shipped.customer.email.as_deref(), Some("ayse@example.com"));
    assert_eq!(shipped.lines.len(), 1);
    assert_eq!(shipped.lines[0].quantity, 2);
    assert_eq!(shipped.lines[0].tracking[0].number, "AR123456");
    assert_eq!(shipped.tracking.len(), 1);
    assert_eq!(
        shipped.tracking[0].url.as_deref(),
        Some("https://kargotakip.araskargo.com.tr/?code=AR123456")
    );
    assert!(
        shipped
            .extensions
            .iter()
            .any(|(k, v)| k == "ticimax.TeslimatAdresi" && v.contains("Kadıköy"))
    );

    let seen = f.fake.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/Servis/SiparisServis.svc");
    assert_eq!(
        seen[0].header("soapaction"),
        Some("\"http://tempuri.org/ISiparisServis/SelectSiparis\"")
    );
    let body = String::from_utf8_lossy(&seen[0].body);
    assert!(
        body.contains("<d:UrunGetir>true</d:UrunGetir><d:UyeID>-1</d:UyeID><d:UyeTelefon>05321112233</d:UyeTelefon></f>"),
        "{body}"
    );
}

#[test]
fn email_lookups_are_unsupported_without_a_request() {
    let f = fixture();
    let answer = f
        .plugin
        .orders_by_customer(
            &f.binding,
            &CustomerRef::Email("ayse@example.com".into()),
            5,
        )
        .expect("call");
    assert!(
        matches!(answer, Err(ShopError::Unsupported(_))),
        "{answer:?}"
    );
    assert!(f.fake.requests().is_empty());
}

#[test]
fn get_order_by_id_or_number_and_unknown_is_none() {
    let f = fixture();
    let by_id = f
        .plugin
        .get_order(&f.binding, "1002")
        .expect("call")
        .expect("answer")
        .expect("order");
    assert_eq!(by_id.number, "TCX1002");
    assert_eq!(by_id.status, OrderStatus::Confirmed);
    assert!(
        String::from_utf8_lossy(&f.fake.requests()[0].body)
            .contains("<d:SiparisID>1002</d:SiparisID>")
    );

    let by_number = f
        .plugin
        .get_order(&f.binding, "TCX1003")
        .expect("call")
        .expect("answer")
        .expect("order");
    assert_eq!(by_number.id, "1003");

    let unknown = f.plugin.get_order(&f.binding, "999").expect("call");
    assert!(matches!(unknown, Ok(None)), "{unknown:?}");
}

#[test]
fn a_wrong_uye_kodu_is_an_auth_error() {
    let f = fixture_with_code("WRONGCODE");
    let answer = f
        .plugin
        .search_products(&f.binding, "TS-M", 5)
        .expect("call");
    match answer {
        Err(ShopError::Auth(message)) => assert!(message.contains(ticimax::WRONG_CODE)),
        other => panic!("expected an auth error, got {other:?}"),
    }
}

#[test]
fn server_faults_and_errors_are_transient() {
    let f = fixture();
    f.store
        .fail_next(Failure::Fault("Sunucu hatası oluştu".into()));
    assert!(matches!(
        f.plugin.search_products(&f.binding, "TS-M", 5),
        Ok(Err(ShopError::TransientUpstream(ref m))) if m.contains("Sunucu hatası")
    ));
    f.store.fail_next(Failure::Status(503));
    assert!(matches!(
        f.plugin.get_order(&f.binding, "1001"),
        Ok(Err(ShopError::TransientUpstream(_)))
    ));
}

/// A hand-written `SelectUrun` whose filter holds `members` in the order
/// given, answered by the fake: the number of product cards.
fn cards_for(fake: &FakeServer, action: &str, members: &str) -> (u16, String) {
    let envelope = format!(
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><SelectUrun xmlns=\"http://tempuri.org/\"><UyeKodu>{}</UyeKodu><f xmlns:x=\"urn:any\">{members}</f><s xmlns:x=\"urn:any\"><x:BaslangicIndex>0</x:BaslangicIndex><x:KayitSayisi>10</x:KayitSayisi></s></SelectUrun></s:Body></s:Envelope>",
        ticimax::UYE_KODU
    );
    let answer = http_for(&[fake])
        .send(
            "test",
            OutboundRequest {
                method: "POST",
                url: format!("https://{DOMAIN}/Servis/UrunServis.svc"),
                headers: vec![
                    ("content-type".into(), "text/xml; charset=utf-8".into()),
                    ("soapaction".into(), action.into()),
                ],
                body: envelope.into_bytes(),
            },
            Duration::from_secs(5),
        )
        .expect("answer");
    (
        answer.status,
        String::from_utf8_lossy(&answer.body).into_owned(),
    )
}

#[test]
fn the_fake_reads_members_in_order_and_checks_the_action_as_wcf_does() {
    let f = fixture();
    let action = "\"http://tempuri.org/IUrunServis/SelectUrun\"";
    let cards = |body: &str| body.matches("<a:UrunKarti>").count();
    // In order, any namespace prefix: the filter applies.
    let (status, body) = cards_for(
        &f.fake,
        action,
        "<x:Aktif>-1</x:Aktif><x:StokKodu>KP-32</x:StokKodu>",
    );
    assert_eq!((status, cards(&body)), (200, 1), "{body}");
    // StokKodu after Vitrin is out of order: dropped silently, so the
    // "filter" returns everything, as a real store would.
    let (status, body) = cards_for(
        &f.fake,
        action,
        "<x:Vitrin>-1</x:Vitrin><x:StokKodu>KP-32</x:StokKodu>",
    );
    assert_eq!((status, cards(&body)), (200, 3), "{body}");
    // An action that does not name the body's operation is a fault.
    let (status, body) = cards_for(
        &f.fake,
        "\"http://tempuri.org/IUrunServis/SelectUrunCount\"",
        "",
    );
    assert_eq!(status, 500);
    assert!(body.contains("ActionNotSupported"), "{body}");
}

#[test]
fn a_store_outside_the_allowed_domains_is_refused_before_any_request() {
    let f = fixture();
    let elsewhere = binding(
        &[("store_domain", "www.magaza.xyz")],
        &[("uye_kodu", ticimax::UYE_KODU)],
    );
    let answer = f
        .plugin
        .search_products(&elsewhere, "TS-M", 5)
        .expect("call");
    match answer {
        Err(ShopError::Invalid(message)) => {
            assert!(message.contains("allowed_hosts"), "{message}");
        }
        other => panic!("expected invalid, got {other:?}"),
    }
    let bad_offset = binding(
        &[("store_domain", DOMAIN), ("utc_offset", "Europe/Istanbul")],
        &[("uye_kodu", ticimax::UYE_KODU)],
    );
    assert!(matches!(
        f.plugin.search_products(&bad_offset, "TS-M", 5),
        Ok(Err(ShopError::Invalid(_)))
    ));
    assert!(f.fake.requests().is_empty());
}

#[test]
fn a_name_search_reads_further_pages_until_it_has_enough() {
    let f = fixture();
    // 150 newer cards push the seeded ones onto the second page.
    f.store.with(|s| {
        let template = s.urunler[1].clone();
        for id in 1_000..1_150 {
            let mut card = template.clone();
            card.id = id;
            card.urun_adi = format!("Çorap {id}");
            card.varyasyonlar.clear();
            s.urunler.push(card);
        }
    });
    let found = f
        .plugin
        .search_products(&f.binding, "kot pantolon", 5)
        .expect("call")
        .expect("products");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "11");
    let starts: Vec<String> = f
        .fake
        .requests()
        .iter()
        .map(|r| {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            let start = body.split("<d:BaslangicIndex>").nth(1).unwrap_or("");
            start.split('<').next().unwrap_or("").to_owned()
        })
        .collect();
    assert_eq!(starts, ["0", "100"]);
}
