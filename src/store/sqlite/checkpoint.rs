//! WAL checkpoints on a thread of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its
//! threshold: that commit copies the WAL's pages into the database file and
//! syncs it while holding the write lock, so every writer queued behind it
//! waits too (a perf profile of `create_item` under load showed a fifth of
//! the server's time in those writes and syncs). Here the writers'
//! connections never checkpoint; this thread does, on a connection of its
//! own, in two passes. The first copies the bulk beside the writer, which
//! keeps appending meanwhile; the second, under the write lock, copies only
//! what was appended during the first. Then the WAL is wholly in the
//! database file, so the next transaction starts it again from the top: a
//! checkpoint that only ever ran beside the writer would never catch up,
//! and the WAL would grow without end under a steady load.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Mutex as WriteLock;

use super::checked;
use super::inline::open_connection;
use crate::store::StoreResult;

/// Commits after which a checkpoint runs at once, so a write burst cannot
/// grow the WAL without bound between the timed rounds.
const COMMITS_PER_CHECKPOINT: u64 = 1_000;

/// How long fewer commits wait for their checkpoint.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// What the writer and the thread share.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    /// Commits since the last checkpoint began.
    commits: u64,
    /// Set when the store goes away.
    stopped: bool,
}

/// The writer's handle on the checkpoint thread; stops it when dropped.
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread on the database at `path`, whose writers hold
    /// `write_lock` while they write.
    pub(super) fn start(
        path: &Path,
        busy_timeout: Duration,
        write_lock: Arc<WriteLock<Connection>>,
    ) -> StoreResult<Self> {
        let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE, busy_timeout)?;
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &theirs, &write_lock))
            .map_err(|e| crate::store::StoreError::Other(format!("checkpoint thread: {e}")))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Counts a commit, waking the thread when a checkpoint is due.
    pub(super) fn committed(&self) {
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state.commits += 1;
        if state.commits == COMMITS_PER_CHECKPOINT {
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    /// Stops the thread and waits for it, so that its connection closes
    /// before the store's last one: the last to close folds the WAL into
    /// the database file and deletes it.
    fn drop(&mut self) {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stopped = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Waits for commits, then checkpoints what they wrote, until stopped.
fn run(conn: &Connection, shared: &Shared, write_lock: &WriteLock<Connection>) {
    loop {
        {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            while !state.stopped && state.commits == 0 {
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if !state.stopped && state.commits < COMMITS_PER_CHECKPOINT {
                state = shared
                    .wake
                    .wait_timeout_while(state, CHECKPOINT_INTERVAL, |s| {
                        !s.stopped && s.commits < COMMITS_PER_CHECKPOINT
                    })
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            if state.stopped {
                return;
            }
            state.commits = 0;
        }
        // PASSIVE copies what it can without waiting for readers or the
        // writer; a reader still on older pages leaves them to a later round.
        let checkpoint = || checked::pragma(conn, "PRAGMA wal_checkpoint(PASSIVE)");
        let result = checkpoint().and_then(|()| {
            let _writers_wait = write_lock.blocking_lock();
            checkpoint()
        });
        if let Err(e) = result {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}
