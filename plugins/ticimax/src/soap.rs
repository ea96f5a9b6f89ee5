//! SOAP 1.1 to Ticimax's WCF services (reference §4): envelopes built the
//! way WCF's DataContractSerializer reads them, the call, and faults
//! mapped to `shop-error`.

use omnigate_plugin_sdk::commerce::ShopError;
use omnigate_plugin_sdk::http;
use omnigate_plugin_sdk::types::RateLimit;

use crate::settings::Settings;
use crate::xml;

const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The operation namespace, and the prefix of every SOAPAction.
const TEMPURI: &str = "http://tempuri.org/";

/// Ticimax stores answer slowly under load; stay well inside the budget.
const TIMEOUT_MS: u32 = 15_000;

/// One DataContract parameter (a filter, a paging record): its element
/// name and its fields.
pub struct Contract<'a> {
    pub name: &'a str,
    pub fields: Vec<(&'a str, String)>,
}

/// A method call: `<Method xmlns="http://tempuri.org/">` with `UyeKodu`
/// first, then the contracts.
pub fn envelope(settings: &Settings, method: &str, contracts: &[Contract<'_>]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP_ENV}\"><soap:Body><{method} xmlns=\"{TEMPURI}\"><UyeKodu>{}</UyeKodu>",
        xml::escape(&settings.uye_kodu)
    );
    for contract in contracts {
        out.push_str(&format!(
            "<{} xmlns:d=\"{}\">",
            contract.name,
            xml::escape(&settings.namespace)
        ));
        // DataContractSerializer reads members in ordinal (alphabetical)
        // order and silently drops one out of place, leaving its default:
        // a misplaced filter would widen the query without an error.
        let mut fields: Vec<&(&str, String)> = contract.fields.iter().collect();
        fields.sort_by(|a, b| a.0.cmp(b.0));
        for (name, value) in fields {
            out.push_str(&format!("<d:{name}>{}</d:{name}>", xml::escape(value)));
        }
        out.push_str(&format!("</{}>", contract.name));
    }
    out.push_str(&format!("</{method}></soap:Body></soap:Envelope>"));
    out
}

/// Calls `method` of `service` (`UrunServis`) and returns the response
/// body, checked for faults and error results.
pub fn call(
    settings: &Settings,
    service: &str,
    method: &str,
    contracts: &[Contract<'_>],
) -> Result<String, ShopError> {
    let url = format!("https://{}/Servis/{service}.svc", settings.domain);
    let response = http::Request::post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", format!("\"{TEMPURI}I{service}/{method}\""))
        .timeout_ms(TIMEOUT_MS)
        .body(envelope(settings, method, contracts))
        .send()
        .map_err(transport_error)?;
    let body = String::from_utf8_lossy(response.body()).into_owned();
    let status = response.status();
    // SOAP 1.1 faults come with HTTP 500, so a success is not parsed twice.
    if !response.is_success()
        && let Some(fault) = xml::fault(&body)
    {
        return Err(fault_error(&fault.code, &fault.message));
    }
    match status {
        200..=299 => {}
        401 | 403 => return Err(ShopError::Auth(format!("Ticimax answered {status}"))),
        404 => {
            return Err(ShopError::Invalid(format!(
                "Ticimax answered 404 for /Servis/{service}.svc: is `store_domain` right?"
            )));
        }
        429 => {
            return Err(ShopError::RateLimited(RateLimit {
                retry_after_ms: response.retry_after_ms(),
                message: "Ticimax asked to slow down (429)".into(),
            }));
        }
        _ => {
            return Err(ShopError::TransientUpstream(format!(
                "Ticimax answered {status}"
            )));
        }
    }
    // Some calls answer with a result carrying IsError / ErrorMessage
    // instead of a fault (reference §4 [M]).
    if body.contains("IsError>true<")
        && let Some(message) = xml::result_error(&body)
    {
        return Err(fault_error("", &message));
    }
    Ok(body)
}

fn transport_error(error: http::Error) -> ShopError {
    match error {
        http::Error::ForbiddenHost(m) => ShopError::Invalid(format!(
            "{m} (the store domain is outside this build's allowed hosts)"
        )),
        http::Error::InvalidRequest(m) => ShopError::Invalid(m),
        http::Error::Timeout => {
            ShopError::TransientUpstream("Ticimax did not answer in time".into())
        }
        http::Error::Transport(m) => ShopError::TransientUpstream(m),
        http::Error::TooLarge(n) => {
            ShopError::TransientUpstream(format!("Ticimax's answer is too large ({n} bytes)"))
        }
    }
}

/// A wrong UyeKodu reads "Hatalı Kullanıcı Kodu" or "Yetkisiz erişim";
/// other client faults are requests the store refused, server faults may
/// pass.
fn fault_error(code: &str, message: &str) -> ShopError {
    let folded = shop_common::text::fold(message);
    let text = format!("Ticimax: {message}");
    if [
        "kullanıcı kodu",
        "kullanici kodu",
        "yetki",
        "uye kodu",
        "üye kodu",
    ]
    .iter()
    .any(|needle| folded.contains(&shop_common::text::fold(needle)))
    {
        ShopError::Auth(text)
    } else if code.ends_with("Client") {
        ShopError::Invalid(text)
    } else {
        ShopError::TransientUpstream(text)
    }
}
