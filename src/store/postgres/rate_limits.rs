//! The `tool_call_windows` table on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PostgresStore;
use crate::store::{CallWindow, RateLimitStore, StoreResult};

#[async_trait]
impl RateLimitStore for PostgresStore {
    async fn count_call(
        &self,
        principal: &str,
        now: DateTime<Utc>,
        window_start_after: DateTime<Utc>,
    ) -> StoreResult<CallWindow> {
        let mut tx = self.pool.begin().await?;
        // A count lost in a crash only forgives a few calls, so this commit
        // need not wait for the disk.
        sqlx::query!("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query!(
            "INSERT INTO tool_call_windows (principal, window_start, calls) VALUES ($1, $2, 1)
             ON CONFLICT (principal) DO UPDATE SET
                 calls = CASE WHEN tool_call_windows.window_start < $3 THEN 1 ELSE tool_call_windows.calls + 1 END,
                 window_start = CASE WHEN tool_call_windows.window_start < $3 THEN $2 ELSE tool_call_windows.window_start END
             RETURNING calls, window_start",
            principal,
            now,
            window_start_after
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(CallWindow {
            calls: row.calls,
            started: row.window_start,
        })
    }
}
