//! Reads of the audit log: only auditors (`read:audit`) may, each read or
//! export is recorded with its filter, and a refused read is recorded as
//! `denied`.

use crate::audit::{Actor, Event};
use crate::auth::Principal;
use crate::domain::{AuditKind, Permission};
use crate::error::ApiError;
use crate::service::refusals;
use crate::state::AppState;
use crate::store::AuditFilter;

/// Refuses, and records the refusal of, `action` by a caller without
/// `read:audit`.
pub async fn require_reader(
    state: &AppState,
    principal: &Principal,
    action: &'static str,
) -> Result<(), ApiError> {
    let attempt = || {
        Event::new(
            AuditKind::Auth,
            action,
            Actor::principal(principal),
            serde_json::json!({}),
        )
    };
    refusals::require(state, principal, Permission::ReadAudit, attempt).await
}

/// Records that an auditor read or exported the log: one row per request,
/// naming the filter.
pub async fn record(
    state: &AppState,
    principal: &Principal,
    action: &'static str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let event = Event::new(
        AuditKind::Auth,
        action,
        Actor::principal(principal),
        details,
    );
    state.audit(event).await
}

/// The filter as an audit row's details (only the filters given).
pub fn filter_details(filter: &AuditFilter) -> serde_json::Value {
    let mut details = serde_json::Map::new();
    let mut put = |name: &str, value: Option<serde_json::Value>| {
        if let Some(value) = value {
            details.insert(name.into(), value);
        }
    };
    put("user_id", filter.user_id.map(|v| v.to_string().into()));
    put("username", filter.username.clone().map(Into::into));
    put("kind", filter.kind.map(|v| v.as_str().into()));
    put("action", filter.action.clone().map(Into::into));
    put("outcome", filter.outcome.map(|v| v.as_str().into()));
    put("surface", filter.surface.map(|v| v.as_str().into()));
    put("session_id", filter.session_id.clone().map(Into::into));
    put(
        "api_key_id",
        filter.api_key_id.map(|v| v.to_string().into()),
    );
    put(
        "oauth_client_id",
        filter.oauth_client_id.clone().map(Into::into),
    );
    put("from", filter.from.map(|v| v.to_rfc3339().into()));
    put("to", filter.to.map(|v| v.to_rfc3339().into()));
    serde_json::Value::Object(details)
}
