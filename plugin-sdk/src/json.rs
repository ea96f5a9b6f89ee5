//! JSON in and out of the sandbox, and the vendor extension fields.
//!
//! Records crossing the interface carry `extensions`: key → JSON text, so a
//! vendor's extra (WhatsApp's `referral`, Shopify's `financial_status`)
//! reaches the host without changing the interface. These helpers keep the
//! JSON well-formed on the way in and typed on the way out.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::types::Extensions;

/// Why JSON could not be read or written; the message says where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

/// Parses a webhook or API body. The error keeps serde's line and column,
/// which is what a plugin author needs when a provider changes a payload.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    serde_json::from_slice(bytes).map_err(|e| JsonError(format!("invalid JSON: {e}")))
}

/// Serialises a request body.
pub fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, JsonError> {
    serde_json::to_vec(value).map_err(|e| JsonError(format!("cannot encode JSON: {e}")))
}

/// Adds `key` with `value` encoded as JSON to `extensions`, replacing an
/// earlier value of the same key so keys stay unique.
pub fn set_extension<T: Serialize>(
    extensions: &mut Extensions,
    key: &str,
    value: &T,
) -> Result<(), JsonError> {
    let json =
        serde_json::to_string(value).map_err(|e| JsonError(format!("extension `{key}`: {e}")))?;
    extensions.retain(|(k, _)| k != key);
    extensions.push((key.to_owned(), json));
    Ok(())
}

/// Reads extension `key` as `T`; `Ok(None)` when absent.
pub fn extension<T: DeserializeOwned>(
    extensions: &Extensions,
    key: &str,
) -> Result<Option<T>, JsonError> {
    match extensions.iter().find(|(k, _)| k == key) {
        None => Ok(None),
        Some((_, json)) => serde_json::from_str(json)
            .map(Some)
            .map_err(|e| JsonError(format!("extension `{key}`: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Hello {
        name: String,
    }

    #[test]
    fn parse_reports_position() {
        let ok: Result<Hello, _> = parse(br#"{"name":"Ay\u015fe"}"#);
        assert_eq!(
            ok,
            Ok(Hello {
                name: "Ayşe".into()
            })
        );
        let bad: Result<Hello, _> = parse(b"{\"name\":");
        assert!(bad.is_err_and(|e| e.0.contains("line 1")));
    }

    #[test]
    fn extensions_round_trip_and_replace() {
        let mut ext = Extensions::new();
        assert!(
            set_extension(
                &mut ext,
                "whatsapp.referral",
                &serde_json::json!({"source_type": "ad"})
            )
            .is_ok()
        );
        assert!(set_extension(&mut ext, "whatsapp.voice", &true).is_ok());
        assert!(set_extension(&mut ext, "whatsapp.voice", &false).is_ok());
        assert_eq!(ext.len(), 2);
        assert_eq!(extension::<bool>(&ext, "whatsapp.voice"), Ok(Some(false)));
        assert_eq!(extension::<bool>(&ext, "missing"), Ok(None));
        assert!(extension::<u32>(&ext, "whatsapp.voice").is_err());
    }
}
