//! The conversation engine: everything an agent does on the Omni-Chat
//! screen, with PRODUCT.md's rules enforced.
//!
//! The [`Engine`] keeps the domain's [`Desk`] in memory and the store in
//! step with it: a command locks the desk, is applied (all or nothing), and
//! every conversation it moved is written to the store before the lock is
//! released, so the store's order is the desk's order. Callers then await
//! [`Store::durable`] before acknowledging. At start the desk is rebuilt
//! from the store ([`Engine::start`]), so a restart loses no conversation
//! and no assignment.
//!
//! Ended conversations leave the desk (the store keeps them) so memory
//! follows live work, not history.

pub mod delivery;
pub mod export;
pub mod flows;
pub mod indexing;
mod ingest;
pub mod live;
pub mod plugins;
mod status;
mod windows;
pub mod wire;

pub use status::status_name;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use omnigate_domain::conversation::{
    ChannelCapabilities, Content, EndReason, ServiceWindow, WindowClosed,
};
use omnigate_domain::routing::{
    Command, ConversationId, Desk, DeskSettings, Event, Presence, RuleError, Status, TransferReturn,
};
use omnigate_domain::{
    Actor, AuditAction, AuditEvent, Clock, Role, Timestamp, User, UserId, ValidationError,
};
use omnigate_store::attachments::{AttachmentRecord, AttachmentScope};
use omnigate_store::channels::ChannelRecord;
use omnigate_store::conversations::{author, direction};
use omnigate_store::desk_state::{AgentRecord, DeskSettingsRecord};
use omnigate_store::{
    ConversationRecord, Inbound, Ingested, MessageRecord, Outgoing, StatusRecord, Store, StoreError,
};
use serde_json::json;

use live::Audience;

/// Why the engine refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A desk rule refused the command.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// Free-form content outside the service window.
    #[error(transparent)]
    WindowClosed(#[from] WindowClosed),
    /// The request's data is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The caller may not see or touch this conversation.
    #[error("{0}")]
    Forbidden(String),
    /// The conversation has ended; it is read-only until reopened.
    #[error("conversation {0} has ended and is read-only; reopen it to write")]
    ReadOnly(u64),
    /// The channel is disabled.
    #[error("channel {0} is disabled")]
    ChannelDisabled(u64),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The search index failed.
    #[error("{0}")]
    Search(String),
    /// A background task failed unexpectedly.
    #[error("{0}")]
    Internal(String),
}

/// Start-up settings of the engine, from the config file.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Default capacity for a new installation (admins change it later).
    pub default_capacity: u32,
    /// Transfer timeout for a new installation.
    pub transfer_timeout: Duration,
    /// Largest media file the API channel carries.
    pub max_media_bytes: u64,
    /// Outbound webhook delivery.
    pub delivery: delivery::DeliveryConfig,
    /// An agent whose last live connection dropped this long ago goes
    /// offline (PRODUCT.md: agents who walk away must not get work).
    pub presence_grace: Duration,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            default_capacity: 3,
            transfer_timeout: Duration::from_secs(120),
            max_media_bytes: 16 * 1024 * 1024,
            delivery: delivery::DeliveryConfig::default(),
            presence_grace: Duration::from_secs(60),
        }
    }
}

/// Who asks, as the engine needs to know them.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: Arc<User>,
    /// Client address, for the audit log.
    pub source: Option<String>,
}

impl Caller {
    pub(crate) fn actor(&self) -> Actor {
        Actor::User {
            id: self.user.id,
            email: self.user.email.clone(),
        }
    }

    fn supervises(&self) -> bool {
        matches!(self.user.role, Role::Supervisor | Role::Admin)
    }
}

/// An inbound message as a channel delivered it.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    /// The contact's id on the channel.
    pub contact_id: String,
    /// Their name, if known.
    pub contact_name: Option<String>,
    /// Their phone, if known.
    pub contact_phone: Option<String>,
    /// The provider's message id.
    pub provider_id: String,
    /// What they sent.
    pub content: Content,
}

/// The outcome of [`Engine::receive`].
#[derive(Debug, Clone)]
pub struct Received {
    /// The stored message (the first one, for a redelivery).
    pub message: MessageRecord,
    /// Whether this was a redelivery that changed nothing.
    pub duplicate: bool,
    /// Whether receiving also changed state the journal does not carry (a
    /// new conversation routed, a redelivery repaired, a media reference):
    /// then [`Engine::durable`] must complete before the channel is
    /// answered. The message itself is on disk either way.
    pub needs_flush: bool,
}

/// The conversation engine. One per process; share it behind an `Arc`.
pub struct Engine {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    desk: Mutex<Desk>,
    config: EngineConfig,
    delivery_wake: tokio::sync::Notify,
    live: Arc<live::LiveBus>,
    /// Events waiting for durability before they are published; filled in
    /// desk order.
    pending: Mutex<live::Pending>,
    publish_wake: tokio::sync::Notify,
    connections: Mutex<Connections>,
    search: Arc<omnigate_search::SearchIndex>,
    index_queue: indexing::IndexQueue,
    /// The earliest moment a pending transfer may time out (`None`: no
    /// transfer pending), so the timer and every command skip the scan of
    /// live conversations until then.
    next_deadline: Mutex<Option<Timestamp>>,
    windows: windows::WindowWatch,
    ingest: ingest::Batcher,
    /// The plugin host, once the server attached it (tests of the engine
    /// alone run without).
    plugins: std::sync::OnceLock<Arc<plugins::Plugins>>,
    /// Conversations whose chatbot flow has messages to answer.
    flow_queue: flows::FlowQueue,
    /// Channels' approved templates, fetched lately.
    templates: plugins::templates::TemplatesCache,
}

/// Memory for the search index writer's buffer.
const SEARCH_WRITER_BYTES: usize = 32 * 1024 * 1024;

/// Agents' live connections, for the presence grace rule.
#[derive(Debug, Default)]
struct Connections {
    /// Open connections per agent.
    open: HashMap<UserId, u32>,
    /// Agents without one, since when (only those: the timer looks at
    /// this map, so its cost follows the disconnected, not everyone).
    lost: HashMap<UserId, Timestamp>,
}

/// A live connection of an agent; dropping it starts the grace period.
pub struct LiveConnection {
    engine: Arc<Engine>,
    user: UserId,
}

impl Drop for LiveConnection {
    fn drop(&mut self) {
        let now = self.engine.now();
        let mut connections = self
            .engine
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = connections.open.get_mut(&self.user) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                connections.open.remove(&self.user);
                connections.lost.insert(self.user, now);
            }
        }
    }
}

impl Engine {
    /// Rebuilds the desk from the store: settings, agents and every
    /// conversation that has not ended; then hands out what waits in the
    /// queue if anyone has room.
    pub fn start(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Result<Arc<Engine>, EngineError> {
        let search = Arc::new(omnigate_search::SearchIndex::open(
            &store.dir().join("search"),
            SEARCH_WRITER_BYTES,
        )?);
        let settings = match store.desk_settings()? {
            Some(saved) => DeskSettings {
                default_capacity: saved.default_capacity,
                transfer_timeout: Duration::from_secs(saved.transfer_timeout_secs),
                end_reasons: saved.end_reasons,
            },
            None => {
                let settings = DeskSettings {
                    default_capacity: config.default_capacity,
                    transfer_timeout: config.transfer_timeout,
                    end_reasons: EndReason::defaults(),
                };
                store.put_desk_settings(&settings_record(&settings))?;
                settings
            }
        };
        let now = clock.now();
        let mut desk = Desk::new(settings);
        let mut connections = Connections::default();
        for (user, agent) in store.agent_states()? {
            let user = UserId(user);
            let presence = status::presence_from_code(agent.presence);
            // Nobody is connected to a server that just started: agents who
            // do not come back within the grace period go offline.
            if presence != Presence::Offline {
                connections.lost.insert(user, now);
            }
            desk.apply(
                Command::SetCapacity {
                    agent: user,
                    capacity: agent.capacity,
                },
                now,
            )?;
            desk.apply(
                Command::SetPresence {
                    agent: user,
                    presence,
                },
                now,
            )?;
        }
        let live = store.live_conversations()?;
        let count = live.len();
        for conversation in &live {
            desk.restore(
                ConversationId(conversation.id),
                status::from_record(&conversation.status),
                now,
            )?;
        }
        let ingest = ingest::Batcher::start(Arc::clone(&store)).map_err(|e| StoreError::Io {
            context: "starting the ingest thread".into(),
            source: e,
        })?;
        let engine = Arc::new(Engine {
            store,
            clock,
            desk: Mutex::new(desk),
            config,
            delivery_wake: tokio::sync::Notify::new(),
            live: Arc::new(live::LiveBus::new()),
            pending: Mutex::new(live::Pending::default()),
            publish_wake: tokio::sync::Notify::new(),
            connections: Mutex::new(connections),
            search,
            index_queue: indexing::IndexQueue::default(),
            next_deadline: Mutex::new(Some(now)),
            windows: windows::WindowWatch::default(),
            ingest,
            plugins: std::sync::OnceLock::new(),
            flow_queue: flows::FlowQueue::default(),
            templates: plugins::templates::TemplatesCache::default(),
        });
        let channels: HashMap<u64, ChannelRecord> = engine
            .store
            .channels()?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        for conversation in &live {
            if let Some(channel) = channels.get(&conversation.channel_id) {
                engine.watch_window(conversation, channel);
            }
        }
        {
            let mut desk = engine.lock_desk();
            let events = desk.drain_queue(now);
            engine.persist(&mut desk, &events, None)?;
        }
        engine.store.flush_blocking()?;
        tracing::info!(live_conversations = count, "desk rebuilt from the store");
        Ok(engine)
    }

    fn lock_desk(&self) -> MutexGuard<'_, Desk> {
        // A panic while holding the lock cannot leave the desk half-changed
        // (`Desk::apply` changes nothing on error and does not panic), so a
        // poisoned lock is still consistent.
        self.desk.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store, for reads.
    #[must_use]
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Now, by the injected clock.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The engine's start-up configuration.
    #[must_use]
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Waits until everything written so far is on disk.
    pub async fn durable(&self) -> Result<(), EngineError> {
        Ok(self.store.durable().await?)
    }

    /// Attaches the plugin host; plugin channels work from then on. Once
    /// per engine: a second call changes nothing and returns `false`.
    pub fn attach_plugins(self: &Arc<Self>, plugins: Arc<plugins::Plugins>) -> bool {
        // Admins' consoles learn of installs, upgrades, trips and the like
        // as they happen (a `plugin` event); weak, so the registry does
        // not keep the engine alive.
        let engine = Arc::downgrade(self);
        plugins.on_change(Box::new(move |name, action| {
            if let Some(engine) = engine.upgrade() {
                engine.push_live(
                    Audience::Staff,
                    "plugin",
                    json!({ "name": name, "change": action.code() }),
                );
            }
        }));
        self.plugins.set(plugins).is_ok()
    }

    /// The plugin host, when attached.
    #[must_use]
    pub fn plugins(&self) -> Option<&Arc<plugins::Plugins>> {
        self.plugins.get()
    }

    /// The capabilities of a channel: the API channel's from its settings;
    /// a plugin channel's from its plugin (the admin's service window, when
    /// set, overrides the plugin's), or text only while the plugin is not
    /// loaded.
    #[must_use]
    pub fn capabilities(&self, channel: &ChannelRecord) -> ChannelCapabilities {
        if channel.kind == "api" {
            return ChannelCapabilities::api(
                channel.service_window_secs.map(Duration::from_secs),
                self.config.max_media_bytes,
            );
        }
        let mut caps = self
            .plugins()
            .and_then(|p| p.capabilities(&channel.kind))
            .unwrap_or(ChannelCapabilities {
                service_window: None,
                templates: false,
                media: Vec::new(),
            });
        if let Some(secs) = channel.service_window_secs {
            caps.service_window = Some(Duration::from_secs(secs));
        }
        caps
    }

    /// When free-form messages stop being allowed in a conversation.
    pub fn window_closes_at(
        &self,
        conversation: &ConversationRecord,
    ) -> Result<Option<Timestamp>, EngineError> {
        let channel = self.channel(conversation.channel_id)?;
        Ok(self.closes_at(&channel, conversation))
    }

    fn closes_at(
        &self,
        channel: &ChannelRecord,
        conversation: &ConversationRecord,
    ) -> Option<Timestamp> {
        let caps = self.capabilities(channel);
        ServiceWindow::new(&caps, conversation.last_inbound_ms.map(Timestamp)).closes_at()
    }

    fn channel(&self, id: u64) -> Result<ChannelRecord, EngineError> {
        self.store
            .channel(id)?
            .ok_or_else(|| EngineError::Store(StoreError::NotFound(format!("channel {id}"))))
    }

    /// Stores an inbound message (rule 8: a redelivery changes nothing) and,
    /// if it starts a conversation, puts that into the channel's default
    /// flow or the queue (rule 1), where the queue may hand it out at once.
    /// A contact writing after their conversation ended starts a new one;
    /// a reopened conversation takes their messages again.
    pub async fn receive(
        &self,
        channel: &ChannelRecord,
        message: InboundMessage,
    ) -> Result<Received, EngineError> {
        if channel.disabled {
            return Err(EngineError::ChannelDisabled(channel.id));
        }
        message.content.validate()?;
        let content = self.resolve_media(message.content, AttachmentScope::Channel(channel.id))?;
        let now = self.now();
        let initial_status = match &channel.default_flow {
            Some(flow) => StatusRecord::InFlow { flow: flow.clone() },
            None => StatusRecord::Queued { since_ms: now.0 },
        };
        let inbound = Inbound {
            channel_id: channel.id,
            external_id: message.contact_id,
            contact_name: message.contact_name,
            contact_phone: message.contact_phone,
            provider_id: message.provider_id,
            content,
            at_ms: now.0,
            initial_status,
        };
        let media = match &inbound.content {
            Content::Media { attachment, .. } => parse_sha256(attachment),
            _ => None,
        };
        match self.ingest.ingest(inbound).await? {
            Ingested::Duplicate { message } => {
                // The first delivery may have stored the conversation and
                // then failed before the desk took it: the retry repairs it.
                self.ensure_in_desk(message.conversation_id)?;
                Ok(Received {
                    message,
                    duplicate: true,
                    needs_flush: true,
                })
            }
            Ingested::New {
                message,
                conversation,
                started,
                ..
            } => {
                let conversation = if started {
                    // Only a new conversation needs the desk; messages of
                    // existing ones are stored without its lock. (A
                    // concurrent redelivery may have put it there already.)
                    let mut desk = self.lock_desk();
                    let events = if desk.status(ConversationId(conversation.id)).is_none() {
                        desk.apply(
                            Command::Arrive {
                                conversation: ConversationId(conversation.id),
                                flow: channel.default_flow.clone(),
                            },
                            now,
                        )?
                    } else {
                        Vec::new()
                    };
                    self.persist(&mut desk, &events, None)?;
                    drop(desk);
                    self.store
                        .conversation(conversation.id)?
                        .map_or(conversation, Box::new)
                } else {
                    conversation
                };
                let needs_flush = started || media.is_some();
                if let Some(sha) = media {
                    self.store.allow_attachment(conversation.id, &sha)?;
                }
                self.index_queue.push(&message);
                self.watch_window(&conversation, channel);
                if matches!(conversation.status, StatusRecord::InFlow { .. }) {
                    self.flow_queue.push(conversation.id);
                }
                if needs_flush {
                    self.announce_message(&conversation, &message);
                } else {
                    // The journal made it durable already: no flush to wait
                    // for before the agent sees it.
                    self.push_live_durable(
                        audience_of(&conversation, Vec::new()),
                        "message",
                        message_event(&conversation, &message),
                    );
                }
                Ok(Received {
                    message,
                    duplicate: false,
                    needs_flush,
                })
            }
        }
    }

    /// Puts a stored, live conversation the desk does not know into it (and
    /// hands out the queue if that made work).
    fn ensure_in_desk(&self, id: u64) -> Result<(), EngineError> {
        let now = self.now();
        let mut desk = self.lock_desk();
        if desk.status(ConversationId(id)).is_some() {
            return Ok(());
        }
        let Some(record) = self.store.conversation(id)? else {
            return Ok(());
        };
        if record.is_ended() {
            return Ok(());
        }
        desk.restore(ConversationId(id), status::from_record(&record.status), now)?;
        let events = desk.drain_queue(now);
        self.persist(&mut desk, &events, None)
    }

    /// Whether `caller` may write in a conversation: its holder, or a
    /// supervisor.
    fn may_write(caller: &Caller, conversation: &ConversationRecord) -> bool {
        let holds = match &conversation.status {
            StatusRecord::Assigned { agent }
            | StatusRecord::TransferPending { from: agent, .. } => *agent == caller.user.id.0,
            _ => false,
        };
        holds || caller.supervises()
    }

    /// A conversation the caller may write in (send, attach): not ended, and
    /// held by them unless they supervise.
    pub fn conversation_to_write(
        &self,
        caller: &Caller,
        id: u64,
    ) -> Result<ConversationRecord, EngineError> {
        let conversation = self.conversation_for(caller, id)?;
        if conversation.is_ended() {
            return Err(EngineError::ReadOnly(id));
        }
        if !Self::may_write(caller, &conversation) {
            return Err(EngineError::Forbidden(format!(
                "conversation {id} is not assigned to you; pull or accept it first"
            )));
        }
        Ok(conversation)
    }

    /// Whether `caller` may read conversation `conversation`: supervisors
    /// read all; agents what they hold, what is offered to them, what waits
    /// in the queue, and what they handled last (their history).
    pub fn may_read(&self, caller: &Caller, conversation: &ConversationRecord) -> bool {
        if caller.supervises() {
            return true;
        }
        let me = caller.user.id.0;
        match &conversation.status {
            StatusRecord::Queued { .. } => true,
            StatusRecord::TransferPending { from, to, .. } => *from == me || *to == me,
            _ => conversation.agent_id == Some(me),
        }
    }

    /// Reads a conversation the caller may see.
    pub fn conversation_for(
        &self,
        caller: &Caller,
        id: u64,
    ) -> Result<ConversationRecord, EngineError> {
        self.tick()?;
        let conversation = self
            .store
            .conversation(id)?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))?;
        if self.may_read(caller, &conversation) {
            Ok(conversation)
        } else {
            Err(EngineError::Forbidden(format!(
                "conversation {id} is not yours to see"
            )))
        }
    }

    /// Sends a message (or writes a private note) in a conversation the
    /// caller holds (supervisors: any live one). Free-form content outside
    /// the service window is refused (rule 7); templates always go.
    pub fn send(
        &self,
        caller: &Caller,
        conversation_id: u64,
        content: Content,
        note: bool,
    ) -> Result<MessageRecord, EngineError> {
        content.validate()?;
        let conversation = self.conversation_to_write(caller, conversation_id)?;
        let content =
            self.resolve_media(content, AttachmentScope::Conversation(conversation_id))?;
        let channel = self.channel(conversation.channel_id)?;
        let now = self.now();
        if !note {
            if channel.disabled {
                return Err(EngineError::ChannelDisabled(channel.id));
            }
            let caps = self.capabilities(&channel);
            content.check_channel(&caps)?;
            ServiceWindow::new(&caps, conversation.last_inbound_ms.map(Timestamp))
                .check(&content, now)?;
        }
        // A plugin channel always sends; an API channel only when its
        // integrator gave a webhook to send to.
        let deliver = !note && (channel.kind != "api" || channel.webhook_url.is_some());
        let (message, after) = self.store.append_message(
            conversation_id,
            &Outgoing {
                direction: if note {
                    direction::NOTE
                } else {
                    direction::OUTBOUND
                },
                author: author::AGENT,
                author_user: Some(caller.user.id.0),
                content,
                at_ms: now.0,
                deliver,
            },
            |now_stored| {
                // The checks above read the conversation outside any lock;
                // this one runs inside the write, against an end, transfer
                // or reassignment that happened meanwhile.
                if now_stored.is_ended() || !Self::may_write(caller, now_stored) {
                    Err(StoreError::Conflict(format!(
                        "conversation {conversation_id} changed hands or ended while this message was being sent; reload it"
                    )))
                } else {
                    Ok(())
                }
            },
        )?;
        if deliver {
            self.delivery_wake.notify_one();
        }
        self.index_queue.push(&message);
        self.announce_message(&after, &message);
        Ok(message)
    }

    /// Stores a staged upload as an attachment of a conversation the caller
    /// may write in, after checking its detected kind against the channel.
    /// Blocking file system work: call it off the async runtime.
    pub fn attach(
        &self,
        caller: &Caller,
        conversation_id: u64,
        upload: Upload,
    ) -> Result<AttachmentRecord, EngineError> {
        let outcome = self.attach_checked(caller, conversation_id, &upload);
        if outcome.is_err() {
            let _ = std::fs::remove_file(&upload.staged);
        }
        outcome
    }

    fn attach_checked(
        &self,
        caller: &Caller,
        conversation_id: u64,
        upload: &Upload,
    ) -> Result<AttachmentRecord, EngineError> {
        let conversation = self.conversation_to_write(caller, conversation_id)?;
        let channel = self.channel(conversation.channel_id)?;
        self.check_media_limit(&channel, upload)?;
        Ok(self.store.commit_attachment(
            &upload.staged,
            &upload.record(self.now()),
            AttachmentScope::Conversation(conversation_id),
        )?)
    }

    /// Stores a staged upload an API channel's integrator sent, for an
    /// inbound media message that follows. Blocking.
    pub fn attach_inbound(
        &self,
        channel: &ChannelRecord,
        upload: Upload,
    ) -> Result<AttachmentRecord, EngineError> {
        let outcome = self.check_media_limit(channel, &upload).and_then(|()| {
            // Not yet in any conversation: the message that names it puts
            // it there.
            Ok(self.store.commit_attachment(
                &upload.staged,
                &upload.record(self.now()),
                AttachmentScope::Channel(channel.id),
            )?)
        });
        if outcome.is_err() {
            let _ = std::fs::remove_file(&upload.staged);
        }
        outcome
    }

    fn check_media_limit(
        &self,
        channel: &ChannelRecord,
        upload: &Upload,
    ) -> Result<(), EngineError> {
        let caps = self.capabilities(channel);
        match caps.media_limit(upload.kind) {
            None => Err(ValidationError::new(
                "attachment",
                format!("this channel does not carry {} files", upload.kind.as_str()),
            )
            .into()),
            Some(limit) if upload.size_bytes > limit => Err(ValidationError::new(
                "attachment",
                format!(
                    "this channel carries {} files of at most {limit} bytes",
                    upload.kind.as_str()
                ),
            )
            .into()),
            Some(_) => Ok(()),
        }
    }

    /// Fills a media content's kind, type and size from the stored
    /// attachment it names (never from the client), or refuses it.
    fn resolve_media(
        &self,
        content: Content,
        scope: AttachmentScope,
    ) -> Result<Content, EngineError> {
        let Content::Media {
            attachment,
            caption,
            filename,
            ..
        } = content
        else {
            return Ok(content);
        };
        let whose = match scope {
            AttachmentScope::Conversation(_) => "in this conversation",
            AttachmentScope::Channel(_) => "uploaded through this channel",
        };
        let unknown = || {
            EngineError::Invalid(ValidationError::new(
                "attachment",
                format!("no attachment `{attachment}` {whose}; upload it first"),
            ))
        };
        let sha = parse_sha256(&attachment).ok_or_else(unknown)?;
        let record = self.store.attachment(&sha)?.ok_or_else(unknown)?;
        // Knowing a hash is no permission: another conversation's or
        // channel's file stays theirs.
        if !self.store.attachment_in_scope(scope, &sha)? {
            return Err(unknown());
        }
        let kind = omnigate_domain::conversation::MediaKind::from_name(&record.kind)
            .ok_or_else(unknown)?;
        Ok(Content::Media {
            kind,
            attachment: hex::encode(sha),
            mime: record.mime,
            size_bytes: record.size_bytes,
            caption,
            filename: filename.or(record.filename),
        })
    }

    /// Messages matching `text`, newest first, older than `before_ms`.
    pub fn search(
        &self,
        text: &str,
        before_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<omnigate_search::Hit>, EngineError> {
        Ok(self.search.search(text, before_ms, limit)?)
    }

    /// The search index, for `omnigate search rebuild` and metrics.
    #[must_use]
    pub fn search_index(&self) -> &omnigate_search::SearchIndex {
        &self.search
    }

    /// Tells the consoles that a message's delivery status changed.
    pub fn delivery_changed(&self, message: &MessageRecord) -> Result<(), EngineError> {
        if let Some(conversation) = self.store.conversation(message.conversation_id)? {
            self.announce_message(&conversation, message);
        }
        Ok(())
    }

    /// Marks a conversation read by its agent (unread count to zero).
    pub fn mark_read(&self, caller: &Caller, conversation_id: u64) -> Result<(), EngineError> {
        self.conversation_for(caller, conversation_id)?;
        self.store
            .update_conversation(conversation_id, |c| c.unread = 0)?;
        Ok(())
    }

    /// Replaces a conversation's tags.
    pub fn set_tags(
        &self,
        caller: &Caller,
        conversation_id: u64,
        tags: Vec<String>,
    ) -> Result<ConversationRecord, EngineError> {
        self.conversation_for(caller, conversation_id)?;
        let mut parsed = Vec::new();
        for tag in &tags {
            let tag = omnigate_domain::conversation::Tag::parse(tag)?;
            if !parsed.contains(&tag.as_str().to_owned()) {
                parsed.push(tag.as_str().to_owned());
            }
        }
        if parsed.len() > omnigate_domain::conversation::Tag::MAX_PER_CONVERSATION {
            return Err(ValidationError::new("tags", "at most 20 tags").into());
        }
        parsed.sort();
        Ok(self
            .store
            .update_conversation(conversation_id, |c| c.tags.clone_from(&parsed))?)
    }

    /// Applies a desk command for `caller` and records what moved. Audited
    /// actions are written before the caller awaits durability, so an
    /// acknowledged action is always audited.
    fn command(
        &self,
        caller: Option<&Caller>,
        command: Command,
        audit: Option<(AuditAction, String, serde_json::Value)>,
    ) -> Result<Vec<Event>, EngineError> {
        let now = self.now();
        let mut desk = self.lock_desk();
        let mut events = self.apply_due_timeouts(&mut desk, now)?;
        let more = desk.apply(command, now)?;
        self.persist(&mut desk, &more, caller.map(|c| c.user.id))?;
        if let (Some(caller), Some((action, target, detail))) = (caller, audit) {
            self.store.append_audit(
                &AuditEvent::new(caller.actor(), action)
                    .target(target)
                    .source(caller.source.clone())
                    .detail(detail.to_string()),
                now,
            )?;
        }
        events.extend(more);
        Ok(events)
    }

    /// Applies a desk command the server itself decided (a flow's hand-off
    /// or end), audited as the system's.
    pub(crate) fn desk_command(
        &self,
        conversation: u64,
        command: Command,
        action: AuditAction,
        detail: serde_json::Value,
    ) -> Result<Vec<Event>, EngineError> {
        let now = self.now();
        let mut desk = self.lock_desk();
        let mut events = self.apply_due_timeouts(&mut desk, now)?;
        let more = desk.apply(command, now)?;
        self.persist(&mut desk, &more, None)?;
        self.store.append_audit(
            &AuditEvent::new(omnigate_domain::Actor::System, action)
                .target(format!("conversation:{conversation}"))
                .detail(detail.to_string()),
            now,
        )?;
        events.extend(more);
        Ok(events)
    }

    /// Writes every conversation and agent the events moved to the store;
    /// forgets ended conversations; leaves a notice in the thread when a
    /// transfer comes back (rule 4); queues the live events that tell the
    /// consoles.
    fn persist(
        &self,
        desk: &mut Desk,
        events: &[Event],
        by: Option<UserId>,
    ) -> Result<(), EngineError> {
        let now = self.now();
        let mut queue_moved = false;
        for event in events {
            match event {
                Event::Queued { conversation } => {
                    queue_moved = true;
                    let (_, new) = self.write_status(desk, *conversation, None)?;
                    self.announce("conversation.queued", &new, Vec::new());
                }
                Event::EnteredFlow { conversation, .. } => {
                    let (_, new) = self.write_status(desk, *conversation, None)?;
                    self.announce("conversation.in_flow", &new, Vec::new());
                }
                Event::Assigned {
                    conversation, how, ..
                } => {
                    queue_moved = true;
                    let (old, new) = self.write_status(desk, *conversation, None)?;
                    if *how == omnigate_domain::routing::Assignment::Reopened {
                        let channel = self.channel(new.channel_id)?;
                        self.watch_window(&new, &channel);
                    }
                    let mut data = conversation_json(&new);
                    data["how"] = json!(assignment_name(*how));
                    let previous: Vec<UserId> = old
                        .and_then(|o| o.agent_id)
                        .map(UserId)
                        .into_iter()
                        .collect();
                    self.push_live(audience_of(&new, previous), "conversation.assigned", data);
                }
                Event::TransferRequested { conversation, .. } => {
                    self.expect_deadline(now.plus(desk.settings().transfer_timeout));
                    let (_, new) = self.write_status(desk, *conversation, None)?;
                    self.announce("transfer.requested", &new, Vec::new());
                }
                Event::TransferReturned {
                    conversation,
                    why,
                    to,
                } => {
                    let (old, new) = self.write_status(desk, *conversation, None)?;
                    let text = match why {
                        TransferReturn::Declined => "The transfer was declined.",
                        TransferReturn::TimedOut => "The transfer was not answered in time.",
                        TransferReturn::TargetUnavailable => {
                            "The transfer came back: its target is no longer online."
                        }
                    };
                    let (notice, _) = self.store.append_message(
                        conversation.0,
                        &Outgoing {
                            direction: direction::NOTE,
                            author: author::SYSTEM,
                            author_user: None,
                            content: Content::Text { body: text.into() },
                            at_ms: now.0,
                            deliver: false,
                        },
                        |_| Ok(()),
                    )?;
                    let target = old.and_then(|o| match o.status {
                        StatusRecord::TransferPending { to, .. } => Some(UserId(to)),
                        _ => None,
                    });
                    let mut data = conversation_json(&new);
                    data["why"] = json!(match why {
                        TransferReturn::Declined => "declined",
                        TransferReturn::TimedOut => "timed_out",
                        TransferReturn::TargetUnavailable => "target_unavailable",
                    });
                    self.push_live(
                        Audience::Users([Some(*to), target].into_iter().flatten().collect()),
                        "transfer.returned",
                        data,
                    );
                    self.announce_message(&new, &notice);
                }
                Event::Ended {
                    conversation,
                    by: ender,
                    ..
                } => {
                    let (old, new) = self.write_status(desk, *conversation, by.or(*ender))?;
                    desk.forget_ended(*conversation);
                    self.windows.set(conversation.0, None);
                    let holders = old.as_ref().map(holders_of).unwrap_or_default();
                    self.push_live(
                        Audience::Users(holders),
                        "conversation.ended",
                        conversation_json(&new),
                    );
                }
                Event::PresenceChanged { agent, presence } => {
                    self.write_agent(desk, *agent)?;
                    let view = desk.agent(*agent);
                    self.push_live(
                        Audience::Users(vec![*agent]),
                        "presence",
                        json!({
                            "user_id": agent.0,
                            "presence": presence.as_str(),
                            "load": view.load,
                            "capacity": view.capacity,
                        }),
                    );
                }
            }
        }
        if queue_moved {
            let oldest = desk.queue().next().map(|(_, since)| since.to_rfc3339());
            self.push_live(
                Audience::Everyone,
                "queue",
                json!({ "length": desk.queue_len(), "oldest_since": oldest }),
            );
        }
        Ok(())
    }

    /// Writes a conversation's desk status; returns the record before and after.
    fn write_status(
        &self,
        desk: &Desk,
        conversation: ConversationId,
        ended_by: Option<UserId>,
    ) -> Result<(Option<ConversationRecord>, ConversationRecord), EngineError> {
        let old = self.store.conversation(conversation.0)?;
        let status = desk
            .status(conversation)
            .ok_or(RuleError::UnknownConversation(conversation))?;
        let new = self.store.set_conversation_status(
            conversation.0,
            status::to_record(status),
            ended_by.map(|u| u.0),
        )?;
        let was_in_flow = old
            .as_ref()
            .is_some_and(|o| matches!(o.status, StatusRecord::InFlow { .. }));
        if was_in_flow && !matches!(new.status, StatusRecord::InFlow { .. }) {
            // Out of its flow (handed off, taken by a supervisor, ended):
            // a later hand-over to a flow starts afresh.
            self.store.delete_flow_session(conversation.0)?;
        }
        Ok((old, new))
    }

    /// Queues a live event about a conversation for whoever holds it (or
    /// everyone, while it is queued) plus `also`.
    fn announce(&self, kind: &'static str, conversation: &ConversationRecord, also: Vec<UserId>) {
        self.push_live(
            audience_of(conversation, also),
            kind,
            conversation_json(conversation),
        );
    }

    /// Queues the live event of a new or changed message.
    pub(crate) fn announce_message(
        &self,
        conversation: &ConversationRecord,
        message: &MessageRecord,
    ) {
        self.push_live(
            audience_of(conversation, Vec::new()),
            "message",
            message_event(conversation, message),
        );
    }

    /// Queues a live event about a change that still needs a flush.
    fn push_live(&self, audience: Audience, kind: &'static str, data: impl Into<live::EventData>) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(audience, kind, data.into(), true);
        self.publish_wake.notify_one();
    }

    /// Queues a live event about a change already on disk.
    fn push_live_durable(
        &self,
        audience: Audience,
        kind: &'static str,
        data: impl Into<live::EventData>,
    ) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(audience, kind, data.into(), false);
        self.publish_wake.notify_one();
    }

    /// The live event log.
    #[must_use]
    pub fn live(&self) -> &Arc<live::LiveBus> {
        &self.live
    }

    /// Publishes queued live events once what they describe is durable.
    /// Runs until the task is aborted.
    pub async fn run_publisher(self: Arc<Self>) {
        loop {
            self.publish_wake.notified().await;
            let (batch, needs_flush) = self
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if batch.is_empty() {
                continue;
            }
            // Everything in the batch was written before this call, so this
            // flush covers it. (A batch of journaled messages alone is on
            // disk already.)
            if needs_flush && let Err(error) = self.store.durable().await {
                tracing::error!(%error, "live events withheld: their changes are not durable");
                continue;
            }
            self.live.publish(batch);
        }
    }

    /// Registers a live connection of `user`; its drop starts the grace
    /// period after which the agent goes offline.
    #[must_use]
    pub fn connect(self: &Arc<Self>, user: UserId) -> LiveConnection {
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *connections.open.entry(user).or_insert(0) += 1;
        connections.lost.remove(&user);
        LiveConnection {
            engine: Arc::clone(self),
            user,
        }
    }

    /// Agents whose live connection has been gone longer than the grace
    /// period, and who are not offline yet.
    fn walked_away(&self, desk: &Desk, now: Timestamp) -> Vec<UserId> {
        let grace = self.config.presence_grace;
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if connections.lost.is_empty() {
            return Vec::new();
        }
        let gone: Vec<UserId> = connections
            .lost
            .iter()
            .filter(|(_, at)| now >= at.plus(grace))
            .map(|(user, _)| *user)
            .collect();
        for user in &gone {
            connections.lost.remove(user);
        }
        gone.into_iter()
            .filter(|user| desk.agent(*user).presence != Presence::Offline)
            .collect()
    }

    fn write_agent(&self, desk: &Desk, agent: UserId) -> Result<(), EngineError> {
        let view = desk.agent(agent);
        let capacity = self.store.agent_state(agent.0)?.and_then(|a| a.capacity);
        self.store.put_agent_state(
            agent.0,
            &AgentRecord {
                presence: status::presence_code(view.presence),
                capacity,
            },
        )?;
        Ok(())
    }

    /// Time passed: pending transfers past the timeout come back. Run by a
    /// timer, and before every command and read, so a rule never waits for
    /// the timer.
    pub fn tick(&self) -> Result<(), EngineError> {
        let now = self.now();
        let mut desk = self.lock_desk();
        self.apply_due_timeouts(&mut desk, now)?;
        self.announce_windows(now)?;
        for agent in self.walked_away(&desk, now) {
            tracing::info!(
                user_id = agent.0,
                "agent's live connection is gone: now offline"
            );
            let events = desk.apply(
                Command::SetPresence {
                    agent,
                    presence: Presence::Offline,
                },
                now,
            )?;
            self.persist(&mut desk, &events, None)?;
        }
        Ok(())
    }

    /// Watches a live conversation's service window (if its channel, given
    /// by the caller who has it at hand, has one).
    fn watch_window(&self, conversation: &ConversationRecord, channel: &ChannelRecord) {
        // Ended, or never written in by the contact: nothing to count down.
        let closes_at = (!conversation.is_ended() && conversation.last_inbound_ms.is_some())
            .then(|| self.closes_at(channel, conversation))
            .flatten();
        self.windows.set(conversation.id, closes_at);
    }

    /// Watches again every live conversation of a channel whose window
    /// changed.
    pub fn channel_changed(&self, channel: u64) -> Result<(), EngineError> {
        let channel = self.channel(channel)?;
        for conversation in self.store.live_conversations()? {
            if conversation.channel_id == channel.id {
                self.watch_window(&conversation, &channel);
            }
        }
        Ok(())
    }

    /// Tells the holders of conversations whose window is about to close,
    /// or has closed, so the console switches to templates on time.
    fn announce_windows(&self, now: Timestamp) -> Result<(), EngineError> {
        let due = self.windows.due(now);
        for (kind, list) in [
            ("window.closing", due.closing),
            ("window.closed", due.closed),
        ] {
            for (id, closes_at) in list {
                if let Some(conversation) = self.store.conversation(id)? {
                    let mut data = conversation_json(&conversation);
                    data["window_closes_at"] = json!(closes_at.to_rfc3339());
                    self.push_live(audience_of(&conversation, Vec::new()), kind, data);
                }
            }
        }
        Ok(())
    }

    /// Returns pending transfers whose timeout passed, if any can have; keeps
    /// the deadline hint current.
    fn apply_due_timeouts(
        &self,
        desk: &mut Desk,
        now: Timestamp,
    ) -> Result<Vec<Event>, EngineError> {
        let due = self
            .next_deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|deadline| now >= deadline);
        if !due {
            return Ok(Vec::new());
        }
        let events = desk.apply(Command::Tick, now)?;
        self.persist(desk, &events, None)?;
        let timeout = desk.settings().transfer_timeout;
        let next = desk
            .conversations()
            .filter_map(|(_, status)| match status {
                Status::TransferPending { requested_at, .. } => Some(requested_at.plus(timeout)),
                _ => None,
            })
            .min();
        *self
            .next_deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = next;
        Ok(events)
    }

    /// Notes a deadline (a transfer was requested, or the timeout changed).
    fn expect_deadline(&self, at: Timestamp) {
        let mut next = self
            .next_deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *next = Some(next.map_or(at, |n| n.min(at)));
    }

    /// Sets an agent's presence: their own, or (supervisors) anyone's,
    /// which is audited.
    pub fn set_presence(
        &self,
        caller: &Caller,
        agent: UserId,
        presence: Presence,
    ) -> Result<(), EngineError> {
        let audit = (agent != caller.user.id).then(|| {
            (
                AuditAction::PresenceSetBySupervisor,
                format!("user:{agent}"),
                json!({ "presence": presence.as_str() }),
            )
        });
        if agent == caller.user.id {
            // Someone setting their own presence is at their desk, socket or
            // not: no grace period runs for them.
            self.connections
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .lost
                .remove(&agent);
        }
        self.command(
            Some(caller),
            Command::SetPresence { agent, presence },
            audit,
        )?;
        Ok(())
    }

    /// Sets an agent's capacity override (`None` = the default).
    pub fn set_capacity(
        &self,
        caller: &Caller,
        agent: UserId,
        capacity: Option<u32>,
    ) -> Result<(), EngineError> {
        if capacity.is_some_and(|c| c > 1000) {
            return Err(ValidationError::new("capacity", "must be 0 to 1000").into());
        }
        let now = self.now();
        let mut desk = self.lock_desk();
        let events = desk.apply(Command::SetCapacity { agent, capacity }, now)?;
        self.store.put_agent_state(
            agent.0,
            &AgentRecord {
                presence: status::presence_code(desk.agent(agent).presence),
                capacity,
            },
        )?;
        self.persist(&mut desk, &events, None)?;
        self.store.append_audit(
            &AuditEvent::new(caller.actor(), AuditAction::CapacityChanged)
                .target(format!("user:{agent}"))
                .source(caller.source.clone())
                .detail(json!({ "capacity": capacity }).to_string()),
            now,
        )?;
        Ok(())
    }

    /// The desk settings in force.
    #[must_use]
    pub fn desk_settings(&self) -> DeskSettings {
        self.lock_desk().settings().clone()
    }

    /// Changes the desk settings: default capacity, transfer timeout, end
    /// reasons (each optional).
    pub fn configure_desk(
        &self,
        caller: &Caller,
        default_capacity: Option<u32>,
        transfer_timeout: Option<Duration>,
        end_reasons: Option<Vec<String>>,
    ) -> Result<DeskSettings, EngineError> {
        if default_capacity.is_some_and(|c| c > 1000) {
            return Err(ValidationError::new("default_capacity", "must be 0 to 1000").into());
        }
        if transfer_timeout.is_some_and(|t| t.as_secs() < 10 || t.as_secs() > 86_400) {
            return Err(ValidationError::new(
                "transfer_timeout_secs",
                "must be 10 to 86400 seconds",
            )
            .into());
        }
        let end_reasons = match end_reasons {
            None => None,
            Some(list) => {
                let mut reasons: Vec<String> = Vec::new();
                for raw in &list {
                    let reason = EndReason::parse(raw)?;
                    if reasons.iter().any(|r| r == reason.as_str()) {
                        return Err(ValidationError::new(
                            "end_reasons",
                            format!("`{}` is listed twice", reason.as_str()),
                        )
                        .into());
                    }
                    reasons.push(reason.as_str().to_owned());
                }
                if reasons.is_empty() || reasons.len() > 100 {
                    return Err(
                        ValidationError::new("end_reasons", "needs 1 to 100 reasons").into(),
                    );
                }
                Some(reasons)
            }
        };
        let now = self.now();
        let mut desk = self.lock_desk();
        let mut settings = desk.settings().clone();
        if let Some(c) = default_capacity {
            settings.default_capacity = c;
        }
        if let Some(t) = transfer_timeout {
            settings.transfer_timeout = t;
        }
        if let Some(r) = end_reasons {
            settings.end_reasons = r;
        }
        let events = desk.reconfigure(settings.clone(), now);
        // A new timeout moves every pending transfer's deadline.
        self.expect_deadline(now);
        self.store.put_desk_settings(&settings_record(&settings))?;
        self.persist(&mut desk, &events, None)?;
        self.store.append_audit(
            &AuditEvent::new(caller.actor(), AuditAction::DeskSettingsChanged)
                .target("desk")
                .source(caller.source.clone())
                .detail(
                    json!({
                        "default_capacity": settings.default_capacity,
                        "transfer_timeout_secs": settings.transfer_timeout.as_secs(),
                        "end_reasons": settings.end_reasons,
                    })
                    .to_string(),
                ),
            now,
        )?;
        Ok(settings)
    }

    /// The caller takes the oldest queued conversation, beyond capacity
    /// (rule 3). Returns it.
    pub fn pull(&self, caller: &Caller) -> Result<u64, EngineError> {
        let events = self.command(
            Some(caller),
            Command::Pull {
                agent: caller.user.id,
            },
            None,
        )?;
        events
            .iter()
            .find_map(|e| match e {
                Event::Assigned {
                    conversation,
                    how: omnigate_domain::routing::Assignment::Pulled,
                    ..
                } => Some(conversation.0),
                _ => None,
            })
            .ok_or_else(|| EngineError::Rule(RuleError::QueueEmpty))
    }

    /// Offers a held conversation to an online colleague (rule 4).
    pub fn request_transfer(
        &self,
        caller: &Caller,
        conversation: u64,
        to: UserId,
        note: Option<String>,
    ) -> Result<(), EngineError> {
        let note = match note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) {
            Some(n) if n.chars().count() > 1000 => {
                return Err(ValidationError::new("note", "at most 1000 characters").into());
            }
            other => other,
        };
        self.command(
            Some(caller),
            Command::RequestTransfer {
                conversation: ConversationId(conversation),
                from: caller.user.id,
                to,
                note: note.clone(),
            },
            Some((
                AuditAction::TransferRequested,
                format!("conversation:{conversation}"),
                json!({ "to": to.0, "note": note }),
            )),
        )?;
        Ok(())
    }

    /// The target accepts or declines a pending transfer.
    pub fn answer_transfer(
        &self,
        caller: &Caller,
        conversation: u64,
        accept: bool,
    ) -> Result<(), EngineError> {
        self.command(
            Some(caller),
            Command::AnswerTransfer {
                conversation: ConversationId(conversation),
                agent: caller.user.id,
                accept,
            },
            Some((
                AuditAction::TransferAnswered,
                format!("conversation:{conversation}"),
                json!({ "accepted": accept }),
            )),
        )?;
        Ok(())
    }

    /// The holder puts a conversation back into the queue.
    pub fn transfer_to_queue(&self, caller: &Caller, conversation: u64) -> Result<(), EngineError> {
        self.command(
            Some(caller),
            Command::TransferToQueue {
                conversation: ConversationId(conversation),
                by: caller.user.id,
            },
            Some((
                AuditAction::TransferredToQueue,
                format!("conversation:{conversation}"),
                json!({}),
            )),
        )?;
        Ok(())
    }

    /// The holder hands a conversation to a configured, enabled chatbot
    /// flow, which opens over the contact's latest message.
    pub fn transfer_to_flow(
        &self,
        caller: &Caller,
        conversation: u64,
        flow: String,
    ) -> Result<(), EngineError> {
        let flow = flow.trim().to_owned();
        if flow.is_empty() || flow.chars().count() > 100 {
            return Err(ValidationError::new("flow", "must have 1 to 100 characters").into());
        }
        self.check_flow(&flow)?;
        self.command(
            Some(caller),
            Command::TransferToFlow {
                conversation: ConversationId(conversation),
                by: caller.user.id,
                flow: flow.clone(),
            },
            Some((
                AuditAction::TransferredToFlow,
                format!("conversation:{conversation}"),
                json!({ "flow": flow }),
            )),
        )?;
        self.begin_handed_over_session(conversation, &flow)?;
        Ok(())
    }

    /// Ends a conversation with a reason from the list (rule 5). Supervisors
    /// may end any live conversation.
    pub fn end(
        &self,
        caller: &Caller,
        conversation: u64,
        reason: String,
    ) -> Result<(), EngineError> {
        self.command(
            Some(caller),
            Command::End {
                conversation: ConversationId(conversation),
                by: caller.user.id,
                as_supervisor: caller.supervises(),
                reason: reason.trim().to_owned(),
            },
            Some((
                AuditAction::ConversationEnded,
                format!("conversation:{conversation}"),
                json!({ "reason": reason.trim() }),
            )),
        )?;
        Ok(())
    }

    /// Reopens an ended conversation into the caller's inbox (rule 6).
    /// Agents reopen conversations they handled; supervisors any.
    pub fn reopen(&self, caller: &Caller, conversation: u64) -> Result<(), EngineError> {
        let record = self.conversation_for(caller, conversation)?;
        if !record.is_ended() {
            return Err(RuleError::WrongState {
                conversation: ConversationId(conversation),
                found: "not ended",
                needed: "ended",
            }
            .into());
        }
        let now = self.now();
        let mut desk = self.lock_desk();
        // Claim the contact's open slot first, in one store transaction: a
        // message arriving meanwhile either finds this conversation open, or
        // has started a newer one and the reopen is refused. Never both.
        if let Some(open) = self
            .store
            .claim_open_slot(record.contact_id, conversation)?
        {
            return Err(EngineError::Forbidden(format!(
                "the contact has a newer conversation ({open}) that has not ended; continue there"
            )));
        }
        let restored = desk.status(ConversationId(conversation)).is_none();
        if restored {
            desk.restore(
                ConversationId(conversation),
                status::from_record(&record.status),
                now,
            )?;
        }
        let outcome = self
            .apply_due_timeouts(&mut desk, now)
            .and_then(|mut events| {
                let more = desk.apply(
                    Command::Reopen {
                        conversation: ConversationId(conversation),
                        agent: caller.user.id,
                    },
                    now,
                )?;
                self.persist(&mut desk, &more, Some(caller.user.id))?;
                events.extend(more);
                Ok(events)
            });
        if let Err(error) = outcome {
            // Give back what was taken for a reopen that did not happen.
            if restored {
                desk.forget_ended(ConversationId(conversation));
            }
            self.store
                .release_open_slot(record.contact_id, conversation)?;
            return Err(error);
        }
        self.store.append_audit(
            &AuditEvent::new(caller.actor(), AuditAction::ConversationReopened)
                .target(format!("conversation:{conversation}"))
                .source(caller.source.clone())
                .detail(json!({}).to_string()),
            now,
        )?;
        Ok(())
    }

    /// A supervisor gives a conversation to an online agent.
    pub fn reassign(
        &self,
        caller: &Caller,
        conversation: u64,
        to: UserId,
    ) -> Result<(), EngineError> {
        self.command(
            Some(caller),
            Command::Reassign {
                conversation: ConversationId(conversation),
                to,
            },
            Some((
                AuditAction::ConversationReassigned,
                format!("conversation:{conversation}"),
                json!({ "to": to.0 }),
            )),
        )?;
        Ok(())
    }

    /// The queue, oldest first, with when each entered it.
    #[must_use]
    pub fn queue(&self) -> Vec<(u64, Timestamp)> {
        self.lock_desk().queue().map(|(c, t)| (c.0, t)).collect()
    }

    /// An agent's presence, load and capacity.
    #[must_use]
    pub fn agent(&self, agent: UserId) -> omnigate_domain::routing::AgentView {
        self.lock_desk().agent(agent)
    }

    /// Every agent the desk knows.
    #[must_use]
    pub fn agents(&self) -> Vec<(UserId, omnigate_domain::routing::AgentView)> {
        self.lock_desk().agents().collect()
    }

    /// Conversations an agent holds or is offered, by the desk.
    #[must_use]
    pub fn inbox_of(&self, agent: UserId) -> Vec<u64> {
        let desk = self.lock_desk();
        let mut ids: Vec<u64> = desk.held_by(agent).map(|c| c.0).collect();
        ids.extend(desk.conversations().filter_map(|(c, s)| match s {
            Status::TransferPending { to, .. } if *to == agent => Some(c.0),
            _ => None,
        }));
        ids.sort_unstable();
        ids
    }

    /// Wakes the delivery worker (a new outbound message is waiting).
    pub(crate) fn delivery_wake(&self) -> &tokio::sync::Notify {
        &self.delivery_wake
    }
}

/// The agents who hold a conversation (a pending transfer's target too).
fn holders_of(conversation: &ConversationRecord) -> Vec<UserId> {
    match &conversation.status {
        StatusRecord::Assigned { agent } => vec![UserId(*agent)],
        StatusRecord::TransferPending { from, to, .. } => vec![UserId(*from), UserId(*to)],
        _ => Vec::new(),
    }
}

/// Who sees events about a conversation: its holders, supervisors, and
/// `also`. A queued conversation's events go to supervisors only: agents
/// learn the queue's length from the `queue` event and pull the oldest, so
/// a busy queue does not flood every console with its messages.
fn audience_of(conversation: &ConversationRecord, also: Vec<UserId>) -> Audience {
    let mut users = holders_of(conversation);
    users.extend(also);
    users.dedup();
    Audience::Users(users)
}

/// The short form of a conversation in live events; the console fetches
/// the rest when it needs it.
/// The `message` live event's data.
///
/// Written straight to JSON text from the records (see
/// [`live::EventData::Text`]): it is the one event every inbound message
/// makes.
fn message_event(conversation: &ConversationRecord, message: &MessageRecord) -> live::EventData {
    #[derive(serde::Serialize)]
    struct MessageEvent<'a> {
        conversation: ConversationJson<'a>,
        message: wire::MessageJson<'a>,
    }
    let event = MessageEvent {
        conversation: ConversationJson::new(conversation),
        message: wire::MessageJson::new(message),
    };
    match serde_json::to_string(&event) {
        Ok(text) => live::EventData::Text(text),
        // Cannot happen (no maps, string keys only); the value form would
        // fail alike, so the event goes out without its data.
        Err(error) => {
            tracing::error!(%error, "a message event could not be written");
            live::EventData::Value(serde_json::Value::Null)
        }
    }
}

fn conversation_json(conversation: &ConversationRecord) -> serde_json::Value {
    // Serialising these fields cannot fail (no maps, string keys only).
    serde_json::to_value(ConversationJson::new(conversation)).unwrap_or(serde_json::Value::Null)
}

/// A conversation's short form in live events, serialisable without a
/// value tree (see [`message_event`]).
#[derive(serde::Serialize)]
struct ConversationJson<'a> {
    id: u64,
    channel_id: u64,
    status: &'static str,
    agent_id: Option<u64>,
    preview: &'a str,
    unread: u32,
    last_message_at: String,
    last_inbound_at: Option<String>,
}

impl<'a> ConversationJson<'a> {
    fn new(conversation: &'a ConversationRecord) -> ConversationJson<'a> {
        ConversationJson {
            id: conversation.id,
            channel_id: conversation.channel_id,
            status: status_name(&conversation.status),
            agent_id: conversation.agent_id,
            preview: &conversation.preview,
            unread: conversation.unread,
            last_message_at: Timestamp(conversation.last_message_ms).to_rfc3339(),
            last_inbound_at: conversation
                .last_inbound_ms
                .map(|t| Timestamp(t).to_rfc3339()),
        }
    }
}

fn assignment_name(how: omnigate_domain::routing::Assignment) -> &'static str {
    use omnigate_domain::routing::Assignment;
    match how {
        Assignment::Automatic => "automatic",
        Assignment::Pulled => "pulled",
        Assignment::TransferAccepted => "transfer_accepted",
        Assignment::Reopened => "reopened",
        Assignment::Reassigned => "reassigned",
    }
}

/// A file streamed to the staging directory, with what was learnt on the way.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The staged file.
    pub staged: std::path::PathBuf,
    /// Its SHA-256.
    pub sha256: [u8; 32],
    /// Its size.
    pub size_bytes: u64,
    /// MIME type detected from the content.
    pub mime: &'static str,
    /// Media kind detected from the content.
    pub kind: omnigate_domain::conversation::MediaKind,
    /// The name it was uploaded under.
    pub filename: Option<String>,
}

impl Upload {
    fn record(&self, now: Timestamp) -> AttachmentRecord {
        AttachmentRecord {
            sha256: self.sha256,
            size_bytes: self.size_bytes,
            mime: self.mime.to_owned(),
            kind: self.kind.as_str().to_owned(),
            filename: self.filename.clone(),
            created_at_ms: now.0,
        }
    }
}

/// A SHA-256 in hex, as attachments are named.
#[must_use]
pub fn parse_sha256(hex_text: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(hex_text.trim()).ok()?;
    bytes.try_into().ok()
}

fn settings_record(settings: &DeskSettings) -> DeskSettingsRecord {
    DeskSettingsRecord {
        default_capacity: settings.default_capacity,
        transfer_timeout_secs: settings.transfer_timeout.as_secs(),
        end_reasons: settings.end_reasons.clone(),
    }
}
