//! The admin's settings, with the manifest's defaults applied (the host
//! hands over only what the admin set).

use omnigate_plugin_sdk::commerce::ShopError;
use omnigate_plugin_sdk::config;

const DEFAULT_NAMESPACE: &str = "http://schemas.datacontract.org/2004/07/Ticimax.Modeller";
const DEFAULT_CURRENCY: &str = "TRY";
const DEFAULT_UTC_OFFSET: &str = "+03:00";

/// Where the store is and how to talk to it.
pub struct Settings {
    /// The store's host name; the only host the plugin calls.
    pub domain: String,
    /// The DataContract namespace of filter and paging fields.
    pub namespace: String,
    /// The UyeKodu ("Web Servis Yetki Kodu").
    pub uye_kodu: String,
    /// For prices and totals that carry no currency code.
    pub currency: String,
    /// Added to the store's zone-less timestamps.
    pub utc_offset: String,
}

impl Settings {
    /// Reads and checks the settings.
    pub fn load() -> Result<Settings, ShopError> {
        let raw = config::require("store_domain").map_err(|e| ShopError::Invalid(e.to_string()))?;
        let domain = raw
            .trim()
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_ascii_lowercase();
        let host_ok = domain.contains('.')
            && domain.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !host_ok {
            return Err(ShopError::Invalid(format!(
                "`store_domain` must be the store's host name (www.magazam.com), not `{raw}`"
            )));
        }
        let uye_kodu =
            config::require_secret("uye_kodu").map_err(|e| ShopError::Auth(e.to_string()))?;
        let or_default = |key: &str, default: &str| {
            config::get(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let currency = or_default("currency", DEFAULT_CURRENCY).to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ShopError::Invalid(format!(
                "`currency` must be an ISO 4217 code such as TRY, not `{currency}`"
            )));
        }
        // `+03:00`: appended to timestamps as it is.
        let utc_offset = or_default("utc_offset", DEFAULT_UTC_OFFSET);
        let offset_ok = utc_offset.len() == 6
            && utc_offset.bytes().enumerate().all(|(i, b)| match i {
                0 => b == b'+' || b == b'-',
                3 => b == b':',
                _ => b.is_ascii_digit(),
            });
        if !offset_ok {
            return Err(ShopError::Invalid(format!(
                "`utc_offset` must look like +03:00, not `{utc_offset}`"
            )));
        }
        Ok(Settings {
            domain,
            namespace: or_default("datacontract_namespace", DEFAULT_NAMESPACE),
            uye_kodu: uye_kodu.trim().to_owned(),
            currency,
            utc_offset,
        })
    }
}
