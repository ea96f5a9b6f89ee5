//! Chatbot flows at run time: a conversation in a flow is answered by the
//! flow's plugin, not an agent.
//!
//! A flow is a configured instance of a flow plugin (`flows` in the store),
//! named by channels (their default flow, rule 1) and by agents handing a
//! conversation over. The flow worker runs each conversation in a flow over
//! the contact messages it has not answered yet, in order: `start` over the
//! first, `resume` over each later one, with the opaque state the plugin
//! returned last (kept in the conversation's flow session). The actions the
//! plugin returns are carried out in order: `say` and `ask` become bot
//! messages sent like an agent's, `set-variable` goes into the session,
//! `shop-lookup` asks the flow's shop and resumes the flow with the answer,
//! `handoff-to-queue` puts the conversation in the queue (its note shown to
//! agents), `end` ends it with a configured reason.
//!
//! A flow that cannot go on (no such flow, disabled, its plugin missing or
//! failing, bad state, an end reason nobody configured) never strands the
//! contact: the conversation goes to the queue with a note saying why.
//!
//! Sessions are written after a message's actions ran, so a crash in
//! between runs that message again: a contact may see a bot answer twice,
//! never none.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, PoisonError};

use omnigate_domain::conversation::{Button, Content, ServiceWindow};
use omnigate_domain::routing::{Command, ConversationId, RuleError};
use omnigate_domain::{AuditAction, Timestamp, ValidationError};
use omnigate_plugin_host::convert;
use omnigate_plugin_host::types::commerce::ShopError;
use omnigate_plugin_host::types::flow::{
    Action, FlowContext, FlowError, FlowEvent, ShopAnswer, ShopQuery,
};
use omnigate_plugin_host::types::{Choices, ContactProfile, Interactive};
use omnigate_plugin_host::{Binding, Settings};
use omnigate_store::conversations::{StatusRecord, author, direction};
use omnigate_store::flows::{FlowRecord, FlowSessionRecord, MAX_VARIABLE_BYTES, MAX_VARIABLES};
use omnigate_store::{ConversationRecord, MessageRecord, Outgoing, StoreError};

use crate::{Engine, EngineError};

/// Conversations run side by side by the worker. A run that waits (a slow
/// shop lookup, a plugin near its time budget) holds one of these and
/// nothing else: the others go on answering.
const PARALLEL_CONVERSATIONS: usize = 8;
/// Contact messages one run answers; a conversation with more waiting is
/// run again at once.
const MESSAGES_PER_RUN: usize = 32;
/// Plugin calls one contact message may cause (its turn plus the resumes
/// answering shop lookups): a flow that keeps asking the shop is stopped.
const CALLS_PER_MESSAGE: usize = 6;
/// Most products a flow's product search hands back.
const SHOP_RESULTS: u32 = 10;

/// Conversations whose flow has work, deduplicated, and the ones being run
/// (a conversation runs at most once at a time, so its messages are
/// answered in order; work that arrives for it meanwhile waits here).
#[derive(Default)]
pub(crate) struct FlowQueue {
    state: std::sync::Mutex<QueueState>,
    wake: tokio::sync::Notify,
}

#[derive(Default)]
struct QueueState {
    pending: BTreeSet<u64>,
    running: HashSet<u64>,
}

impl FlowQueue {
    pub(crate) fn push(&self, conversation: u64) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pending
            .insert(conversation);
        self.wake.notify_one();
    }

    /// Up to `room` pending conversations that are not running, oldest
    /// first, now marked running.
    fn start(&self, room: usize) -> Vec<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let QueueState { pending, running } = &mut *state;
        let ready: Vec<u64> = pending
            .iter()
            .filter(|id| !running.contains(id))
            .take(room)
            .copied()
            .collect();
        for id in &ready {
            pending.remove(id);
            running.insert(*id);
        }
        ready
    }

    /// A run of `conversation` is over; with `again`, it has more waiting.
    fn finish(&self, conversation: u64, again: bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.running.remove(&conversation);
        if again {
            state.pending.insert(conversation);
        }
    }
}

/// Runs the flow worker until the task is aborted. At start it looks at
/// every conversation in a flow, so messages that arrived before a crash
/// or a restart are answered.
///
/// Each conversation's run is its own task, at most
/// [`PARALLEL_CONVERSATIONS`] at once; a finished run frees its place for
/// the next waiting conversation at once, so one slow conversation never
/// holds back the others' answers.
pub async fn run(engine: Arc<Engine>) {
    match engine.store().live_conversations() {
        Ok(live) => {
            for conversation in live {
                if matches!(conversation.status, StatusRecord::InFlow { .. }) {
                    engine.flow_queue.push(conversation.id);
                }
            }
        }
        Err(error) => tracing::error!(%error, "the flow worker could not list conversations"),
    }
    let mut runs = tokio::task::JoinSet::new();
    // Which conversation each task runs, to free it even if the task panicked.
    let mut conversation_of = HashMap::new();
    loop {
        let room = PARALLEL_CONVERSATIONS.saturating_sub(runs.len());
        for id in engine.flow_queue.start(room) {
            let engine = Arc::clone(&engine);
            let task = runs.spawn(async move {
                match engine.run_flow(id).await {
                    Ok(more) => more,
                    Err(error) => {
                        tracing::error!(conversation = id, %error, "a flow run failed");
                        false
                    }
                }
            });
            conversation_of.insert(task.id(), id);
        }
        tokio::select! {
            Some(done) = runs.join_next_with_id(), if !runs.is_empty() => {
                let (task, again) = match done {
                    Ok((task, more)) => (task, more),
                    Err(error) => {
                        tracing::error!(%error, "a flow run stopped");
                        (error.id(), false)
                    }
                };
                if let Some(id) = conversation_of.remove(&task) {
                    engine.flow_queue.finish(id, again);
                }
            }
            () = engine.flow_queue.wake.notified() => {}
        }
    }
}

/// What one plugin turn was asked.
enum Turn {
    Start(Content),
    Resume(FlowEvent),
}

/// Where a run stands after a message's actions.
enum Next {
    /// The flow waits for the contact's next message.
    Wait,
    /// The conversation left the flow (handed off or ended).
    Left,
}

/// Why a flow gave up on a conversation, as agents read it.
struct GiveUp(String);

impl From<EngineError> for GiveUp {
    fn from(error: EngineError) -> GiveUp {
        GiveUp(error.to_string())
    }
}

impl From<StoreError> for GiveUp {
    fn from(error: StoreError) -> GiveUp {
        GiveUp(error.to_string())
    }
}

impl Engine {
    /// Runs conversation `id`'s flow over the contact messages it has not
    /// answered. `Ok(true)` when more are waiting.
    async fn run_flow(&self, id: u64) -> Result<bool, EngineError> {
        let Some(conversation) = self.store().conversation(id)? else {
            return Ok(false);
        };
        let StatusRecord::InFlow { flow: flow_name } = &conversation.status else {
            self.store().delete_flow_session(id)?;
            return Ok(false);
        };
        let mut session = match self.store().flow_session(id)? {
            Some(session) if session.flow == *flow_name => session,
            _ => FlowSessionRecord {
                conversation_id: id,
                flow: flow_name.clone(),
                state: None,
                variables: BTreeMap::new(),
                handled_through: 0,
            },
        };
        let pending = self.unanswered(id, session.handled_through)?;
        if session.state.is_some() && pending.is_empty() {
            return Ok(false);
        }
        let more = pending.len() == MESSAGES_PER_RUN;
        let outcome = self
            .answer_pending(&conversation, flow_name, &mut session, pending)
            .await;
        match outcome {
            Ok(Next::Wait) => {
                self.store().put_flow_session(&session)?;
                self.durable().await?;
                Ok(more)
            }
            Ok(Next::Left) => {
                self.store().delete_flow_session(id)?;
                self.durable().await?;
                Ok(false)
            }
            Err(GiveUp(why)) => {
                self.store().delete_flow_session(id)?;
                self.flow_gives_up(id, flow_name, &why)?;
                self.durable().await?;
                Ok(false)
            }
        }
    }

    /// Up to [`MESSAGES_PER_RUN`] contact messages after `through`, in
    /// order (paging past the bot's and agents' messages between them).
    fn unanswered(
        &self,
        conversation: u64,
        through: u64,
    ) -> Result<Vec<MessageRecord>, EngineError> {
        let mut found = Vec::new();
        let mut after = through;
        loop {
            let page = self
                .store()
                .messages(conversation, Some(after), 4 * MESSAGES_PER_RUN)?;
            let Some(last) = page.last() else {
                return Ok(found);
            };
            after = last.id;
            let full = page.len() == 4 * MESSAGES_PER_RUN;
            found.extend(
                page.into_iter()
                    .filter(|m| m.author == author::CONTACT && m.direction == direction::INBOUND),
            );
            if found.len() >= MESSAGES_PER_RUN {
                found.truncate(MESSAGES_PER_RUN);
                return Ok(found);
            }
            if !full {
                return Ok(found);
            }
        }
    }

    async fn answer_pending(
        &self,
        conversation: &ConversationRecord,
        flow_name: &str,
        session: &mut FlowSessionRecord,
        pending: Vec<MessageRecord>,
    ) -> Result<Next, GiveUp> {
        let flow = match self.store().flow_named(flow_name)? {
            Some(flow) if !flow.disabled => flow,
            Some(_) => return Err(GiveUp(format!("the flow `{flow_name}` is disabled"))),
            None => return Err(GiveUp(format!("no flow named `{flow_name}` is configured"))),
        };
        let plugins = self
            .plugins()
            .ok_or_else(|| GiveUp("plugins are not running".into()))?;
        let loaded = plugins
            .flow_plugin(&flow.plugin)
            .map_err(|e| GiveUp(format!("its plugin: {e}")))?;
        let binding = Arc::new(Binding::isolated(Settings {
            config: flow.config.clone(),
            secrets: flow.secrets.clone(),
        }));
        let contact = self
            .store()
            .contact(conversation.contact_id)?
            .map(|c| ContactProfile {
                external_id: c.external_id,
                display_name: Some(c.name).filter(|n| !n.is_empty()),
                phone: c.phone,
                email: None,
                username: None,
                language: None,
                extensions: Vec::new(),
            })
            .ok_or_else(|| GiveUp("the contact is missing".into()))?;
        let call = |turn: Turn, session: &FlowSessionRecord| {
            let context = FlowContext {
                flow: flow.name.clone(),
                contact: contact.clone(),
                variables: session
                    .variables
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            };
            let state = session.state.clone().unwrap_or_default();
            let loaded = Arc::clone(&loaded);
            let binding = Arc::clone(&binding);
            async move {
                let answer = tokio::task::spawn_blocking(move || match turn {
                    Turn::Start(content) => loaded.plugin.flow_start(
                        &binding,
                        &context,
                        &convert::content_to_wit(&content),
                    ),
                    Turn::Resume(event) => loaded
                        .plugin
                        .flow_resume(&binding, &context, &state, &event),
                })
                .await
                .map_err(|e| GiveUp(format!("the flow call did not finish: {e}")))?;
                match answer {
                    Ok(Ok(step)) => Ok(step),
                    Ok(Err(FlowError::BadState(why))) => Err(GiveUp(format!(
                        "the flow could not read its saved state ({why})"
                    ))),
                    Ok(Err(FlowError::Failed(why))) => Err(GiveUp(why)),
                    Err(error) => Err(GiveUp(error.to_string())),
                }
            }
        };

        let mut turns: Vec<(Turn, u64)> = Vec::new();
        let mut messages = pending.into_iter();
        if session.state.is_none() {
            // The first message the flow sees: the first one waiting, or,
            // when an agent handed the conversation over, the contact's
            // latest one (the flow answers it as its opening).
            let (opening, through) = match messages.next() {
                Some(m) => (m.content.to_domain()?, m.id),
                None => (
                    self.latest_contact_content(conversation.id)?,
                    session.handled_through,
                ),
            };
            turns.push((Turn::Start(opening), through));
        }
        for message in messages {
            turns.push((
                Turn::Resume(FlowEvent::Message(convert::content_to_wit(
                    &message.content.to_domain()?,
                ))),
                message.id,
            ));
        }
        for (turn, through) in turns {
            let mut step = call(turn, session).await?;
            let mut calls = 1;
            loop {
                let lookups = self
                    .carry_out(
                        conversation.id,
                        &flow,
                        session,
                        std::mem::take(&mut step.actions),
                    )
                    .await?;
                session.state = Some(step.state);
                let Some(lookups) = lookups else {
                    session.handled_through = through;
                    return Ok(Next::Left);
                };
                let Some(query) = lookups.into_iter().next() else {
                    break;
                };
                if calls >= CALLS_PER_MESSAGE {
                    return Err(GiveUp(format!(
                        "the flow asked the shop more than {} times for one message",
                        CALLS_PER_MESSAGE - 1
                    )));
                }
                let answer = self.shop_answer(&flow, query).await;
                step = call(Turn::Resume(FlowEvent::ShopAnswer(answer)), session).await?;
                calls += 1;
            }
            session.handled_through = through;
        }
        Ok(Next::Wait)
    }

    /// Carries out a step's actions in order. `None` when the conversation
    /// left the flow (the rest of the actions are dropped); else the shop
    /// lookups asked for, to answer by resuming (the first one: a flow
    /// asks again for what it still needs).
    async fn carry_out(
        &self,
        conversation: u64,
        flow: &FlowRecord,
        session: &mut FlowSessionRecord,
        actions: Vec<Action>,
    ) -> Result<Option<Vec<ShopQuery>>, GiveUp> {
        let mut lookups = Vec::new();
        for action in actions {
            match action {
                Action::Say(content) => {
                    let content = convert::content_from_wit(content)
                        .map_err(|e| GiveUp(format!("the flow said {e}, which cannot be sent")))?;
                    self.say_as_bot(conversation, content)?;
                }
                Action::Ask(interactive) => {
                    self.say_as_bot(conversation, ask_content(interactive))?;
                }
                Action::SetVariable((key, value)) => {
                    if key.is_empty()
                        || key.len() > MAX_VARIABLE_BYTES
                        || value.len() > MAX_VARIABLE_BYTES
                    {
                        return Err(GiveUp(format!(
                            "the flow set a variable out of bounds (key `{}`; at most {MAX_VARIABLE_BYTES} bytes each)",
                            key.chars().take(40).collect::<String>()
                        )));
                    }
                    session.variables.insert(key, value);
                    if session.variables.len() > MAX_VARIABLES {
                        return Err(GiveUp(format!(
                            "the flow set more than {MAX_VARIABLES} variables"
                        )));
                    }
                }
                Action::ShopLookup(query) => lookups.push(query),
                Action::HandoffToQueue(handoff) => {
                    self.flow_hands_off(conversation, &flow.name, handoff.note, session)?;
                    return Ok(None);
                }
                Action::End(reason) => {
                    self.flow_ends(conversation, flow, reason)?;
                    return Ok(None);
                }
            }
        }
        Ok(Some(lookups))
    }

    /// Sends a bot message in a conversation still in its flow. Content the
    /// service window refuses is skipped with a warning (the contact just
    /// wrote, so this happens only after a hand-over of a silent
    /// conversation).
    fn say_as_bot(&self, conversation_id: u64, content: Content) -> Result<(), GiveUp> {
        content
            .validate()
            .map_err(|e| GiveUp(format!("the flow said something invalid: {e}")))?;
        let conversation = self
            .store()
            .conversation(conversation_id)?
            .ok_or_else(|| GiveUp("the conversation is missing".into()))?;
        let channel = self.channel(conversation.channel_id)?;
        let caps = self.capabilities(&channel);
        let content = match content.check_channel(&caps) {
            Ok(()) => content,
            Err(_) => match buttons_as_text(&content) {
                Some(text) => text,
                None => {
                    return Err(GiveUp(format!(
                        "the flow said something channel {} cannot carry",
                        channel.name
                    )));
                }
            },
        };
        let now = self.now();
        if let Err(closed) = ServiceWindow::new(&caps, conversation.last_inbound_ms.map(Timestamp))
            .check(&content, now)
        {
            tracing::warn!(conversation = conversation_id, %closed, "a flow message was not sent");
            return Ok(());
        }
        let deliver = !channel.disabled && (channel.kind != "api" || channel.webhook_url.is_some());
        let (message, after) = self
            .store()
            .append_message(
                conversation_id,
                &Outgoing {
                    direction: direction::OUTBOUND,
                    author: author::BOT,
                    author_user: None,
                    content,
                    at_ms: now.0,
                    deliver,
                },
                |now_stored| {
                    if matches!(now_stored.status, StatusRecord::InFlow { .. }) {
                        Ok(())
                    } else {
                        Err(StoreError::Conflict(format!(
                            "conversation {conversation_id} left its flow"
                        )))
                    }
                },
            )
            .map_err(|e| match e {
                StoreError::Conflict(why) => GiveUp(why),
                other => GiveUp(other.to_string()),
            })?;
        if deliver {
            self.delivery_wake().notify_one();
        }
        self.index_queue.push(&message);
        self.announce_message(&after, &message);
        Ok(())
    }

    /// The flow hands the conversation to the queue, its note shown to the
    /// agent who takes it.
    fn flow_hands_off(
        &self,
        conversation: u64,
        flow: &str,
        note: Option<String>,
        session: &FlowSessionRecord,
    ) -> Result<(), GiveUp> {
        let mut text = format!("The chatbot flow `{flow}` handed this conversation over.");
        if let Some(note) = note.filter(|n| !n.trim().is_empty()) {
            text.push_str(&format!(" Its note: {}", note.trim()));
        }
        if !session.variables.is_empty() {
            let listed: Vec<String> = session
                .variables
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            text.push_str(&format!(" Collected: {}.", listed.join(", ")));
        }
        self.flow_note(conversation, text)?;
        self.desk_command(
            conversation,
            Command::HandOff {
                conversation: ConversationId(conversation),
            },
            AuditAction::FlowHandedOff,
            serde_json::json!({ "flow": flow }),
        )?;
        Ok(())
    }

    /// The flow ends the conversation: with the reason it names when that
    /// one is configured, else the flow's own end reason; with neither, an
    /// agent decides (the conversation goes to the queue).
    fn flow_ends(
        &self,
        conversation: u64,
        flow: &FlowRecord,
        reason: Option<String>,
    ) -> Result<(), GiveUp> {
        let configured = self.desk_settings().end_reasons;
        let Some(reason) = reason
            .into_iter()
            .chain(flow.end_reason.clone())
            .find(|r| configured.contains(r))
        else {
            return Err(GiveUp(
                "the flow ended the conversation without one of the configured end reasons (set the flow's end reason)".into(),
            ));
        };
        self.desk_command(
            conversation,
            Command::FlowEnd {
                conversation: ConversationId(conversation),
                reason: reason.clone(),
            },
            AuditAction::FlowEnded,
            serde_json::json!({ "flow": flow.name, "reason": reason }),
        )?;
        Ok(())
    }

    /// The flow could not go on: the conversation goes to the queue with a
    /// note, so a person answers.
    fn flow_gives_up(&self, conversation: u64, flow: &str, why: &str) -> Result<(), EngineError> {
        tracing::warn!(
            conversation,
            flow,
            why,
            "a chatbot flow gave up; handing to the queue"
        );
        let still_in_flow = self
            .store()
            .conversation(conversation)?
            .is_some_and(|c| matches!(c.status, StatusRecord::InFlow { .. }));
        if !still_in_flow {
            return Ok(());
        }
        self.flow_note(
            conversation,
            format!("The chatbot flow `{flow}` could not go on: {why}. The conversation went to the queue."),
        )?;
        match self.desk_command(
            conversation,
            Command::HandOff {
                conversation: ConversationId(conversation),
            },
            AuditAction::FlowHandedOff,
            serde_json::json!({ "flow": flow, "failure": why }),
        ) {
            // An agent took it meanwhile: nothing left to hand over.
            Ok(_) | Err(EngineError::Rule(RuleError::WrongState { .. })) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// A note in the thread from the flow, for agents only.
    fn flow_note(&self, conversation: u64, text: String) -> Result<(), EngineError> {
        let (message, after) = self.store().append_message(
            conversation,
            &Outgoing {
                direction: direction::NOTE,
                author: author::BOT,
                author_user: None,
                content: Content::Text { body: text },
                at_ms: self.now().0,
                deliver: false,
            },
            |_| Ok(()),
        )?;
        self.announce_message(&after, &message);
        Ok(())
    }

    /// The content of the contact's latest message, or empty text.
    fn latest_contact_content(&self, conversation: u64) -> Result<Content, EngineError> {
        for message in self.store().latest_messages(conversation, 100)? {
            if message.author == author::CONTACT {
                return Ok(message.content.to_domain()?);
            }
        }
        Ok(Content::Text {
            body: String::new(),
        })
    }

    /// Answers a flow's shop lookup from the flow's shop (or the first
    /// enabled one).
    async fn shop_answer(&self, flow: &FlowRecord, query: ShopQuery) -> ShopAnswer {
        let shop = match flow.shop_id {
            Some(id) => self.store().shop(id).ok().flatten().filter(|s| !s.disabled),
            None => self
                .store()
                .shops()
                .ok()
                .and_then(|shops| shops.into_iter().find(|s| !s.disabled)),
        };
        let Some(shop) = shop else {
            return ShopAnswer::Failed(ShopError::Unsupported(
                "no enabled shop is configured for this flow".into(),
            ));
        };
        let answer = match query {
            ShopQuery::SearchProducts(text) => self
                .shop_call_raw(&shop, move |loaded, binding| {
                    loaded.plugin.search_products(&binding, &text, SHOP_RESULTS)
                })
                .await
                .map(|r| r.map(ShopAnswer::Products)),
            ShopQuery::OrdersByCustomer(customer) => self
                .shop_call_raw(&shop, move |loaded, binding| {
                    loaded
                        .plugin
                        .orders_by_customer(&binding, &customer, SHOP_RESULTS)
                })
                .await
                .map(|r| r.map(ShopAnswer::Orders)),
            ShopQuery::GetOrder(order) => self
                .shop_call_raw(&shop, move |loaded, binding| {
                    loaded.plugin.get_order(&binding, &order)
                })
                .await
                .map(|r| r.map(ShopAnswer::Order)),
        };
        match answer {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => ShopAnswer::Failed(error),
            Err(failure) => ShopAnswer::Failed(ShopError::TransientUpstream(failure.to_string())),
        }
    }

    /// Tries a flow's settings before they are saved: opens the flow once
    /// for a sample contact, in a fresh instance, and carries out nothing.
    /// A flow plugin that checks its settings when it starts (the guided
    /// flow parses its whole definition) reports a mistake here, to the
    /// admin, instead of to the first customer. `Err` holds the plugin's
    /// reason.
    pub async fn try_flow_settings(
        &self,
        name: &str,
        plugin: &str,
        config: &BTreeMap<String, String>,
        secrets: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        let plugins = self
            .plugins()
            .ok_or_else(|| "plugins are not running".to_owned())?;
        let loaded = plugins.flow_plugin(plugin).map_err(|e| e.to_string())?;
        let binding = Binding::isolated(Settings {
            config: config.clone(),
            secrets: secrets.clone(),
        });
        let context = FlowContext {
            flow: name.to_owned(),
            contact: ContactProfile {
                external_id: "omnigate-settings-check".into(),
                display_name: Some("Settings check".into()),
                phone: None,
                email: None,
                username: None,
                language: None,
                extensions: Vec::new(),
            },
            variables: Vec::new(),
        };
        let opening = convert::content_to_wit(&Content::Text {
            body: String::new(),
        });
        let answer = tokio::task::spawn_blocking(move || {
            loaded.plugin.flow_start(&binding, &context, &opening)
        })
        .await
        .map_err(|e| format!("the check did not finish: {e}"))?;
        match answer {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(FlowError::BadState(why) | FlowError::Failed(why))) => Err(why),
            Err(error) => Err(error.to_string()),
        }
    }

    /// Hands a conversation to flow `flow`: checks the flow exists and is
    /// enabled, and starts its session over the contact's latest message.
    pub(crate) fn check_flow(&self, flow: &str) -> Result<(), EngineError> {
        match self.store().flow_named(flow)? {
            Some(f) if !f.disabled => Ok(()),
            Some(_) => {
                Err(ValidationError::new("flow", format!("the flow `{flow}` is disabled")).into())
            }
            None => Err(ValidationError::new(
                "flow",
                format!("no flow named `{flow}` is configured"),
            )
            .into()),
        }
    }

    /// A new session for a conversation an agent handed to `flow`: the
    /// messages so far count as answered, the flow opens over the latest.
    pub(crate) fn begin_handed_over_session(
        &self,
        conversation: u64,
        flow: &str,
    ) -> Result<(), EngineError> {
        let through = self
            .store()
            .latest_messages(conversation, 1)?
            .first()
            .map_or(0, |m| m.id);
        self.store().put_flow_session(&FlowSessionRecord {
            conversation_id: conversation,
            flow: flow.to_owned(),
            state: None,
            variables: BTreeMap::new(),
            handled_through: through,
        })?;
        self.flow_queue.push(conversation);
        Ok(())
    }
}

/// What an `ask` sends: buttons as an interactive message; a list menu
/// (which the conversation model does not carry) as text with numbered
/// rows, which the contact answers by number or title.
fn ask_content(interactive: Interactive) -> Content {
    let mut body = String::new();
    if let Some(header) = interactive.header.filter(|h| !h.is_empty()) {
        body.push_str(&header);
        body.push_str("\n\n");
    }
    body.push_str(&interactive.body);
    let content = match interactive.choices {
        Choices::Buttons(buttons) => {
            if let Some(footer) = interactive.footer.filter(|f| !f.is_empty()) {
                body.push_str("\n\n");
                body.push_str(&footer);
            }
            return Content::Interactive {
                body,
                buttons: buttons
                    .into_iter()
                    .map(|b| Button {
                        id: b.id,
                        title: b.title,
                    })
                    .collect(),
            };
        }
        Choices::Menu(menu) => {
            let mut n = 0;
            for section in menu.sections {
                if let Some(title) = section.title.filter(|t| !t.is_empty()) {
                    body.push_str(&format!("\n\n{title}"));
                }
                for row in section.rows {
                    n += 1;
                    body.push_str(&format!("\n{n}. {}", row.title));
                    if let Some(description) = row.description.filter(|d| !d.is_empty()) {
                        body.push_str(&format!(" ({description})"));
                    }
                }
            }
            if let Some(footer) = interactive.footer.filter(|f| !f.is_empty()) {
                body.push_str("\n\n");
                body.push_str(&footer);
            }
            body
        }
    };
    Content::Text { body: content }
}

/// Buttons a channel cannot carry, as numbered text.
fn buttons_as_text(content: &Content) -> Option<Content> {
    let Content::Interactive { body, buttons } = content else {
        return None;
    };
    let mut text = body.clone();
    for (n, button) in buttons.iter().enumerate() {
        text.push_str(&format!("\n{}. {}", n + 1, button.title));
    }
    Some(Content::Text { body: text })
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnigate_plugin_host::types::{Button as WitButton, Menu, MenuRow, MenuSection};

    #[test]
    fn buttons_stay_buttons_and_a_menu_becomes_numbered_text() {
        let buttons = ask_content(Interactive {
            header: None,
            body: "Track or talk?".into(),
            footer: Some("Reply any time".into()),
            choices: Choices::Buttons(vec![WitButton {
                id: "track".into(),
                title: "Track".into(),
            }]),
        });
        assert_eq!(
            buttons,
            Content::Interactive {
                body: "Track or talk?\n\nReply any time".into(),
                buttons: vec![Button {
                    id: "track".into(),
                    title: "Track".into()
                }]
            }
        );
        let menu = ask_content(Interactive {
            header: Some("Help".into()),
            body: "Pick one".into(),
            footer: None,
            choices: Choices::Menu(Menu {
                button: "Options".into(),
                sections: vec![MenuSection {
                    title: Some("Orders".into()),
                    rows: vec![
                        MenuRow {
                            id: "track".into(),
                            title: "Track an order".into(),
                            description: Some("by number".into()),
                        },
                        MenuRow {
                            id: "return".into(),
                            title: "Return".into(),
                            description: None,
                        },
                    ],
                }],
            }),
        });
        assert_eq!(
            menu,
            Content::Text {
                body: "Help\n\nPick one\n\nOrders\n1. Track an order (by number)\n2. Return".into()
            }
        );
        assert_eq!(
            buttons_as_text(&buttons),
            Some(Content::Text {
                body: "Track or talk?\n\nReply any time\n1. Track".into()
            })
        );
    }
}
