//! guided-flow: a chatbot flow an admin writes as a JSON document instead
//! of code. The document (config key `definition`) names steps that say
//! messages, ask questions with buttons or a list, take typed answers,
//! look orders and products up in the shop, hand the conversation to
//! agents or end it. The state the host keeps is the name of the step the
//! conversation waits at; variables live in the host's session.
//!
//! See docs/plugins.md, "The guided flow", for the format.

pub mod definition;
pub mod run;

#[cfg(target_arch = "wasm32")]
mod export {
    use omnigate_plugin_sdk::flow::{Action, Flow, FlowContext, FlowError, FlowEvent, Step};
    use omnigate_plugin_sdk::types::Content;

    use crate::definition::Definition;
    use crate::run::Run;

    /// The state's encoding: a version byte, then the step name.
    const STATE_VERSION: u8 = 1;

    struct GuidedFlow;

    fn definition() -> Result<Definition, FlowError> {
        let text = omnigate_plugin_sdk::config::require("definition")
            .map_err(|e| FlowError::Failed(e.to_string()))?;
        Definition::parse(&text).map_err(FlowError::Failed)
    }

    fn step(outcome: Result<(Vec<Action>, String), String>) -> Result<Step, FlowError> {
        let (actions, at) = outcome.map_err(FlowError::Failed)?;
        let mut state = Vec::with_capacity(at.len() + 1);
        state.push(STATE_VERSION);
        state.extend_from_slice(at.as_bytes());
        Ok(Step { actions, state })
    }

    impl Flow for GuidedFlow {
        fn start(context: FlowContext, _message: Content) -> Result<Step, FlowError> {
            let definition = definition()?;
            step(Run::new(&definition, &context).start())
        }

        fn resume(
            context: FlowContext,
            state: Vec<u8>,
            event: FlowEvent,
        ) -> Result<Step, FlowError> {
            let definition = definition()?;
            let at = match state.split_first() {
                Some((&STATE_VERSION, name)) => std::str::from_utf8(name)
                    .map_err(|_| FlowError::BadState("the step name is not UTF-8".into()))?,
                _ => {
                    return Err(FlowError::BadState(format!(
                        "expected state version {STATE_VERSION}"
                    )));
                }
            };
            step(Run::new(&definition, &context).resume(at, event))
        }
    }

    omnigate_plugin_sdk::export_flow!(GuidedFlow);
}
