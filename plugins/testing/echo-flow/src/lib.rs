//! A minimal flow: greets the contact, asks with buttons, and on the
//! answer sets a variable and hands off to the queue. Its state is the
//! number of turns so far, as the host hands it back.

use omnigate_plugin_sdk::flow::{Action, Flow, FlowContext, FlowError, FlowEvent, Handoff, Step};
use omnigate_plugin_sdk::types::{Button, Choices, Content, Interactive};

struct EchoFlow;

impl Flow for EchoFlow {
    fn start(context: FlowContext, message: Content) -> Result<Step, FlowError> {
        let said = message.as_text().unwrap_or("(no text)").to_owned();
        Ok(Step {
            actions: vec![
                Action::Say(Content::text(format!("{} says: {said}", context.flow))),
                Action::Ask(Interactive {
                    header: None,
                    body: "Track or talk?".into(),
                    footer: None,
                    choices: Choices::Buttons(vec![
                        Button {
                            id: "track".into(),
                            title: "Track".into(),
                        },
                        Button {
                            id: "agent".into(),
                            title: "Agent".into(),
                        },
                    ]),
                }),
            ],
            state: vec![1],
        })
    }

    fn resume(_context: FlowContext, state: Vec<u8>, event: FlowEvent) -> Result<Step, FlowError> {
        let [turns] = state.as_slice() else {
            return Err(FlowError::BadState(format!(
                "expected one byte, got {}",
                state.len()
            )));
        };
        let choice = match event {
            FlowEvent::Message(Content::InteractiveReply(reply)) => reply.id,
            FlowEvent::Message(other) => other.as_text().unwrap_or_default().to_owned(),
            FlowEvent::ShopAnswer(_) => "shop".to_owned(),
        };
        Ok(Step {
            actions: vec![
                Action::SetVariable(("choice".into(), choice)),
                Action::HandoffToQueue(Handoff {
                    queue: None,
                    note: Some(format!("after {turns} turn(s)")),
                }),
            ],
            state: vec![turns.saturating_add(1)],
        })
    }
}

omnigate_plugin_sdk::export_flow!(EchoFlow);
