//! Login throttling, counted in the database so it holds across replicas.
//! Keys are hashes (a client string of any length fits the index):
//!
//! - per (username, address): after the limit, each further failure locks
//!   the pair for twice as long as the last (30 s, 60 s, ... up to the
//!   window), so one address guesses a handful of times per window;
//! - per username: after the limit the username is "hot" for the window,
//!   and addresses that have failed recently are refused, while an address
//!   with no recent failures may still try, so its owner logs in;
//! - per address: a bound so high (1,000 by default) that a proxy's many
//!   clients cannot reach it by accident.
//!
//! A lock is answered with 429 and Retry-After.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::store::{FailurePolicy, KeyState, Store};

/// The first lock of a (username, address) pair; each further failure doubles it.
const FIRST_PAIR_LOCK: Duration = Duration::seconds(30);

/// Limits for failed logins.
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    /// Failures of one username (and of one username from one address)
    /// within the window that throttle it.
    pub max_failures_per_user: i64,
    /// Failures from one address within the window that lock it.
    pub max_failures_per_addr: i64,
    /// The counting window, and the longest lock.
    pub window: Duration,
}

/// The three counters of an attempt.
struct Keys {
    user: String,
    pair: String,
    addr: String,
}

/// `prefix:` and the SHA-256 of `parts`: a counter's key, of bounded
/// length whatever the client sent, and naming no one in the table.
pub fn hashed_key(prefix: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    format!(
        "{prefix}:{}",
        crate::domain::digest::hex(&hasher.finalize())
    )
}

impl Keys {
    fn of(username: &str, addr: Option<IpAddr>) -> Self {
        let name = username.to_lowercase();
        let addr = addr.map(|a| a.to_string()).unwrap_or_default();
        Self {
            user: hashed_key("user", &[&name]),
            pair: hashed_key("pair", &[&name, &addr]),
            addr: hashed_key("addr", &[&addr]),
        }
    }

    fn all(&self) -> [String; 3] {
        [self.user.clone(), self.pair.clone(), self.addr.clone()]
    }
}

impl LoginThrottle {
    /// 429 if the attempt's pair or address is locked, or its username is
    /// hot and its address has failed recently.
    pub async fn check(
        &self,
        store: &dyn Store,
        username: &str,
        addr: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let keys = Keys::of(username, addr);
        let states = store
            .throttle_states(&keys.all(), now - self.window)
            .await?;
        let state = |key: &str| states.iter().find(|s| s.key == key);
        let locked = |key: &str| {
            state(key)
                .and_then(|s| s.locked_until)
                .filter(|until| *until > now)
        };
        let address_failed = state(&keys.addr).is_some_and(|s| s.failures > 0);
        let hot_user = locked(&keys.user).filter(|_| address_failed);
        match locked(&keys.pair).max(locked(&keys.addr)).max(hot_user) {
            Some(until) => Err(too_many(until, now)),
            None => Ok(()),
        }
    }

    /// Counts a failed attempt; returns until when it locked the attempt's
    /// pair, username or address, if it locked one.
    pub async fn record_failure(
        &self,
        store: &dyn Store,
        username: &str,
        addr: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ApiError> {
        let keys = Keys::of(username, addr);
        let policy = |limit, lock: Duration| FailurePolicy {
            window_start_after: now - self.window,
            limit,
            lock_until: now + lock.min(self.window),
        };
        let user = store
            .record_failure(
                &keys.user,
                now,
                policy(self.max_failures_per_user, self.window),
            )
            .await?;
        let addr = store
            .record_failure(
                &keys.addr,
                now,
                policy(self.max_failures_per_addr, self.window),
            )
            .await?;
        let pair = store
            .record_failure(
                &keys.pair,
                now,
                policy(self.max_failures_per_user, FIRST_PAIR_LOCK),
            )
            .await?;
        let pair_lock = self.grown_pair_lock(store, &pair, now).await?;
        let just_locked =
            |s: &KeyState, limit: i64| (s.failures == limit).then_some(s.locked_until).flatten();
        Ok(just_locked(&user, self.max_failures_per_user)
            .max(just_locked(&addr, self.max_failures_per_addr))
            .max(pair_lock))
    }

    /// Doubles the pair's lock for each failure past the limit.
    async fn grown_pair_lock(
        &self,
        store: &dyn Store,
        pair: &KeyState,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ApiError> {
        let past = pair.failures - self.max_failures_per_user;
        if past < 0 {
            return Ok(None);
        }
        let lock = FIRST_PAIR_LOCK
            .checked_mul(1 << past.min(16) as i32)
            .unwrap_or(self.window)
            .min(self.window);
        let until = now + lock;
        if past > 0 {
            store.extend_lock(&pair.key, until).await?;
        }
        Ok(Some(until))
    }

    /// Forgets the username's and the pair's failures after a success.
    pub async fn record_success(
        &self,
        store: &dyn Store,
        username: &str,
        addr: Option<IpAddr>,
    ) -> Result<(), ApiError> {
        let keys = Keys::of(username, addr);
        store.clear_failures(&keys.pair).await?;
        Ok(store.clear_failures(&keys.user).await?)
    }
}

fn too_many(until: DateTime<Utc>, now: DateTime<Utc>) -> ApiError {
    let secs = (until - now).num_seconds().max(1) as u64;
    ApiError::TooManyRequests {
        detail: format!("too many failed attempts; try again in {secs} seconds"),
        retry_after_secs: secs,
    }
}
