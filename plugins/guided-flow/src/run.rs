//! Running a definition: where the conversation stands is one step name
//! (the state the host keeps), and each call moves it on.
//!
//! Entering a step says its messages and sets its variables, then does the
//! step's one thing: a question, a typed answer or a shop lookup wait (the
//! step name becomes the state); `next` enters another step at once; a
//! hand-over or an end finishes the flow.

use std::collections::BTreeMap;

use omnigate_plugin_sdk::commerce::{CustomerRef, Order, Product};
use omnigate_plugin_sdk::flow::{Action, FlowContext, FlowEvent, Handoff, ShopAnswer, ShopQuery};
use omnigate_plugin_sdk::types::{
    Button, Choices, Content, Interactive, Menu, MenuRow, MenuSection,
};

use crate::definition::{Ask, Definition, MAX_BUTTONS, Step, Then};

/// Most steps entered in one call: a `next` loop is a mistake in the
/// definition, not a reason to spin until the time budget runs out.
const MAX_HOPS: usize = 32;

/// Said when a reply matches no choice and the definition has no `retry`.
const DEFAULT_RETRY: &str = "Sorry, I did not understand. Please pick one of the options.";

/// Said when a typed answer was expected and something else came.
const TEXT_PLEASE: &str = "Please answer with a text message.";

/// One call's work: the actions so far, and the variables as the flow
/// sees them (the host's plus what this call set).
pub struct Run<'a> {
    definition: &'a Definition,
    context: &'a FlowContext,
    variables: BTreeMap<String, String>,
    actions: Vec<Action>,
}

impl<'a> Run<'a> {
    /// A call over `definition` for `context`.
    pub fn new(definition: &'a Definition, context: &'a FlowContext) -> Run<'a> {
        Run {
            definition,
            context,
            variables: context.variables.iter().cloned().collect(),
            actions: Vec::new(),
        }
    }

    /// Opens the flow (the opening message itself is not interpreted: the
    /// flow greets and asks).
    pub fn start(mut self) -> Result<(Vec<Action>, String), String> {
        let at = self.enter(&self.definition.start.clone())?;
        Ok((self.actions, at))
    }

    /// Moves on from step `at` with `event`.
    pub fn resume(mut self, at: &str, event: FlowEvent) -> Result<(Vec<Action>, String), String> {
        let step = self
            .definition
            .steps
            .get(at)
            .ok_or_else(|| format!("the saved step `{at}` is no longer in the definition"))?;
        let at = match (step.then(), event) {
            (Some(Then::Ask(ask)), FlowEvent::Message(content)) => match pick(ask, &content) {
                Some(choice) => {
                    if let Some(variable) = &ask.variable {
                        self.set(variable, choice.id.clone());
                    }
                    let next = choice.next.clone();
                    self.enter(&next)?
                }
                None => match &ask.otherwise {
                    Some(otherwise) => self.enter(&otherwise.clone())?,
                    None => {
                        let retry = self
                            .definition
                            .retry
                            .clone()
                            .unwrap_or_else(|| DEFAULT_RETRY.to_owned());
                        self.say(&retry);
                        self.ask(ask);
                        at.to_owned()
                    }
                },
            },
            (Some(Then::Input(input)), FlowEvent::Message(content)) => {
                match content.as_text().map(str::trim).filter(|t| !t.is_empty()) {
                    Some(text) => {
                        self.set(&input.variable, text.to_owned());
                        self.enter(&input.next.clone())?
                    }
                    None => {
                        self.say(TEXT_PLEASE);
                        at.to_owned()
                    }
                }
            }
            (Some(Then::Lookup(lookup)), FlowEvent::ShopAnswer(answer)) => {
                let next = match self.found(answer) {
                    Found::Yes => &lookup.found,
                    Found::No => &lookup.missing,
                    Found::Failed => lookup.failed.as_ref().unwrap_or(&lookup.missing),
                };
                self.enter(&next.clone())?
            }
            // A message while the shop is being asked, or a shop answer
            // nobody waits for: nothing to do; keep waiting.
            _ => at.to_owned(),
        };
        Ok((self.actions, at))
    }

    /// Enters `name` and follows `next`s; returns the step that waits (or
    /// the finished one).
    fn enter(&mut self, name: &str) -> Result<String, String> {
        let mut name = name.to_owned();
        for _ in 0..MAX_HOPS {
            let step: &Step = self
                .definition
                .steps
                .get(&name)
                .ok_or_else(|| format!("no step `{name}`"))?;
            for text in &step.say {
                self.say(text);
            }
            for (variable, value) in &step.set {
                let value = self.fill(value);
                self.set(variable, value);
            }
            match step.then() {
                Some(Then::Ask(ask)) => {
                    self.ask(ask);
                    return Ok(name);
                }
                Some(Then::Input(_)) => return Ok(name),
                Some(Then::Lookup(lookup)) => {
                    let query = if let Some(order) = &lookup.order {
                        ShopQuery::GetOrder(order_reference(&self.fill(order)))
                    } else if let Some(words) = &lookup.products {
                        ShopQuery::SearchProducts(self.fill(words))
                    } else {
                        ShopQuery::OrdersByCustomer(self.contact_ref())
                    };
                    self.actions.push(Action::ShopLookup(query));
                    return Ok(name);
                }
                Some(Then::Next(next)) => name = next.to_owned(),
                Some(Then::Handoff(handoff)) => {
                    let note = handoff.note.as_ref().map(|n| self.fill(n));
                    self.actions
                        .push(Action::HandoffToQueue(Handoff { queue: None, note }));
                    return Ok(name);
                }
                Some(Then::End(end)) => {
                    self.actions.push(Action::End(end.reason.clone()));
                    return Ok(name);
                }
                None => return Err(format!("step `{name}` does not say what comes next")),
            }
        }
        Err(format!(
            "more than {MAX_HOPS} steps followed one another without waiting (a `next` loop?)"
        ))
    }

    fn say(&mut self, text: &str) {
        let text = self.fill(text);
        self.actions.push(Action::Say(Content::text(text)));
    }

    fn set(&mut self, variable: &str, value: String) {
        self.variables.insert(variable.to_owned(), value.clone());
        self.actions
            .push(Action::SetVariable((variable.to_owned(), value)));
    }

    fn ask(&mut self, ask: &Ask) {
        let choices = if ask.choices.len() <= MAX_BUTTONS {
            Choices::Buttons(
                ask.choices
                    .iter()
                    .map(|c| Button {
                        id: c.id.clone(),
                        title: self.fill(&c.title),
                    })
                    .collect(),
            )
        } else {
            Choices::Menu(Menu {
                button: ask.button.clone().unwrap_or_else(|| "Options".to_owned()),
                sections: vec![MenuSection {
                    title: None,
                    rows: ask
                        .choices
                        .iter()
                        .map(|c| MenuRow {
                            id: c.id.clone(),
                            title: self.fill(&c.title),
                            description: c.description.as_ref().map(|d| self.fill(d)),
                        })
                        .collect(),
                }],
            })
        };
        self.actions.push(Action::Ask(Interactive {
            header: ask.header.as_ref().map(|h| self.fill(h)),
            body: self.fill(&ask.text),
            footer: ask.footer.as_ref().map(|f| self.fill(f)),
            choices,
        }));
    }

    /// Sets the variables a shop answer gives and says how it went.
    fn found(&mut self, answer: ShopAnswer) -> Found {
        match answer {
            ShopAnswer::Order(Some(order)) => {
                self.set_order(&order);
                Found::Yes
            }
            ShopAnswer::Orders(orders) => {
                self.set("orders.count", orders.len().to_string());
                match orders.first() {
                    Some(order) => {
                        self.set_order(order);
                        Found::Yes
                    }
                    None => Found::No,
                }
            }
            ShopAnswer::Products(products) => {
                self.set("products.count", products.len().to_string());
                match products.first() {
                    Some(product) => {
                        self.set_product(product);
                        Found::Yes
                    }
                    None => Found::No,
                }
            }
            ShopAnswer::Order(None) => Found::No,
            ShopAnswer::Failed(error) => {
                self.set("shop.error", format!("{error:?}"));
                Found::Failed
            }
        }
    }

    fn set_order(&mut self, order: &Order) {
        self.set("order.number", order.number.clone());
        self.set("order.status", order.status_label.clone());
        self.set(
            "order.total",
            order
                .total
                .as_ref()
                .map(|m| format!("{} {}", m.amount, m.currency))
                .unwrap_or_default(),
        );
        self.set("order.date", order.created_at.clone().unwrap_or_default());
        let tracking = order
            .tracking
            .iter()
            .chain(order.lines.iter().flat_map(|l| l.tracking.iter()))
            .next();
        self.set(
            "order.tracking",
            tracking.map(|t| t.number.clone()).unwrap_or_default(),
        );
        self.set(
            "order.tracking_url",
            tracking.and_then(|t| t.url.clone()).unwrap_or_default(),
        );
    }

    fn set_product(&mut self, product: &Product) {
        self.set("product.title", product.title.clone());
        self.set(
            "product.price",
            product
                .price
                .as_ref()
                .map(|m| format!("{} {}", m.amount, m.currency))
                .unwrap_or_default(),
        );
        self.set("product.url", product.url.clone().unwrap_or_default());
        self.set(
            "product.stock",
            product.stock.map(|s| s.to_string()).unwrap_or_default(),
        );
    }

    /// The contact's phone for an order lookup (WhatsApp ids are bare
    /// international digits).
    fn contact_ref(&self) -> CustomerRef {
        let contact = &self.context.contact;
        let phone = contact.phone.clone().unwrap_or_else(|| {
            let digits = contact.external_id.trim_start_matches('+');
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                format!("+{digits}")
            } else {
                contact.external_id.clone()
            }
        });
        CustomerRef::Phone(phone)
    }

    /// Fills `{{name}}`s: `contact.name`, `contact.phone`, `contact.id`,
    /// `flow`, and the variables; an unknown name becomes empty.
    fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                out.push_str(&rest[open..]);
                return out;
            };
            out.push_str(&self.value_of(after[..close].trim()));
            rest = &after[close + 2..];
        }
        out.push_str(rest);
        out
    }

    fn value_of(&self, name: &str) -> String {
        let contact = &self.context.contact;
        match name {
            "contact.name" => contact.display_name.clone().unwrap_or_default(),
            "contact.phone" => contact.phone.clone().unwrap_or_default(),
            "contact.id" => contact.external_id.clone(),
            "flow" => self.context.flow.clone(),
            other => self.variables.get(other).cloned().unwrap_or_default(),
        }
    }
}

/// An order reference as filled in: trimmed, and one `#` where a
/// template's `#{{number}}` met a contact who typed the `#` too (shops
/// such as Shopify look `#1042` up by name, `1042` by id).
fn order_reference(filled: &str) -> String {
    let trimmed = filled.trim();
    if trimmed.starts_with("##") {
        format!("#{}", trimmed.trim_start_matches('#').trim_start())
    } else {
        trimmed.to_owned()
    }
}

enum Found {
    Yes,
    No,
    Failed,
}

/// The choice a reply picks: a button or list reply by id; typed text by
/// its number, its title, or a word starting with one of its keywords
/// (ignoring case).
fn pick<'d>(ask: &'d Ask, reply: &Content) -> Option<&'d crate::definition::Choice> {
    if let Content::InteractiveReply(reply) = reply {
        return ask.choices.iter().find(|c| c.id == reply.id);
    }
    let text = reply.as_text()?.trim().trim_end_matches('.').to_lowercase();
    if let Ok(n) = text.parse::<usize>() {
        return n.checked_sub(1).and_then(|i| ask.choices.get(i));
    }
    ask.choices.iter().find(|c| {
        c.title.to_lowercase() == text
            || c.id.to_lowercase() == text
            || c.keywords.iter().any(|k| {
                let k = k.to_lowercase();
                // A word that starts with the keyword: Turkish adds its
                // endings to the word (`sipariş` → `siparişim`).
                text.split(|ch: char| !ch.is_alphanumeric())
                    .any(|word| !k.is_empty() && word.starts_with(&k))
                    || (k.contains(' ') && text.contains(&k))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnigate_plugin_sdk::commerce::{Customer, Money, OrderStatus, ShopError};
    use omnigate_plugin_sdk::types::{ContactProfile, InteractiveReply};

    const SUPPORT: &str = r##"{
      "start": "menu",
      "retry": "Pick 1 or 2, please.",
      "steps": {
        "menu": {
          "say": ["Hello {{contact.name}}!"],
          "ask": {"text": "How can we help?", "variable": "topic", "choices": [
            {"id": "order", "title": "Where is my order", "keywords": ["kargo", "order"], "next": "ask_number"},
            {"id": "agent", "title": "Talk to a person", "next": "agent"}
          ]}
        },
        "ask_number": {"say": ["Your order number?"], "input": {"variable": "order_number", "next": "lookup"}},
        "lookup": {"lookup": {"order": "#{{order_number}}", "found": "found", "missing": "missing"}},
        "found": {"say": ["Order {{order.number}}: {{order.status}} ({{order.total}})."], "end": {"reason": "Resolved"}},
        "missing": {"say": ["No order {{order_number}}."], "handoff": {"note": "order {{order_number}} not found"}},
        "agent": {"handoff": {}}
      }
    }"##;

    fn context(variables: &[(&str, &str)]) -> FlowContext {
        FlowContext {
            flow: "support".into(),
            contact: ContactProfile {
                external_id: "905321112233".into(),
                display_name: Some("Ayşe".into()),
                phone: None,
                email: None,
                username: None,
                language: None,
                extensions: Vec::new(),
            },
            variables: variables
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// The SDK's types compare by their debug form (they derive no
    /// `PartialEq`).
    fn debug<T: std::fmt::Debug>(value: &T) -> String {
        format!("{value:?}")
    }

    fn texts(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Say(c) => c.as_text().map(str::to_owned),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn opens_with_the_greeting_and_the_question_as_buttons() {
        let definition = Definition::parse(SUPPORT).expect("valid");
        let ctx = context(&[]);
        let (actions, at) = Run::new(&definition, &ctx).start().expect("start");
        assert_eq!(at, "menu");
        assert_eq!(texts(&actions), ["Hello Ayşe!"]);
        let Some(Action::Ask(ask)) = actions.last() else {
            panic!("expected a question, got {actions:?}");
        };
        assert!(matches!(&ask.choices, Choices::Buttons(b) if b.len() == 2));
    }

    #[test]
    fn a_reply_picks_by_button_number_title_or_keyword_else_asks_again() {
        let definition = Definition::parse(SUPPORT).expect("valid");
        let ctx = context(&[]);
        for reply in [
            Content::InteractiveReply(InteractiveReply {
                id: "order".into(),
                title: "Where is my order".into(),
            }),
            Content::text("1"),
            Content::text("where is my ORDER"),
            Content::text("kargom nerede?"),
        ] {
            let (actions, at) = Run::new(&definition, &ctx)
                .resume("menu", FlowEvent::Message(reply.clone()))
                .expect("resume");
            assert_eq!(at, "ask_number", "{reply:?}");
            assert!(
                debug(&actions).contains(&debug(&Action::SetVariable((
                    "topic".into(),
                    "order".into()
                )))),
                "{actions:?}"
            );
        }
        let (actions, at) = Run::new(&definition, &ctx)
            .resume("menu", FlowEvent::Message(Content::text("banana")))
            .expect("resume");
        assert_eq!(at, "menu");
        assert_eq!(texts(&actions), ["Pick 1 or 2, please."]);
        assert!(matches!(actions.last(), Some(Action::Ask(_))));
    }

    #[test]
    fn a_typed_order_number_is_looked_up_and_the_answer_fills_the_reply() {
        let definition = Definition::parse(SUPPORT).expect("valid");
        let ctx = context(&[]);
        let (actions, at) = Run::new(&definition, &ctx)
            .resume("ask_number", FlowEvent::Message(Content::text(" #1042 ")))
            .expect("resume");
        assert_eq!(at, "lookup");
        assert_eq!(
            debug(&actions.last()),
            debug(&Some(&Action::ShopLookup(ShopQuery::GetOrder(
                "#1042".into()
            ))))
        );
        let ctx = context(&[("order_number", "1042")]);
        assert_eq!(order_reference(" ##1042"), "#1042");
        assert_eq!(order_reference("1042 "), "1042");
        let order = Order {
            id: "g1".into(),
            number: "#1042".into(),
            created_at: None,
            status: OrderStatus::Shipped,
            status_label: "Shipped".into(),
            customer: Customer {
                name: None,
                email: None,
                phone: None,
            },
            total: Some(Money {
                amount: "249.90".into(),
                currency: "TRY".into(),
            }),
            lines: Vec::new(),
            tracking: Vec::new(),
            extensions: Vec::new(),
        };
        let (actions, at) = Run::new(&definition, &ctx)
            .resume(
                "lookup",
                FlowEvent::ShopAnswer(ShopAnswer::Order(Some(order))),
            )
            .expect("resume");
        assert_eq!(at, "found");
        assert_eq!(texts(&actions), ["Order #1042: Shipped (249.90 TRY)."]);
        assert_eq!(
            debug(&actions.last()),
            debug(&Some(&Action::End(Some("Resolved".into()))))
        );
        // Not found, or the shop failing: the missing step hands over.
        for answer in [
            ShopAnswer::Order(None),
            ShopAnswer::Failed(ShopError::TransientUpstream("timeout".into())),
        ] {
            let (actions, _) = Run::new(&definition, &ctx)
                .resume("lookup", FlowEvent::ShopAnswer(answer))
                .expect("resume");
            assert_eq!(
                debug(&actions.last()),
                debug(&Some(&Action::HandoffToQueue(Handoff {
                    queue: None,
                    note: Some("order 1042 not found".into())
                })))
            );
        }
    }

    #[test]
    fn a_next_loop_is_an_error_not_a_spin() {
        let definition =
            Definition::parse(r#"{"start":"a","steps":{"a":{"next":"b"},"b":{"next":"a"}}}"#)
                .expect("valid shape");
        let ctx = context(&[]);
        let error = Run::new(&definition, &ctx).start().expect_err("loop");
        assert!(error.contains("loop"), "{error}");
    }

    #[test]
    fn more_than_three_choices_become_a_list() {
        let definition = Definition::parse(
            r#"{"start":"a","steps":{"a":{"ask":{"text":"Pick","button":"Topics","choices":[
              {"id":"1","title":"One","next":"z"},{"id":"2","title":"Two","next":"z"},
              {"id":"3","title":"Three","next":"z"},{"id":"4","title":"Four","next":"z"}]}},
              "z":{"end":{}}}}"#,
        )
        .expect("valid");
        let ctx = context(&[]);
        let (actions, _) = Run::new(&definition, &ctx).start().expect("start");
        let Some(Action::Ask(ask)) = actions.last() else {
            panic!("expected a question");
        };
        assert!(
            matches!(&ask.choices, Choices::Menu(m) if m.button == "Topics" && m.sections[0].rows.len() == 4)
        );
        let (actions, at) = Run::new(&definition, &ctx)
            .resume("a", FlowEvent::Message(Content::text("4")))
            .expect("resume");
        assert_eq!(at, "z");
        assert_eq!(debug(&actions), debug(&vec![Action::End(None)]));
    }
}
