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
    /// Work the desk: own presence, pull, answer, transfer, end, reopen
    /// one's own conversations, personal canned responses.
    ConversationsWork,
    /// Watch and steer the desk: read every conversation, the live queue
    /// and every agent's load, set an agent's presence, reassign.
    ConversationsSupervise,
    /// Configure the desk: capacities, transfer timeout, end reasons,
    /// shared canned responses.
    DeskConfigure,
    /// Create and configure channels.
    ChannelsManage,
    /// Install, upgrade, enable, disable and remove plugins: code that
    /// runs inside the appliance, so admins only.
    PluginsManage,
}

impl Permission {
    /// Every permission, for tables and tests that must cover them all.
    pub const ALL: [Permission; 11] = [
        Permission::OwnAccount,
        Permission::UsersRead,
        Permission::UsersManage,
        Permission::TokensManage,
        Permission::AuditRead,
        Permission::MetricsRead,
        Permission::ConversationsWork,
        Permission::ConversationsSupervise,
        Permission::DeskConfigure,
        Permission::ChannelsManage,
        Permission::PluginsManage,
    ];

    /// The roles holding this permission. This match is the permission table.
    #[must_use]
    pub fn granted_to(self) -> &'static [Role] {
        use Role::{Admin, Agent, Supervisor};
        match self {
            Permission::OwnAccount | Permission::ConversationsWork => &[Agent, Supervisor, Admin],
            Permission::UsersRead | Permission::ConversationsSupervise => &[Supervisor, Admin],
            Permission::UsersManage
            | Permission::TokensManage
            | Permission::AuditRead
            | Permission::MetricsRead
            | Permission::DeskConfigure
            | Permission::ChannelsManage
            | Permission::PluginsManage => &[Admin],
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
            Permission::ConversationsWork => "conversations.work",
            Permission::ConversationsSupervise => "conversations.supervise",
            Permission::DeskConfigure => "desk.configure",
            Permission::ChannelsManage => "channels.manage",
            Permission::PluginsManage => "plugins.manage",
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
        assert_eq!(
            agent,
            vec![Permission::OwnAccount, Permission::ConversationsWork]
        );
    }

    #[test]
    fn supervisors_read_users_but_do_not_manage_them() {
        assert!(Role::Supervisor.allows(Permission::UsersRead));
        assert!(!Role::Supervisor.allows(Permission::UsersManage));
        assert!(!Role::Supervisor.allows(Permission::AuditRead));
    }
}
