//! The `tool_call_windows` table on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::checked;
use super::{SqliteStore, parse_time};
use crate::domain::time;
use crate::store::{RateLimitStore, StoreResult};

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn calls_in_window(
        &self,
        principal: &str,
        window_start_after: DateTime<Utc>,
    ) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
        let after = time::to_text(window_start_after);
        let row = sqlx::query!(
            "SELECT calls, window_start FROM tool_call_windows WHERE principal = ?1 AND window_start >= ?2",
            principal,
            after
        )
        .fetch_optional(&self.read)
        .await?;
        match row {
            Some(row) => Ok((row.calls, Some(parse_time(&row.window_start)?))),
            None => Ok((0, None)),
        }
    }
}

/// Counts one call inside a transaction (an upsert that restarts a stale window).
pub(super) fn count_call(
    conn: &Connection,
    principal: &str,
    now: DateTime<Utc>,
    window_start_after: DateTime<Utc>,
) -> StoreResult<()> {
    checked::execute!(
        conn,
        "INSERT INTO tool_call_windows (principal, window_start, calls) VALUES (?1, ?2, 1)
         ON CONFLICT (principal) DO UPDATE SET
             calls = CASE WHEN tool_call_windows.window_start < ?3 THEN 1 ELSE tool_call_windows.calls + 1 END,
             window_start = CASE WHEN tool_call_windows.window_start < ?3 THEN ?2 ELSE tool_call_windows.window_start END",
        principal,
        time::to_text(now),
        time::to_text(window_start_after)
    )?;
    Ok(())
}
