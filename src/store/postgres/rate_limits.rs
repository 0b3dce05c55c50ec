//! The `tool_call_windows` table on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::PostgresStore;
use crate::store::{RateLimitStore, StoreResult};

#[async_trait]
impl RateLimitStore for PostgresStore {
    async fn calls_in_window(
        &self,
        principal: &str,
        window_start_after: DateTime<Utc>,
    ) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
        let row = sqlx::query!(
            "SELECT calls, window_start FROM tool_call_windows WHERE principal = $1 AND window_start >= $2",
            principal,
            window_start_after
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map_or((0, None), |r| (r.calls, Some(r.window_start))))
    }
}

/// Counts one call inside a transaction (an upsert that restarts a stale window).
pub(super) async fn count_call(
    conn: &mut PgConnection,
    principal: &str,
    now: DateTime<Utc>,
    window_start_after: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO tool_call_windows (principal, window_start, calls) VALUES ($1, $2, 1)
         ON CONFLICT (principal) DO UPDATE SET
             calls = CASE WHEN tool_call_windows.window_start < $3 THEN 1 ELSE tool_call_windows.calls + 1 END,
             window_start = CASE WHEN tool_call_windows.window_start < $3 THEN $2 ELSE tool_call_windows.window_start END",
        principal,
        now,
        window_start_after
    )
    .execute(conn)
    .await?;
    Ok(())
}
