//! Canned responses: saved answers with a shortcut, text with variables.

use crate::user::{UserId, ValidationError};

/// The word an agent types after `/` to pick a canned response.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shortcut(String);

impl Shortcut {
    /// Lower-cased, 1 to 32 letters, digits, `-` or `_`, so that typing it
    /// after `/` is unambiguous.
    pub fn parse(raw: &str) -> Result<Shortcut, ValidationError> {
        let s = raw.trim().trim_start_matches('/').to_lowercase();
        if !s.is_empty()
            && s.chars().count() <= 32
            && s.chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            Ok(Shortcut(s))
        } else {
            Err(ValidationError::new(
                "shortcut",
                "a shortcut has 1 to 32 letters, digits, `-` or `_`",
            ))
        }
    }

    /// The shortcut as text (without the `/`).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A saved answer. Shared ones (no owner) are managed by admins and offered
/// to everyone; personal ones belong to one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedResponse {
    /// Id.
    pub id: u64,
    /// The owner, or `None` for a shared response.
    pub owner: Option<UserId>,
    /// What the agent types after `/`.
    pub shortcut: Shortcut,
    /// The text, with `{{variables}}`.
    pub text: String,
}

impl CannedResponse {
    /// Longest text (a message's limit).
    pub const MAX_TEXT_CHARS: usize = 4096;

    /// Checks the text: non-empty, bounded, and every `{{variable}}` known.
    pub fn check_text(text: &str) -> Result<(), ValidationError> {
        if text.trim().is_empty() || text.chars().count() > Self::MAX_TEXT_CHARS {
            return Err(ValidationError::new(
                "text",
                format!("must have 1 to {} characters", Self::MAX_TEXT_CHARS),
            ));
        }
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                return Err(ValidationError::new("text", "a `{{` is never closed"));
            };
            let name = after[..end].trim();
            if !Variables::NAMES.contains(&name) {
                return Err(ValidationError::new(
                    "text",
                    format!(
                        "unknown variable `{{{{{name}}}}}`; known: {}",
                        Variables::NAMES.join(", ")
                    ),
                ));
            }
            rest = &after[end + 2..];
        }
        Ok(())
    }
}

/// Values substituted into a canned response.
#[derive(Debug, Clone, Default)]
pub struct Variables<'a> {
    /// The contact's name.
    pub contact_name: &'a str,
    /// The contact's phone, when the channel knows it.
    pub contact_phone: &'a str,
    /// The agent's display name.
    pub agent_name: &'a str,
    /// The channel's name.
    pub channel_name: &'a str,
}

impl Variables<'_> {
    /// The variables a canned response may use.
    pub const NAMES: [&'static str; 4] = [
        "contact.name",
        "contact.phone",
        "agent.name",
        "channel.name",
    ];

    fn get(&self, name: &str) -> Option<&str> {
        match name {
            "contact.name" => Some(self.contact_name),
            "contact.phone" => Some(self.contact_phone),
            "agent.name" => Some(self.agent_name),
            "channel.name" => Some(self.channel_name),
            _ => None,
        }
    }
}

/// Replaces each `{{variable}}` in `text`; unknown or unclosed ones stay as
/// written (they were refused when the response was saved).
#[must_use]
pub fn render(text: &str, vars: &Variables<'_>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => match vars.get(after[..end].trim()) {
                Some(value) => {
                    out.push_str(value);
                    rest = &after[end + 2..];
                }
                None => {
                    out.push_str("{{");
                    rest = after;
                }
            },
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_substituted() {
        let vars = Variables {
            contact_name: "Ayşe",
            agent_name: "Mehmet",
            ..Variables::default()
        };
        assert_eq!(
            render("Merhaba {{contact.name}}, ben {{ agent.name }}.", &vars),
            "Merhaba Ayşe, ben Mehmet."
        );
        assert_eq!(render("{{unknown}} {{", &vars), "{{unknown}} {{");
    }

    #[test]
    fn unknown_variables_are_refused_when_saving() {
        assert!(CannedResponse::check_text("Hi {{contact.name}}").is_ok());
        let err = CannedResponse::check_text("Hi {{contact.age}}").unwrap_err();
        assert!(err.to_string().contains("contact.age"), "{err}");
        assert!(CannedResponse::check_text("Hi {{contact.name").is_err());
    }

    #[test]
    fn shortcuts_are_normalised() {
        assert_eq!(Shortcut::parse("/Thanks").unwrap().as_str(), "thanks");
        assert!(Shortcut::parse("two words").is_err());
    }
}
