//! Webhook signature checks, in constant time.
//!
//! Providers sign the exact bytes they send (WhatsApp:
//! `X-Hub-Signature-256: sha256=<hex>`, Shopify: `X-Shopify-Hmac-Sha256:
//! <base64>`). Verify the raw body before parsing it, never a re-serialised
//! copy, and compare with these functions rather than `==`, which leaks how
//! many leading bytes matched. The MAC itself is computed by the host
//! ([`crate::crypto`]).

use base64::Engine as _;

use crate::crypto::hmac_sha256;

/// Whether `signature` is HMAC-SHA256(`secret`, `body`). The comparison is
/// constant-time.
pub fn verify_hmac_sha256(secret: &[u8], body: &[u8], signature: &[u8]) -> bool {
    constant_time_eq(&hmac_sha256(secret, body), signature)
}

/// Checks a hex-encoded HMAC-SHA256 such as WhatsApp's
/// `X-Hub-Signature-256` header; a `sha256=` prefix is accepted and
/// upper-case hex too. Malformed hex is a mismatch, not an error: the caller
/// answers 401 either way.
pub fn verify_hex_sha256(secret: &[u8], body: &[u8], header: &str) -> bool {
    let hex_digest = header.trim();
    let hex_digest = hex_digest.strip_prefix("sha256=").unwrap_or(hex_digest);
    match hex::decode(hex_digest) {
        Ok(signature) => verify_hmac_sha256(secret, body, &signature),
        Err(_) => false,
    }
}

/// Checks a base64-encoded HMAC-SHA256 such as Shopify's
/// `X-Shopify-Hmac-Sha256` header.
pub fn verify_base64_sha256(secret: &[u8], body: &[u8], header: &str) -> bool {
    match base64::engine::general_purpose::STANDARD.decode(header.trim()) {
        Ok(signature) => verify_hmac_sha256(secret, body, &signature),
        Err(_) => false,
    }
}

/// Compares two secrets (Telegram's `X-Telegram-Bot-Api-Secret-Token`) in
/// time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The lower-case hex HMAC-SHA256 of `body`, for fakes and tests that sign
/// what they send.
pub fn sign_hex_sha256(secret: &[u8], body: &[u8]) -> String {
    hex::encode(hmac_sha256(secret, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 test case 2.
    const KEY: &[u8] = b"Jefe";
    const DATA: &[u8] = b"what do ya want for nothing?";
    const MAC_HEX: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn rfc4231_vector_verifies() {
        assert_eq!(sign_hex_sha256(KEY, DATA), MAC_HEX);
        assert!(verify_hex_sha256(KEY, DATA, MAC_HEX));
        assert!(verify_hex_sha256(KEY, DATA, &format!("sha256={MAC_HEX}")));
        assert!(verify_hex_sha256(KEY, DATA, &MAC_HEX.to_uppercase()));
    }

    #[test]
    fn tampering_fails() {
        assert!(!verify_hex_sha256(
            KEY,
            b"what do ya want for nothing!",
            MAC_HEX
        ));
        assert!(!verify_hex_sha256(b"jefe", DATA, MAC_HEX));
        assert!(!verify_hex_sha256(KEY, DATA, "sha256=zz"));
        assert!(!verify_hex_sha256(KEY, DATA, &MAC_HEX[..62]));
        assert!(!verify_hex_sha256(KEY, DATA, ""));
    }

    #[test]
    fn base64_signatures_verify() {
        let raw = hex::decode(MAC_HEX).unwrap_or_default();
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        assert!(verify_base64_sha256(KEY, DATA, &b64));
        assert!(!verify_base64_sha256(KEY, DATA, "not base64!"));
    }

    #[test]
    fn turkish_escapes_are_signed_as_sent() {
        let escaped = br#"{"text":{"body":"sipari\u015fim"}}"#;
        let raw = "{\"text\":{\"body\":\"siparişim\"}}".as_bytes();
        let sig = sign_hex_sha256(b"app-secret", escaped);
        assert!(verify_hex_sha256(b"app-secret", escaped, &sig));
        assert!(!verify_hex_sha256(b"app-secret", raw, &sig));
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"token", b"token"));
        assert!(!constant_time_eq(b"token", b"tokem"));
        assert!(!constant_time_eq(b"token", b"token!"));
    }
}
