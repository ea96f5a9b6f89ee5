//! SHA-256 and HMAC-SHA256, computed by the host.
//!
//! Inside the sandbox these run on the host's native code (the CPU's SHA
//! instructions, which a wasm guest cannot use): checking a webhook's
//! signature or a downloaded file's digest then costs a plugin little more
//! than handing the bytes over. Built for any other target (a plugin's own
//! unit tests on the developer's machine), the same functions run the
//! `hmac`/`sha2` crates, with the same results.

/// HMAC-SHA256 of `data` under `key` (a key of any length), 32 bytes.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    digest(imp::hmac_sha256(key, data))
}

/// SHA-256 of `data`, 32 bytes.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    digest(imp::sha256(data))
}

/// The host answers 32 bytes; anything else (a broken host) gives a digest
/// of zeros, which matches no real signature.
fn digest(bytes: Vec<u8>) -> [u8; 32] {
    bytes.try_into().unwrap_or([0; 32])
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use crate::bindings::omnigate::plugin::crypto as host;

    pub(super) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
        host::hmac_sha256(key, data)
    }

    pub(super) fn sha256(data: &[u8]) -> Vec<u8> {
        host::sha256(data)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};

    pub(super) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
        match Hmac::<Sha256>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            // HMAC accepts keys of any length.
            Err(_) => Vec::new(),
        }
    }

    pub(super) fn sha256(data: &[u8]) -> Vec<u8> {
        Sha256::digest(data).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // RFC 4231 test case 2; FIPS 180-2 "abc".
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
