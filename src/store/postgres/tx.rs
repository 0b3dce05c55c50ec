//! A write transaction on Postgres.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{audit, items, sessions, users};
use crate::domain::{AuditEntry, Item, ItemChanges, NewItem, Session, User};
use crate::store::{ChainHead, NewUser, StoreResult, StoreTx, UserChanges};

/// An open transaction; rolls back when dropped uncommitted.
pub struct PgTx {
    pub(super) tx: Transaction<'static, Postgres>,
    /// The store's memory of the audit chain head.
    pub(super) head: Arc<ChainHead>,
    /// The head after this transaction's own appends, remembered on commit.
    pub(super) appended: Option<String>,
}

#[async_trait]
impl StoreTx for PgTx {
    async fn create_item(&mut self, new: &NewItem, now: DateTime<Utc>) -> StoreResult<Item> {
        items::insert(&mut self.tx, new, now).await
    }

    async fn item_for_update(&mut self, id: i64) -> StoreResult<Option<Item>> {
        items::get_for_update(&mut self.tx, id).await
    }

    async fn update_item(
        &mut self,
        id: i64,
        changes: &ItemChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Item>> {
        items::update(&mut self.tx, id, changes, now).await
    }

    async fn delete_item(&mut self, id: i64) -> StoreResult<bool> {
        items::delete(&mut self.tx, id).await
    }

    async fn create_user(&mut self, new: &NewUser, now: DateTime<Utc>) -> StoreResult<User> {
        users::insert(&mut self.tx, new, now).await
    }

    async fn update_user(
        &mut self,
        id: Uuid,
        changes: &UserChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        users::update(&mut self.tx, id, changes, now).await
    }

    async fn touch_session(
        &mut self,
        id: &str,
        user_id: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        sessions::touch(&mut self.tx, id, user_id, now, expires_at).await
    }

    async fn session_for_update(&mut self, id: &str) -> StoreResult<Option<(Session, String)>> {
        sessions::session_with_context(&mut self.tx, id, true).await
    }

    async fn write_context(&mut self, id: &str, context: &str) -> StoreResult<i64> {
        sessions::write_context(&mut self.tx, id, context).await
    }

    async fn append_audit(&mut self, entry: &AuditEntry) -> StoreResult<i64> {
        let guess = self.appended.clone().or_else(|| self.head.get());
        let (seq, hash) = audit::append(&mut self.tx, entry, guess).await?;
        self.appended = Some(hash);
        Ok(seq)
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await?;
        if let Some(hash) = self.appended {
            self.head.set(hash);
        }
        Ok(())
    }
}
