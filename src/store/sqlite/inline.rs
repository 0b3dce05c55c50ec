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
//! that may scan goes to a fixed pool of reader threads, each with a
//! connection of its own ([`InlineReads::blocking`]).
//!
//! The statements themselves are checked by sqlx at build time: see
//! [`super::checked`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::store::error::sqlite_constraint_name;
use crate::store::{StoreError, StoreResult};

/// Prepared statements each connection keeps; the hot reads are a handful.
const STATEMENT_CACHE: usize = 32;

/// A read for a reader thread, given its connection (or why it has none).
type ReadJob = Box<dyn FnOnce(StoreResult<&Connection>) + Send>;

/// Read-only connections to one SQLite file: an idle list for reads on the
/// async workers, and `readers` threads for reads that may scan.
///
/// The threads are fixed rather than tokio's blocking pool: that pool
/// starts a thread whenever none is idle at the moment of asking, so even
/// with the reads bounded by a semaphore it grew to many threads under a
/// search load, each keeping its own allocator heap, and the server's
/// resident memory followed the thread count (BENCHMARKS.md, "Measurements
/// behind design choices").
pub(super) struct InlineReads {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    jobs: mpsc::Sender<ReadJob>,
}

impl InlineReads {
    /// Reads of the database at `path`, with `readers` threads for the
    /// reads that may scan.
    pub(super) fn new(path: &Path, busy_timeout: Duration, readers: usize) -> Arc<Self> {
        let (jobs, queue) = mpsc::channel::<ReadJob>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..readers.max(1) {
            let queue = queue.clone();
            let path = path.to_owned();
            std::thread::Builder::new()
                .name(format!("sqlite-read-{n}"))
                .spawn(move || serve_reads(&path, busy_timeout, &queue))
                .expect("spawn a SQLite reader thread");
        }
        Arc::new(Self {
            path: path.to_owned(),
            busy_timeout,
            idle: Mutex::new(Vec::new()),
            jobs,
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

    /// Runs `read` on a reader thread, for statements that may scan; waits
    /// for a free one when all are reading.
    pub(super) async fn blocking<T: Send + 'static, E: 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    ) -> StoreResult<T>
    where
        StoreError: From<E>,
    {
        let (answer, answered) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = answer.send(conn.and_then(|conn| Ok(read(conn)?)));
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Other("the reader threads have stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Other("read task failed".into()))?
    }

    fn checkout(&self) -> StoreResult<Connection> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => Ok(open_connection(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY,
                self.busy_timeout,
            )?),
        }
    }
}

/// A reader thread: opens its connection at the first read (again after a
/// failure), then serves reads until the store goes away.
fn serve_reads(path: &Path, busy_timeout: Duration, queue: &Mutex<mpsc::Receiver<ReadJob>>) {
    let mut conn: Option<Connection> = None;
    loop {
        let job = match queue.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        if conn.is_none() {
            match open_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY, busy_timeout) {
                Ok(opened) => conn = Some(opened),
                Err(e) => {
                    job(Err(e.into()));
                    continue;
                }
            }
        }
        let conn = conn.as_ref().expect("opened above");
        // A panicking read answers as a failed task; the thread stays.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Ok(conn))));
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
