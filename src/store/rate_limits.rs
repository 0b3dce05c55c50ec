//! The `tool_call_windows` table: tool calls per principal per minute,
//! counted in the database so a limit holds across replicas.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;

/// A principal's calls in its current window.
#[derive(Debug, Clone, Copy)]
pub struct CallWindow {
    /// Calls in the window, the one just counted included.
    pub calls: i64,
    /// When the window started.
    pub started: DateTime<Utc>,
}

/// The per-principal call counters.
#[async_trait]
pub trait RateLimitStore {
    /// Counts one call of `principal` and returns its window: the current
    /// one, or a new one starting at `now` when the last began before
    /// `window_start_after`. One statement counts and reads, so concurrent
    /// calls each see their own count; it commits at once, in a transaction
    /// of its own, because a call counts whether or not it goes on to run.
    async fn count_call(
        &self,
        principal: &str,
        now: DateTime<Utc>,
        window_start_after: DateTime<Utc>,
    ) -> StoreResult<CallWindow>;
}
