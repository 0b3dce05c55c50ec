//! The SQLite store: WAL, `synchronous=NORMAL`, foreign keys on, a sqlx
//! read pool and a one-connection sqlx write pool. Writers queue on one
//! in-process write lock instead of failing with "database is locked"
//! ([`tx`]). The reads on every request's path and the write transactions
//! run through rusqlite on the caller's thread ([`inline`], [`tx`]), each
//! statement checked by sqlx at build time ([`checked`]); WAL checkpoints
//! run on a thread of their own ([`checkpoint`]).
//!
//! Ids are hyphenated UUID text (sqlx would bind a bare `Uuid` as a BLOB and
//! lookups would silently match nothing); timestamps are the fixed text form
//! of [`crate::domain::time`].

mod api_keys;
mod audit;
mod checked;
mod checkpoint;
mod inline;
mod item_listing;
mod item_search;
mod items;
mod migration_checks;
mod oauth_clients;
mod oauth_flow;
mod price_analysis;
mod rate_limits;
mod sessions;
mod throttle;
mod tokens;
mod tx;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Sqlite;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use tokio::sync::OwnedMutexGuard;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use self::inline::InlineReads;
use self::tx::Writer;
use super::migrate::{self, SqliteMigrator};
use super::{
    Backend, ChainHead, CountCache, Creation, MigrationStatus, PoolSettings, Store, StoreError,
    StoreResult, StoreTx,
};
use crate::config::DatabaseUrl;
use crate::domain::time;

/// Parses a stored UUID text.
fn parse_uuid(text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| StoreError::Other(format!("bad stored id {text:?}: {e}")))
}

/// Parses a stored timestamp text.
fn parse_time(text: &str) -> StoreResult<DateTime<Utc>> {
    time::from_text(text)
        .map_err(|e| StoreError::Other(format!("bad stored timestamp {text:?}: {e}")))
}

/// A store on one SQLite file.
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    inline: Arc<InlineReads>,
    /// The connection write transactions run on; see [`tx`].
    writer: Writer,
    chain_head: Arc<ChainHead>,
    counts: CountCache,
    /// Into how many id ranges a text search's count is split.
    count_parts: usize,
}

/// Checks the database file can be opened as `creation` allows, creating
/// its directory when allowed, before SQLite says only "unable to open".
fn prepare_file(file: &Path, creation: &Creation) -> StoreResult<()> {
    if file.exists() {
        return writable(file);
    }
    let data_dir = match creation {
        Creation::Refused => {
            return Err(StoreError::Missing(format!(
                "there is no SQLite database at {}",
                file.display()
            )));
        }
        Creation::Allowed { data_dir } => data_dir,
    };
    let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.exists() {
        return writable_dir(dir);
    }
    // Only the data directory (or a directory inside it) is made: a typo
    // elsewhere in DATABASE_URL should not grow a tree of its own.
    if !dir.starts_with(data_dir) {
        return Err(StoreError::Missing(format!(
            "the directory {} does not exist; create it (mkdir -p), or keep the database inside \
             AIAPI_DATA_DIR ({})",
            dir.display(),
            data_dir.display()
        )));
    }
    crate::private_files::create_dir(dir)
        .map_err(|e| StoreError::Other(format!("cannot create directory {}: {e}", dir.display())))
}

/// Refuses, saying why, a database file or directory the service cannot
/// write: SQLite would only say "unable to open database file".
fn writable(file: &Path) -> StoreResult<()> {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
    {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(denied(file)),
        _ => match file.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(dir) => writable_dir(dir),
            None => Ok(()),
        },
    }
}

/// Refuses a directory the service cannot create files in (the database,
/// or SQLite's -wal and -shm files beside it).
fn writable_dir(dir: &Path) -> StoreResult<()> {
    let probe = dir.join(format!(".aiapi-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(denied(dir)),
        Err(_) => Ok(()),
    }
}

/// The refusal for a path the service cannot write.
fn denied(what: &Path) -> StoreError {
    StoreError::Other(format!(
        "permission denied writing {}: the service's user must be able to write the \
         database file and its directory (SQLite keeps -wal and -shm files beside it)",
        what.display()
    ))
}

impl SqliteStore {
    /// Opens the database file (creating it, with its directory, when
    /// `pool.creation` allows).
    pub async fn connect(url: &DatabaseUrl, pool: PoolSettings) -> StoreResult<Self> {
        let busy_timeout = Duration::from_secs(5);
        let options = SqliteConnectOptions::from_str(url.expose())
            .map_err(|e| StoreError::Other(format!("invalid DATABASE_URL: {e}")))?
            .create_if_missing(pool.creation != Creation::Refused)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(busy_timeout)
            .foreign_keys(true)
            // Sorts and groupings larger than the page cache spill to a
            // temp file (the OS's cache) instead of growing the heap: a
            // GROUP BY over a million items stays a few MB of RAM.
            .pragma("temp_store", "file");
        prepare_file(options.get_filename(), &pool.creation)?;
        crate::private_files::restrict_database(options.get_filename()).map_err(|e| {
            StoreError::Other(format!(
                "cannot make {} owner-only: {e}",
                options.get_filename().display()
            ))
        })?;
        // The writer opens first so the file exists (and is in WAL mode)
        // before the read-only connections open it.
        // No ping before handing out a connection: a local file does not
        // drop connections, and the ping is a round trip to the
        // connection's worker thread on every request.
        // Its commits leave checkpoints to the writer's checkpoint thread.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(pool.acquire_timeout)
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(pool.max_connections)
            .test_before_acquire(false)
            .acquire_timeout(pool.acquire_timeout)
            .connect_with(options.clone().read_only(true))
            .await?;
        let inline = InlineReads::new(
            options.get_filename(),
            busy_timeout,
            pool.max_connections as usize,
        );
        let writer = Writer::open(options.get_filename(), busy_timeout)?;
        Ok(Self {
            read,
            write,
            inline,
            writer,
            chain_head: Arc::default(),
            counts: CountCache::default(),
            count_parts: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(pool.max_connections as usize),
        })
    }
}

/// The sqlx write connection, held under the process's write lock (see
/// [`tx`]). It goes back to the pool before the lock is released, so the
/// next writer does not wait for the pool's check of the connection.
pub(super) struct SqlxWriter {
    conn: PoolConnection<Sqlite>,
    checkpointer: Arc<checkpoint::Checkpointer>,
    _lock: OwnedMutexGuard<rusqlite::Connection>,
}

impl Drop for SqlxWriter {
    fn drop(&mut self) {
        // Counted as a commit whether or not it wrote: the checkpoint
        // thread only needs to know that the WAL may have grown.
        self.checkpointer.committed();
    }
}

impl std::ops::Deref for SqlxWriter {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for SqlxWriter {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

impl SqliteStore {
    /// The sqlx write connection, once the write lock is held.
    pub(super) async fn sqlx_writer(&self) -> StoreResult<SqlxWriter> {
        let lock = self.writer.lock().await;
        let conn = self.write.acquire().await?;
        Ok(SqlxWriter {
            conn,
            checkpointer: self.writer.checkpointer(),
            _lock: lock,
        })
    }

    /// A write transaction whose statements run on the caller's thread.
    async fn begin_tx(&self) -> StoreResult<tx::SqliteTx> {
        self.writer.begin(self.chain_head.clone()).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(self.begin_tx().await?))
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn pool_connections(&self) -> (u32, u32) {
        let idle = (self.read.num_idle() + self.write.num_idle()) as u32;
        (self.read.size() + self.write.size() - idle, idle)
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inline
            .now(|conn| checked::scalar!(conn, r#"SELECT 1 AS "alive!: i64""#).map(|_: i64| ()))
    }

    async fn migrate(&self) -> StoreResult<Vec<MigrationStatus>> {
        let mut conn = self.sqlx_writer().await?;
        let known = SqliteMigrator(&mut conn)
            .status(migrate::sqlite_runner())
            .await?;
        migration_checks::before_applying(&mut conn, &known).await?;
        // SQLite changes a CHECK only by rebuilding the table, and dropping
        // a table others refer to would, with foreign keys on, delete the
        // rows that refer to it. Its documented procedure: keys off (only
        // possible outside the migration's transaction), rebuild, check
        // that every reference still holds, keys on.
        sqlx::query!("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await?;
        let applied = SqliteMigrator(&mut conn)
            .apply(migrate::sqlite_runner)
            .await;
        let broken = migration_checks::broken_references(&mut conn).await;
        sqlx::query!("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await?;
        let applied = applied?;
        broken?;
        Ok(applied)
    }

    async fn migration_status(&self) -> StoreResult<Vec<MigrationStatus>> {
        let mut conn = self.sqlx_writer().await?;
        SqliteMigrator(&mut conn)
            .status(migrate::sqlite_runner())
            .await
    }

    async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}
