//! The per-principal call counter: every tool call, and every refused
//! security-relevant REST attempt, counts against the caller's per-minute
//! limit (`AIAPI_TOOL_RATE_LIMITS`), refused and unknown ones included.
//! Counting and reading the count are one statement in the database, so
//! concurrent calls on any replica cannot overshoot.

use chrono::Duration;

use crate::auth::Principal;
use crate::domain::time;
use crate::error::ApiError;
use crate::state::AppState;

/// The window a limit counts over.
pub const RATE_WINDOW: Duration = Duration::minutes(1);

/// Over the limit until the window ends.
#[derive(Debug, Clone, Copy)]
pub struct Limited {
    /// Seconds until the window ends.
    pub retry_after_secs: u64,
    /// The first call of the window past the limit: the one refusal worth a
    /// row, so a caller hammering past its limit writes one row a window.
    pub first: bool,
}

/// Counts one call of `principal`; `Err(Limited)` past its role's limit.
/// A role without a limit keeps no count (one statement fewer per call).
pub async fn count(
    state: &AppState,
    principal: &Principal,
) -> Result<Result<(), Limited>, ApiError> {
    let Some(limit) = state.settings.tool_call_limit(principal.user.role) else {
        return Ok(Ok(()));
    };
    let now = time::now();
    let key = format!("user:{}", principal.user.id);
    let window = state.store.count_call(&key, now, now - RATE_WINDOW).await?;
    if window.calls <= limit {
        return Ok(Ok(()));
    }
    let retry_after_secs = (window.started + RATE_WINDOW - now).num_seconds().max(1) as u64;
    Ok(Err(Limited {
        retry_after_secs,
        first: window.calls == limit + 1,
    }))
}
