//! Contacts, conversations and messages.
//!
//! Trees: `contacts` (id → record) with `contacts_by_external` (channel id ‖
//! external id → contact id); `conversations` (id → record) with
//! `open_by_contact` (contact id → the contact's conversation that has not
//! ended); `messages` (conversation id ‖ message id → record, so a thread is
//! one prefix scan) with `message_keys` (message id → conversation id) and
//! `messages_by_provider` (channel id ‖ provider message id → message id),
//! which makes a redelivered webhook recognisable (rule 8).
//!
//! Every change that touches more than one record is one sled transaction,
//! so a crash leaves either all of it or none.

use std::collections::HashMap;
use std::sync::PoisonError;

use omnigate_domain::conversation::{Button, Content, MediaKind, Template};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use crate::record::{self, Record, id_key, key_id};
use crate::{Store, StoreError};

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort<T>(err: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(err))
}

fn tx_decode<R: Record>(bytes: &[u8]) -> TxResult<R> {
    record::decode(bytes).map_err(ConflictableTransactionError::Abort)
}

fn tx_encode<R: Record>(value: &R) -> TxResult<Vec<u8>> {
    record::encode(value).map_err(ConflictableTransactionError::Abort)
}

/// A stored contact (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContactRecord {
    /// Id.
    pub id: u64,
    /// The channel the contact writes on.
    pub channel_id: u64,
    /// The channel's id for them (wa_id, chat id, visitor id).
    pub external_id: String,
    /// Their name as the channel last reported it.
    pub name: String,
    /// Phone number, when known.
    pub phone: Option<String>,
    /// First seen.
    pub created_at_ms: i64,
}

impl Record for ContactRecord {
    const KIND: &'static str = "contact";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.id == 0 || self.channel_id == 0 {
            return Err("missing id or channel".into());
        }
        if self.external_id.is_empty() || self.external_id.len() > 800 {
            return Err("bad external id".into());
        }
        if self.name.chars().count() > 200 {
            return Err("name longer than 200 characters".into());
        }
        Ok(())
    }
}

/// Where a conversation is, as stored (mirrors the desk's status).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum StatusRecord {
    /// In a chatbot flow.
    InFlow {
        /// Flow name.
        flow: String,
    },
    /// Waiting in the queue since then.
    Queued {
        /// Queue entry time.
        since_ms: i64,
    },
    /// Held by an agent.
    Assigned {
        /// The agent's user id.
        agent: u64,
    },
    /// Offered by `from` to `to`.
    TransferPending {
        /// Holder.
        from: u64,
        /// Target.
        to: u64,
        /// Note for the target.
        note: Option<String>,
        /// When requested.
        requested_at_ms: i64,
    },
    /// Ended with a reason.
    Ended {
        /// End reason.
        reason: String,
        /// When.
        at_ms: i64,
    },
}

/// A stored conversation (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConversationRecord {
    /// Id.
    pub id: u64,
    /// Channel.
    pub channel_id: u64,
    /// Contact.
    pub contact_id: u64,
    /// First message.
    pub created_at_ms: i64,
    /// Where it is.
    pub status: StatusRecord,
    /// The agent who holds it, or held it last (history filters by this).
    pub agent_id: Option<u64>,
    /// Who ended it, when ended.
    pub ended_by: Option<u64>,
    /// The contact's last message (the service window counts from it).
    pub last_inbound_ms: Option<i64>,
    /// Latest message of any direction.
    pub last_message_ms: i64,
    /// The start of the latest message, for inbox lists.
    pub preview: String,
    /// Messages in the thread.
    pub message_count: u32,
    /// Contact messages since an agent last read the thread.
    pub unread: u32,
    /// Labels.
    pub tags: Vec<String>,
}

impl Record for ConversationRecord {
    const KIND: &'static str = "conversation";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.id == 0 || self.channel_id == 0 || self.contact_id == 0 {
            return Err("missing id, channel or contact".into());
        }
        if self.tags.len() > 20 {
            return Err("more than 20 tags".into());
        }
        if self.preview.len() > 1024 {
            return Err("preview too long".into());
        }
        Ok(())
    }
}

impl ConversationRecord {
    /// Whether the conversation has ended.
    #[must_use]
    pub fn is_ended(&self) -> bool {
        matches!(self.status, StatusRecord::Ended { .. })
    }
}

/// Stored message content; mirrors [`Content`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum ContentRecord {
    /// Text.
    Text(String),
    /// Media: kind name, attachment, mime, size, caption, filename.
    Media {
        /// Kind name.
        kind: String,
        /// Attachment hash or provider media id.
        attachment: String,
        /// MIME type.
        mime: String,
        /// Bytes.
        size_bytes: u64,
        /// Caption.
        caption: Option<String>,
        /// File name.
        filename: Option<String>,
    },
    /// Template name, language, parameters.
    Template {
        /// Name.
        name: String,
        /// Language.
        language: String,
        /// Parameters.
        parameters: Vec<String>,
    },
    /// Interactive body and (id, title) buttons.
    Interactive {
        /// Body.
        body: String,
        /// Buttons.
        buttons: Vec<(String, String)>,
    },
    /// Reply to an interactive message.
    InteractiveReply {
        /// Button id.
        id: String,
        /// Button title.
        title: String,
    },
    /// A location.
    Location {
        /// Latitude.
        latitude: f64,
        /// Longitude.
        longitude: f64,
        /// Place name.
        name: Option<String>,
        /// Address.
        address: Option<String>,
    },
    /// A contact card.
    ContactCard {
        /// Name.
        name: String,
        /// Phones.
        phones: Vec<String>,
    },
}

impl From<&Content> for ContentRecord {
    fn from(content: &Content) -> ContentRecord {
        match content.clone() {
            Content::Text { body } => ContentRecord::Text(body),
            Content::Media {
                kind,
                attachment,
                mime,
                size_bytes,
                caption,
                filename,
            } => ContentRecord::Media {
                kind: kind.as_str().to_owned(),
                attachment,
                mime,
                size_bytes,
                caption,
                filename,
            },
            Content::Template(t) => ContentRecord::Template {
                name: t.name,
                language: t.language,
                parameters: t.parameters,
            },
            Content::Interactive { body, buttons } => ContentRecord::Interactive {
                body,
                buttons: buttons.into_iter().map(|b| (b.id, b.title)).collect(),
            },
            Content::InteractiveReply { id, title } => {
                ContentRecord::InteractiveReply { id, title }
            }
            Content::Location {
                latitude,
                longitude,
                name,
                address,
            } => ContentRecord::Location {
                latitude,
                longitude,
                name,
                address,
            },
            Content::ContactCard { name, phones } => ContentRecord::ContactCard { name, phones },
        }
    }
}

impl ContentRecord {
    /// The domain content.
    pub fn to_domain(&self) -> Result<Content, StoreError> {
        Ok(match self.clone() {
            ContentRecord::Text(body) => Content::Text { body },
            ContentRecord::Media {
                kind,
                attachment,
                mime,
                size_bytes,
                caption,
                filename,
            } => Content::Media {
                kind: MediaKind::from_name(&kind).ok_or_else(|| StoreError::InvalidRecord {
                    kind: "message",
                    reason: format!("unknown media kind {kind}"),
                })?,
                attachment,
                mime,
                size_bytes,
                caption,
                filename,
            },
            ContentRecord::Template {
                name,
                language,
                parameters,
            } => Content::Template(Template {
                name,
                language,
                parameters,
            }),
            ContentRecord::Interactive { body, buttons } => Content::Interactive {
                body,
                buttons: buttons
                    .into_iter()
                    .map(|(id, title)| Button { id, title })
                    .collect(),
            },
            ContentRecord::InteractiveReply { id, title } => {
                Content::InteractiveReply { id, title }
            }
            ContentRecord::Location {
                latitude,
                longitude,
                name,
                address,
            } => Content::Location {
                latitude,
                longitude,
                name,
                address,
            },
            ContentRecord::ContactCard { name, phones } => Content::ContactCard { name, phones },
        })
    }
}

/// Direction codes on disk.
pub mod direction {
    /// From the contact.
    pub const INBOUND: u8 = 0;
    /// To the contact.
    pub const OUTBOUND: u8 = 1;
    /// Private note.
    pub const NOTE: u8 = 2;
}

/// Author codes on disk.
pub mod author {
    /// The contact.
    pub const CONTACT: u8 = 0;
    /// An agent (`author_user` is set).
    pub const AGENT: u8 = 1;
    /// A chatbot flow.
    pub const BOT: u8 = 2;
    /// omnigate itself.
    pub const SYSTEM: u8 = 3;
}

/// Delivery status codes on disk.
pub mod delivery {
    /// Not yet handed over.
    pub const QUEUED: u8 = 0;
    /// Provider accepted.
    pub const SENT: u8 = 1;
    /// On the device.
    pub const DELIVERED: u8 = 2;
    /// Opened.
    pub const READ: u8 = 3;
    /// Will not arrive (`failure` says why).
    pub const FAILED: u8 = 4;
    /// Nothing to deliver (inbound messages, notes).
    pub const NONE: u8 = 5;
}

/// A stored message (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessageRecord {
    /// Id.
    pub id: u64,
    /// Conversation.
    pub conversation_id: u64,
    /// See [`direction`].
    pub direction: u8,
    /// See [`author`].
    pub author: u8,
    /// The agent, when `author` is [`author::AGENT`].
    pub author_user: Option<u64>,
    /// What it carries.
    pub content: ContentRecord,
    /// The provider's id for it.
    pub provider_id: Option<String>,
    /// See [`delivery`].
    pub delivery: u8,
    /// Why delivery failed.
    pub failure: Option<String>,
    /// When omnigate received or accepted it.
    pub at_ms: i64,
}

impl Record for MessageRecord {
    const KIND: &'static str = "message";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.id == 0 || self.conversation_id == 0 {
            return Err("missing id or conversation".into());
        }
        if self.direction > direction::NOTE
            || self.author > author::SYSTEM
            || self.delivery > delivery::NONE
        {
            return Err("unknown direction, author or delivery code".into());
        }
        if (self.author == author::AGENT) != self.author_user.is_some() {
            return Err("agent messages, and only they, name their agent".into());
        }
        Ok(())
    }
}

fn message_key(conversation: u64, message: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&id_key(conversation));
    key[8..].copy_from_slice(&id_key(message));
    key
}

fn scoped_key(scope: u64, text: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + text.len());
    key.extend_from_slice(&id_key(scope));
    key.extend_from_slice(text.as_bytes());
    key
}

fn preview_of(content: &Content) -> String {
    let text = match content {
        Content::Media { kind, .. } if content.searchable_text().is_empty() => {
            format!("[{}]", kind.as_str())
        }
        Content::Location { .. } if content.searchable_text().is_empty() => "[location]".into(),
        _ => content.searchable_text(),
    };
    text.chars().take(120).collect()
}

/// What [`Store::ingest_batch`] prepares outside the transaction.
/// An inbound message ready to apply: what the channel reported, in stored
/// form, with the ids it will take. The unit of the inbound journal, so a
/// replay applies exactly what was acknowledged, with the same ids.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InboundEntry {
    pub(crate) channel_id: u64,
    pub(crate) external_id: String,
    pub(crate) contact_name: Option<String>,
    pub(crate) contact_phone: Option<String>,
    pub(crate) provider_id: String,
    pub(crate) content: ContentRecord,
    pub(crate) preview: String,
    pub(crate) at_ms: i64,
    pub(crate) initial_status: StatusRecord,
    pub(crate) message_id: u64,
    pub(crate) fresh_contact: u64,
    pub(crate) fresh_conversation: u64,
}

impl InboundEntry {
    /// The highest id the entry may use.
    pub(crate) fn max_id(&self) -> u64 {
        self.message_id
            .max(self.fresh_contact)
            .max(self.fresh_conversation)
    }
}

/// Most contacts (and conversations) [`InboundCache`] holds before it
/// starts again empty: more than write within minutes of each other on a
/// busy installation, so a burst from known contacts reads none of them
/// from sled, and at most about 13 MB (some 650 bytes per contact with its
/// conversation).
const INBOUND_CACHE_CONTACTS: usize = 20_000;

/// What the inbound path knows without reading sled: contacts by channel
/// and external id, each contact's open-conversation slot (the
/// conversation a new message of theirs joins, or `None`: it starts one),
/// and the conversations their messages joined.
///
/// Every inbound message used to read `contacts_by_external`, `contacts`,
/// `open_by_contact` and `conversations` inside the batch's transaction;
/// for a contact already seen these are four of its five reads (the fifth,
/// the provider id, is what makes redelivery idempotent). Correctness
/// rests on one rule: whoever writes those trees holds the [`Store`]'s
/// `inbound_cache` lock across the transaction and brings the cache in
/// line before releasing it (`apply_inbound` records what it committed;
/// an end, a reopen and the open-slot claims forget the contact's slot,
/// and every other write of a conversation forgets that conversation, so
/// the next message reads them again). So an entry is always what sled
/// holds: a message never joins a conversation an end has closed, a
/// contact never gets a second open conversation, and no counter or
/// status written elsewhere is overwritten with an older copy.
#[derive(Default)]
pub(crate) struct InboundCache {
    /// Contacts by [`scoped_key`] of channel and external id.
    contacts: HashMap<Vec<u8>, ContactRecord>,
    /// Contact id → their open conversation, if any.
    open: HashMap<u64, Option<u64>>,
    /// Conversations inbound messages joined, by id, as last written.
    conversations: HashMap<u64, ConversationRecord>,
}

impl InboundCache {
    /// Takes what a committed transaction wrote or read.
    fn learn(&mut self, learnt: InboundCache) {
        if self.contacts.len() + learnt.contacts.len() > INBOUND_CACHE_CONTACTS
            || self.open.len() + learnt.open.len() > INBOUND_CACHE_CONTACTS
            || self.conversations.len() + learnt.conversations.len() > INBOUND_CACHE_CONTACTS
        {
            // Crude but bounded: start again rather than track recency on
            // every message.
            self.contacts.clear();
            self.open.clear();
            self.conversations.clear();
        }
        self.contacts.extend(learnt.contacts);
        self.open.extend(learnt.open);
        self.conversations.extend(learnt.conversations);
    }

    /// Forgets a contact's open slot after a write to it outside the
    /// inbound path.
    fn forget_slot(&mut self, contact_id: u64) {
        self.open.remove(&contact_id);
    }

    /// Forgets a conversation after a write to it outside the inbound path.
    fn forget_conversation(&mut self, conversation_id: u64) {
        self.conversations.remove(&conversation_id);
    }
}

/// An inbound message as a channel reported it.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The channel.
    pub channel_id: u64,
    /// The contact's id on the channel.
    pub external_id: String,
    /// Their name, if the channel says.
    pub contact_name: Option<String>,
    /// Their phone, if known.
    pub contact_phone: Option<String>,
    /// The provider's message id (required: it makes redelivery idempotent).
    pub provider_id: String,
    /// What they sent.
    pub content: Content,
    /// Receipt time.
    pub at_ms: i64,
    /// Status for a conversation this message starts (queue or flow).
    pub initial_status: StatusRecord,
}

/// The outcome of [`Store::ingest`].
#[derive(Debug, Clone)]
pub enum Ingested {
    /// The provider id was seen before: nothing was written.
    Duplicate {
        /// The message stored the first time.
        message: MessageRecord,
    },
    /// Stored.
    New {
        /// The message.
        message: MessageRecord,
        /// Its conversation after the change.
        conversation: Box<ConversationRecord>,
        /// The contact.
        contact: Box<ContactRecord>,
        /// Whether this message started the conversation.
        started: bool,
    },
}

/// A message omnigate originates: agent reply, note, bot or system notice.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// See [`direction`] (outbound or note).
    pub direction: u8,
    /// See [`author`].
    pub author: u8,
    /// The agent.
    pub author_user: Option<u64>,
    /// Content.
    pub content: Content,
    /// When.
    pub at_ms: i64,
    /// Whether a delivery job goes into the outbox with it.
    pub deliver: bool,
}

impl Store {
    /// Stores an inbound message: finds or creates the contact, appends to
    /// their open conversation or starts one, all in one transaction. A
    /// provider id seen before on the channel writes nothing.
    pub fn ingest(&self, inbound: &Inbound) -> Result<Ingested, StoreError> {
        let mut outcome = self.ingest_batch(std::slice::from_ref(inbound))?;
        outcome.pop().ok_or_else(|| StoreError::InvalidRecord {
            kind: "message",
            reason: "an ingested batch of one gave no result".into(),
        })
    }

    /// Stores several inbound messages in one transaction, in order, as if
    /// [`Store::ingest`] had been called for each: a message sees the
    /// contacts, conversations and provider ids of the ones before it.
    ///
    /// sled serialises transactions behind one global lock, so under load
    /// one transaction for many messages is what lets the disk, not the
    /// lock, set the pace. Either all are stored or none.
    pub fn ingest_batch(&self, batch: &[Inbound]) -> Result<Vec<Ingested>, StoreError> {
        let entries = self.prepare_inbound(batch)?;
        self.apply_inbound(&entries)
    }

    /// Draws the ids of a batch (before any transaction: a retried
    /// transaction must not draw again; unused ones are simply skipped).
    pub(crate) fn prepare_inbound(
        &self,
        batch: &[Inbound],
    ) -> Result<Vec<InboundEntry>, StoreError> {
        let mut entries = Vec::with_capacity(batch.len());
        for inbound in batch {
            entries.push(InboundEntry {
                channel_id: inbound.channel_id,
                external_id: inbound.external_id.clone(),
                contact_name: inbound.contact_name.clone(),
                contact_phone: inbound.contact_phone.clone(),
                provider_id: inbound.provider_id.clone(),
                content: ContentRecord::from(&inbound.content),
                preview: preview_of(&inbound.content),
                at_ms: inbound.at_ms,
                initial_status: inbound.initial_status.clone(),
                message_id: self.next_id()?,
                fresh_contact: self.next_id()?,
                fresh_conversation: self.next_id()?,
            });
        }
        Ok(entries)
    }

    /// Applies prepared inbound messages in one transaction (see
    /// [`Store::ingest_batch`]).
    pub(crate) fn apply_inbound(
        &self,
        batch: &[InboundEntry],
    ) -> Result<Vec<Ingested>, StoreError> {
        let t = &self.trees;
        // Held across the transaction and the update after it: see
        // [`InboundCache`].
        let mut cache = self
            .inbound_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let known: &InboundCache = &cache;
        let (outcome, learnt) = (
            &t.contacts,
            &t.contacts_by_external,
            &t.conversations,
            &t.open_by_contact,
            &t.messages,
            &t.message_keys,
            &t.messages_by_provider,
        )
            .transaction(
                |(contacts, by_external, conversations, open, messages, keys, by_provider)| {
                    let mut results = Vec::with_capacity(batch.len());
                    // What this attempt wrote or read; the cache takes it
                    // only once the transaction has committed.
                    let mut learnt = InboundCache::default();
                    for inbound in batch {
                        let InboundEntry {
                            message_id,
                            fresh_contact,
                            fresh_conversation,
                            content,
                            preview,
                            ..
                        } = inbound;
                        let (message_id, fresh_contact, fresh_conversation) =
                            (*message_id, *fresh_contact, *fresh_conversation);
                        let one = (|| -> TxResult<Ingested> {
                            let provider_key = scoped_key(inbound.channel_id, &inbound.provider_id);
                            if let Some(existing) = by_provider.get(&provider_key)? {
                                let id = key_id(&existing)
                                    .map_err(ConflictableTransactionError::Abort)?;
                                let message = read_message(keys, messages, id)?;
                                return Ok(Ingested::Duplicate { message });
                            }
                            let external_key = scoped_key(inbound.channel_id, &inbound.external_id);
                            let mut contact_changed = false;
                            let remembered = learnt
                                .contacts
                                .remove(&external_key)
                                .or_else(|| known.contacts.get(&external_key).cloned());
                            let stored = match remembered {
                                Some(contact) => Some(contact),
                                None => match by_external.get(&external_key)? {
                                    Some(id) => {
                                        let Some(bytes) = contacts.get(&id)? else {
                                            return abort(StoreError::InvalidRecord {
                                                kind: "contact",
                                                reason: "index points at a missing contact".into(),
                                            });
                                        };
                                        Some(tx_decode::<ContactRecord>(&bytes)?)
                                    }
                                    None => None,
                                },
                            };
                            let mut contact = match stored {
                                Some(contact) => contact,
                                None => {
                                    by_external
                                        .insert(external_key.as_slice(), &id_key(fresh_contact))?;
                                    contact_changed = true;
                                    ContactRecord {
                                        id: fresh_contact,
                                        channel_id: inbound.channel_id,
                                        external_id: inbound.external_id.clone(),
                                        name: String::new(),
                                        phone: None,
                                        created_at_ms: inbound.at_ms,
                                    }
                                }
                            };
                            if let Some(name) = &inbound.contact_name
                                && contact.name != *name
                            {
                                contact.name.clone_from(name);
                                contact_changed = true;
                            }
                            if contact.name.is_empty() {
                                contact.name.clone_from(&contact.external_id);
                                contact_changed = true;
                            }
                            if inbound.contact_phone.is_some()
                                && contact.phone != inbound.contact_phone
                            {
                                contact.phone.clone_from(&inbound.contact_phone);
                                contact_changed = true;
                            }
                            // Written only when new or changed: most messages come
                            // from known contacts, and every write costs disk.
                            if contact_changed {
                                contacts.insert(&id_key(contact.id), tx_encode(&contact)?)?;
                            }

                            let slot = learnt
                                .open
                                .get(&contact.id)
                                .or_else(|| known.open.get(&contact.id))
                                .copied();
                            let open_id = match slot {
                                Some(slot) => slot,
                                None => open
                                    .get(id_key(contact.id))?
                                    .map(|id| key_id(&id))
                                    .transpose()
                                    .map_err(ConflictableTransactionError::Abort)?,
                            };
                            let remembered = open_id.and_then(|id| {
                                learnt
                                    .conversations
                                    .remove(&id)
                                    .or_else(|| known.conversations.get(&id).cloned())
                            });
                            let (mut conversation, started) = match (open_id, remembered) {
                                (Some(_), Some(conversation)) => (conversation, false),
                                (Some(id), None) => match conversations.get(id_key(id))? {
                                    Some(bytes) => {
                                        (tx_decode::<ConversationRecord>(&bytes)?, false)
                                    }
                                    None => {
                                        return abort(StoreError::InvalidRecord {
                                            kind: "conversation",
                                            reason: "open index points at a missing conversation"
                                                .into(),
                                        });
                                    }
                                },
                                (None, _) => {
                                    open.insert(&id_key(contact.id), &id_key(fresh_conversation))?;
                                    (
                                        ConversationRecord {
                                            id: fresh_conversation,
                                            channel_id: inbound.channel_id,
                                            contact_id: contact.id,
                                            created_at_ms: inbound.at_ms,
                                            status: inbound.initial_status.clone(),
                                            agent_id: None,
                                            ended_by: None,
                                            last_inbound_ms: None,
                                            last_message_ms: inbound.at_ms,
                                            preview: String::new(),
                                            message_count: 0,
                                            unread: 0,
                                            tags: Vec::new(),
                                        },
                                        true,
                                    )
                                }
                            };
                            conversation.last_inbound_ms = Some(inbound.at_ms);
                            conversation.last_message_ms = inbound.at_ms;
                            conversation.preview.clone_from(preview);
                            conversation.message_count =
                                conversation.message_count.saturating_add(1);
                            conversation.unread = conversation.unread.saturating_add(1);
                            conversations
                                .insert(&id_key(conversation.id), tx_encode(&conversation)?)?;

                            let message = MessageRecord {
                                id: message_id,
                                conversation_id: conversation.id,
                                direction: direction::INBOUND,
                                author: author::CONTACT,
                                author_user: None,
                                content: content.clone(),
                                provider_id: Some(inbound.provider_id.clone()),
                                delivery: delivery::NONE,
                                failure: None,
                                at_ms: inbound.at_ms,
                            };
                            messages.insert(
                                &message_key(conversation.id, message_id),
                                tx_encode(&message)?,
                            )?;
                            keys.insert(&id_key(message_id), &id_key(conversation.id))?;
                            by_provider.insert(provider_key, &id_key(message_id))?;
                            learnt.open.insert(contact.id, Some(conversation.id));
                            learnt.contacts.insert(external_key, contact.clone());
                            learnt
                                .conversations
                                .insert(conversation.id, conversation.clone());
                            Ok(Ingested::New {
                                message,
                                conversation: Box::new(conversation),
                                contact: Box::new(contact),
                                started,
                            })
                        })()?;
                        results.push(one);
                    }
                    Ok((results, learnt))
                },
            )?;
        cache.learn(learnt);
        Ok(outcome)
    }

    /// Appends a message omnigate originates to a conversation (and, with
    /// `deliver`, a delivery job to the outbox) in one transaction.
    ///
    /// `allowed` sees the conversation inside the transaction and may refuse
    /// (a send racing an end or a transfer must not slip through).
    pub fn append_message(
        &self,
        conversation_id: u64,
        outgoing: &Outgoing,
        allowed: impl Fn(&ConversationRecord) -> Result<(), StoreError>,
    ) -> Result<(MessageRecord, ConversationRecord), StoreError> {
        let message_id = self.next_id()?;
        let content = ContentRecord::from(&outgoing.content);
        let preview = preview_of(&outgoing.content);
        let t = &self.trees;
        // The inbound path may hold a copy: see [`InboundCache`].
        let mut cache = self
            .inbound_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let result = (&t.conversations, &t.messages, &t.message_keys, &t.outbox).transaction(
            |(conversations, messages, keys, outbox)| {
                let Some(bytes) = conversations.get(id_key(conversation_id))? else {
                    return abort(StoreError::NotFound(format!(
                        "conversation {conversation_id}"
                    )));
                };
                let mut conversation: ConversationRecord = tx_decode(&bytes)?;
                allowed(&conversation).map_err(ConflictableTransactionError::Abort)?;
                if outgoing.direction != direction::NOTE {
                    conversation.last_message_ms = outgoing.at_ms;
                    conversation.preview.clone_from(&preview);
                    if outgoing.author == author::AGENT {
                        conversation.unread = 0;
                    }
                }
                conversation.message_count = conversation.message_count.saturating_add(1);
                conversations.insert(&id_key(conversation_id), tx_encode(&conversation)?)?;
                let message = MessageRecord {
                    id: message_id,
                    conversation_id,
                    direction: outgoing.direction,
                    author: outgoing.author,
                    author_user: outgoing.author_user,
                    content: content.clone(),
                    provider_id: None,
                    delivery: if outgoing.deliver {
                        delivery::QUEUED
                    } else {
                        delivery::NONE
                    },
                    failure: None,
                    at_ms: outgoing.at_ms,
                };
                messages.insert(
                    &message_key(conversation_id, message_id),
                    tx_encode(&message)?,
                )?;
                keys.insert(&id_key(message_id), &id_key(conversation_id))?;
                if outgoing.deliver {
                    let job = crate::outbox::OutboxRecord::first(message_id, outgoing.at_ms);
                    outbox.insert(&id_key(message_id), tx_encode(&job)?)?;
                }
                Ok((message, conversation))
            },
        );
        cache.forget_conversation(conversation_id);
        Ok(result?)
    }

    /// Records a conversation's new status (from the desk); an end also
    /// frees the contact's open slot, a reopen takes it back.
    pub fn set_conversation_status(
        &self,
        conversation_id: u64,
        status: StatusRecord,
        ended_by: Option<u64>,
    ) -> Result<ConversationRecord, StoreError> {
        let t = &self.trees;
        // The open slot may change: see [`InboundCache`].
        let mut cache = self
            .inbound_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let result =
            (&t.conversations, &t.open_by_contact).transaction(|(conversations, open)| {
                let Some(bytes) = conversations.get(id_key(conversation_id))? else {
                    return abort(StoreError::NotFound(format!(
                        "conversation {conversation_id}"
                    )));
                };
                let mut conversation: ConversationRecord = tx_decode(&bytes)?;
                let contact = id_key(conversation.contact_id);
                match &status {
                    StatusRecord::Ended { .. } => {
                        conversation.ended_by = ended_by;
                        if open.get(contact)?.as_deref() == Some(&id_key(conversation_id)[..]) {
                            open.remove(&contact)?;
                        }
                    }
                    _ => {
                        conversation.ended_by = None;
                        if conversation.is_ended() {
                            // Reopened: later contact messages come here again,
                            // unless the contact has started a newer one.
                            if open.get(contact)?.is_none() {
                                open.insert(&contact, &id_key(conversation_id))?;
                            }
                        }
                    }
                }
                match &status {
                    StatusRecord::Assigned { agent }
                    | StatusRecord::TransferPending { from: agent, .. } => {
                        conversation.agent_id = Some(*agent);
                    }
                    _ => {}
                }
                conversation.status = status.clone();
                conversations.insert(&id_key(conversation_id), tx_encode(&conversation)?)?;
                Ok(conversation)
            })?;
        cache.forget_slot(result.contact_id);
        cache.forget_conversation(conversation_id);
        Ok(result)
    }

    /// Changes a conversation with `change` (tags, unread count) atomically.
    pub fn update_conversation(
        &self,
        conversation_id: u64,
        change: impl Fn(&mut ConversationRecord),
    ) -> Result<ConversationRecord, StoreError> {
        // The inbound path may hold a copy: see [`InboundCache`].
        let mut cache = self
            .inbound_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let result = self.trees.conversations.transaction(|conversations| {
            let Some(bytes) = conversations.get(id_key(conversation_id))? else {
                return abort(StoreError::NotFound(format!(
                    "conversation {conversation_id}"
                )));
            };
            let mut conversation: ConversationRecord = tx_decode(&bytes)?;
            change(&mut conversation);
            conversations.insert(&id_key(conversation_id), tx_encode(&conversation)?)?;
            Ok(conversation)
        });
        cache.forget_conversation(conversation_id);
        Ok(result?)
    }

    /// Conversation `id`.
    pub fn conversation(&self, id: u64) -> Result<Option<ConversationRecord>, StoreError> {
        self.trees
            .conversations
            .get(id_key(id))?
            .map(|v| record::decode(&v))
            .transpose()
    }

    /// Conversations newest first, starting below `before` (a cursor), that
    /// `keep` accepts, at most `limit`. Also returns whether more may follow.
    pub fn conversations_page(
        &self,
        before: Option<u64>,
        limit: usize,
        mut keep: impl FnMut(&ConversationRecord) -> bool,
    ) -> Result<(Vec<ConversationRecord>, bool), StoreError> {
        let upper = id_key(before.unwrap_or(u64::MAX));
        let mut page = Vec::new();
        for entry in self.trees.conversations.range(..upper).rev() {
            let (_, bytes) = entry?;
            let conversation: ConversationRecord = record::decode(&bytes)?;
            if keep(&conversation) {
                if page.len() == limit {
                    return Ok((page, true));
                }
                page.push(conversation);
            }
        }
        Ok((page, false))
    }

    /// Every conversation that has not ended, for rebuilding the desk.
    pub fn live_conversations(&self) -> Result<Vec<ConversationRecord>, StoreError> {
        let mut live = Vec::new();
        for entry in self.trees.open_by_contact.iter().values() {
            let id = key_id(&entry?)?;
            if let Some(conversation) = self.conversation(id)?
                && !conversation.is_ended()
            {
                live.push(conversation);
            }
        }
        Ok(live)
    }

    /// Makes `conversation` the contact's open conversation unless another
    /// one holds that place; returns that other one if so. Atomic with
    /// inbound messages, which read the same place.
    pub fn claim_open_slot(
        &self,
        contact_id: u64,
        conversation: u64,
    ) -> Result<Option<u64>, StoreError> {
        // See [`InboundCache`]: the slot is forgotten under the same lock.
        let mut cache = self
            .inbound_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let result =
            self.trees
                .open_by_contact
                .transaction(|open| match open.get(id_key(contact_id))? {
                    Some(current) => {
                        let current =
                            key_id(&current).map_err(ConflictableTransactionError::Abort)?;
                        Ok((current != conversation).then_some(current))
                    }
                    None => {
                        open.insert(&id_key(contact_id), &id_key(conversation))?;
                        Ok(None)
                    }
                });
        cache.forget_slot(contact_id);
        Ok(result?)
    }

    /// Undoes [`Store::claim_open_slot`] if `conversation` still holds the place.
    pub fn release_open_slot(&self, contact_id: u64, conversation: u64) -> Result<(), StoreError> {
        // See [`InboundCache`]: the slot is forgotten under the same lock.
        let mut cache = self
            .inbound_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let result = self.trees.open_by_contact.transaction(|open| {
            if open.get(id_key(contact_id))?.as_deref() == Some(&id_key(conversation)[..]) {
                open.remove(&id_key(contact_id))?;
            }
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        });
        cache.forget_slot(contact_id);
        result?;
        Ok(())
    }

    /// The contact's conversation that has not ended, if any.
    pub fn open_conversation_of(&self, contact_id: u64) -> Result<Option<u64>, StoreError> {
        self.trees
            .open_by_contact
            .get(id_key(contact_id))?
            .map(|v| key_id(&v))
            .transpose()
    }

    /// Contact `id`.
    pub fn contact(&self, id: u64) -> Result<Option<ContactRecord>, StoreError> {
        self.trees
            .contacts
            .get(id_key(id))?
            .map(|v| record::decode(&v))
            .transpose()
    }

    /// Brings a known contact up to date with what their channel reported
    /// about them outside a message (a profile update: a new display name
    /// or phone). `None` when the channel has no such contact yet (their
    /// first message brings the profile) or nothing changed. Written to
    /// sled, so it is durable after [`Store::durable`].
    pub fn update_contact_profile(
        &self,
        channel_id: u64,
        external_id: &str,
        name: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Option<ContactRecord>, StoreError> {
        let t = &self.trees;
        // The inbound path may hold a copy: see [`InboundCache`].
        let mut cache = self
            .inbound_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let external_key = scoped_key(channel_id, external_id);
        let updated =
            (&t.contacts, &t.contacts_by_external).transaction(|(contacts, by_external)| {
                let Some(id) = by_external.get(&external_key)? else {
                    return Ok(None);
                };
                let Some(bytes) = contacts.get(&id)? else {
                    return abort(StoreError::InvalidRecord {
                        kind: "contact",
                        reason: "index points at a missing contact".into(),
                    });
                };
                let mut contact: ContactRecord = tx_decode(&bytes)?;
                let mut changed = false;
                if let Some(name) = name.filter(|n| !n.is_empty())
                    && contact.name != name
                {
                    name.clone_into(&mut contact.name);
                    changed = true;
                }
                if let Some(phone) = phone
                    && contact.phone.as_deref() != Some(phone)
                {
                    contact.phone = Some(phone.to_owned());
                    changed = true;
                }
                if !changed {
                    return Ok(None);
                }
                contacts.insert(&id, tx_encode(&contact)?)?;
                Ok(Some(contact))
            });
        let updated: Result<Option<ContactRecord>, StoreError> = updated.map_err(Into::into);
        match updated {
            Ok(Some(contact)) => {
                cache.contacts.insert(external_key, contact.clone());
                Ok(Some(contact))
            }
            // Nothing was written: a cached copy is still what sled holds.
            Ok(None) => Ok(None),
            Err(error) => {
                // Whatever sled holds now, the next message reads it again.
                cache.contacts.remove(&external_key);
                Err(error)
            }
        }
    }

    /// Messages of a conversation in order, after message `after`, at most
    /// `limit`.
    pub fn messages(
        &self,
        conversation_id: u64,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let start = message_key(conversation_id, after.map_or(0, |a| a.saturating_add(1)));
        let end = message_key(conversation_id, u64::MAX);
        self.trees
            .messages
            .range(start..=end)
            .values()
            .take(limit)
            .map(|v| record::decode(&v?))
            .collect()
    }

    /// The latest messages of a conversation, newest first, at most `limit`.
    pub fn latest_messages(
        &self,
        conversation_id: u64,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let start = message_key(conversation_id, 0);
        let end = message_key(conversation_id, u64::MAX);
        self.trees
            .messages
            .range(start..=end)
            .values()
            .rev()
            .take(limit)
            .map(|v| record::decode(&v?))
            .collect()
    }

    /// Messages with ids above `after`, in id order, at most `limit`: for
    /// (re)building the search index.
    pub fn messages_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut found = Vec::with_capacity(limit.min(4096));
        for entry in self
            .trees
            .message_keys
            .range(id_key(after.saturating_add(1))..)
            .take(limit)
        {
            let (id, conversation) = entry?;
            let key = message_key(key_id(&conversation)?, key_id(&id)?);
            if let Some(bytes) = self.trees.messages.get(key)? {
                found.push(record::decode(&bytes)?);
            }
        }
        Ok(found)
    }

    /// Message `id`.
    pub fn message(&self, id: u64) -> Result<Option<MessageRecord>, StoreError> {
        let Some(conversation) = self.trees.message_keys.get(id_key(id))? else {
            return Ok(None);
        };
        let key = message_key(key_id(&conversation)?, id);
        self.trees
            .messages
            .get(key)?
            .map(|v| record::decode(&v))
            .transpose()
    }

    /// Changes message `id` with `change`, which returns false to leave it
    /// as it is; returns the message after the change, or `None` if
    /// nothing changed.
    pub fn update_message(
        &self,
        id: u64,
        change: impl Fn(&mut MessageRecord) -> bool,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let t = &self.trees;
        let result = (&t.message_keys, &t.messages).transaction(|(keys, messages)| {
            let Some(conversation) = keys.get(id_key(id))? else {
                return abort(StoreError::NotFound(format!("message {id}")));
            };
            let conversation =
                key_id(&conversation).map_err(ConflictableTransactionError::Abort)?;
            let key = message_key(conversation, id);
            let Some(bytes) = messages.get(key)? else {
                return abort(StoreError::NotFound(format!("message {id}")));
            };
            let mut message: MessageRecord = tx_decode(&bytes)?;
            if !change(&mut message) {
                return Ok(None);
            }
            messages.insert(&key, tx_encode(&message)?)?;
            Ok(Some(message))
        })?;
        Ok(result)
    }

    /// Records the id a channel gave an outbound message, so its delivery
    /// reports can be matched. Kept apart from inbound provider ids (an
    /// integrator may number both directions alike) and never overwritten.
    pub fn set_provider_id(
        &self,
        channel_id: u64,
        message_id: u64,
        provider_id: &str,
    ) -> Result<(), StoreError> {
        let key = scoped_key(channel_id, provider_id);
        let t = &self.trees;
        (&t.outbound_by_provider, &t.message_keys, &t.messages).transaction(
            |(by_provider, keys, messages)| {
                if by_provider.get(&key)?.is_some() {
                    return Ok(());
                }
                let Some(conversation) = keys.get(id_key(message_id))? else {
                    return abort(StoreError::NotFound(format!("message {message_id}")));
                };
                let conversation =
                    key_id(&conversation).map_err(ConflictableTransactionError::Abort)?;
                let mkey = message_key(conversation, message_id);
                let Some(bytes) = messages.get(mkey)? else {
                    return abort(StoreError::NotFound(format!("message {message_id}")));
                };
                let mut message: MessageRecord = tx_decode(&bytes)?;
                message.provider_id = Some(provider_id.to_owned());
                messages.insert(&mkey, tx_encode(&message)?)?;
                by_provider.insert(key.as_slice(), &id_key(message_id))?;
                Ok(())
            },
        )?;
        Ok(())
    }

    /// The outbound message a channel knows as `provider_id`.
    pub fn outbound_by_provider_id(
        &self,
        channel_id: u64,
        provider_id: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        match self
            .trees
            .outbound_by_provider
            .get(scoped_key(channel_id, provider_id))?
        {
            Some(id) => self.message(key_id(&id)?),
            None => Ok(None),
        }
    }
}

fn read_message(
    keys: &TransactionalTree,
    messages: &TransactionalTree,
    id: u64,
) -> TxResult<MessageRecord> {
    let Some(conversation) = keys.get(id_key(id))? else {
        return abort(StoreError::InvalidRecord {
            kind: "message",
            reason: format!("provider index points at missing message {id}"),
        });
    };
    let conversation = key_id(&conversation).map_err(ConflictableTransactionError::Abort)?;
    let Some(bytes) = messages.get(message_key(conversation, id))? else {
        return abort(StoreError::InvalidRecord {
            kind: "message",
            reason: format!("message {id} is indexed but missing"),
        });
    };
    tx_decode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbound(contact: &str, provider: &str) -> Inbound {
        Inbound {
            channel_id: 1,
            external_id: contact.into(),
            contact_name: None,
            contact_phone: None,
            provider_id: provider.into(),
            content: Content::Text { body: "hi".into() },
            at_ms: 1,
            initial_status: StatusRecord::Queued { since_ms: 1 },
        }
    }

    fn new_in(outcome: &Ingested) -> (u64, bool) {
        match outcome {
            Ingested::New {
                conversation,
                started,
                ..
            } => (conversation.id, *started),
            Ingested::Duplicate { .. } => panic!("expected a new message"),
        }
    }

    /// The inbound cache remembers each contact's open slot; ends, reopens
    /// and slot claims from outside the inbound path must be seen by the
    /// next message all the same.
    #[test]
    fn messages_follow_ends_reopens_and_claims_despite_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (first, started) = new_in(&store.ingest(&inbound("a", "m1")).unwrap());
        assert!(started);
        assert_eq!(
            new_in(&store.ingest(&inbound("a", "m2")).unwrap()),
            (first, false)
        );
        let contact = store.conversation(first).unwrap().unwrap().contact_id;

        // Ended: the next message starts a second conversation.
        let ended = StatusRecord::Ended {
            reason: "resolved".into(),
            at_ms: 2,
        };
        store
            .set_conversation_status(first, ended.clone(), Some(7))
            .unwrap();
        let (second, started) = new_in(&store.ingest(&inbound("a", "m3")).unwrap());
        assert!(started && second != first);
        assert_eq!(store.open_conversation_of(contact).unwrap(), Some(second));

        // The second ends and the first is reopened: messages go back to it.
        store
            .set_conversation_status(second, ended.clone(), Some(7))
            .unwrap();
        store
            .set_conversation_status(first, StatusRecord::Assigned { agent: 7 }, None)
            .unwrap();
        assert_eq!(
            new_in(&store.ingest(&inbound("a", "m4")).unwrap()),
            (first, false)
        );

        // Ended again, then claimed by a reopen of the second.
        store
            .set_conversation_status(first, ended, Some(7))
            .unwrap();
        assert_eq!(store.claim_open_slot(contact, second).unwrap(), None);
        assert_eq!(
            new_in(&store.ingest(&inbound("a", "m5")).unwrap()),
            (second, false)
        );

        // A claim taken back: the slot is free again, the next message
        // starts a third conversation, and only one is open.
        store.release_open_slot(contact, second).unwrap();
        let (third, started) = new_in(&store.ingest(&inbound("a", "m6")).unwrap());
        assert!(started && third != first && third != second);
        assert_eq!(store.claim_open_slot(contact, second).unwrap(), Some(third));
        assert_eq!(
            new_in(&store.ingest(&inbound("a", "m7")).unwrap()),
            (third, false)
        );
        assert_eq!(store.open_conversation_of(contact).unwrap(), Some(third));
    }

    /// Writes of a conversation outside the inbound path (a reply, a read
    /// mark, a status) are what the next inbound message builds on, not the
    /// copy the inbound cache held.
    #[test]
    fn inbound_messages_build_on_other_writes_of_their_conversation() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (id, _) = new_in(&store.ingest(&inbound("a", "m1")).unwrap());
        store
            .append_message(
                id,
                &Outgoing {
                    direction: direction::OUTBOUND,
                    author: author::AGENT,
                    author_user: Some(7),
                    content: Content::Text {
                        body: "hello".into(),
                    },
                    at_ms: 2,
                    deliver: false,
                },
                |_| Ok(()),
            )
            .unwrap();
        store
            .update_conversation(id, |c| c.tags.push("vip".into()))
            .unwrap();
        store
            .set_conversation_status(id, StatusRecord::Assigned { agent: 7 }, None)
            .unwrap();
        let Ingested::New { conversation, .. } = store.ingest(&inbound("a", "m2")).unwrap() else {
            panic!("expected new");
        };
        assert_eq!(conversation.message_count, 3);
        assert_eq!(conversation.unread, 1, "the reply reset it");
        assert_eq!(conversation.tags, vec!["vip".to_owned()]);
        assert_eq!(conversation.status, StatusRecord::Assigned { agent: 7 });
        assert_eq!(store.conversation(id).unwrap().unwrap(), *conversation);
    }

    /// A contact's name learnt by one message is what the next one sees,
    /// and the contact is not written again while nothing changes.
    #[test]
    fn contacts_come_from_the_cache_as_last_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut named = inbound("a", "m1");
        named.contact_name = Some("Ayşe".into());
        let first = store.ingest(&named).unwrap();
        let unnamed = store.ingest(&inbound("a", "m2")).unwrap();
        let (Ingested::New { contact: a, .. }, Ingested::New { contact: b, .. }) =
            (&first, &unnamed)
        else {
            panic!("expected new messages");
        };
        assert_eq!((a.id, a.name.as_str()), (b.id, "Ayşe"));
        let mut renamed = inbound("a", "m3");
        renamed.contact_name = Some("Ayşe Y.".into());
        store.ingest(&renamed).unwrap();
        assert_eq!(store.contact(a.id).unwrap().unwrap().name, "Ayşe Y.");
        let Ingested::New { contact, .. } = store.ingest(&inbound("a", "m4")).unwrap() else {
            panic!("expected new");
        };
        assert_eq!(contact.name, "Ayşe Y.");
    }

    /// A profile report changes a known contact, and the next message
    /// sees the change; an unknown contact or an unchanged profile writes
    /// nothing.
    #[test]
    fn profile_updates_reach_the_contact_and_the_next_message() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut named = inbound("a", "m1");
        named.contact_name = Some("Ayşe".into());
        store.ingest(&named).unwrap();
        let updated = store
            .update_contact_profile(1, "a", Some("Ayşe Y."), Some("+905329999999"))
            .unwrap()
            .expect("changed");
        assert_eq!(updated.name, "Ayşe Y.");
        assert!(
            store
                .update_contact_profile(1, "a", Some("Ayşe Y."), Some("+905329999999"))
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .update_contact_profile(1, "nobody", Some("X"), None)
                .unwrap()
                .is_none()
        );
        let Ingested::New { contact, .. } = store.ingest(&inbound("a", "m2")).unwrap() else {
            panic!("expected new");
        };
        assert_eq!(contact.name, "Ayşe Y.");
        assert_eq!(contact.phone.as_deref(), Some("+905329999999"));
        assert_eq!(store.contact(contact.id).unwrap().unwrap(), *contact);
    }

    #[test]
    fn a_batch_sees_its_own_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let outcomes = store
            .ingest_batch(&[
                inbound("a", "m1"),
                inbound("a", "m2"),
                inbound("a", "m1"),
                inbound("b", "m3"),
            ])
            .unwrap();
        let new: Vec<(u64, bool)> = outcomes
            .iter()
            .filter_map(|o| match o {
                Ingested::New {
                    conversation,
                    started,
                    ..
                } => Some((conversation.id, *started)),
                Ingested::Duplicate { .. } => None,
            })
            .collect();
        assert_eq!(new.len(), 3, "the repeated provider id is a duplicate");
        assert_eq!(new[0].0, new[1].0, "one conversation for contact a");
        assert_eq!((new[0].1, new[1].1, new[2].1), (true, false, true));
        let Ingested::Duplicate { message } = &outcomes[2] else {
            panic!("expected a duplicate");
        };
        let Ingested::New { message: first, .. } = &outcomes[0] else {
            panic!("expected new");
        };
        assert_eq!(message.id, first.id);
        assert_eq!(
            store.conversation(new[0].0).unwrap().unwrap().message_count,
            2
        );
    }
}
