//! The `login_throttle` table on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{SqliteStore, parse_time};
use crate::domain::time;
use crate::store::{FailurePolicy, KeyState, StoreError, StoreResult, ThrottleStore};

struct KeyRow {
    key: String,
    failures: i64,
    locked_until: Option<String>,
}

impl TryFrom<KeyRow> for KeyState {
    type Error = StoreError;

    fn try_from(row: KeyRow) -> Result<Self, Self::Error> {
        Ok(KeyState {
            key: row.key,
            failures: row.failures,
            locked_until: row.locked_until.as_deref().map(parse_time).transpose()?,
        })
    }
}

#[async_trait]
impl ThrottleStore for SqliteStore {
    async fn throttle_states(
        &self,
        keys: &[String; 3],
        window_start_after: DateTime<Utc>,
    ) -> StoreResult<Vec<KeyState>> {
        let after = time::to_text(window_start_after);
        let rows = sqlx::query_as!(
            KeyRow,
            r#"SELECT key AS "key!", failures AS "failures!", locked_until FROM login_throttle
               WHERE key IN (?1, ?2, ?3) AND window_start >= ?4"#,
            keys[0],
            keys[1],
            keys[2],
            after
        )
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(KeyState::try_from).collect()
    }

    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        policy: FailurePolicy,
    ) -> StoreResult<KeyState> {
        let at = time::to_text(now);
        let window_after = time::to_text(policy.window_start_after);
        let lock_until = time::to_text(policy.lock_until);
        // One atomic upsert: restart a stale window, else count, and lock on
        // reaching the limit (timestamps are fixed-width text: max() orders them).
        let row = sqlx::query_as!(
            KeyRow,
            r#"INSERT INTO login_throttle (key, failures, window_start, locked_until)
               VALUES (?1, 1, ?2, CASE WHEN ?4 <= 1 THEN ?5 END)
               ON CONFLICT (key) DO UPDATE SET
                   failures = CASE WHEN login_throttle.window_start < ?3 THEN 1
                                   ELSE login_throttle.failures + 1 END,
                   window_start = CASE WHEN login_throttle.window_start < ?3 THEN ?2
                                       ELSE login_throttle.window_start END,
                   locked_until = CASE WHEN (CASE WHEN login_throttle.window_start < ?3 THEN 1
                                                  ELSE login_throttle.failures + 1 END) >= ?4
                                       THEN max(?5, coalesce(login_throttle.locked_until, ''))
                                       WHEN login_throttle.window_start < ?3 THEN NULL
                                       ELSE login_throttle.locked_until END
               RETURNING key AS "key!", failures AS "failures!", locked_until"#,
            key,
            at,
            window_after,
            policy.limit,
            lock_until
        )
        .fetch_one(&mut *self.sqlx_writer().await?)
        .await?;
        row.try_into()
    }

    async fn extend_lock(&self, key: &str, until: DateTime<Utc>) -> StoreResult<()> {
        let until = time::to_text(until);
        sqlx::query!(
            "UPDATE login_throttle SET locked_until = max(coalesce(locked_until, ''), ?2)
             WHERE key = ?1",
            key,
            until
        )
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(())
    }

    async fn clear_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query!("DELETE FROM login_throttle WHERE key = ?1", key)
            .execute(&mut *self.sqlx_writer().await?)
            .await?;
        Ok(())
    }
}
