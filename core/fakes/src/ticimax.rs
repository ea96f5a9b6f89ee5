//! A fake Ticimax store: the SOAP 1.1 / WCF web services at
//! `POST /Servis/UrunServis.svc` (`SelectUrun`) and
//! `POST /Servis/SiparisServis.svc` (`SelectSiparis`), wire-formats.md §4.
//!
//! It reads requests the way WCF does: the `SOAPAction` header must name
//! the operation in the body (`http://tempuri.org/I<Service>/<Method>`),
//! elements are matched by local name (stores differ in the DataContract
//! namespace), and DataContract members are read in ordinal order, so a
//! member out of place is silently ignored and keeps its default, as the
//! reference warns. The filter then really filters (`StokKodu`,
//! `UyeTelefon`, `SiparisID`, `SiparisNo`, the -1/0 "no filter" values)
//! and the paging really pages. A wrong `UyeKodu` gets the store's fault;
//! tests can script faults and HTTP failures.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use roxmltree::{Document, Node};

/// The DataContract namespace the fake answers in.
pub const DATACONTRACT_NS: &str = "http://schemas.datacontract.org/2004/07/Ticimax.Modeller";
/// The fault string of a wrong UyeKodu.
pub const WRONG_CODE: &str = "Hatalı Kullanıcı Kodu";
/// The UyeKodu [`Store::seeded`] accepts (30 uppercase alphanumerics).
pub const UYE_KODU: &str = "ABCDEFGHIJ0123456789KLMNOPQRST";

/// `UrunFiltre`'s members, as the WSDL lists them.
const URUN_FILTRE: &[&str] = &[
    "Aktif",
    "Barkod",
    "Dil",
    "EklemeTarihiBaslangic",
    "EklemeTarihiBitis",
    "EntegrasyonDegerTanim",
    "EntegrasyonKodu",
    "Firsat",
    "Indirimli",
    "KasaOnuFirsatlari",
    "KategoriID",
    "KategoriIDList",
    "MarkaID",
    "MarketPlaceAktif",
    "StokKodu",
    "TedarikciID",
    "ToplamStokAdediBas",
    "ToplamStokAdediSon",
    "UrunKartiID",
    "Vitrin",
];

/// `WebSiparisFiltre`'s members seen in public code.
const WEB_SIPARIS_FILTRE: &[&str] = &[
    "DurumTarihiBas",
    "DurumTarihiSon",
    "DuzenlemeTarihiBas",
    "DuzenlemeTarihiSon",
    "EFaturaURL",
    "EntegrasyonAktarildi",
    "EntegrasyonParams",
    "FaturaNo",
    "IptalEdilmisUrunler",
    "KampanyaGetir",
    "KargoEntegrasyonTakipDurumu",
    "KargoFirmaID",
    "OdemeDurumu",
    "OdemeGetir",
    "OdemeTamamlandi",
    "OdemeTipi",
    "PaketlemeDurumu",
    "PazaryeriIhracat",
    "SiparisDurumu",
    "SiparisID",
    "SiparisKaynagi",
    "SiparisKodu",
    "SiparisNo",
    "SiparisTarihiBas",
    "SiparisTarihiSon",
    "StrPaketlemeDurumu",
    "StrSiparisDurumu",
    "StrSiparisID",
    "TedarikciID",
    "TeslimatGunuBas",
    "TeslimatGunuSon",
    "TeslimatMagazaID",
    "UrunGetir",
    "UyeID",
    "UyeTelefon",
];

/// `UrunSayfalama` and `WebSiparisSayfalama`.
const SAYFALAMA: &[&str] = &[
    "BaslangicIndex",
    "KayitSayisi",
    "SiralamaDegeri",
    "SiralamaYonu",
];

/// One SKU of a product card.
#[derive(Debug, Clone)]
pub struct Varyasyon {
    /// Variant id.
    pub id: u64,
    /// Matched exactly by the `StokKodu` filter.
    pub stok_kodu: String,
    /// Barcode.
    pub barkod: String,
    /// List price, before VAT when `kdv_dahil` is false.
    pub satis_fiyati: String,
    /// Discounted price; `0` for none.
    pub indirimli_fiyati: String,
    /// Whether the prices include VAT.
    pub kdv_dahil: bool,
    /// VAT percent.
    pub kdv_orani: String,
    /// Units in stock.
    pub stok_adedi: i64,
    /// `(Tanim, Deger)`: `("Beden", "M")`.
    pub ozellikler: Vec<(String, String)>,
}

/// A product card.
#[derive(Debug, Clone)]
pub struct UrunKarti {
    /// Product id.
    pub id: u64,
    /// The product name; Ticimax has no filter on it.
    pub urun_adi: String,
    /// Active in the store; the `Aktif` filter (1/0, -1 for all).
    pub aktif: bool,
    /// Brand name.
    pub marka: String,
    /// The product page path.
    pub urun_sayfa_adresi: String,
    /// Image URLs.
    pub resimler: Vec<String>,
    /// The SKUs.
    pub varyasyonlar: Vec<Varyasyon>,
}

/// One line of an order.
#[derive(Debug, Clone)]
pub struct WebSiparisUrun {
    /// Product id.
    pub urun_id: u64,
    /// Product name.
    pub urun_adi: String,
    /// SKU.
    pub stok_kodu: String,
    /// Units.
    pub adet: u32,
    /// Amount, a decimal string.
    pub tutar: String,
    /// Carrier's tracking number, per line.
    pub kargo_takip_numarasi: Option<String>,
    /// Carrier's tracking page.
    pub kargo_takip_link: Option<String>,
}

/// An order.
#[derive(Debug, Clone)]
pub struct WebSiparis {
    /// Order id (`SiparisID` filter).
    pub id: u64,
    /// The number customers quote (`SiparisNo` filter).
    pub siparis_no: String,
    /// WCF `dateTime` without a zone.
    pub siparis_tarihi: String,
    /// The `SiparisDurumu` enum value (0-9).
    pub siparis_durumu: u8,
    /// Customer's full name.
    pub adi_soyadi: String,
    /// Customer's e-mail (no filter on it).
    pub mail: String,
    /// Member id.
    pub uye_id: u64,
    /// As the customer typed it (`UyeTelefon` filter, exact).
    pub uye_telefon: String,
    /// Delivery province and district.
    pub teslimat_il: String,
    /// Delivery district.
    pub teslimat_ilce: String,
    /// Lines, sent only when `UrunGetir` is true.
    pub urunler: Vec<WebSiparisUrun>,
    /// Payment amounts (`WebSiparisOdeme.Tutar`).
    pub odemeler: Vec<String>,
}

/// An answer the next request gets instead of the real one.
#[derive(Debug, Clone)]
pub enum Failure {
    /// HTTP 500 with a SOAP fault (`s:Server`) and this message.
    Fault(String),
    /// This HTTP status with an HTML error page, as IIS sends.
    Status(u16),
}

/// What the store holds; tests change it through [`Store`].
#[derive(Debug, Clone)]
pub struct StoreState {
    /// The only UyeKodu accepted.
    pub uye_kodu: String,
    /// The catalogue.
    pub urunler: Vec<UrunKarti>,
    /// The orders.
    pub siparisler: Vec<WebSiparis>,
    /// Answers served before any real one, first first.
    pub failures: VecDeque<Failure>,
}

/// A handle on the fake store, shared with its router.
#[derive(Clone)]
pub struct Store {
    state: Arc<Mutex<StoreState>>,
}

impl Store {
    /// A store with three product cards and three orders: phone
    /// `05321112233` (Ayşe) has orders 1001 (shipped, tracked per line) and
    /// 1003, `05339998877` (Mehmet) has 1002.
    #[must_use]
    pub fn seeded() -> Store {
        let varyasyon =
            |id, stok: &str, fiyat: &str, indirimli: &str, stok_adedi, beden: &str| Varyasyon {
                id,
                stok_kodu: stok.into(),
                barkod: format!("8691{id:06}"),
                satis_fiyati: fiyat.into(),
                indirimli_fiyati: indirimli.into(),
                kdv_dahil: false,
                kdv_orani: "20".into(),
                stok_adedi,
                ozellikler: vec![("Beden".into(), beden.into())],
            };
        let urun = |id, ad: &str, aktif, varyasyonlar| UrunKarti {
            id,
            urun_adi: ad.into(),
            aktif,
            marka: "Acme".into(),
            urun_sayfa_adresi: format!("/urun/{id}"),
            resimler: vec![format!("https://static.example.com/urun/{id}.jpg")],
            varyasyonlar,
        };
        let line = |urun_id, ad: &str, stok: &str, adet, tutar: &str, takip: Option<&str>| {
            WebSiparisUrun {
                urun_id,
                urun_adi: ad.into(),
                stok_kodu: stok.into(),
                adet,
                tutar: tutar.into(),
                kargo_takip_numarasi: takip.map(Into::into),
                kargo_takip_link: takip
                    .map(|t| format!("https://kargotakip.araskargo.com.tr/?code={t}")),
            }
        };
        let state = StoreState {
            uye_kodu: UYE_KODU.into(),
            urunler: vec![
                urun(
                    10,
                    "Pamuklu Tişört",
                    true,
                    vec![
                        varyasyon(101, "TS-M", "100", "0", 5, "M"),
                        varyasyon(102, "TS-L", "100", "90", 3, "L"),
                    ],
                ),
                urun(
                    11,
                    "Kot Pantolon",
                    true,
                    vec![varyasyon(111, "KP-32", "450", "0", 7, "32")],
                ),
                urun(
                    12,
                    "Yün Kazak",
                    false,
                    vec![varyasyon(121, "YK-1", "300", "0", 0, "M")],
                ),
            ],
            siparisler: vec![
                WebSiparis {
                    id: 1001,
                    siparis_no: "TCX1001".into(),
                    siparis_tarihi: "2025-01-10T09:30:00".into(),
                    siparis_durumu: 6,
                    adi_soyadi: "Ayşe Yılmaz".into(),
                    mail: "ayse@example.com".into(),
                    uye_id: 501,
                    uye_telefon: "05321112233".into(),
                    teslimat_il: "İstanbul".into(),
                    teslimat_ilce: "Kadıköy".into(),
                    urunler: vec![line(
                        10,
                        "Pamuklu Tişört",
                        "TS-M",
                        2,
                        "120",
                        Some("AR123456"),
                    )],
                    odemeler: vec!["240".into()],
                },
                WebSiparis {
                    id: 1002,
                    siparis_no: "TCX1002".into(),
                    siparis_tarihi: "2025-01-15T11:00:00".into(),
                    siparis_durumu: 2,
                    adi_soyadi: "Mehmet Demir".into(),
                    mail: "mehmet@example.com".into(),
                    uye_id: 502,
                    uye_telefon: "05339998877".into(),
                    teslimat_il: "Ankara".into(),
                    teslimat_ilce: "Çankaya".into(),
                    urunler: vec![line(11, "Kot Pantolon", "KP-32", 1, "540", None)],
                    odemeler: vec!["540".into()],
                },
                WebSiparis {
                    id: 1003,
                    siparis_no: "TCX1003".into(),
                    siparis_tarihi: "2025-02-01T15:45:00".into(),
                    siparis_durumu: 1,
                    adi_soyadi: "Ayşe Yılmaz".into(),
                    mail: "ayse@example.com".into(),
                    uye_id: 501,
                    uye_telefon: "05321112233".into(),
                    teslimat_il: "İstanbul".into(),
                    teslimat_ilce: "Kadıköy".into(),
                    urunler: vec![line(11, "Kot Pantolon", "KP-32", 1, "540", None)],
                    odemeler: vec!["500".into(), "40".into()],
                },
            ],
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

    /// Serves `failure` to the next request instead of its real answer.
    pub fn fail_next(&self, failure: Failure) {
        self.with(|s| s.failures.push_back(failure));
    }

    /// The router to hand [`crate::FakeServer::start`].
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/Servis/UrunServis.svc",
                post(|s: State<Store>, h: HeaderMap, b: Bytes| serve(s, h, b, "UrunServis")),
            )
            .route(
                "/Servis/SiparisServis.svc",
                post(|s: State<Store>, h: HeaderMap, b: Bytes| serve(s, h, b, "SiparisServis")),
            )
            .with_state(self.clone())
    }
}

async fn serve(
    State(store): State<Store>,
    headers: HeaderMap,
    body: Bytes,
    service: &'static str,
) -> Response {
    let state = store
        .state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if let Some(failure) = store.with(|s| s.failures.pop_front()) {
        return match failure {
            Failure::Fault(message) => fault("s:Server", &message),
            Failure::Status(status) => (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                [("content-type", "text/html")],
                "<html><body><h1>Server Error</h1></body></html>",
            )
                .into_response(),
        };
    }
    let xml_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/xml"));
    if !xml_body {
        // What WCF's basicHttpBinding answers another content type.
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Cannot process the message because the content type was not the expected type 'text/xml; charset=utf-8'.",
        )
            .into_response();
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return fault("s:Client", "The message is not UTF-8.");
    };
    let Ok(document) = Document::parse(text) else {
        return fault("s:Client", "The message is not well-formed XML.");
    };
    let Some(operation) = operation(&document) else {
        return fault("s:Client", "The SOAP body holds no operation.");
    };
    let method = operation.tag_name().name();
    let action = headers
        .get("soapaction")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_default();
    if action != format!("http://tempuri.org/I{service}/{method}")
        || operation.tag_name().namespace() != Some("http://tempuri.org/")
    {
        return fault(
            "a:ActionNotSupported",
            &format!(
                "The message with Action '{action}' cannot be processed at the receiver, due to a ContractFilter mismatch at the EndpointDispatcher."
            ),
        );
    }
    if text_of(operation, "UyeKodu").as_deref() != Some(state.uye_kodu.as_str()) {
        return fault("s:Client", WRONG_CODE);
    }
    let filter = child(operation, "f");
    let paging = contract(child(operation, "s"), SAYFALAMA);
    match (service, method) {
        ("UrunServis", "SelectUrun") => {
            let filter = contract(filter, URUN_FILTRE);
            ok(method, &select_urun(&state, &filter, &paging))
        }
        ("SiparisServis", "SelectSiparis") => {
            let filter = contract(filter, WEB_SIPARIS_FILTRE);
            ok(method, &select_siparis(&state, &filter, &paging))
        }
        _ => fault(
            "a:ActionNotSupported",
            &format!("This fake store does not serve {service}.{method}."),
        ),
    }
}

/// The first element inside `soap:Body`.
fn operation<'a, 'input>(document: &'a Document<'input>) -> Option<Node<'a, 'input>> {
    let body = document
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "Body")?;
    body.children().find(Node::is_element)
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn text_of(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name)
        .and_then(|c| c.text())
        .map(|t| t.trim().to_owned())
}

/// The members of a DataContract as DataContractSerializer reads them:
/// in ordinal order, so one out of place (or unknown) is skipped and the
/// member keeps its default.
fn contract(node: Option<Node<'_, '_>>, members: &[&str]) -> HashMap<String, String> {
    let mut ordered: Vec<&str> = members.to_vec();
    ordered.sort_unstable();
    let mut read = HashMap::new();
    let mut next = 0;
    for element in node
        .iter()
        .flat_map(|n| n.children())
        .filter(Node::is_element)
    {
        let name = element.tag_name().name();
        if let Some(offset) = ordered[next..].iter().position(|m| *m == name) {
            next += offset + 1;
            read.insert(
                name.to_owned(),
                element.text().unwrap_or("").trim().to_owned(),
            );
        }
    }
    read
}

fn int(map: &HashMap<String, String>, key: &str, default: i64) -> i64 {
    map.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `BaslangicIndex`/`KayitSayisi` over `items` sorted by `SiralamaDegeri`
/// (`ID`) and `SiralamaYonu`. A missing `KayitSayisi` is WCF's default 0:
/// nothing.
fn page<T: Clone>(
    mut items: Vec<T>,
    id: impl Fn(&T) -> u64,
    paging: &HashMap<String, String>,
) -> Vec<T> {
    items.sort_by_key(&id);
    if paging.get("SiralamaYonu").map(String::as_str) == Some("DESC") {
        items.reverse();
    }
    let start = usize::try_from(int(paging, "BaslangicIndex", 0)).unwrap_or(0);
    let count = usize::try_from(int(paging, "KayitSayisi", 0)).unwrap_or(0);
    items.into_iter().skip(start).take(count).collect()
}

fn select_urun(
    state: &StoreState,
    filter: &HashMap<String, String>,
    paging: &HashMap<String, String>,
) -> String {
    let aktif = int(filter, "Aktif", -1);
    let kart = int(filter, "UrunKartiID", 0);
    let stok = filter.get("StokKodu").filter(|s| !s.is_empty());
    let found: Vec<UrunKarti> = state
        .urunler
        .iter()
        .filter(|u| aktif == -1 || (aktif == 1) == u.aktif)
        .filter(|u| kart == 0 || i64::try_from(u.id).ok() == Some(kart))
        .filter(|u| stok.is_none_or(|s| u.varyasyonlar.iter().any(|v| &v.stok_kodu == s)))
        .cloned()
        .collect();
    page(found, |u| u.id, paging).iter().map(urun_xml).collect()
}

fn select_siparis(
    state: &StoreState,
    filter: &HashMap<String, String>,
    paging: &HashMap<String, String>,
) -> String {
    let id = int(filter, "SiparisID", -1);
    let uye = int(filter, "UyeID", -1);
    let durum = int(filter, "SiparisDurumu", -1);
    let no = filter.get("SiparisNo").filter(|s| !s.is_empty());
    let telefon = filter.get("UyeTelefon").filter(|s| !s.is_empty());
    let urun_getir = filter.get("UrunGetir").map(String::as_str) == Some("true");
    let found: Vec<WebSiparis> = state
        .siparisler
        .iter()
        .filter(|s| id == -1 || i64::try_from(s.id).ok() == Some(id))
        .filter(|s| uye == -1 || i64::try_from(s.uye_id).ok() == Some(uye))
        .filter(|s| durum == -1 || i64::from(s.siparis_durumu) == durum)
        .filter(|s| no.is_none_or(|n| &s.siparis_no == n))
        .filter(|s| telefon.is_none_or(|t| &s.uye_telefon == t))
        .cloned()
        .collect();
    page(found, |s| s.id, paging)
        .iter()
        .map(|s| siparis_xml(s, urun_getir))
        .collect()
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn el(name: &str, value: &str) -> String {
    format!("<a:{name}>{}</a:{name}>", esc(value))
}

fn urun_xml(u: &UrunKarti) -> String {
    let resimler: String = u
        .resimler
        .iter()
        .map(|r| format!("<b:string>{}</b:string>", esc(r)))
        .collect();
    let varyasyonlar: String = u.varyasyonlar.iter().map(|v| {
        let ozellikler: String = v
            .ozellikler
            .iter()
            .map(|(t, d)| format!("<a:VaryasyonOzellik>{}{}</a:VaryasyonOzellik>", el("Deger", d), el("Tanim", t)))
            .collect();
        format!(
            "<a:Varyasyon>{}{}{}{}{}{}<a:Ozellikler>{ozellikler}</a:Ozellikler>{}{}{}{}{}</a:Varyasyon>",
            el("Aktif", "true"),
            el("Barkod", &v.barkod),
            el("ID", &v.id.to_string()),
            el("IndirimliFiyati", &v.indirimli_fiyati),
            el("KdvDahil", if v.kdv_dahil { "true" } else { "false" }),
            el("KdvOrani", &v.kdv_orani),
            el("ParaBirimiID", "1"),
            el("SatisFiyati", &v.satis_fiyati),
            el("StokAdedi", &v.stok_adedi.to_string()),
            el("StokKodu", &v.stok_kodu),
            el("UrunKartiID", &u.id.to_string()),
        )
    }).collect();
    let toplam: i64 = u.varyasyonlar.iter().map(|v| v.stok_adedi).sum();
    format!(
        "<a:UrunKarti><a:Aciklama i:nil=\"true\"/>{}{}{}<a:Resimler xmlns:b=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\">{resimler}</a:Resimler>{}{}{}<a:Varyasyonlar>{varyasyonlar}</a:Varyasyonlar></a:UrunKarti>",
        el("Aktif", if u.aktif { "true" } else { "false" }),
        el("ID", &u.id.to_string()),
        el("Marka", &u.marka),
        el("ToplamStokAdedi", &toplam.to_string()),
        el("UrunAdi", &u.urun_adi),
        el("UrunSayfaAdresi", &u.urun_sayfa_adresi),
    )
}

fn siparis_xml(s: &WebSiparis, urun_getir: bool) -> String {
    let urunler: String = if urun_getir {
        s.urunler
            .iter()
            .map(|u| {
                let takip = u.kargo_takip_numarasi.as_deref().map_or_else(
                    || "<a:KargoTakipNumarasi i:nil=\"true\"/>".to_owned(),
                    |t| el("KargoTakipNumarasi", t),
                );
                let link = u
                    .kargo_takip_link
                    .as_deref()
                    .map_or_else(String::new, |l| el("KargoTakipLink", l));
                format!(
                    "<a:WebSiparisUrun>{}{link}{takip}{}{}{}{}</a:WebSiparisUrun>",
                    el("Adet", &u.adet.to_string()),
                    el("StokKodu", &u.stok_kodu),
                    el("Tutar", &u.tutar),
                    el("UrunAdi", &u.urun_adi),
                    el("UrunID", &u.urun_id.to_string()),
                )
            })
            .collect()
    } else {
        String::new()
    };
    let odemeler: String = s
        .odemeler
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "<a:WebSiparisOdeme>{}{}{}</a:WebSiparisOdeme>",
                el("ID", &(i + 1).to_string()),
                el("SiparisID", &s.id.to_string()),
                el("Tutar", t),
            )
        })
        .collect();
    format!(
        "<a:WebSiparis>{}{}{}<a:Odemeler>{odemeler}</a:Odemeler>{}{}{}{}<a:TeslimatAdresi>{}{}</a:TeslimatAdresi><a:Urunler>{urunler}</a:Urunler>{}{}</a:WebSiparis>",
        el("AdiSoyadi", &s.adi_soyadi),
        el("ID", &s.id.to_string()),
        el("Mail", &s.mail),
        el("SiparisDurumu", &s.siparis_durumu.to_string()),
        el("SiparisKaynagi", "Web"),
        el("SiparisNo", &s.siparis_no),
        el("SiparisTarihi", &s.siparis_tarihi),
        el("Il", &s.teslimat_il),
        el("Ilce", &s.teslimat_ilce),
        el("UyeID", &s.uye_id.to_string()),
        el("UyeTelefon", &s.uye_telefon),
    )
}

/// `<MethodResponse><MethodResult>…</MethodResult></MethodResponse>`.
fn ok(method: &str, items: &str) -> Response {
    let body = format!(
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><{method}Response xmlns=\"http://tempuri.org/\"><{method}Result xmlns:a=\"{DATACONTRACT_NS}\" xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">{items}</{method}Result></{method}Response></s:Body></s:Envelope>"
    );
    (
        StatusCode::OK,
        [("content-type", "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// HTTP 500 with a SOAP 1.1 fault.
fn fault(code: &str, message: &str) -> Response {
    let body = format!(
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault><faultcode xmlns:a=\"http://schemas.microsoft.com/ws/2005/05/addressing/none\">{code}</faultcode><faultstring xml:lang=\"tr-TR\">{}</faultstring></s:Fault></s:Body></s:Envelope>",
        esc(message)
    );
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [("content-type", "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}
