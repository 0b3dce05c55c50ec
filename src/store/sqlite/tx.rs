//! A write transaction on SQLite, run on the caller's thread.
//!
//! The one-connection sqlx write pool stays the write lock of the process:
//! a transaction first takes its connection, so it queues behind every
//! other writer exactly as before. Its statements then run through the
//! store's rusqlite writer connection on this thread, with no hand-off to a
//! connection worker per statement (see [`super::inline`]): the lock is
//! held for the transaction's own work, not for thread wake-ups.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use sqlx::Sqlite;
use sqlx::pool::PoolConnection;
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

use super::inline::open_connection;
use super::{audit, items, rate_limits, sessions, users};
use crate::domain::{AuditEntry, Item, ItemChanges, NewItem, Session, User};
use crate::store::{ChainHead, NewUser, StoreError, StoreResult, StoreTx, UserChanges};

/// WAL frames (pages) after which the writer's commit checkpoints: about
/// 40 MB of WAL at 4 KiB pages.
const WAL_AUTOCHECKPOINT: i64 = 10_000;

/// The rusqlite connection write transactions run on.
pub(super) struct Writer {
    conn: Arc<Mutex<Connection>>,
    busy_timeout: Duration,
}

impl Writer {
    /// Opens the writer with the settings the sqlx writer has (WAL itself
    /// is a property of the file).
    pub(super) fn open(path: &Path, busy_timeout: Duration) -> StoreResult<Self> {
        let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE, busy_timeout)?;
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = FILE;",
        )?;
        // A checkpoint runs inside the commit that crosses the threshold,
        // holding the write lock while it copies pages and syncs the file.
        // A tool call rewrites the same dozen or so pages (table and index
        // leaves, the FTS segment list, the audit chain's tail), so a larger
        // threshold copies each hot page once for many more commits: SQLite's
        // default of 1,000 frames is about 60 tool calls.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            busy_timeout,
        })
    }

    /// Begins with `BEGIN IMMEDIATE` once `turn` is held. Another process
    /// (the CLI, say) may hold SQLite's lock: then the wait for it happens
    /// on the blocking pool, not on this async worker.
    pub(super) async fn begin(
        &self,
        turn: PoolConnection<Sqlite>,
        head: Arc<ChainHead>,
    ) -> StoreResult<SqliteTx> {
        let conn = self.conn.clone().lock_owned().await;
        conn.busy_timeout(Duration::ZERO)?;
        let started = conn.execute_batch("BEGIN IMMEDIATE");
        conn.busy_timeout(self.busy_timeout)?;
        let conn = match started {
            Ok(()) => conn,
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                tokio::task::spawn_blocking(move || {
                    conn.execute_batch("BEGIN IMMEDIATE").map(|()| conn)
                })
                .await
                .map_err(|e| StoreError::Other(format!("begin task failed: {e}")))??
            }
            Err(e) => return Err(e.into()),
        };
        Ok(SqliteTx {
            conn,
            _turn: turn,
            open: true,
            head,
            appended: None,
        })
    }
}

/// An open transaction; rolls back when dropped uncommitted.
pub struct SqliteTx {
    conn: OwnedMutexGuard<Connection>,
    /// The sqlx writer, held as the process's write lock (dropped after
    /// `conn`, so the next writer finds the connection free).
    _turn: PoolConnection<Sqlite>,
    open: bool,
    /// The store's memory of the audit chain head.
    head: Arc<ChainHead>,
    /// The head after this transaction's own appends, remembered on commit.
    appended: Option<String>,
}

impl SqliteTx {
    /// The connection, inside the transaction.
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Commits, and remembers the audit chain head it wrote.
    pub(super) fn finish(mut self) -> StoreResult<()> {
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        if let Some(hash) = self.appended.take() {
            self.head.set(hash);
        }
        Ok(())
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %e, "rollback failed");
        }
    }
}

#[async_trait]
impl StoreTx for SqliteTx {
    async fn create_item(&mut self, new: &NewItem, now: DateTime<Utc>) -> StoreResult<Item> {
        items::insert(&self.conn, new, now)
    }

    async fn item_for_update(&mut self, id: i64) -> StoreResult<Option<Item>> {
        items::get_in(&self.conn, id)
    }

    async fn update_item(
        &mut self,
        id: i64,
        changes: &ItemChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Item>> {
        items::update(&self.conn, id, changes, now)
    }

    async fn delete_item(&mut self, id: i64) -> StoreResult<bool> {
        items::delete(&self.conn, id)
    }

    async fn create_user(&mut self, new: &NewUser, now: DateTime<Utc>) -> StoreResult<User> {
        users::insert(&self.conn, new, now)
    }

    async fn update_user(
        &mut self,
        id: Uuid,
        changes: &UserChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        users::update(&self.conn, id, changes, now)
    }

    async fn touch_session(
        &mut self,
        id: &str,
        user_id: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        sessions::touch(&self.conn, id, user_id, now, expires_at)
    }

    async fn session_for_update(&mut self, id: &str) -> StoreResult<Option<(Session, String)>> {
        sessions::session_with_context(&self.conn, id)
    }

    async fn write_context(&mut self, id: &str, context: &str) -> StoreResult<i64> {
        sessions::write_context(&self.conn, id, context)
    }

    async fn count_call(
        &mut self,
        principal: &str,
        now: DateTime<Utc>,
        window_start_after: DateTime<Utc>,
    ) -> StoreResult<()> {
        rate_limits::count_call(&self.conn, principal, now, window_start_after)
    }

    async fn append_audit(&mut self, entry: &AuditEntry) -> StoreResult<i64> {
        let guess = self.appended.clone().or_else(|| self.head.get());
        let (seq, hash) = audit::append(&self.conn, entry, guess)?;
        self.appended = Some(hash);
        Ok(seq)
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.finish()
    }
}
