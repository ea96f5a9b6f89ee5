//! The flow definition an admin writes: named steps, each saying some
//! text, setting variables, and then doing one thing (ask, wait for a
//! typed answer, look something up in the shop, go on to another step,
//! hand over to agents, or end). Parsed and checked as a whole, so a typo
//! in a step name is reported when the flow is first run, naming the step,
//! not when a customer reaches it.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Most steps one definition may have.
const MAX_STEPS: usize = 200;
/// Most choices one question may offer (a list menu's limit on WhatsApp).
pub const MAX_CHOICES: usize = 10;
/// Questions with this many choices or fewer are sent as buttons.
pub const MAX_BUTTONS: usize = 3;
/// Longest button title WhatsApp accepts.
const MAX_BUTTON_TITLE: usize = 20;
/// Longest list row title WhatsApp accepts.
const MAX_ROW_TITLE: usize = 24;

/// A whole flow.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// The step the flow opens with.
    pub start: String,
    /// Steps by name.
    pub steps: BTreeMap<String, Step>,
    /// Said when a reply matches none of a question's choices and the
    /// question has no `otherwise`; the question is then asked again.
    #[serde(default)]
    pub retry: Option<String>,
}

/// One step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Messages sent on entering the step, in order; `{{variable}}`s are
    /// filled in.
    #[serde(default)]
    pub say: Vec<String>,
    /// Variables set on entering the step (values are templates).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Ask a question with choices and wait for the pick.
    #[serde(default)]
    pub ask: Option<Ask>,
    /// Wait for a typed answer and keep it in a variable.
    #[serde(default)]
    pub input: Option<Input>,
    /// Look something up in the shop and go on by the outcome.
    #[serde(default)]
    pub lookup: Option<Lookup>,
    /// Go on to this step at once.
    #[serde(default)]
    pub next: Option<String>,
    /// Hand the conversation to the agents' queue.
    #[serde(default)]
    pub handoff: Option<Handoff>,
    /// End the conversation.
    #[serde(default)]
    pub end: Option<End>,
}

/// A question with choices.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    /// The question.
    pub text: String,
    /// Shown above it, where the channel supports it.
    #[serde(default)]
    pub header: Option<String>,
    /// Shown below it.
    #[serde(default)]
    pub footer: Option<String>,
    /// The label of the button that opens a list (more than three
    /// choices).
    #[serde(default)]
    pub button: Option<String>,
    /// One to ten choices.
    pub choices: Vec<Choice>,
    /// Where a reply that matches no choice goes; without it the question
    /// is asked again.
    #[serde(default)]
    pub otherwise: Option<String>,
    /// The variable that keeps the chosen choice's id.
    #[serde(default)]
    pub variable: Option<String>,
}

/// One choice of a question.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// Stable id (what a button reply carries).
    pub id: String,
    /// What the contact sees.
    pub title: String,
    /// A second line in a list.
    #[serde(default)]
    pub description: Option<String>,
    /// Words that also pick this choice when typed.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The step it leads to.
    pub next: String,
}

/// A typed answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The variable that keeps it.
    pub variable: String,
    /// The step after it.
    pub next: String,
}

/// A shop lookup.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// Look one order up by this number (a template, e.g.
    /// `{{order_number}}`).
    #[serde(default)]
    pub order: Option<String>,
    /// Look up the contact's own orders, by their phone.
    #[serde(default)]
    pub contact_orders: bool,
    /// Search products by these words (a template).
    #[serde(default)]
    pub products: Option<String>,
    /// The step when something was found (`order.*`, `orders.count` or
    /// `product.*`, `products.count` are set).
    pub found: String,
    /// The step when nothing was found.
    pub missing: String,
    /// The step when the shop could not answer (`shop.error` is set);
    /// `missing` when absent.
    #[serde(default)]
    pub failed: Option<String>,
}

/// A hand-over to agents.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    /// Shown to the agent who takes it (a template).
    #[serde(default)]
    pub note: Option<String>,
}

/// An end.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct End {
    /// One of the appliance's end reasons; absent = the flow's configured
    /// end reason.
    #[serde(default)]
    pub reason: Option<String>,
}

/// What comes after a step's messages.
pub enum Then<'a> {
    /// A question.
    Ask(&'a Ask),
    /// A typed answer.
    Input(&'a Input),
    /// A shop lookup.
    Lookup(&'a Lookup),
    /// Another step at once.
    Next(&'a str),
    /// The queue.
    Handoff(&'a Handoff),
    /// The end.
    End(&'a End),
}

impl Step {
    /// The one thing this step does after its messages (checked by
    /// [`Definition::parse`]).
    pub fn then(&self) -> Option<Then<'_>> {
        let mut found = self.candidates();
        let first = found.next();
        if found.next().is_some() {
            return None;
        }
        first
    }

    fn candidates(&self) -> impl Iterator<Item = Then<'_>> {
        [
            self.ask.as_ref().map(Then::Ask),
            self.input.as_ref().map(Then::Input),
            self.lookup.as_ref().map(Then::Lookup),
            self.next.as_deref().map(Then::Next),
            self.handoff.as_ref().map(Then::Handoff),
            self.end.as_ref().map(Then::End),
        ]
        .into_iter()
        .flatten()
    }
}

impl Definition {
    /// Parses and checks a definition; the error names the step and the
    /// field at fault.
    pub fn parse(text: &str) -> Result<Definition, String> {
        let definition: Definition =
            serde_json::from_str(text).map_err(|e| format!("the definition is not valid: {e}"))?;
        definition.check()?;
        Ok(definition)
    }

    fn check(&self) -> Result<(), String> {
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            return Err(format!("a definition has 1 to {MAX_STEPS} steps"));
        }
        let exists = |from: &str, field: &str, to: &str| {
            if self.steps.contains_key(to) {
                Ok(())
            } else {
                Err(format!(
                    "step `{from}`: `{field}` names `{to}`, which is not a step"
                ))
            }
        };
        exists("(definition)", "start", &self.start)?;
        for (name, step) in &self.steps {
            let count = step.candidates().count();
            if count != 1 {
                return Err(format!(
                    "step `{name}` must have exactly one of ask, input, lookup, next, handoff, end (it has {count})"
                ));
            }
            if step.say.iter().any(|s| s.trim().is_empty()) {
                return Err(format!("step `{name}`: `say` has an empty message"));
            }
            match step.then() {
                Some(Then::Ask(ask)) => {
                    if ask.text.trim().is_empty() {
                        return Err(format!("step `{name}`: `ask.text` is empty"));
                    }
                    if ask.choices.is_empty() || ask.choices.len() > MAX_CHOICES {
                        return Err(format!(
                            "step `{name}`: a question has 1 to {MAX_CHOICES} choices"
                        ));
                    }
                    let limit = if ask.choices.len() <= MAX_BUTTONS {
                        MAX_BUTTON_TITLE
                    } else {
                        MAX_ROW_TITLE
                    };
                    for choice in &ask.choices {
                        if choice.id.is_empty() || choice.title.trim().is_empty() {
                            return Err(format!(
                                "step `{name}`: every choice needs an id and a title"
                            ));
                        }
                        if choice.title.chars().count() > limit {
                            return Err(format!(
                                "step `{name}`: choice `{}` has a title longer than {limit} characters",
                                choice.id
                            ));
                        }
                        exists(name, "next", &choice.next)?;
                    }
                    if let Some(otherwise) = &ask.otherwise {
                        exists(name, "otherwise", otherwise)?;
                    }
                }
                Some(Then::Input(input)) => {
                    if input.variable.trim().is_empty() {
                        return Err(format!("step `{name}`: `input.variable` is empty"));
                    }
                    exists(name, "input.next", &input.next)?;
                }
                Some(Then::Lookup(lookup)) => {
                    let kinds = usize::from(lookup.order.is_some())
                        + usize::from(lookup.contact_orders)
                        + usize::from(lookup.products.is_some());
                    if kinds != 1 {
                        return Err(format!(
                            "step `{name}`: a lookup names exactly one of order, contact_orders, products"
                        ));
                    }
                    exists(name, "lookup.found", &lookup.found)?;
                    exists(name, "lookup.missing", &lookup.missing)?;
                    if let Some(failed) = &lookup.failed {
                        exists(name, "lookup.failed", failed)?;
                    }
                }
                Some(Then::Next(next)) => exists(name, "next", next)?,
                Some(Then::Handoff(_) | Then::End(_)) | None => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_name_that_does_not_exist_is_named() {
        let error = Definition::parse(r#"{"start":"a","steps":{"a":{"say":["hi"],"next":"b"}}}"#)
            .expect_err("b is missing");
        assert_eq!(error, "step `a`: `next` names `b`, which is not a step");
    }

    #[test]
    fn a_step_does_exactly_one_thing() {
        let error = Definition::parse(
            r#"{"start":"a","steps":{"a":{"say":["hi"],"end":{},"handoff":{}}}}"#,
        )
        .expect_err("two things");
        assert!(error.contains("exactly one"), "{error}");
        let error = Definition::parse(r#"{"start":"a","steps":{"a":{"say":["hi"]}}}"#)
            .expect_err("nothing");
        assert!(error.contains("exactly one"), "{error}");
    }

    #[test]
    fn button_titles_follow_whatsapps_limit() {
        let error = Definition::parse(
            r#"{"start":"a","steps":{"a":{"ask":{"text":"?","choices":[{"id":"x","title":"A title far too long for a button","next":"a"}]}}}}"#,
        )
        .expect_err("too long");
        assert!(error.contains("longer than 20"), "{error}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error = Definition::parse(r#"{"start":"a","steps":{"a":{"sey":["hi"],"end":{}}}}"#)
            .expect_err("typo");
        assert!(error.contains("sey"), "{error}");
    }
}
