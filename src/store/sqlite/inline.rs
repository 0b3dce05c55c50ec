//! Reads that run on the caller's own thread, through rusqlite.
//!
//! sqlx gives every SQLite connection a worker thread and carries each
//! statement, and each row, across a channel to it and back. For the reads
//! on every request's path (the identity check, a page of items), those
//! thread hand-offs cost more than SQLite's own work: an indexed lookup
//! takes microseconds, a wake-up of another thread tens of them on a busy
//! machine. So those reads run here, synchronously, on read-only
//! connections kept in a small idle list. Only statements whose cost an
//! index bounds run on the async worker ([`InlineReads::now`]); anything
//! that may scan goes to the blocking pool ([`InlineReads::blocking`]).
//!
//! The SQL here is not checked at compile time as the sqlx macros are:
//! every statement runs in the black-box tests on each request, and a
//! mistyped column fails them at once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use crate::store::error::sqlite_constraint_name;
use crate::store::{StoreError, StoreResult};

/// Prepared statements each connection keeps; the hot reads are a handful.
const STATEMENT_CACHE: usize = 32;

/// Read-only connections to one SQLite file, opened on demand and kept.
/// At most `blocking` reads run on the blocking pool at once; with the
/// runtime's worker threads that bounds how many connections ever open.
pub(super) struct InlineReads {
    path: PathBuf,
    busy_timeout: Duration,
    blocking: Semaphore,
    idle: Mutex<Vec<Connection>>,
}

impl InlineReads {
    /// Reads of the database at `path`, at most `blocking` of them on the
    /// blocking pool at once.
    pub(super) fn new(path: &Path, busy_timeout: Duration, blocking: usize) -> Arc<Self> {
        Arc::new(Self {
            path: path.to_owned(),
            busy_timeout,
            blocking: Semaphore::new(blocking),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Runs `read` on this thread. Only for statements an index bounds:
    /// the async worker is blocked while it runs.
    pub(super) fn now<T, E>(&self, read: impl FnOnce(&Connection) -> Result<T, E>) -> StoreResult<T>
    where
        StoreError: From<E>,
    {
        let conn = self.checkout()?;
        let result = read(&conn);
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
        Ok(result?)
    }

    /// Runs `read` on tokio's blocking pool, for statements that may scan;
    /// waits for a turn when `blocking` reads already run.
    pub(super) async fn blocking<T: Send + 'static, E: 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    ) -> StoreResult<T>
    where
        StoreError: From<E>,
    {
        let _turn = self
            .blocking
            .acquire()
            .await
            .map_err(|e| StoreError::Other(format!("read pool closed: {e}")))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.now(read))
            .await
            .map_err(|e| StoreError::Other(format!("read task failed: {e}")))?
    }

    fn checkout(&self) -> StoreResult<Connection> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => self.open(),
        }
    }

    fn open(&self) -> StoreResult<Connection> {
        Ok(open_connection(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY,
            self.busy_timeout,
        )?)
    }
}

/// A rusqlite connection to `path`, used by one thread at a time, with a
/// statement cache for the handful of hot statements.
pub(super) fn open_connection(
    path: &Path,
    flags: OpenFlags,
    busy_timeout: Duration,
) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
        match &err {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            rusqlite::Error::SqliteFailure(failure, message)
                if matches!(
                    failure.extended_code,
                    SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
            {
                StoreError::Conflict {
                    constraint: sqlite_constraint_name(message.as_deref().unwrap_or_default()),
                }
            }
            _ => match err.sqlite_error_code() {
                Some(
                    ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::CannotOpen
                    | ErrorCode::SystemIoFailure,
                ) => StoreError::Unavailable(err.to_string()),
                _ => StoreError::Other(err.to_string()),
            },
        }
    }
}
