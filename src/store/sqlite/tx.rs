//! A write transaction on SQLite, run on the caller's thread.
//!
//! The rusqlite writer connection's mutex is the write lock of the process:
//! a transaction holds it throughout, and the few writes still made through
//! sqlx take it too before they touch the one-connection sqlx write pool
//! ([`super::SqliteStore::sqlx_writer`]), so writers queue in the process
//! instead of meeting SQLite's busy handler. The transaction's statements
//! run on this thread, with no hand-off to a connection worker per
//! statement (see [`super::inline`]), and no pool connection is involved:
//! sqlx pings a connection on its worker thread each time it returns to the
//! pool, and with the pool as the lock every tool call waited for that
//! round trip before the next could begin.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

use super::checkpoint::Checkpointer;
use super::inline::open_connection;
use super::{audit, items, sessions, users};
use crate::domain::{AuditEntry, Item, ItemChanges, NewItem, Session, User};
use crate::store::{ChainHead, NewUser, StoreError, StoreResult, StoreTx, UserChanges};

/// What SQLite may keep allocated across all of the process's connections
/// before it gives back page cache: a limit of the whole library, set once
/// here. About a dozen connections (readers, the writer, sqlx's) each keep
/// a page cache; one common limit bounds them all, and cost no speed in
/// search, listings or analysis (BENCHMARKS.md, "Measurements behind design
/// choices").
const SQLITE_SOFT_HEAP_LIMIT: i64 = 16 * 1024 * 1024;

/// The rusqlite connection write transactions run on.
pub(super) struct Writer {
    conn: Arc<Mutex<Connection>>,
    busy_timeout: Duration,
    checkpointer: Arc<Checkpointer>,
}

impl Writer {
    /// Opens the writer with the settings the sqlx writer has (WAL itself
    /// is a property of the file), and its checkpoint thread.
    pub(super) fn open(path: &Path, busy_timeout: Duration) -> StoreResult<Self> {
        let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE, busy_timeout)?;
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = FILE;",
        )?;
        // Checkpoints run on their own thread, not inside commits.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.pragma_update(None, "soft_heap_limit", SQLITE_SOFT_HEAP_LIMIT)?;
        let conn = Arc::new(Mutex::new(conn));
        Ok(Self {
            checkpointer: Arc::new(Checkpointer::start(path, busy_timeout, conn.clone())?),
            conn,
            busy_timeout,
        })
    }

    /// The checkpoint thread's handle, told of every commit.
    pub(super) fn checkpointer(&self) -> Arc<Checkpointer> {
        self.checkpointer.clone()
    }

    /// Waits for the write lock: the writer connection itself.
    pub(super) async fn lock(&self) -> OwnedMutexGuard<Connection> {
        self.conn.clone().lock_owned().await
    }

    /// Begins with `BEGIN IMMEDIATE` once the write lock is held. Another
    /// process (the CLI, say) may hold SQLite's lock: then the wait for it
    /// happens on the blocking pool, not on this async worker.
    pub(super) async fn begin(&self, head: Arc<ChainHead>) -> StoreResult<SqliteTx> {
        let conn = self.lock().await;
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
            checkpointer: self.checkpointer(),
            open: true,
            head,
            appended: None,
        })
    }
}

/// An open transaction; rolls back when dropped uncommitted.
pub struct SqliteTx {
    /// The writer, held: the process's write lock.
    conn: OwnedMutexGuard<Connection>,
    checkpointer: Arc<Checkpointer>,
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
        self.checkpointer.committed();
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
