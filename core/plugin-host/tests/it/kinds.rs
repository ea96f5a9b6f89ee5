//! The flow and commerce worlds end to end, and calls of the wrong kind
//! refused before any work.

use omnigate_plugin_host::types::commerce::{CustomerRef, ShopError};
use omnigate_plugin_host::types::flow::{Action, FlowContext, FlowError, FlowEvent};
use omnigate_plugin_host::types::{ContactProfile, Content, InteractiveReply};
use omnigate_plugin_host::{Binding, Cause, PluginKind, Settings};

use crate::support::{fixture, load};

fn context() -> FlowContext {
    FlowContext {
        flow: "welcome".into(),
        contact: ContactProfile {
            external_id: "905321112233".into(),
            display_name: None,
            phone: None,
            email: None,
            username: None,
            language: Some("tr".into()),
            extensions: Vec::new(),
        },
        variables: Vec::new(),
    }
}

#[test]
fn a_flow_starts_and_resumes_with_host_kept_state() {
    let f = fixture();
    let flow = load(&f, "echo-flow");
    assert_eq!(flow.manifest().kind, PluginKind::Flow);
    let binding = Binding::isolated(Settings::default());
    let step = match flow.flow_start(&binding, &context(), &Content::Text("Merhaba".into())) {
        Ok(Ok(step)) => step,
        other => panic!("{other:?}"),
    };
    assert_eq!(step.actions.len(), 2);
    assert!(
        matches!(&step.actions[0], Action::Say(Content::Text(t)) if t == "welcome says: Merhaba")
    );
    assert!(matches!(&step.actions[1], Action::Ask(_)));
    let reply = FlowEvent::Message(Content::InteractiveReply(InteractiveReply {
        id: "agent".into(),
        title: "Agent".into(),
    }));
    let next = match flow.flow_resume(&binding, &context(), &step.state, &reply) {
        Ok(Ok(step)) => step,
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(&next.actions[0], Action::SetVariable((k, v)) if k == "choice" && v == "agent")
    );
    assert!(matches!(&next.actions[1], Action::HandoffToQueue(_)));
    assert_eq!(next.state, vec![2]);
    assert!(matches!(
        flow.flow_resume(&binding, &context(), b"garbage", &reply),
        Ok(Err(FlowError::BadState(_)))
    ));
}

#[test]
fn a_commerce_plugin_answers_lookups() {
    let f = fixture();
    let shop = load(&f, "echo-commerce");
    let binding = Binding::isolated(Settings::default());
    assert!(matches!(
        shop.search_products(&binding, "tişört", 10),
        Ok(Ok(ref products)) if products.len() == 1 && products[0].title == "tişört"
    ));
    assert!(matches!(
        shop.orders_by_customer(&binding, &CustomerRef::Email("a@b.c".into()), 5),
        Ok(Err(ShopError::Unsupported(_)))
    ));
    assert!(matches!(shop.get_order(&binding, "1042"), Ok(Ok(None))));
    // The SDK's defaults: no actions, and performing one is refused.
    assert!(matches!(shop.allowed_actions(&binding, "1042"), Ok(Ok(ref a)) if a.is_empty()));
    assert!(matches!(
        shop.perform_action(&binding, "1042", "cancel"),
        Ok(Err(ShopError::Unsupported(_)))
    ));
}

#[test]
fn a_call_of_the_wrong_kind_is_refused() {
    let f = fixture();
    let shop = load(&f, "echo-commerce");
    let binding = Binding::isolated(Settings::default());
    match shop.capabilities(&binding) {
        Err(e) => {
            assert_eq!(e.function, "capabilities");
            assert!(
                matches!(e.cause, Cause::Host { ref message } if message.contains("commerce plugin"))
            );
        }
        Ok(caps) => panic!("{caps:?}"),
    }
    assert_eq!(shop.metrics().calls, 0);
}
