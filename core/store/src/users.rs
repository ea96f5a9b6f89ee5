//! User accounts: the `users` tree (id → record) and its unique e-mail index.

use omnigate_domain::{DisplayName, Email, Role, Timestamp, User, UserId};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use crate::record::{self, Record, id_key, key_id};
use crate::{Store, StoreError};

/// Stored form of a user (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct UserRecord {
    id: u64,
    email: String,
    display_name: String,
    /// 0 agent, 1 supervisor, 2 admin.
    role: u8,
    disabled: bool,
    created_at_ms: i64,
    /// Argon2id hash in PHC string form.
    password_hash: String,
}

impl Record for UserRecord {
    const KIND: &'static str = "user";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        Email::check_normalized(&self.email).map_err(|e| e.to_string())?;
        DisplayName::check_trimmed(&self.display_name).map_err(|e| e.to_string())?;
        role_from_code(self.role)?;
        if !self.password_hash.starts_with("$argon2id$") {
            return Err("password hash is not argon2id".into());
        }
        Ok(())
    }
}

fn role_from_code(code: u8) -> Result<Role, String> {
    match code {
        0 => Ok(Role::Agent),
        1 => Ok(Role::Supervisor),
        2 => Ok(Role::Admin),
        other => Err(format!("unknown role code {other}")),
    }
}

fn role_code(role: Role) -> u8 {
    match role {
        Role::Agent => 0,
        Role::Supervisor => 1,
        Role::Admin => 2,
    }
}

impl UserRecord {
    /// The domain user and the password hash, moving the strings.
    fn into_domain(self) -> Result<(User, String), String> {
        let user = User {
            id: UserId(self.id),
            email: Email::from_normalized(self.email).map_err(|e| e.to_string())?,
            display_name: DisplayName::from_trimmed(self.display_name)
                .map_err(|e| e.to_string())?,
            role: role_from_code(self.role)?,
            disabled: self.disabled,
            created_at: Timestamp(self.created_at_ms),
        };
        Ok((user, self.password_hash))
    }

    fn from_domain(user: &User, password_hash: String) -> UserRecord {
        UserRecord {
            id: user.id.0,
            email: user.email.to_string(),
            display_name: user.display_name.to_string(),
            role: role_code(user.role),
            disabled: user.disabled,
            created_at_ms: user.created_at.0,
            password_hash,
        }
    }
}

/// What is needed to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name; must be unique.
    pub email: Email,
    /// Name shown in the console.
    pub display_name: DisplayName,
    /// Role.
    pub role: Role,
    /// Argon2id hash of the initial password.
    pub password_hash: String,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A change to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// New display name.
    pub display_name: Option<DisplayName>,
    /// New role.
    pub role: Option<Role>,
    /// Disable (true) or enable (false).
    pub disabled: Option<bool>,
    /// New argon2id password hash.
    pub password_hash: Option<String>,
}

impl Store {
    /// Creates a user; fails with [`StoreError::Conflict`] if the e-mail is taken.
    pub fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        let user = User {
            id: UserId(self.next_id()?),
            email: new.email,
            display_name: new.display_name,
            role: new.role,
            disabled: false,
            created_at: new.created_at,
        };
        let bytes = record::encode(&UserRecord::from_domain(&user, new.password_hash))?;
        let email_key = user.email.as_str().as_bytes().to_vec();
        (&self.trees.users, &self.trees.users_by_email).transaction(|(users, by_email)| {
            if by_email.get(&email_key)?.is_some() {
                return Err(ConflictableTransactionError::Abort(StoreError::Conflict(
                    format!("a user with e-mail {} already exists", user.email),
                )));
            }
            by_email.insert(email_key.as_slice(), &id_key(user.id.0))?;
            users.insert(&id_key(user.id.0), bytes.as_slice())?;
            Ok(())
        })?;
        Ok(user)
    }

    /// The user with `id`, if any.
    pub fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.user_record(id)?.map(UserRecord::into_user).transpose()
    }

    /// The user with `id`, shared from the read cache; the lookup behind
    /// every authenticated request.
    pub fn cached_user(&self, id: UserId) -> Result<Option<std::sync::Arc<User>>, StoreError> {
        self.user_cache.get_or_load(&id.0, || self.user(id))
    }

    /// The user with `email` and their password hash, for login.
    pub fn user_credentials(&self, email: &Email) -> Result<Option<(User, String)>, StoreError> {
        let Some(id) = self.trees.users_by_email.get(email.as_str())? else {
            return Ok(None);
        };
        let Some(record) = self.user_record(UserId(key_id(&id)?))? else {
            return Ok(None);
        };
        record.into_user_and_hash().map(Some)
    }

    /// The password hash of `id`, for checks such as a password change.
    pub fn password_hash(&self, id: UserId) -> Result<Option<String>, StoreError> {
        Ok(self.user_record(id)?.map(|r| r.password_hash))
    }

    /// Every user, by id.
    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        self.trees
            .users
            .iter()
            .values()
            .map(|value| record::decode::<UserRecord>(&value?)?.into_user())
            .collect()
    }

    /// Number of users; cheap enough for "is this a fresh install?".
    #[must_use]
    pub fn user_count(&self) -> usize {
        self.trees.users.len()
    }

    /// Applies `update` to user `id` and returns the user before and after.
    pub fn update_user(&self, id: UserId, update: UserUpdate) -> Result<(User, User), StoreError> {
        let key = id_key(id.0);
        let outcome = self.trees.users.transaction(|users| {
            let Some(bytes) = users.get(key)? else {
                return Err(ConflictableTransactionError::Abort(StoreError::NotFound(
                    format!("user {id}"),
                )));
            };
            let mut record = record::decode::<UserRecord>(&bytes)
                .map_err(ConflictableTransactionError::Abort)?;
            let before = record
                .clone()
                .into_user()
                .map_err(ConflictableTransactionError::Abort)?;
            if let Some(name) = &update.display_name {
                record.display_name = name.to_string();
            }
            if let Some(role) = update.role {
                record.role = role_code(role);
            }
            if let Some(disabled) = update.disabled {
                record.disabled = disabled;
            }
            if let Some(hash) = &update.password_hash {
                record.password_hash.clone_from(hash);
            }
            let after = record
                .clone()
                .into_user()
                .map_err(ConflictableTransactionError::Abort)?;
            let encoded = record::encode(&record).map_err(ConflictableTransactionError::Abort)?;
            users.insert(&key, encoded)?;
            Ok((before, after))
        })?;
        self.user_cache.invalidate(&id.0);
        Ok(outcome)
    }

    fn user_record(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        self.trees
            .users
            .get(id_key(id.0))?
            .map(|bytes| record::decode::<UserRecord>(&bytes))
            .transpose()
    }
}

impl UserRecord {
    fn into_user(self) -> Result<User, StoreError> {
        self.into_user_and_hash().map(|(user, _)| user)
    }

    fn into_user_and_hash(self) -> Result<(User, String), StoreError> {
        self.into_domain()
            .map_err(|reason| StoreError::InvalidRecord {
                kind: UserRecord::KIND,
                reason,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::temp_store;
    use proptest::prelude::*;

    pub(crate) const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

    pub(crate) fn new_user(email: &str, role: Role) -> NewUser {
        NewUser {
            email: Email::parse(email).unwrap(),
            display_name: DisplayName::parse("Ayşe Yılmaz").unwrap(),
            role,
            password_hash: HASH.into(),
            created_at: Timestamp(1_700_000_000_000),
        }
    }

    #[test]
    fn emails_are_unique_regardless_of_case() {
        let (_dir, store) = temp_store();
        store
            .create_user(new_user("a@shop.com", Role::Agent))
            .unwrap();
        let err = store
            .create_user(new_user("A@Shop.com", Role::Admin))
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(store.user_count(), 1);
    }

    #[test]
    fn update_returns_before_and_after_and_persists() {
        let (_dir, store) = temp_store();
        let user = store
            .create_user(new_user("a@shop.com", Role::Agent))
            .unwrap();
        let (before, after) = store
            .update_user(
                user.id,
                UserUpdate {
                    role: Some(Role::Supervisor),
                    disabled: Some(true),
                    ..UserUpdate::default()
                },
            )
            .unwrap();
        assert_eq!(before.role, Role::Agent);
        assert_eq!(after.role, Role::Supervisor);
        assert_eq!(store.user(user.id).unwrap(), Some(after));
    }

    #[test]
    fn a_non_argon2id_hash_is_refused_on_write() {
        let (_dir, store) = temp_store();
        let mut user = new_user("a@shop.com", Role::Agent);
        user.password_hash = "$2b$12$bcrypt".into();
        let err = store.create_user(user).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidRecord { kind: "user", .. }),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn user_records_round_trip(id in 1u64.., role in 0u8..3, disabled: bool, at: i64, name in "[a-z][a-zA-Z ]{0,20}[a-z]") {
            let record = UserRecord {
                id, email: "x@y.z".into(), display_name: name, role, disabled,
                created_at_ms: at, password_hash: HASH.into(),
            };
            let back: UserRecord = record::decode(&record::encode(&record).unwrap()).unwrap();
            prop_assert_eq!(back, record);
        }
    }
}
