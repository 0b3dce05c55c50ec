//! The `login_throttle` table on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PostgresStore;
use crate::store::{FailurePolicy, StoreResult, ThrottleStore};

#[async_trait]
impl ThrottleStore for PostgresStore {
    async fn locked_until(
        &self,
        user_key: &str,
        addr_key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(sqlx::query_scalar!(
            "SELECT max(locked_until) FROM login_throttle
             WHERE key IN ($1, $2) AND locked_until > $3",
            user_key,
            addr_key,
            now
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        policy: FailurePolicy,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        // One atomic upsert: restart a stale window, else count, and lock on reaching the limit.
        let locked = sqlx::query_scalar!(
            "INSERT INTO login_throttle (key, failures, window_start, locked_until)
             VALUES ($1, 1, $2, CASE WHEN $4 <= 1 THEN $5::timestamptz END)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN login_throttle.window_start < $3 THEN 1
                                 ELSE login_throttle.failures + 1 END,
                 window_start = CASE WHEN login_throttle.window_start < $3 THEN $2
                                     ELSE login_throttle.window_start END,
                 locked_until = CASE WHEN (CASE WHEN login_throttle.window_start < $3 THEN 1
                                                ELSE login_throttle.failures + 1 END) >= $4
                                     THEN $5 ELSE login_throttle.locked_until END
             RETURNING locked_until",
            key,
            now,
            policy.window_start_after,
            policy.limit as i32,
            policy.lock_until
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(locked.filter(|until| *until > now))
    }

    async fn clear_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query!("DELETE FROM login_throttle WHERE key = $1", key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
