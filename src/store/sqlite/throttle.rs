//! The `login_throttle` table on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{SqliteStore, parse_time};
use crate::domain::time;
use crate::store::{FailurePolicy, StoreResult, ThrottleStore};

#[async_trait]
impl ThrottleStore for SqliteStore {
    async fn locked_until(
        &self,
        user_key: &str,
        addr_key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let at = time::to_text(now);
        let until = sqlx::query_scalar!(
            r#"SELECT max(locked_until) AS "until: String" FROM login_throttle
               WHERE key IN (?1, ?2) AND locked_until > ?3"#,
            user_key,
            addr_key,
            at
        )
        .fetch_one(&self.read)
        .await?;
        until.as_deref().map(parse_time).transpose()
    }

    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        policy: FailurePolicy,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let at = time::to_text(now);
        let window_after = time::to_text(policy.window_start_after);
        let lock_until = time::to_text(policy.lock_until);
        // One atomic upsert: restart a stale window, else count, and lock on reaching the limit.
        let locked = sqlx::query_scalar!(
            r#"INSERT INTO login_throttle (key, failures, window_start, locked_until)
               VALUES (?1, 1, ?2, CASE WHEN ?4 <= 1 THEN ?5 END)
               ON CONFLICT (key) DO UPDATE SET
                   failures = CASE WHEN login_throttle.window_start < ?3 THEN 1
                                   ELSE login_throttle.failures + 1 END,
                   window_start = CASE WHEN login_throttle.window_start < ?3 THEN ?2
                                       ELSE login_throttle.window_start END,
                   locked_until = CASE WHEN (CASE WHEN login_throttle.window_start < ?3 THEN 1
                                                  ELSE login_throttle.failures + 1 END) >= ?4
                                       THEN ?5 ELSE login_throttle.locked_until END
               RETURNING locked_until AS "locked_until: String""#,
            key,
            at,
            window_after,
            policy.limit,
            lock_until
        )
        .fetch_one(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(locked
            .as_deref()
            .map(parse_time)
            .transpose()?
            .filter(|until| *until > now))
    }

    async fn clear_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query!("DELETE FROM login_throttle WHERE key = ?1", key)
            .execute(&mut *self.sqlx_writer().await?)
            .await?;
        Ok(())
    }
}
