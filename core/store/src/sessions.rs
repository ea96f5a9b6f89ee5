//! Login sessions, keyed by the SHA-256 of the session token.
//!
//! Only the hash is stored, so a copy of the data directory does not contain
//! usable session cookies.

use omnigate_domain::{Timestamp, UserId};
use serde::{Deserialize, Serialize};

use crate::record::{self, Record};
use crate::{Store, StoreError};

/// A server-side session (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionRecord {
    /// Whose session.
    pub user_id: u64,
    /// When it was created.
    pub created_at_ms: i64,
    /// Absolute end of the session.
    pub expires_at_ms: i64,
    /// Last time it was used (updated at most once a minute).
    pub last_seen_ms: i64,
    /// The token a client must echo in `X-CSRF-Token` on state changes.
    pub csrf_token: String,
    /// Client address at login.
    pub source: String,
}

impl Record for SessionRecord {
    const KIND: &'static str = "session";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.user_id == 0 {
            return Err("no user".into());
        }
        if self.expires_at_ms < self.created_at_ms {
            return Err("expires before it was created".into());
        }
        if self.csrf_token.len() < 32 {
            return Err("CSRF token too short".into());
        }
        Ok(())
    }
}

impl SessionRecord {
    /// The session's user.
    #[must_use]
    pub fn user(&self) -> UserId {
        UserId(self.user_id)
    }

    /// The absolute expiry.
    #[must_use]
    pub fn expires_at(&self) -> Timestamp {
        Timestamp(self.expires_at_ms)
    }
}

impl Store {
    /// Stores a session under the hash of its token.
    pub fn put_session(
        &self,
        token_hash: &[u8; 32],
        session: &SessionRecord,
    ) -> Result<(), StoreError> {
        self.trees
            .sessions
            .insert(token_hash, record::encode(session)?)?;
        self.session_cache.invalidate(token_hash);
        Ok(())
    }

    /// Records use of a session for the idle timeout, only if it still
    /// exists: a request that read the session just before a revocation must
    /// not write it back. Returns whether the session was there.
    pub fn touch_session(
        &self,
        token_hash: &[u8; 32],
        last_seen_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut found = false;
        self.trees.sessions.fetch_and_update(token_hash, |old| {
            found = old.is_some();
            let old = old?;
            let Ok(mut session) = record::decode::<SessionRecord>(old) else {
                return Some(old.to_vec());
            };
            session.last_seen_ms = session.last_seen_ms.max(last_seen_ms);
            Some(record::encode(&session).unwrap_or_else(|_| old.to_vec()))
        })?;
        self.session_cache.invalidate(token_hash);
        Ok(found)
    }

    /// The session for a token hash, shared from the read cache; this is
    /// the lookup behind every cookie-authenticated request.
    pub fn cached_session(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<std::sync::Arc<SessionRecord>>, StoreError> {
        self.session_cache
            .get_or_load(token_hash, || self.session(token_hash))
    }

    /// The session for a token hash, if any.
    pub fn session(&self, token_hash: &[u8; 32]) -> Result<Option<SessionRecord>, StoreError> {
        self.trees
            .sessions
            .get(token_hash)?
            .map(|bytes| record::decode(&bytes))
            .transpose()
    }

    /// Removes a session (logout, expiry).
    pub fn delete_session(&self, token_hash: &[u8; 32]) -> Result<(), StoreError> {
        self.trees.sessions.remove(token_hash)?;
        self.session_cache.invalidate(token_hash);
        Ok(())
    }

    /// Removes every session of `user` except `keep`; returns how many went.
    pub fn delete_sessions_of(
        &self,
        user: UserId,
        keep: Option<&[u8; 32]>,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.trees.sessions.iter() {
            let (key, value) = entry?;
            if keep.is_some_and(|k| k.as_slice() == key.as_ref()) {
                continue;
            }
            let session = record::decode::<SessionRecord>(&value);
            // An unreadable session is useless to anyone: remove it too.
            if session.is_err() || session.is_ok_and(|s| s.user_id == user.0) {
                self.trees.sessions.remove(&key)?;
                if let Ok(hash) = <[u8; 32]>::try_from(key.as_ref()) {
                    self.session_cache.invalidate(&hash);
                }
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes sessions that expired before `now`; returns how many.
    pub fn purge_expired_sessions(
        &self,
        now: Timestamp,
        idle_limit_ms: i64,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.trees.sessions.iter() {
            let (key, value) = entry?;
            let keep = record::decode::<SessionRecord>(&value)
                .is_ok_and(|s| s.expires_at_ms > now.0 && now.0 - s.last_seen_ms < idle_limit_ms);
            if !keep {
                self.trees.sessions.remove(key)?;
                removed += 1;
            }
        }
        self.session_cache.invalidate_all();
        Ok(removed)
    }

    /// Number of stored sessions, for `/metrics`.
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.trees.sessions.len()
    }
}
