//! The `login_throttle` table: failed-login counters shared by all replicas.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;

/// Counting policy for one failure.
#[derive(Debug, Clone, Copy)]
pub struct FailurePolicy {
    /// Failures counted since this instant; older windows restart at 1.
    pub window_start_after: DateTime<Utc>,
    /// Failures in a window that lock the key.
    pub limit: i64,
    /// Until when a key that reaches the limit is locked.
    pub lock_until: DateTime<Utc>,
}

/// Failed-login counters.
#[async_trait]
pub trait ThrottleStore {
    /// The latest `locked_until` after `now` among `keys`, if any is locked.
    async fn locked_until(
        &self,
        user_key: &str,
        addr_key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>>;

    /// Counts a failure for `key`; returns `locked_until` if it is now locked.
    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        policy: FailurePolicy,
    ) -> StoreResult<Option<DateTime<Utc>>>;

    /// Forgets the failures of `key`.
    async fn clear_failures(&self, key: &str) -> StoreResult<()>;
}
