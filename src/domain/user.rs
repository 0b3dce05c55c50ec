//! A user account as the rest of the service sees it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Role;

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
