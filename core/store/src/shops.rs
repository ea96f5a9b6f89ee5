//! Shop integrations: each is one configured instance of a commerce plugin
//! (one Shopify store, one Ticimax shop) whose orders and products agents
//! see beside the conversation. The `shops` tree, keyed by id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::{self, Record, id_key};
use crate::{Store, StoreError};

/// A configured shop (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShopRecord {
    /// Id, in the API's paths.
    pub id: u64,
    /// Name shown to agents ("Web shop", "Trendyol store").
    pub name: String,
    /// The commerce plugin that talks to it.
    pub plugin: String,
    /// `[config.*]` values of the plugin's manifest.
    pub config: BTreeMap<String, String>,
    /// `[secrets.*]` values; kept in the clear because the plugin needs
    /// them, never shown by the API. The data directory is private.
    pub secrets: BTreeMap<String, String>,
    /// Disabled shops are not asked.
    pub disabled: bool,
    /// When it was created.
    pub created_at_ms: i64,
}

impl Record for ShopRecord {
    const KIND: &'static str = "shop";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.id == 0 {
            return Err("missing id".into());
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err("name must have 1 to 100 characters".into());
        }
        if self.plugin.is_empty() || self.plugin.len() > 64 {
            return Err("plugin must have 1 to 64 bytes".into());
        }
        for (key, value) in self.config.iter().chain(&self.secrets) {
            if key.is_empty() || key.len() > 64 || value.len() > 8 * 1024 {
                return Err(format!("setting `{key}` is out of bounds"));
            }
        }
        Ok(())
    }
}

impl Store {
    /// Stores a new shop under a fresh id (the record's `id` is ignored).
    pub fn create_shop(&self, mut shop: ShopRecord) -> Result<ShopRecord, StoreError> {
        shop.id = self.next_id()?;
        self.trees
            .shops
            .insert(id_key(shop.id), record::encode(&shop)?)?;
        Ok(shop)
    }

    /// Replaces shop `shop.id`.
    pub fn update_shop(&self, shop: &ShopRecord) -> Result<(), StoreError> {
        record::replace_by_id(&self.trees.shops, shop.id, shop)
    }

    /// Shop `id`.
    pub fn shop(&self, id: u64) -> Result<Option<ShopRecord>, StoreError> {
        record::get_by_id(&self.trees.shops, id)
    }

    /// Every shop, by id.
    pub fn shops(&self) -> Result<Vec<ShopRecord>, StoreError> {
        record::all(&self.trees.shops)
    }

    /// Forgets shop `id`.
    pub fn delete_shop(&self, id: u64) -> Result<ShopRecord, StoreError> {
        record::take_by_id(&self.trees.shops, id)
    }
}
