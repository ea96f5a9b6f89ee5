//! Flow plugins: chatbot conversations as lists of actions.
//!
//! A flow never blocks waiting for the contact. Each call returns the
//! actions to run now and an opaque `state`; the host stores the state with
//! the conversation and hands it back to [`Flow::resume`] with the contact's
//! next message or the shop's answer. That keeps flows restartable across
//! upgrades and crashes, and keeps one contact's data out of another's call.

pub use crate::bindings::omnigate::plugin::flow_types::{
    Action, FlowContext, FlowError, FlowEvent, Handoff, ShopAnswer, ShopQuery, Step,
};

/// A chatbot flow. Implement it on a unit struct and export it with
/// [`crate::export_flow!`].
pub trait Flow {
    /// Starts the flow over the contact's first message.
    fn start(context: FlowContext, message: crate::types::Content) -> Result<Step, FlowError>;

    /// Resumes the flow with the state it returned last. State from an
    /// older plugin version may arrive after an upgrade: answer `BadState`
    /// and the host hands the conversation to an agent.
    fn resume(context: FlowContext, state: Vec<u8>, event: FlowEvent) -> Result<Step, FlowError>;
}
