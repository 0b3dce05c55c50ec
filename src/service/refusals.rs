//! Refused security-relevant attempts on the REST door (a role change by a
//! non-admin, self-escalation, someone else's session, context or key, the
//! audit log read by the unauthorised) are recorded as `denied` rows. Each
//! counts against the caller's call limit ([`call_limit`]); past it the
//! attempt is answered 429 and not recorded, so refusals cannot flood the
//! log.

use crate::audit::Event;
use crate::auth::Principal;
use crate::domain::{Outcome, Permission};
use crate::error::ApiError;
use crate::service::call_limit;
use crate::state::AppState;

/// Records `attempt` by `principal` as refused with `refusal`, and hands
/// back the error to answer with: the refusal, or 429 past the limit.
pub async fn denied(
    state: &AppState,
    principal: &Principal,
    attempt: Event,
    refusal: ApiError,
) -> ApiError {
    match call_limit::count(state, principal).await {
        Err(failed) => return failed,
        Ok(Err(limited)) => {
            return ApiError::TooManyRequests {
                detail: "too many refused requests; wait before trying again".into(),
                retry_after_secs: limited.retry_after_secs,
            };
        }
        Ok(Ok(())) => {}
    }
    let event = attempt.failed(Outcome::Denied, refusal.to_string());
    match state.audit(event).await {
        Ok(()) => refusal,
        Err(failed) => failed,
    }
}

/// `principal.require(permission)`, recording `attempt` when it fails.
pub async fn require(
    state: &AppState,
    principal: &Principal,
    permission: Permission,
    attempt: impl FnOnce() -> Event,
) -> Result<(), ApiError> {
    match principal.require(permission) {
        Ok(()) => Ok(()),
        Err(refusal) => Err(denied(state, principal, attempt(), refusal).await),
    }
}
