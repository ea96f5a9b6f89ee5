//! Ticimax: a store's products and a customer's orders beside the
//! conversation, through the store's SOAP 1.1 / WCF web services
//! (`../shared/reference/wire-formats.md` §4).
//!
//! - `settings`: the store domain, UyeKodu and defaults;
//! - `soap`: envelopes, the call, faults;
//! - `xml`: reading answers by local name;
//! - `model`: `UrunKarti` and `WebSiparis` to the interface's records.
//!
//! What Ticimax cannot do shapes the plugin: `UrunFiltre` has no name
//! filter, so a search tries the text as a stock code and otherwise pages
//! through the newest products matching names here; `WebSiparisFiltre`
//! has no e-mail filter, so e-mail lookups are `unsupported`. The
//! integration is read-only (`allowed-actions` is empty): the one
//! documented write, `SetSiparisDurum`, needs a tracking number the
//! interface's actions cannot carry.

mod model;
mod settings;
mod soap;
mod xml;

use omnigate_plugin_sdk::commerce::{Commerce, CustomerRef, Order, Product, ShopError};

use settings::Settings;
use soap::Contract;

/// One page of the name scan: Ticimax's paging allows 100 comfortably.
const PAGE_SIZE: u32 = 100;
/// Pages scanned for a name before giving up: the newest 500 products,
/// about what fits the call budget on a slow store.
const MAX_SCAN_PAGES: u32 = 5;
/// Orders asked for at once.
const MAX_ORDERS: u32 = 50;

struct Ticimax;

impl Commerce for Ticimax {
    fn search_products(query: String, limit: u32) -> Result<Vec<Product>, ShopError> {
        let query = query.trim();
        if query.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let settings = Settings::load()?;
        let limit = limit as usize;
        if !query.contains(char::is_whitespace) {
            let mut by_code = select_urun(&settings, Some(query), 0, PAGE_SIZE)?;
            if !by_code.is_empty() {
                by_code.truncate(limit);
                return Ok(by_code);
            }
        }
        let mut found = Vec::new();
        for page in 0..MAX_SCAN_PAGES {
            let batch = select_urun(&settings, None, page * PAGE_SIZE, PAGE_SIZE)?;
            let last = batch.len() < PAGE_SIZE as usize;
            found.extend(
                batch
                    .into_iter()
                    .filter(|p| shop_common::text::matches_all_words(&p.title, query)),
            );
            if found.len() >= limit || last {
                break;
            }
        }
        found.truncate(limit);
        Ok(found)
    }

    fn orders_by_customer(customer: CustomerRef, limit: u32) -> Result<Vec<Order>, ShopError> {
        let phone = match customer {
            CustomerRef::Phone(phone) => phone,
            CustomerRef::Email(_) => {
                return Err(ShopError::Unsupported(
                    "Ticimax's order filter has no e-mail field; look the customer up by phone"
                        .into(),
                ));
            }
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Turkish stores keep the number as typed, most often the national
        // `05321112233` [L]; numbers from abroad go as bare digits.
        let uye_telefon = shop_common::phone::turkish_national(&phone)
            .unwrap_or_else(|| shop_common::phone::digits(&phone));
        if uye_telefon.len() < 7 {
            return Err(ShopError::Invalid(format!(
                "`{phone}` is not a phone number"
            )));
        }
        let settings = Settings::load()?;
        let mut orders = select_siparis(
            &settings,
            ("UyeTelefon", uye_telefon),
            limit.min(MAX_ORDERS),
        )?;
        orders.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(orders)
    }

    fn get_order(order_id: String) -> Result<Option<Order>, ShopError> {
        let id = order_id.trim();
        if id.is_empty() {
            return Ok(None);
        }
        let settings = Settings::load()?;
        // The panel passes `ID`; a customer quotes `SiparisNo`.
        let filter = match id.parse::<u64>() {
            Ok(n) if n > 0 => ("SiparisID", n.to_string()),
            _ => ("SiparisNo", id.to_owned()),
        };
        Ok(select_siparis(&settings, filter, 1)?.into_iter().next())
    }
}

/// `UrunServis.SelectUrun`: every product (the filter's "no filter"
/// values), or those whose stock code is `stok_kodu`, newest first.
fn select_urun(
    settings: &Settings,
    stok_kodu: Option<&str>,
    start: u32,
    count: u32,
) -> Result<Vec<Product>, ShopError> {
    // -1 means "no filter" for status-type ints, 0 for ids (reference §4).
    let mut filter = vec![
        ("Aktif", "-1".to_owned()),
        ("Firsat", "-1".to_owned()),
        ("Indirimli", "-1".to_owned()),
        ("KategoriID", "0".to_owned()),
        ("MarkaID", "0".to_owned()),
        ("UrunKartiID", "0".to_owned()),
        ("Vitrin", "-1".to_owned()),
    ];
    if let Some(code) = stok_kodu {
        filter.push(("StokKodu", code.to_owned()));
    }
    let body = soap::call(
        settings,
        "UrunServis",
        "SelectUrun",
        &[
            Contract {
                name: "f",
                fields: filter,
            },
            paging(start, count),
        ],
    )?;
    model::products(&body, settings)
}

/// `SiparisServis.SelectSiparis` with every filter open except `by`.
fn select_siparis(
    settings: &Settings,
    by: (&'static str, String),
    count: u32,
) -> Result<Vec<Order>, ShopError> {
    let mut filter = vec![
        ("EntegrasyonAktarildi", "-1".to_owned()),
        ("KargoFirmaID", "-1".to_owned()),
        ("OdemeDurumu", "-1".to_owned()),
        ("OdemeTipi", "-1".to_owned()),
        ("SiparisDurumu", "-1".to_owned()),
        ("TedarikciID", "-1".to_owned()),
        ("UrunGetir", "true".to_owned()),
        ("UyeID", "-1".to_owned()),
    ];
    if by.0 != "SiparisID" {
        filter.push(("SiparisID", "-1".to_owned()));
    }
    filter.push(by);
    let body = soap::call(
        settings,
        "SiparisServis",
        "SelectSiparis",
        &[
            Contract {
                name: "f",
                fields: filter,
            },
            paging(0, count),
        ],
    )?;
    model::orders(&body, settings)
}

/// `UrunSayfalama` / `WebSiparisSayfalama`: newest (highest `ID`) first.
fn paging(start: u32, count: u32) -> Contract<'static> {
    Contract {
        name: "s",
        fields: vec![
            ("BaslangicIndex", start.to_string()),
            ("KayitSayisi", count.to_string()),
            ("SiralamaDegeri", "ID".to_owned()),
            ("SiralamaYonu", "DESC".to_owned()),
        ],
    }
}

omnigate_plugin_sdk::export_commerce!(Ticimax);
