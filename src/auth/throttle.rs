//! Login throttling: failures are counted per username and per client
//! address in the database (so the count holds across replicas); reaching
//! the limit locks the key for a while, answered with 429 and Retry-After.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

use crate::error::ApiError;
use crate::store::{FailurePolicy, Store};

/// Limits for failed logins.
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    /// Failures of one username within the window that lock it.
    pub max_failures_per_user: i64,
    /// Failures from one address within the window that lock it.
    pub max_failures_per_addr: i64,
    /// The counting window, and how long a lock lasts.
    pub window: Duration,
}

impl LoginThrottle {
    fn keys(username: &str, addr: Option<IpAddr>) -> (String, String) {
        (
            format!("user:{username}"),
            format!("addr:{}", addr.map(|a| a.to_string()).unwrap_or_default()),
        )
    }

    /// 429 if the username or the address is locked.
    pub async fn check(
        &self,
        store: &dyn Store,
        username: &str,
        addr: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let (user_key, addr_key) = Self::keys(username, addr);
        match store.locked_until(&user_key, &addr_key, now).await? {
            Some(until) => Err(too_many(until, now)),
            None => Ok(()),
        }
    }

    /// Counts a failed login; returns when a key became locked, if one did.
    pub async fn record_failure(
        &self,
        store: &dyn Store,
        username: &str,
        addr: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ApiError> {
        let (user_key, addr_key) = Self::keys(username, addr);
        let policy = |limit| FailurePolicy {
            window_start_after: now - self.window,
            limit,
            lock_until: now + self.window,
        };
        let user_lock = store
            .record_failure(&user_key, now, policy(self.max_failures_per_user))
            .await?;
        let addr_lock = store
            .record_failure(&addr_key, now, policy(self.max_failures_per_addr))
            .await?;
        Ok(user_lock.max(addr_lock))
    }

    /// Forgets the username's failures after a successful login.
    pub async fn record_success(&self, store: &dyn Store, username: &str) -> Result<(), ApiError> {
        let (user_key, _) = Self::keys(username, None);
        Ok(store.clear_failures(&user_key).await?)
    }
}

fn too_many(until: DateTime<Utc>, now: DateTime<Utc>) -> ApiError {
    let secs = (until - now).num_seconds().max(1) as u64;
    ApiError::TooManyRequests {
        detail: format!("too many failed logins; try again in {secs} seconds"),
        retry_after_secs: secs,
    }
}
