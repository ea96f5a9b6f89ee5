//! Chatbot flows: each is one configured instance of a flow plugin (a
//! welcome menu, an order-status bot), named so that channels (their
//! default flow) and agents (hand over to a flow) can refer to it. The
//! `flows` tree, keyed by id; and `flow_sessions`, keyed by conversation:
//! where a conversation in a flow stands (the plugin's opaque state, the
//! variables set, the last contact message the flow has answered).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::{self, Record, id_key};
use crate::{Store, StoreError};

/// Largest config value a flow takes: a flow's definition (the
/// declarative flow plugin's `definition`) is larger than a channel's or
/// a shop's settings.
pub const MAX_FLOW_SETTING_BYTES: usize = 64 * 1024;

/// Most variables a session keeps, and the size of each: a flow that sets
/// more is misbehaving, and the session is written on every message.
pub const MAX_VARIABLES: usize = 64;
/// See [`MAX_VARIABLES`].
pub const MAX_VARIABLE_BYTES: usize = 1024;
/// Largest opaque state a flow may hand back.
pub const MAX_FLOW_STATE_BYTES: usize = 64 * 1024;

/// A configured flow (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FlowRecord {
    /// Id, in the API's paths.
    pub id: u64,
    /// Unique name: what channels' `default_flow` and hand-overs name.
    pub name: String,
    /// The flow plugin that runs it.
    pub plugin: String,
    /// `[config.*]` values of the plugin's manifest.
    pub config: BTreeMap<String, String>,
    /// `[secrets.*]` values; never shown by the API.
    pub secrets: BTreeMap<String, String>,
    /// The shop its shop lookups ask; `None` = the first enabled shop.
    pub shop_id: Option<u64>,
    /// The end reason used when the flow ends a conversation without
    /// naming one of the configured reasons.
    pub end_reason: Option<String>,
    /// Conversations arriving for a disabled flow go to the queue.
    pub disabled: bool,
    /// When it was created.
    pub created_at_ms: i64,
}

impl Record for FlowRecord {
    const KIND: &'static str = "flow";
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
            if key.is_empty() || key.len() > 64 || value.len() > MAX_FLOW_SETTING_BYTES {
                return Err(format!("setting `{key}` is out of bounds"));
            }
        }
        Ok(())
    }
}

/// Where a conversation in a flow stands (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FlowSessionRecord {
    /// The conversation.
    pub conversation_id: u64,
    /// The flow's name when the session began; a conversation handed to
    /// another flow starts over.
    pub flow: String,
    /// What the plugin returned last; `None` until the flow has started.
    pub state: Option<Vec<u8>>,
    /// Variables the flow set (`set-variable`), handed back on each call.
    pub variables: BTreeMap<String, String>,
    /// Contact messages up to this id have been answered (or predate the
    /// flow); the flow runs over the later ones, in order.
    pub handled_through: u64,
}

impl Record for FlowSessionRecord {
    const KIND: &'static str = "flow session";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.conversation_id == 0 || self.flow.is_empty() {
            return Err("missing conversation or flow".into());
        }
        if self
            .state
            .as_ref()
            .is_some_and(|s| s.len() > MAX_FLOW_STATE_BYTES)
        {
            return Err("state too large".into());
        }
        if self.variables.len() > MAX_VARIABLES
            || self
                .variables
                .iter()
                .any(|(k, v)| k.len() > MAX_VARIABLE_BYTES || v.len() > MAX_VARIABLE_BYTES)
        {
            return Err("too many or too large variables".into());
        }
        Ok(())
    }
}

impl Store {
    /// Stores a new flow under a fresh id (the record's `id` is ignored);
    /// refuses a name another flow has.
    pub fn create_flow(&self, mut flow: FlowRecord) -> Result<FlowRecord, StoreError> {
        self.refuse_taken_flow_name(&flow.name, None)?;
        flow.id = self.next_id()?;
        self.trees
            .flows
            .insert(id_key(flow.id), record::encode(&flow)?)?;
        Ok(flow)
    }

    /// Replaces flow `flow.id`; refuses a name another flow has.
    pub fn update_flow(&self, flow: &FlowRecord) -> Result<(), StoreError> {
        self.refuse_taken_flow_name(&flow.name, Some(flow.id))?;
        record::replace_by_id(&self.trees.flows, flow.id, flow)
    }

    fn refuse_taken_flow_name(&self, name: &str, own: Option<u64>) -> Result<(), StoreError> {
        match self.flow_named(name)? {
            Some(other) if Some(other.id) != own => Err(StoreError::Conflict(format!(
                "a flow named `{name}` exists already"
            ))),
            _ => Ok(()),
        }
    }

    /// Flow `id`.
    pub fn flow(&self, id: u64) -> Result<Option<FlowRecord>, StoreError> {
        record::get_by_id(&self.trees.flows, id)
    }

    /// The flow named `name` (flows are few: a scan).
    pub fn flow_named(&self, name: &str) -> Result<Option<FlowRecord>, StoreError> {
        Ok(self.flows()?.into_iter().find(|f| f.name == name))
    }

    /// Every flow, by id.
    pub fn flows(&self) -> Result<Vec<FlowRecord>, StoreError> {
        record::all(&self.trees.flows)
    }

    /// Forgets flow `id`.
    pub fn delete_flow(&self, id: u64) -> Result<FlowRecord, StoreError> {
        record::take_by_id(&self.trees.flows, id)
    }

    /// The session of a conversation in a flow.
    pub fn flow_session(&self, conversation: u64) -> Result<Option<FlowSessionRecord>, StoreError> {
        record::get_by_id(&self.trees.flow_sessions, conversation)
    }

    /// Writes a session (the caller makes it durable when it matters).
    pub fn put_flow_session(&self, session: &FlowSessionRecord) -> Result<(), StoreError> {
        self.trees
            .flow_sessions
            .insert(id_key(session.conversation_id), record::encode(session)?)?;
        Ok(())
    }

    /// Conversations with a flow session: in a flow, or just handed over
    /// to one (for the metrics).
    pub fn flow_session_count(&self) -> usize {
        self.trees.flow_sessions.len()
    }

    /// Forgets the session of a conversation that left its flow.
    pub fn delete_flow_session(&self, conversation: u64) -> Result<(), StoreError> {
        self.trees.flow_sessions.remove(id_key(conversation))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(name: &str) -> FlowRecord {
        FlowRecord {
            id: 0,
            name: name.into(),
            plugin: "guided-flow".into(),
            config: BTreeMap::new(),
            secrets: BTreeMap::new(),
            shop_id: None,
            end_reason: None,
            disabled: false,
            created_at_ms: 1,
        }
    }

    #[test]
    fn flows_are_found_by_name_and_names_are_unique() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store");
        let welcome = store.create_flow(flow("welcome")).expect("create");
        assert_eq!(
            store.flow_named("welcome").expect("read"),
            Some(welcome.clone())
        );
        assert!(matches!(
            store.create_flow(flow("welcome")),
            Err(StoreError::Conflict(_))
        ));
        let other = store.create_flow(flow("orders")).expect("create");
        let mut renamed = other.clone();
        renamed.name = "welcome".into();
        assert!(matches!(
            store.update_flow(&renamed),
            Err(StoreError::Conflict(_))
        ));
        store.delete_flow(welcome.id).expect("delete");
        store.update_flow(&renamed).expect("the name is free now");
    }

    #[test]
    fn a_session_round_trips_and_is_forgotten() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store");
        let session = FlowSessionRecord {
            conversation_id: 7,
            flow: "welcome".into(),
            state: Some(vec![1, 2, 3]),
            variables: BTreeMap::from([("order".into(), "1001".into())]),
            handled_through: 42,
        };
        store.put_flow_session(&session).expect("put");
        assert_eq!(store.flow_session(7).expect("get"), Some(session));
        store.delete_flow_session(7).expect("delete");
        assert_eq!(store.flow_session(7).expect("get"), None);
    }
}
