//! What the desk needs besides conversations: each agent's presence and
//! capacity override (`agents` tree), and the desk settings (default
//! capacity, transfer timeout, end reasons) in the meta tree.

use serde::{Deserialize, Serialize};

use crate::record::{self, Record, id_key, key_id};
use crate::{Store, StoreError};

/// An agent's desk state (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AgentRecord {
    /// 0 online, 1 break, 2 offline.
    pub presence: u8,
    /// Capacity override; `None` follows the default.
    pub capacity: Option<u32>,
}

impl Record for AgentRecord {
    const KIND: &'static str = "agent";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.presence > 2 {
            return Err(format!("unknown presence code {}", self.presence));
        }
        if self.capacity.is_some_and(|c| c > 1000) {
            return Err("capacity above 1000".into());
        }
        Ok(())
    }
}

/// The desk settings (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeskSettingsRecord {
    /// Conversations handed to an agent automatically.
    pub default_capacity: u32,
    /// A transfer unanswered this long comes back.
    pub transfer_timeout_secs: u64,
    /// End reasons, in the order agents see them.
    pub end_reasons: Vec<String>,
}

impl Record for DeskSettingsRecord {
    const KIND: &'static str = "desk settings";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.default_capacity > 1000 {
            return Err("default capacity above 1000".into());
        }
        if self.end_reasons.len() > 100 {
            return Err("more than 100 end reasons".into());
        }
        Ok(())
    }
}

const DESK_SETTINGS_KEY: &str = "desk_settings";

impl Store {
    /// Every agent's stored desk state.
    pub fn agent_states(&self) -> Result<Vec<(u64, AgentRecord)>, StoreError> {
        self.trees
            .agents
            .iter()
            .map(|entry| {
                let (key, bytes) = entry?;
                Ok((key_id(&key)?, record::decode(&bytes)?))
            })
            .collect()
    }

    /// One agent's stored desk state.
    pub fn agent_state(&self, user: u64) -> Result<Option<AgentRecord>, StoreError> {
        self.trees
            .agents
            .get(id_key(user))?
            .map(|v| record::decode(&v))
            .transpose()
    }

    /// Stores an agent's desk state.
    pub fn put_agent_state(&self, user: u64, state: &AgentRecord) -> Result<(), StoreError> {
        self.trees
            .agents
            .insert(id_key(user), record::encode(state)?)?;
        Ok(())
    }

    /// The stored desk settings, if any were saved.
    pub fn desk_settings(&self) -> Result<Option<DeskSettingsRecord>, StoreError> {
        self.trees
            .meta
            .get(DESK_SETTINGS_KEY)?
            .map(|v| record::decode(&v))
            .transpose()
    }

    /// Saves the desk settings.
    pub fn put_desk_settings(&self, settings: &DeskSettingsRecord) -> Result<(), StoreError> {
        self.trees
            .meta
            .insert(DESK_SETTINGS_KEY, record::encode(settings)?)?;
        Ok(())
    }
}
