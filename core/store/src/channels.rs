//! Configured channels: the `channels` tree and the index of inbound tokens.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use crate::record::{self, Record, id_key};
use crate::{Store, StoreError};

/// A stored channel (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChannelRecord {
    /// Id, part of the webhook URL.
    pub id: u64,
    /// Name shown to agents ("Website API", "WhatsApp +90 555...").
    pub name: String,
    /// `api` or a channel plugin's name.
    pub kind: String,
    /// Free-form messages allowed this long after the contact's last
    /// message; `None` = no window.
    pub service_window_secs: Option<u64>,
    /// New conversations start in this flow instead of the queue.
    pub default_flow: Option<String>,
    /// Where outbound messages are POSTed (API channel).
    pub webhook_url: Option<String>,
    /// Key of the HMAC-SHA256 signature on outbound webhooks. Kept in the
    /// clear because signing needs it; the data directory is private.
    pub webhook_secret: String,
    /// SHA-256 of the token integrators send inbound messages with.
    pub inbound_token_hash: [u8; 32],
    /// Disabled channels refuse inbound messages and sends.
    pub disabled: bool,
    /// When it was created.
    pub created_at_ms: i64,
}

impl Record for ChannelRecord {
    const KIND: &'static str = "channel";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.id == 0 {
            return Err("missing id".into());
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err("name must have 1 to 100 characters".into());
        }
        if self.kind.is_empty() || self.kind.len() > 64 {
            return Err("kind must have 1 to 64 bytes".into());
        }
        if self.webhook_secret.len() < 16 {
            return Err("webhook secret too short".into());
        }
        Ok(())
    }
}

impl Store {
    /// Stores a new channel under a fresh id (the record's `id` is ignored).
    pub fn create_channel(&self, mut channel: ChannelRecord) -> Result<ChannelRecord, StoreError> {
        channel.id = self.next_id()?;
        let bytes = record::encode(&channel)?;
        (&self.trees.channels, &self.trees.channel_tokens).transaction(|(channels, tokens)| {
            channels.insert(&id_key(channel.id), bytes.as_slice())?;
            tokens.insert(&channel.inbound_token_hash, &id_key(channel.id))?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(channel)
    }

    /// Replaces a channel's record, re-indexing its inbound token.
    pub fn update_channel(&self, channel: &ChannelRecord) -> Result<(), StoreError> {
        let bytes = record::encode(channel)?;
        (&self.trees.channels, &self.trees.channel_tokens).transaction(|(channels, tokens)| {
            let Some(old) = channels.insert(&id_key(channel.id), bytes.as_slice())? else {
                return Err(ConflictableTransactionError::Abort(StoreError::NotFound(
                    format!("channel {}", channel.id),
                )));
            };
            let old: ChannelRecord =
                record::decode(&old).map_err(ConflictableTransactionError::Abort)?;
            tokens.remove(&old.inbound_token_hash)?;
            tokens.insert(&channel.inbound_token_hash, &id_key(channel.id))?;
            Ok(())
        })?;
        self.channel_cache.invalidate(&channel.id);
        // The old token must stop working at once.
        self.channel_token_cache.invalidate_all();
        Ok(())
    }

    /// Channel `id`. Read on every inbound message, hence cached.
    pub fn channel(&self, id: u64) -> Result<Option<ChannelRecord>, StoreError> {
        let cached = self.channel_cache.get_or_load(&id, || {
            self.trees
                .channels
                .get(id_key(id))?
                .map(|v| record::decode(&v))
                .transpose()
        })?;
        Ok(cached.map(|channel| (*channel).clone()))
    }

    /// The id of the channel whose inbound token hashes to `hash` (cached;
    /// no record is copied).
    pub fn channel_id_by_token(&self, hash: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        let id = self.channel_token_cache.get_or_load(hash, || {
            self.trees
                .channel_tokens
                .get(hash)?
                .map(|id| record::key_id(&id))
                .transpose()
        })?;
        Ok(id.map(|id| *id))
    }

    /// The channel whose inbound token hashes to `hash`.
    pub fn channel_by_token(&self, hash: &[u8; 32]) -> Result<Option<ChannelRecord>, StoreError> {
        match self.channel_id_by_token(hash)? {
            Some(id) => self.channel(id),
            None => Ok(None),
        }
    }

    /// Every channel, by id.
    pub fn channels(&self) -> Result<Vec<ChannelRecord>, StoreError> {
        self.trees
            .channels
            .iter()
            .values()
            .map(|v| record::decode(&v?))
            .collect()
    }
}

/// The admin's settings of a plugin channel: the values its plugin's
/// manifest asks for (encoding version 1). Kept apart from the channel so
/// the record read on every inbound message stays small, and so secrets
/// never travel with the channel views.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChannelSettingsRecord {
    /// `[config.*]` values by manifest key.
    pub config: BTreeMap<String, String>,
    /// `[secrets.*]` values by manifest key. Kept in the clear because the
    /// plugin needs them; the data directory is private to the service.
    pub secrets: BTreeMap<String, String>,
}

impl Record for ChannelSettingsRecord {
    const KIND: &'static str = "channel settings";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        for (key, value) in self.config.iter().chain(&self.secrets) {
            if key.is_empty() || key.len() > 64 {
                return Err("setting keys have 1 to 64 bytes".into());
            }
            if value.len() > 8 * 1024 {
                return Err(format!("setting `{key}` is longer than 8 KiB"));
            }
        }
        Ok(())
    }
}

impl Store {
    /// The settings of channel `id` (empty when none were stored).
    pub fn channel_settings(&self, id: u64) -> Result<ChannelSettingsRecord, StoreError> {
        Ok(self
            .trees
            .channel_settings
            .get(id_key(id))?
            .map(|v| record::decode(&v))
            .transpose()?
            .unwrap_or_default())
    }

    /// Replaces the settings of channel `id`.
    pub fn put_channel_settings(
        &self,
        id: u64,
        settings: &ChannelSettingsRecord,
    ) -> Result<(), StoreError> {
        self.trees
            .channel_settings
            .insert(id_key(id), record::encode(settings)?)?;
        Ok(())
    }
}
