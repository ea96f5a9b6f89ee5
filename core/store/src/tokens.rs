//! API tokens for integrations: shown once, stored as a SHA-256 hash.
//!
//! Tokens are 256-bit random values, so a fast hash is enough to make the
//! stored form useless to a thief (a slow password hash protects guessable
//! secrets; these are not guessable).

use omnigate_domain::{Timestamp, UserId};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use crate::record::{self, Record, id_key};
use crate::{Store, StoreError};

/// A stored API token (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    /// Token id, shown in lists and used to revoke.
    pub id: u64,
    /// What the token is for, e.g. "CRM sync".
    pub name: String,
    /// The user the token acts as.
    pub user_id: u64,
    /// Who created it.
    pub created_by: u64,
    /// When.
    pub created_at_ms: i64,
    /// SHA-256 of the token.
    pub hash: [u8; 32],
}

impl Record for TokenRecord {
    const KIND: &'static str = "token";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.id == 0 || self.user_id == 0 {
            return Err("missing id or user".into());
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err("name must have 1 to 100 characters".into());
        }
        Ok(())
    }
}

impl TokenRecord {
    /// The user the token acts as.
    #[must_use]
    pub fn user(&self) -> UserId {
        UserId(self.user_id)
    }
}

/// What is needed to create a token.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Label.
    pub name: String,
    /// The user it acts as.
    pub user: UserId,
    /// Who creates it.
    pub created_by: UserId,
    /// When.
    pub created_at: Timestamp,
    /// SHA-256 of the secret.
    pub hash: [u8; 32],
}

impl Store {
    /// Stores a new token and returns its record.
    pub fn create_token(&self, new: NewToken) -> Result<TokenRecord, StoreError> {
        let token = TokenRecord {
            id: self.next_id()?,
            name: new.name.trim().to_owned(),
            user_id: new.user.0,
            created_by: new.created_by.0,
            created_at_ms: new.created_at.0,
            hash: new.hash,
        };
        let bytes = record::encode(&token)?;
        (&self.trees.tokens, &self.trees.tokens_by_hash).transaction(|(tokens, by_hash)| {
            tokens.insert(&id_key(token.id), bytes.as_slice())?;
            by_hash.insert(&token.hash, &id_key(token.id))?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(token)
    }

    /// The token whose secret hashes to `hash`.
    pub fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        let Some(id) = self.trees.tokens_by_hash.get(hash)? else {
            return Ok(None);
        };
        self.trees
            .tokens
            .get(id)?
            .map(|bytes| record::decode(&bytes))
            .transpose()
    }

    /// Whether token `id` still exists (not revoked): one key lookup, for
    /// checks that run per live connection.
    pub fn token_exists(&self, id: u64) -> Result<bool, StoreError> {
        Ok(self.trees.tokens.contains_key(id_key(id))?)
    }

    /// Every token, by id.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.trees
            .tokens
            .iter()
            .values()
            .map(|v| record::decode(&v?))
            .collect()
    }

    /// Deletes token `id`; returns it, or `NotFound`.
    pub fn delete_token(&self, id: u64) -> Result<TokenRecord, StoreError> {
        let removed =
            (&self.trees.tokens, &self.trees.tokens_by_hash).transaction(|(tokens, by_hash)| {
                let Some(bytes) = tokens.remove(&id_key(id))? else {
                    return Err(ConflictableTransactionError::Abort(StoreError::NotFound(
                        format!("token {id}"),
                    )));
                };
                let token: TokenRecord =
                    record::decode(&bytes).map_err(ConflictableTransactionError::Abort)?;
                by_hash.remove(&token.hash)?;
                Ok(token)
            })?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use omnigate_domain::{Timestamp, UserId};

    use crate::Store;
    use crate::tokens::NewToken;

    #[test]
    fn a_token_exists_until_it_is_deleted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("opens");
        let token = store
            .create_token(NewToken {
                name: "CRM sync".into(),
                user: UserId(7),
                created_by: UserId(1),
                created_at: Timestamp(1_000),
                hash: [3; 32],
            })
            .expect("created");
        assert!(store.token_exists(token.id).expect("reads"));
        assert!(!store.token_exists(token.id + 1).expect("reads"));
        store.delete_token(token.id).expect("deleted");
        assert!(!store.token_exists(token.id).expect("reads"));
    }
}
