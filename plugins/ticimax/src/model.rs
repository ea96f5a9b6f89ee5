//! Ticimax's answers (reference §4: `UrunKarti`, `Varyasyon`,
//! `WebSiparis`, `WebSiparisUrun`) mapped to the interface's records.
//! Turkish field names are kept as Ticimax gives them.

use omnigate_plugin_sdk::commerce::{
    Customer, Money, Order, OrderLine, OrderStatus, Product, ProductVariant, ShopError, Tracking,
};
use omnigate_plugin_sdk::json;
use omnigate_plugin_sdk::types::Extensions;
use roxmltree::{Document, Node};
use shop_common::decimal::Decimal;

use crate::settings::Settings;
use crate::xml::{self, child, children, text};

/// Parses a response body.
fn document(body: &str) -> Result<Document<'_>, ShopError> {
    Document::parse(body)
        .map_err(|e| ShopError::TransientUpstream(format!("Ticimax answered invalid XML: {e}")))
}

/// The `UrunKarti` records of a `SelectUrun` answer.
pub fn products(body: &str, settings: &Settings) -> Result<Vec<Product>, ShopError> {
    let document = document(body)?;
    let Some(result) = xml::find(&document, "SelectUrunResult") else {
        return Err(ShopError::TransientUpstream(
            "Ticimax answered without SelectUrunResult".into(),
        ));
    };
    Ok(children(result, "UrunKarti")
        .map(|card| product(card, settings))
        .collect())
}

/// The `WebSiparis` records of a `SelectSiparis` answer.
pub fn orders(body: &str, settings: &Settings) -> Result<Vec<Order>, ShopError> {
    let document = document(body)?;
    let Some(result) = xml::find(&document, "SelectSiparisResult") else {
        return Err(ShopError::TransientUpstream(
            "Ticimax answered without SelectSiparisResult".into(),
        ));
    };
    Ok(children(result, "WebSiparis")
        .map(|o| order(o, settings))
        .collect())
}

fn product(card: Node<'_, '_>, settings: &Settings) -> Product {
    let variants: Vec<ProductVariant> = child(card, "Varyasyonlar")
        .map(|list| {
            children(list, "Varyasyon")
                .map(|v| variant(v, settings))
                .collect()
        })
        .unwrap_or_default();
    let sku = match variants.as_slice() {
        [only] => only.sku.clone(),
        _ => None,
    };
    let stock = text(card, "ToplamStokAdedi")
        .and_then(|t| whole_number(&t))
        .or_else(|| {
            let stocks: Vec<i64> = variants.iter().filter_map(|v| v.stock).collect();
            (!stocks.is_empty()).then(|| stocks.iter().sum())
        });
    let image_url = child(card, "Resimler")
        .and_then(|r| r.children().find(|c| c.is_element()))
        .and_then(|s| s.text())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let url = text(card, "UrunSayfaAdresi").map(|path| {
        if path.starts_with("http://") || path.starts_with("https://") {
            path
        } else {
            format!(
                "https://{}/{}",
                settings.domain,
                path.trim_start_matches('/')
            )
        }
    });
    let mut extensions = Extensions::new();
    for (key, field) in [
        ("ticimax.Marka", "Marka"),
        ("ticimax.AnaKategori", "AnaKategori"),
        ("ticimax.Aktif", "Aktif"),
        ("ticimax.SatisBirimi", "SatisBirimi"),
    ] {
        put(&mut extensions, key, text(card, field));
    }
    Product {
        id: text(card, "ID").unwrap_or_default(),
        title: text(card, "UrunAdi").unwrap_or_default(),
        sku,
        price: variants.iter().find_map(|v| v.price.clone()),
        stock,
        url,
        image_url,
        variants,
        extensions,
    }
}

fn variant(v: Node<'_, '_>, settings: &Settings) -> ProductVariant {
    let title = child(v, "Ozellikler")
        .map(|list| {
            children(list, "VaryasyonOzellik")
                .filter_map(|o| {
                    let value = text(o, "Deger")?;
                    Some(match text(o, "Tanim") {
                        Some(name) => format!("{name}: {value}"),
                        None => value,
                    })
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|t| !t.is_empty())
        .or_else(|| text(v, "StokKodu"))
        .unwrap_or_default();
    ProductVariant {
        id: text(v, "ID").unwrap_or_default(),
        title,
        sku: text(v, "StokKodu"),
        price: sale_price(v, settings),
        stock: text(v, "StokAdedi").and_then(|t| whole_number(&t)),
    }
}

/// What the customer pays: the discounted price when there is one,
/// with VAT added when the price excludes it (`KdvDahil` = false).
fn sale_price(v: Node<'_, '_>, settings: &Settings) -> Option<Money> {
    let list = text(v, "SatisFiyati").and_then(|t| Decimal::parse(&t))?;
    let discounted = text(v, "IndirimliFiyati")
        .and_then(|t| Decimal::parse(&t))
        .filter(|d| d.is_positive());
    let mut price = discounted.unwrap_or(list);
    let vat_included = text(v, "KdvDahil").is_some_and(|t| t == "true");
    if !vat_included && let Some(rate) = text(v, "KdvOrani").and_then(|t| Decimal::parse(&t)) {
        price = price.plus_percent(rate);
    }
    Some(Money {
        amount: price.to_money_string(),
        currency: currency(text(v, "ParaBirimiKodu"), settings),
    })
}

/// ISO 4217 from Ticimax's code (`TL` in Turkish panels), or the
/// store's configured currency when the record has none [M].
fn currency(code: Option<String>, settings: &Settings) -> String {
    match code.as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("TL" | "YTL") => "TRY".to_owned(),
        Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) => {
            code.to_owned()
        }
        _ => settings.currency.clone(),
    }
}

fn order(o: Node<'_, '_>, settings: &Settings) -> Order {
    let (status, label) = status(text(o, "SiparisDurumu").as_deref());
    let lines: Vec<OrderLine> = child(o, "Urunler")
        .map(|list| {
            children(list, "WebSiparisUrun")
                .map(|line| order_line(line, settings))
                .collect()
        })
        .unwrap_or_default();
    // Tracking lives per line item; the order shows each shipment once,
    // plus an order-level number when the store sets one.
    let mut tracking: Vec<Tracking> = Vec::new();
    let order_level = text(o, "KargoTakipNo").map(|number| Tracking {
        company: None,
        number,
        url: None,
    });
    for t in order_level
        .into_iter()
        .chain(lines.iter().flat_map(|l| l.tracking.iter().cloned()))
    {
        if !tracking.iter().any(|seen| seen.number == t.number) {
            tracking.push(t);
        }
    }
    // The total is what the payments add up to: WebSiparis carries no
    // total field in the reference [M/L].
    let payments: Vec<Decimal> = child(o, "Odemeler")
        .map(|list| {
            children(list, "WebSiparisOdeme")
                .filter_map(|p| text(p, "Tutar").and_then(|t| Decimal::parse(&t)))
                .collect()
        })
        .unwrap_or_default();
    let total = (!payments.is_empty()).then(|| Money {
        amount: payments
            .iter()
            .fold(Decimal::ZERO, |sum, p| sum.plus(*p))
            .to_money_string(),
        currency: settings.currency.clone(),
    });
    let mut extensions = Extensions::new();
    for (key, field) in [
        ("ticimax.SiparisKodu", "SiparisKodu"),
        ("ticimax.SiparisKaynagi", "SiparisKaynagi"),
        ("ticimax.UyeID", "UyeID"),
        ("ticimax.SiparisDurumu", "SiparisDurumu"),
    ] {
        put(&mut extensions, key, text(o, field));
    }
    if let Some(address) = child(o, "TeslimatAdresi") {
        let fields: serde_json::Map<String, serde_json::Value> =
            ["Il", "Ilce", "Adres", "AdresTarifi"]
                .iter()
                .filter_map(|f| {
                    Some((
                        (*f).to_owned(),
                        serde_json::Value::String(text(address, f)?),
                    ))
                })
                .collect();
        if !fields.is_empty() {
            let _ = json::set_extension(&mut extensions, "ticimax.TeslimatAdresi", &fields);
        }
    }
    let id = text(o, "ID").unwrap_or_default();
    Order {
        number: text(o, "SiparisNo").unwrap_or_else(|| id.clone()),
        id,
        created_at: text(o, "SiparisTarihi")
            .and_then(|t| shop_common::time::to_rfc3339(&t, &settings.utc_offset)),
        status,
        status_label: label,
        customer: Customer {
            name: text(o, "AdiSoyadi"),
            email: text(o, "Mail"),
            phone: text(o, "UyeTelefon"),
        },
        total,
        lines,
        tracking,
        extensions,
    }
}

fn order_line(line: Node<'_, '_>, settings: &Settings) -> OrderLine {
    let tracking = text(line, "KargoTakipNumarasi")
        .map(|number| Tracking {
            company: None,
            number,
            url: text(line, "KargoTakipLink"),
        })
        .into_iter()
        .collect();
    OrderLine {
        title: text(line, "UrunAdi").unwrap_or_default(),
        sku: text(line, "StokKodu"),
        quantity: text(line, "Adet")
            .and_then(|t| whole_number(&t))
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        // `Tutar` read as the unit price [L]: the reference lists it beside
        // `Adet` without saying which it is.
        unit_price: text(line, "Tutar")
            .and_then(|t| Decimal::parse(&t))
            .map(|d| Money {
                amount: d.to_money_string(),
                currency: settings.currency.clone(),
            }),
        tracking,
    }
}

/// `SiparisDurumu` as one repository gives the enum [L/M]: 0 OnSiparis,
/// 1 OnayBekliyor, 2 Onaylandi, 3 OdemeBekliyor, 4 Paketleniyor,
/// 5 TedarikEdiliyor, 6 KargoyaVerildi, 7 TeslimEdildi, 8 Iptal, 9 Iade.
/// WCF may send the member name instead of the number; both are read.
fn status(value: Option<&str>) -> (OrderStatus, String) {
    const NAMES: [(&str, OrderStatus); 10] = [
        ("OnSiparis", OrderStatus::Pending),
        ("OnayBekliyor", OrderStatus::Pending),
        ("Onaylandi", OrderStatus::Confirmed),
        ("OdemeBekliyor", OrderStatus::Pending),
        ("Paketleniyor", OrderStatus::Processing),
        ("TedarikEdiliyor", OrderStatus::Processing),
        ("KargoyaVerildi", OrderStatus::Shipped),
        ("TeslimEdildi", OrderStatus::Delivered),
        ("Iptal", OrderStatus::Cancelled),
        ("Iade", OrderStatus::Refunded),
    ];
    let Some(value) = value else {
        return (OrderStatus::Other, String::new());
    };
    let found = match value.parse::<usize>() {
        Ok(index) => NAMES.get(index),
        Err(_) => NAMES.iter().find(|(name, _)| *name == value),
    };
    match found {
        Some((name, status)) => (*status, (*name).to_owned()),
        None => (OrderStatus::Other, value.to_owned()),
    }
}

/// A count Ticimax may send as `5` or `5.00`.
fn whole_number(text: &str) -> Option<i64> {
    let whole = text.trim().split(['.', ',']).next()?;
    whole.parse().ok()
}

fn put(extensions: &mut Extensions, key: &str, value: Option<String>) {
    if let Some(value) = value {
        // Encoding a string as JSON cannot fail.
        let _ = json::set_extension(extensions, key, &value);
    }
}
