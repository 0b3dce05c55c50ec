//! Self-registration: whether it is open, how often one address may try,
//! and who may ask for a role above `user`. Refusals that matter to
//! security are recorded as `denied` rows, bounded by the same per-address
//! counter that throttles the attempts.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::audit::{Actor, Event};
use crate::auth::Principal;
use crate::auth::throttle::hashed_key;
use crate::config::Registration;
use crate::domain::bounded::{self, MAX_LABEL_CHARS};
use crate::domain::{AuditKind, Outcome, Permission, Role, User};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::FailurePolicy;

/// The window the per-address registration counter runs over.
pub const REGISTRATION_WINDOW_MINUTES: i64 = 60;

/// Lets a registration of `username` with `role` go ahead, or says why not.
/// `caller` is whoever authenticated the request, if anyone did: an admin
/// (with `manage:users`) may register any role, even when registration is
/// off, and is not throttled.
pub async fn admit(
    state: &AppState,
    caller: Option<&Principal>,
    username: &str,
    role: Role,
    addr: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if caller.is_some_and(|p| p.has(Permission::ManageUsers)) {
        return Ok(());
    }
    if state.settings.registration.mode == Registration::Off {
        return Err(ApiError::Forbidden(
            "registration is off on this server; an admin creates accounts \
             (POST /auth/users, or `aiapi users create`)"
                .into(),
        ));
    }
    let limit = HourlyLimit {
        label: "register",
        per_hour: state.settings.registration.per_addr,
        what: "registrations",
        setting: "AIAPI_REGISTRATIONS_PER_ADDR",
    };
    count_attempt(state, &limit, addr, now).await?;
    if role != Role::User {
        let refused = "only an admin may register an account with a role other than user";
        let actor = caller.map_or_else(|| Actor::typed(username), Actor::principal);
        let details = json!({
            "username": bounded::clip(username, MAX_LABEL_CHARS), "role": role, "client_addr": addr,
        });
        let event = Event::new(AuditKind::Auth, "register", actor, details)
            .failed(Outcome::Denied, refused);
        state.audit(event).await?;
        return Err(ApiError::Forbidden(refused.into()));
    }
    Ok(())
}

/// A per-address hourly limit on attempts of one kind.
pub struct HourlyLimit {
    /// The counter's label, which keeps kinds apart.
    pub label: &'static str,
    /// Attempts allowed an hour.
    pub per_hour: i64,
    /// What is counted, as the refusal names it.
    pub what: &'static str,
    /// The setting that changes the limit.
    pub setting: &'static str,
}

/// Counts an attempt from `addr` under `limit`, refusing with 429 past it.
/// The counter lives in the database, so it holds across replicas.
pub async fn count_attempt(
    state: &AppState,
    limit: &HourlyLimit,
    addr: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let (what, setting) = (limit.what, limit.setting);
    let window = Duration::minutes(REGISTRATION_WINDOW_MINUTES);
    let key = hashed_key(
        limit.label,
        &[&addr.map(|a| a.to_string()).unwrap_or_default()],
    );
    let limit = limit.per_hour;
    let policy = FailurePolicy {
        window_start_after: now - window,
        limit: limit + 1,
        lock_until: now + window,
    };
    let counted = state.store.record_failure(&key, now, policy).await?;
    if counted.failures > limit {
        let until = counted.locked_until.unwrap_or(now + window);
        return Err(ApiError::TooManyRequests {
            detail: format!("too many {what} from this address ({limit} an hour, {setting})"),
            retry_after_secs: (until - now).num_seconds().max(1) as u64,
        });
    }
    Ok(())
}

/// Records `register` for the account just made.
pub async fn registered(state: &AppState, user: &User) -> Result<(), ApiError> {
    tracing::info!(user_id = %user.id, "user registered");
    let details = json!({"user_id": user.id, "username": user.username, "role": user.role});
    state
        .audit(Event::new(
            AuditKind::Auth,
            "register",
            Actor::user(user),
            details,
        ))
        .await
}
