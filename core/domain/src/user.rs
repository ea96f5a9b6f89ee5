//! Users of the console and the API: agents, supervisors and admins.

use std::fmt;
use std::str::FromStr;

use crate::time::Timestamp;

/// A user's stable identifier, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a user is allowed to do, decided by [`crate::Permission`]'s table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Answers conversations.
    Agent,
    /// Watches the queue and the agents, reassigns, reads every conversation.
    Supervisor,
    /// Manages users, channels, plugins and settings; reads the audit log.
    Admin,
}

impl Role {
    /// Every role, lowest privilege first.
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

    /// The name used in the API, the CLI and the config.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Role, ValidationError> {
        match s {
            "agent" => Ok(Role::Agent),
            "supervisor" => Ok(Role::Supervisor),
            "admin" => Ok(Role::Admin),
            other => Err(ValidationError::new(
                "role",
                format!("`{other}` is not a role; use admin, supervisor or agent"),
            )),
        }
    }
}

/// Input that breaks a rule, naming the field so the client can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The field or key that is wrong.
    pub field: &'static str,
    /// What is wrong with it, in words a user understands.
    pub message: String,
}

impl ValidationError {
    /// A validation error for `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> ValidationError {
        ValidationError {
            field,
            message: message.into(),
        }
    }
}

/// An e-mail address used as a login name: trimmed, lower-cased, plausible.
///
/// Lower-casing makes `Ayse@Shop.com` and `ayse@shop.com` one account, which
/// is what people expect from a login form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// Longest address accepted (RFC 5321's path limit).
    pub const MAX_LEN: usize = 254;

    /// Validates and normalises an address.
    pub fn parse(raw: &str) -> Result<Email, ValidationError> {
        Email::from_normalized(raw.trim().to_lowercase())
    }

    /// Accepts an address that must already be normalised (as stored), without
    /// copying it; anything else is refused rather than silently changed.
    pub fn from_normalized(email: String) -> Result<Email, ValidationError> {
        Email::check_normalized(&email)?;
        Ok(Email(email))
    }

    /// Checks that `email` is a normalised, plausible address. Allocates
    /// nothing, so stored records can be validated on every read.
    pub fn check_normalized(email: &str) -> Result<(), ValidationError> {
        let invalid = |why: &str| Err(ValidationError::new("email", why.to_owned()));
        if email.is_empty() {
            return invalid("must not be empty");
        }
        if email.len() > Email::MAX_LEN {
            return invalid("must be at most 254 characters");
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid("must not contain spaces or control characters");
        }
        if email.chars().any(char::is_uppercase) {
            return invalid("must be lower-case");
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return invalid("must look like name@example.com");
        };
        if local.is_empty() || domain.is_empty() || domain.starts_with('.') || domain.ends_with('.')
        {
            return invalid("must look like name@example.com");
        }
        Ok(())
    }

    /// The normalised address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name shown to colleagues and, on some channels, to customers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest name accepted, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Validates a display name: trimmed, 1 to 100 characters, no control characters.
    pub fn parse(raw: &str) -> Result<DisplayName, ValidationError> {
        let name = raw.trim();
        DisplayName::check(name)?;
        Ok(DisplayName(name.to_owned()))
    }

    /// Accepts an already trimmed name (as stored) without copying it.
    pub fn from_trimmed(name: String) -> Result<DisplayName, ValidationError> {
        DisplayName::check_trimmed(&name)?;
        Ok(DisplayName(name))
    }

    /// Checks a stored name without allocating: trimmed and valid.
    pub fn check_trimmed(name: &str) -> Result<(), ValidationError> {
        if name.trim() != name {
            return Err(ValidationError::new(
                "display_name",
                "must not start or end with spaces",
            ));
        }
        DisplayName::check(name)
    }

    fn check(name: &str) -> Result<(), ValidationError> {
        if name.is_empty() {
            return Err(ValidationError::new("display_name", "must not be empty"));
        }
        if name.chars().count() > DisplayName::MAX_CHARS {
            return Err(ValidationError::new(
                "display_name",
                "must be at most 100 characters",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "display_name",
                "must not contain control characters",
            ));
        }
        Ok(())
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user as the rules see it. The password hash lives with the store, not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable identifier.
    pub id: UserId,
    /// Login name.
    pub email: Email,
    /// Name shown in the console.
    pub display_name: DisplayName,
    /// What the user may do.
    pub role: Role,
    /// A disabled user cannot log in and their sessions and tokens stop working.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// What a password must satisfy. Length beats composition rules (NIST SP 800-63B).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters accepted.
    pub min_chars: usize,
}

impl PasswordPolicy {
    /// Longest password accepted; bounds the work argon2 does for one request.
    pub const MAX_CHARS: usize = 256;

    /// Checks a candidate password against the policy.
    pub fn check(&self, password: &str) -> Result<(), ValidationError> {
        let chars = password.chars().count();
        if chars < self.min_chars {
            return Err(ValidationError::new(
                "password",
                format!("must be at least {} characters", self.min_chars),
            ));
        }
        if chars > PasswordPolicy::MAX_CHARS {
            return Err(ValidationError::new(
                "password",
                format!("must be at most {} characters", PasswordPolicy::MAX_CHARS),
            ));
        }
        if password.trim().is_empty() {
            return Err(ValidationError::new(
                "password",
                "must not be only whitespace",
            ));
        }
        Ok(())
    }
}

impl Default for PasswordPolicy {
    fn default() -> PasswordPolicy {
        PasswordPolicy { min_chars: 12 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ayse@Shop.COM ").map(|e| e.to_string()),
            Ok("ayse@shop.com".to_owned())
        );
        for bad in [
            "",
            "no-at-sign",
            "@shop.com",
            "a@",
            "a b@shop.com",
            "a@.com",
        ] {
            assert_eq!(
                Email::parse(bad).map_err(|e| e.field),
                Err("email"),
                "{bad}"
            );
        }
    }

    #[test]
    fn role_names_round_trip_and_unknown_roles_are_named() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        let err = "root".parse::<Role>().unwrap_err();
        assert!(err.message.contains("`root`"), "{err}");
    }

    #[test]
    fn password_policy_counts_characters_not_bytes() {
        let policy = PasswordPolicy { min_chars: 4 };
        assert!(policy.check("çğış").is_ok());
        assert!(policy.check("abc").is_err());
        assert!(policy.check("    ").is_err());
        assert!(policy.check(&"x".repeat(257)).is_err());
    }

    proptest! {
        #[test]
        fn a_parsed_email_parses_to_itself(raw in "[a-zA-Z0-9._+-]{1,20}@[a-zA-Z0-9-]{1,20}\\.[a-z]{2,5}") {
            let once = Email::parse(&raw).unwrap();
            let twice = Email::parse(once.as_str()).unwrap();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn display_names_never_exceed_the_limit(raw in "\\PC{0,150}") {
            if let Ok(name) = DisplayName::parse(&raw) {
                prop_assert!(name.as_str().chars().count() <= DisplayName::MAX_CHARS);
                prop_assert!(!name.as_str().is_empty());
            }
        }
    }
}
