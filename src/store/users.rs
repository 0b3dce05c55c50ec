//! The `users` table.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::domain::User;

/// Reads and writes user accounts.
#[async_trait]
pub trait UserStore {
    /// The user with this id.
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;

    /// The user with this exact username.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
}
