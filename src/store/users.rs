//! The `users` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::{Role, User};

/// The name under which "that would leave no active admin" is reported as a conflict.
pub const LAST_ADMIN: &str = "last_active_admin";

/// A user to create; the fields are already validated.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Lower-case email.
    pub email: String,
    /// Display name.
    pub full_name: Option<String>,
    /// Role.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// New login name.
    pub username: Option<String>,
    /// New lower-case email.
    pub email: Option<String>,
    /// New display name (`Some(None)` clears it).
    pub full_name: Option<Option<String>>,
    /// New role.
    pub role: Option<Role>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
}

/// Reads and writes user accounts.
#[async_trait]
pub trait UserStore {
    /// The user with this id.
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;

    /// The user with this username, whatever its case.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;

    /// Creates a user. Conflicts: `users_username_key`, `users_email_key`.
    async fn create_user(&self, new: &NewUser, now: DateTime<Utc>) -> StoreResult<User>;

    /// A page of users by creation time, and the total count.
    async fn list_users(&self, limit: i64, offset: i64) -> StoreResult<(Vec<User>, i64)>;

    /// Applies `changes`; deactivating also bumps `token_version`, so that
    /// reactivation does not revive old tokens. Refuses (conflict [`LAST_ADMIN`]) a change that
    /// would leave no active admin; unique conflicts as in `create_user`.
    async fn update_user(
        &self,
        id: Uuid,
        changes: &UserChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// Sets the password hash and bumps `token_version`, ending every token.
    async fn set_password(&self, id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<User>;

    /// Bumps `token_version`, ending every token of the user.
    async fn bump_token_version(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<User>;

    /// Records a successful login.
    async fn record_login(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
}
