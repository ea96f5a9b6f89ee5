//! Plugin signatures: ed25519 over the `.wasm`'s SHA-256.
//!
//! The format is deliberately small so that authors can produce it with
//! `omnigate plugin sign` or any ed25519 tool:
//!
//! - a **private key file** holds the 32-byte ed25519 seed in standard
//!   base64 (one line); `omnigate plugin keygen` writes it owner-only;
//! - a **public key** is the 32-byte ed25519 key in standard base64, the
//!   form `plugins.trusted_keys` lists; its **key id** is the first 8 bytes
//!   of its SHA-256 in hex, recorded with an installed plugin;
//! - a **signature** (the `.sig` file, or the `X-Omnigate-Signature`
//!   header) is the 64-byte signature in standard base64, made over
//!   [`CONTEXT`] followed by the 32-byte SHA-256 of the `.wasm`. The
//!   context prefix keeps a plugin signature from ever being valid for
//!   another protocol that signs bare digests with the same key.
//!
//! Signing the digest rather than the file keeps the signature detached and
//! the verification cheap for large components.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Prefixed to the digest before signing (domain separation).
pub const CONTEXT: &[u8] = b"omnigate-plugin-signature-v1\n";

/// Why a key or signature was refused; the message is what the admin reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignatureError(pub String);

/// The SHA-256 of a `.wasm`, the value signatures cover.
#[must_use]
pub fn digest(wasm: &[u8]) -> [u8; 32] {
    Sha256::digest(wasm).into()
}

fn message(digest: &[u8; 32]) -> Vec<u8> {
    let mut message = Vec::with_capacity(CONTEXT.len() + digest.len());
    message.extend_from_slice(CONTEXT);
    message.extend_from_slice(digest);
    message
}

fn decode_fixed<const N: usize>(what: &str, text: &str) -> Result<[u8; N], SignatureError> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| SignatureError(format!("{what} is not valid base64: {e}")))?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
        SignatureError(format!(
            "{what} must be {N} bytes in base64, got {}",
            bytes.len()
        ))
    })
}

/// A public key admins trust, with its id.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    key: VerifyingKey,
    id: String,
}

impl TrustedKey {
    /// Parses a base64 public key (as listed in `plugins.trusted_keys`).
    pub fn parse(text: &str) -> Result<TrustedKey, SignatureError> {
        let bytes = decode_fixed::<32>("the public key", text)?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|e| SignatureError(format!("not an ed25519 public key: {e}")))?;
        Ok(TrustedKey {
            id: key_id(&key),
            key,
        })
    }
}

fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// Checks a base64 signature over `wasm_digest` against the trusted keys
/// and returns the id of the key that made it. Strict verification refuses
/// malleable signatures and weak keys.
pub fn verify(
    trusted: &[TrustedKey],
    wasm_digest: &[u8; 32],
    signature_b64: &str,
) -> Result<String, SignatureError> {
    let bytes = decode_fixed::<64>("the signature", signature_b64)?;
    let signature = Signature::from_bytes(&bytes);
    let message = message(wasm_digest);
    trusted
        .iter()
        .find(|k| k.key.verify_strict(&message, &signature).is_ok())
        .map(|k| k.id.clone())
        .ok_or_else(|| {
            SignatureError(if trusted.is_empty() {
                "no key is trusted (plugins.trusted_keys is empty)".to_owned()
            } else {
                "the signature does not match this file under any key in plugins.trusted_keys"
                    .to_owned()
            })
        })
}

/// A private key for `omnigate plugin sign`.
pub struct PrivateKey(SigningKey);

impl PrivateKey {
    /// A fresh key from the operating system's random source.
    #[must_use]
    pub fn generate() -> PrivateKey {
        use rand::RngCore;
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        PrivateKey(SigningKey::from_bytes(&seed))
    }

    /// Parses the key file's text (a base64 seed).
    pub fn parse(text: &str) -> Result<PrivateKey, SignatureError> {
        let seed = decode_fixed::<32>("the private key file", text)?;
        Ok(PrivateKey(SigningKey::from_bytes(&seed)))
    }

    /// The key file's text.
    #[must_use]
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.to_bytes())
    }

    /// The public key in base64, for `plugins.trusted_keys`.
    #[must_use]
    pub fn public_base64(&self) -> String {
        STANDARD.encode(self.0.verifying_key().as_bytes())
    }

    /// The public key's id.
    #[must_use]
    pub fn key_id(&self) -> String {
        key_id(&self.0.verifying_key())
    }

    /// The base64 signature over `wasm`.
    #[must_use]
    pub fn sign(&self, wasm: &[u8]) -> String {
        STANDARD.encode(self.0.sign(&message(&digest(wasm))).to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_under_its_key_only() {
        let key = PrivateKey::generate();
        let other = PrivateKey::generate();
        let wasm = b"\0asm component bytes";
        let signature = key.sign(wasm);
        let trusted = TrustedKey::parse(&key.public_base64()).expect("own public key parses");
        let untrusted = TrustedKey::parse(&other.public_base64()).expect("public key parses");
        assert_eq!(
            verify(std::slice::from_ref(&trusted), &digest(wasm), &signature),
            Ok(key.key_id())
        );
        assert!(verify(std::slice::from_ref(&untrusted), &digest(wasm), &signature).is_err());
        assert!(
            verify(
                std::slice::from_ref(&trusted),
                &digest(b"other bytes"),
                &signature
            )
            .is_err()
        );
        assert!(verify(&[untrusted, trusted], &digest(wasm), &signature).is_ok());
        assert!(verify(&[], &digest(wasm), &signature).is_err());
    }

    #[test]
    fn keys_round_trip_and_garbage_is_refused_clearly() {
        let key = PrivateKey::generate();
        let again = PrivateKey::parse(&format!("{}\n", key.to_base64())).expect("key file parses");
        assert_eq!(again.public_base64(), key.public_base64());
        let e = TrustedKey::parse("not base64!").expect_err("garbage refused");
        assert!(e.0.contains("base64"), "{e}");
        let e = TrustedKey::parse(&STANDARD.encode([1u8; 16])).expect_err("short key refused");
        assert!(e.0.contains("32 bytes"), "{e}");
        let e = verify(&[], &[0; 32], &STANDARD.encode([0u8; 10])).expect_err("short signature");
        assert!(e.0.contains("64 bytes"), "{e}");
    }
}
