//! The `login_throttle` table on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PostgresStore;
use crate::store::{FailurePolicy, KeyState, StoreResult, ThrottleStore};

#[async_trait]
impl ThrottleStore for PostgresStore {
    async fn throttle_states(
        &self,
        keys: &[String; 3],
        window_start_after: DateTime<Utc>,
    ) -> StoreResult<Vec<KeyState>> {
        Ok(sqlx::query_as!(
            KeyState,
            r#"SELECT key, failures::int8 AS "failures!", locked_until FROM login_throttle
               WHERE key IN ($1, $2, $3) AND window_start >= $4"#,
            keys[0],
            keys[1],
            keys[2],
            window_start_after
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        policy: FailurePolicy,
    ) -> StoreResult<KeyState> {
        // One atomic upsert: restart a stale window, else count, and lock on reaching the limit.
        Ok(sqlx::query_as!(
            KeyState,
            r#"INSERT INTO login_throttle (key, failures, window_start, locked_until)
             VALUES ($1, 1, $2, CASE WHEN $4 <= 1 THEN $5::timestamptz END)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN login_throttle.window_start < $3 THEN 1
                                 ELSE login_throttle.failures + 1 END,
                 window_start = CASE WHEN login_throttle.window_start < $3 THEN $2
                                     ELSE login_throttle.window_start END,
                 locked_until = CASE WHEN (CASE WHEN login_throttle.window_start < $3 THEN 1
                                                ELSE login_throttle.failures + 1 END) >= $4
                                     THEN GREATEST($5, login_throttle.locked_until)
                                     WHEN login_throttle.window_start < $3 THEN NULL
                                     ELSE login_throttle.locked_until END
             RETURNING key, failures::int8 AS "failures!", locked_until"#,
            key,
            now,
            policy.window_start_after,
            policy.limit as i32,
            policy.lock_until
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn extend_lock(&self, key: &str, until: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query!(
            "UPDATE login_throttle SET locked_until = GREATEST(locked_until, $2) WHERE key = $1",
            key,
            until
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn clear_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query!("DELETE FROM login_throttle WHERE key = $1", key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
