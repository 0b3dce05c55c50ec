//! The `tool_call_windows` table on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::checked::{self, sqlite_row};
use super::{SqliteStore, parse_time};
use crate::domain::time;
use crate::store::{CallWindow, RateLimitStore, StoreResult};

sqlite_row! {
    /// A principal's window after counting a call.
    struct WindowRow {
        calls: i64,
        window_start: String,
    }
}

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn count_call(
        &self,
        principal: &str,
        now: DateTime<Utc>,
        window_start_after: DateTime<Utc>,
    ) -> StoreResult<CallWindow> {
        let tx = self.begin_tx().await?;
        let row = checked::row!(
            tx.conn(),
            WindowRow,
            r#"INSERT INTO tool_call_windows (principal, window_start, calls) VALUES (?1, ?2, 1)
               ON CONFLICT (principal) DO UPDATE SET
                   calls = CASE WHEN tool_call_windows.window_start < ?3 THEN 1 ELSE tool_call_windows.calls + 1 END,
                   window_start = CASE WHEN tool_call_windows.window_start < ?3 THEN ?2 ELSE tool_call_windows.window_start END
               RETURNING calls AS "calls!: i64", window_start AS "window_start!: String""#,
            principal,
            time::to_text(now),
            time::to_text(window_start_after)
        )?;
        tx.finish()?;
        Ok(CallWindow {
            calls: row.calls,
            started: parse_time(&row.window_start)?,
        })
    }
}
