//! A write transaction: everything a tool changes, its session's counter and
//! its audit row commit together or not at all.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{NewUser, StoreResult, UserChanges};
use crate::domain::{AuditEntry, Item, ItemChanges, NewItem, Session, User};

/// An open write transaction. Dropping it without `commit` rolls back.
#[async_trait]
pub trait StoreTx: Send {
    /// Inserts an item.
    async fn create_item(&mut self, new: &NewItem, now: DateTime<Utc>) -> StoreResult<Item>;

    /// Reads an item and locks it until the transaction ends.
    async fn item_for_update(&mut self, id: i64) -> StoreResult<Option<Item>>;

    /// Applies changes; `None` if the item is gone.
    async fn update_item(
        &mut self,
        id: i64,
        changes: &ItemChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Item>>;

    /// Deletes an item; `false` if it was not there.
    async fn delete_item(&mut self, id: i64) -> StoreResult<bool>;

    /// Creates a user. Conflicts: `users_username_key`, `users_email_key`.
    async fn create_user(&mut self, new: &NewUser, now: DateTime<Utc>) -> StoreResult<User>;

    /// Changes a user; see [`super::UserStore::update_user`].
    async fn update_user(
        &mut self,
        id: Uuid,
        changes: &UserChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// Counts a tool call in an open session of `user_id` and extends its
    /// idle expiry; `false` if there is no such open session.
    async fn touch_session(
        &mut self,
        id: &str,
        user_id: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// A session and its context text, locked until the transaction ends.
    async fn session_for_update(&mut self, id: &str) -> StoreResult<Option<(Session, String)>>;

    /// Stores a session's new context text and bumps its version; returns it.
    async fn write_context(&mut self, id: &str, context: &str) -> StoreResult<i64>;

    /// Appends a row to the audit chain (taking the chain lock first); must
    /// be the transaction's last write so that `seq` order is commit order.
    async fn append_audit(&mut self, entry: &AuditEntry) -> StoreResult<i64>;

    /// Commits.
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}
