//! The `tool_call_windows` table: tool calls per principal per minute,
//! counted in the database so a limit holds across replicas.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;

/// Reads of the per-principal call counters.
#[async_trait]
pub trait RateLimitStore {
    /// Calls of `principal` in the window that started after
    /// `window_start_after`, and when that window started (0 and `None` when
    /// there is no current window).
    async fn calls_in_window(
        &self,
        principal: &str,
        window_start_after: DateTime<Utc>,
    ) -> StoreResult<(i64, Option<DateTime<Utc>>)>;
}
