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

/// A counter in its current window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    /// The counter's key.
    pub key: String,
    /// Failures counted in the window.
    pub failures: i64,
    /// Until when the key is locked, if it ever was in this window.
    pub locked_until: Option<DateTime<Utc>>,
}

/// Failed-login counters.
#[async_trait]
pub trait ThrottleStore {
    /// The counters among `keys` whose window started after
    /// `window_start_after`; keys without failures are absent.
    async fn throttle_states(
        &self,
        keys: &[String; 3],
        window_start_after: DateTime<Utc>,
    ) -> StoreResult<Vec<KeyState>>;

    /// Counts a failure for `key`, locking it on reaching the limit; returns
    /// the counter as it now is.
    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        policy: FailurePolicy,
    ) -> StoreResult<KeyState>;

    /// Locks `key` until `until` unless it is locked longer already.
    async fn extend_lock(&self, key: &str, until: DateTime<Utc>) -> StoreResult<()>;

    /// Forgets the failures of `key`.
    async fn clear_failures(&self, key: &str) -> StoreResult<()>;
}
