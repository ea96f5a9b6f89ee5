//! Argon2id password hashing, off the async runtime.
//!
//! Parameters are the `argon2` crate's defaults (19 MiB, 2 passes, 1 lane),
//! OWASP's recommended minimum. Hashing runs on the blocking pool behind a
//! semaphore (see `AppState`), so a burst of logins queues instead of
//! starving request handling or memory.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::rngs::OsRng;

use crate::error::ApiError;
use crate::state::AppState;

/// Hashes `password` into a PHC string (`$argon2id$...`).
pub fn hash_password_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of nothing in particular, verified against when the account does
/// not exist so that unknown and known e-mails take the same time.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password_blocking("omnigate decoy password").unwrap_or_default())
}

impl AppState {
    pub(crate) async fn hash_password(&self, password: String) -> Result<String, ApiError> {
        let _permit = self
            .inner
            .password_work
            .acquire()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        tokio::task::spawn_blocking(move || hash_password_blocking(&password))
            .await
            .map_err(|e| ApiError::internal(&e))?
            .map_err(|e| ApiError::internal(&e))
    }

    /// Verifies against `hash`, or against a decoy when there is none.
    pub(crate) async fn verify_password(
        &self,
        password: String,
        hash: Option<String>,
    ) -> Result<bool, ApiError> {
        let _permit = self
            .inner
            .password_work
            .acquire()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        tokio::task::spawn_blocking(move || match hash {
            Some(hash) => verify_password_blocking(&password, &hash),
            None => {
                verify_password_blocking(&password, decoy_hash());
                false
            }
        })
        .await
        .map_err(|e| ApiError::internal(&e))
    }
}
