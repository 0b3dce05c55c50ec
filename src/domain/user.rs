//! A user account as the rest of the service sees it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Role;

/// Why a change to one's own account is refused: nobody deactivates
/// themselves or changes their own role, so nobody locks themselves (or the
/// service's last admin) out by mistake; another admin must do it.
pub const SELF_LOCKOUT: &str = "users cannot deactivate themselves or change their own role";

/// A user account. `password_hash` is an argon2id PHC string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id.
    pub id: Uuid,
    /// Unique login name.
    pub username: String,
    /// Unique, lower-case email address.
    pub email: String,
    /// Display name.
    pub full_name: Option<String>,
    /// The role; permissions follow from it.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Inactive users cannot authenticate.
    pub is_active: bool,
    /// Carried in every JWT as `ver`; bumping it ends every token of the user.
    pub token_version: i64,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    pub updated_at: DateTime<Utc>,
    /// When the user last logged in.
    pub last_login_at: Option<DateTime<Utc>>,
}

impl User {
    /// Whether this user changing account `target` (deactivating it, or
    /// giving it `role`) would be the self-lockout [`SELF_LOCKOUT`] refuses.
    pub fn is_self_lockout(&self, target: Uuid, deactivating: bool, role: Option<Role>) -> bool {
        target == self.id && (deactivating || role.is_some_and(|r| r != self.role))
    }
}
