//! Roles and the permissions each one grants.

use std::fmt;
use std::str::FromStr;

use poem_openapi::Enum;
use serde::{Deserialize, Serialize};

/// A user's role. Permissions are derived from it on every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including user management and the audit log.
    Admin,
    /// Reads and writes items, uses MCP tools.
    User,
    /// Like `user`; the account AI assistants log in with.
    AiAgent,
    /// Reads items only.
    Readonly,
    /// Reads the audit log only.
    Auditor,
}

/// Something a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Enum)]
pub enum Permission {
    /// Read items.
    #[serde(rename = "read:items")]
    #[oai(rename = "read:items")]
    ReadItems,
    /// Create and update items.
    #[serde(rename = "write:items")]
    #[oai(rename = "write:items")]
    WriteItems,
    /// Delete any item.
    #[serde(rename = "delete:items")]
    #[oai(rename = "delete:items")]
    DeleteItems,
    /// Create, change and deactivate users.
    #[serde(rename = "manage:users")]
    #[oai(rename = "manage:users")]
    ManageUsers,
    /// Open sessions and call tools.
    #[serde(rename = "use:mcp_tools")]
    #[oai(rename = "use:mcp_tools")]
    UseMcpTools,
    /// See and end everyone's sessions, server-wide statistics.
    #[serde(rename = "admin:mcp")]
    #[oai(rename = "admin:mcp")]
    AdminMcp,
    /// Query, export and verify the audit log.
    #[serde(rename = "read:audit")]
    #[oai(rename = "read:audit")]
    ReadAudit,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::User,
        Role::AiAgent,
        Role::Readonly,
        Role::Auditor,
    ];

    /// The permissions this role grants.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => &Permission::ALL,
            Role::User | Role::AiAgent => &[ReadItems, WriteItems, UseMcpTools],
            Role::Readonly => &[ReadItems],
            Role::Auditor => &[ReadAudit],
        }
    }

    /// Whether this role grants `permission`.
    pub fn grants(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    /// The name stored in the database and shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
            Role::AiAgent => "ai_agent",
            Role::Readonly => "readonly",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a role name.
#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: expected one of admin, user, ai_agent, readonly, auditor")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

impl Permission {
    /// Every permission, in a stable order (also the order scopes are
    /// listed in).
    pub const ALL: [Permission; 7] = [
        Permission::ReadItems,
        Permission::WriteItems,
        Permission::DeleteItems,
        Permission::ManageUsers,
        Permission::UseMcpTools,
        Permission::AdminMcp,
        Permission::ReadAudit,
    ];

    /// The name used in error messages and JSON, e.g. `read:items`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ReadItems => "read:items",
            Permission::WriteItems => "write:items",
            Permission::DeleteItems => "delete:items",
            Permission::ManageUsers => "manage:users",
            Permission::UseMcpTools => "use:mcp_tools",
            Permission::AdminMcp => "admin:mcp",
            Permission::ReadAudit => "read:audit",
        }
    }
}

impl Permission {
    /// What the permission lets an app do, in plain words, for the consent
    /// page.
    pub fn plain_words(self) -> &'static str {
        match self {
            Permission::ReadItems => "See the items in the catalogue",
            Permission::WriteItems => "Create and change items",
            Permission::DeleteItems => "Delete any item",
            Permission::ManageUsers => "Create, change and deactivate user accounts",
            Permission::UseMcpTools => "Use the AI tools and open sessions",
            Permission::AdminMcp => "See and end everyone's sessions",
            Permission::ReadAudit => "Read the audit log",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(
                serde_json::to_value(role).unwrap(),
                serde_json::json!(role.as_str())
            );
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn auditors_read_the_audit_log_and_nothing_else() {
        assert_eq!(Role::Auditor.permissions(), &[Permission::ReadAudit]);
        assert!(Role::Admin.grants(Permission::ReadAudit));
        assert!(!Role::User.grants(Permission::ReadAudit));
        assert!(!Role::Readonly.grants(Permission::UseMcpTools));
        assert_eq!(
            serde_json::to_value(Permission::UseMcpTools).unwrap(),
            serde_json::json!("use:mcp_tools")
        );
    }
}
