//! The one table that decides what each role may do.
//!
//! Every API endpoint names the [`Permission`] it needs and the router checks
//! it against this table before the handler runs; nothing else grants access.
//! Adding an endpoint means adding (or reusing) a permission here, which makes
//! the decision visible in one place for review.

use crate::user::Role;

/// Something a user may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See one's own account, change one's own password, log out.
    OwnAccount,
    /// List and read user accounts (supervisors need to see their agents).
    UsersRead,
    /// Create users, change roles, disable, reset passwords, revoke sessions.
    UsersManage,
    /// Create, list and revoke API tokens for integrations.
    TokensManage,
    /// Read the audit log.
    AuditRead,
    /// Scrape `/metrics`.
    MetricsRead,
}

impl Permission {
    /// Every permission, for tables and tests that must cover them all.
    pub const ALL: [Permission; 6] = [
        Permission::OwnAccount,
        Permission::UsersRead,
        Permission::UsersManage,
        Permission::TokensManage,
        Permission::AuditRead,
        Permission::MetricsRead,
    ];

    /// The roles holding this permission. This match is the permission table.
    #[must_use]
    pub fn granted_to(self) -> &'static [Role] {
        use Role::{Admin, Agent, Supervisor};
        match self {
            Permission::OwnAccount => &[Agent, Supervisor, Admin],
            Permission::UsersRead => &[Supervisor, Admin],
            Permission::UsersManage
            | Permission::TokensManage
            | Permission::AuditRead
            | Permission::MetricsRead => &[Admin],
        }
    }

    /// Stable name used in error messages and the audit log.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::OwnAccount => "own_account",
            Permission::UsersRead => "users.read",
            Permission::UsersManage => "users.manage",
            Permission::TokensManage => "tokens.manage",
            Permission::AuditRead => "audit.read",
            Permission::MetricsRead => "metrics.read",
        }
    }
}

impl Role {
    /// Whether this role holds `permission`.
    #[must_use]
    pub fn allows(self, permission: Permission) -> bool {
        permission.granted_to().contains(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_holds_every_permission_and_agents_only_their_own_account() {
        for permission in Permission::ALL {
            assert!(Role::Admin.allows(permission), "{permission:?}");
        }
        let agent: Vec<_> = Permission::ALL
            .into_iter()
            .filter(|p| Role::Agent.allows(*p))
            .collect();
        assert_eq!(agent, vec![Permission::OwnAccount]);
    }

    #[test]
    fn supervisors_read_users_but_do_not_manage_them() {
        assert!(Role::Supervisor.allows(Permission::UsersRead));
        assert!(!Role::Supervisor.allows(Permission::UsersManage));
        assert!(!Role::Supervisor.allows(Permission::AuditRead));
    }
}
