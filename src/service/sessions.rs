//! Sessions: opening one for its user on a door, closing it, and who may
//! manage it, each with its audit event. The REST facade (`POST /session`,
//! `DELETE /session/{id}`) and the `/mcp` door (`initialize`, `DELETE`)
//! both call these.

use serde_json::{Value, json};

use crate::audit::{Actor, Event};
use crate::auth::Principal;
use crate::domain::bounded::{self, MAX_CLIENT_INFO, MAX_LABEL_CHARS};
use crate::domain::{AuditKind, Permission, Session, Surface, time};
use crate::error::ApiError;
use crate::service::refusals;
use crate::state::AppState;
use crate::store::NewSession;

/// How a session starts: on which door, and what the client said of itself.
pub struct Opening {
    /// The session's id: a random UUID on REST, rmcp's on `/mcp`.
    pub id: String,
    /// The door.
    pub surface: Surface,
    /// The protocol revision the client asked for (`/mcp` only).
    pub protocol_version: Option<String>,
    /// What the client says it is (`/mcp` only).
    pub client_info: Option<Value>,
}

/// The caller may see and end this session: its owner, or `admin:mcp`.
pub fn may_manage(principal: &Principal, session: &Session) -> bool {
    session.user_id == principal.user.id || principal.has(Permission::AdminMcp)
}

/// The 404 for session `id`, which `principal` could not find or may not
/// manage: when it exists and is someone else's, the attempt (`action`) is
/// recorded as `denied` first. The answer stays 404 either way, so nobody
/// learns which ids exist.
pub async fn not_found(
    state: &AppState,
    principal: &Principal,
    id: &str,
    action: &'static str,
) -> ApiError {
    let refusal = ApiError::NotFound("session not found".into());
    let session = match state.store.session(id).await {
        Ok(session) => session,
        Err(failed) => return failed.into(),
    };
    match session {
        Some(session) if !may_manage(principal, &session) => {
            let details = json!({"owner_id": session.user_id});
            let attempt = Event::new(
                AuditKind::Admin,
                action,
                Actor::principal(principal),
                details,
            )
            .in_session(&session.id);
            refusals::denied(state, principal, attempt, refusal).await
        }
        _ => refusal,
    }
}

/// Refuses, before a transport creates anything, a session `principal`
/// could not open: one over their cap of open sessions. [`open`] checks
/// again, atomically.
pub async fn may_open(state: &AppState, principal: &Principal) -> Result<(), ApiError> {
    let open = state
        .store
        .open_session_count(principal.user.id, time::now())
        .await?;
    if open >= state.settings.max_sessions_per_user {
        return Err(over_the_cap(state.settings.max_sessions_per_user));
    }
    Ok(())
}

fn over_the_cap(cap: i64) -> ApiError {
    ApiError::TooManyRequests {
        detail: format!(
            "you already have {cap} open sessions, the most allowed \
             (AIAPI_MAX_SESSIONS_PER_USER); close one, or wait until one idles out"
        ),
        retry_after_secs: 60,
    }
}

/// Opens a session for `principal`, idle-expiring after the configured
/// TTL, and records `session_opened`.
pub async fn open(
    state: &AppState,
    principal: &Principal,
    opening: Opening,
) -> Result<Session, ApiError> {
    let now = time::now();
    let new = NewSession {
        id: opening.id,
        user_id: principal.user.id,
        surface: opening.surface,
        protocol_version: opening
            .protocol_version
            .map(|v| bounded::clip(&v, MAX_LABEL_CHARS)),
        client_info: opening
            .client_info
            .as_ref()
            .map(|info| bounded::stored_json(info, MAX_CLIENT_INFO)),
        expires_at: now + state.session_idle_ttl(),
        max_open: state.settings.max_sessions_per_user,
    };
    let Some(session) = state.store.create_session(&new, now).await? else {
        return Err(over_the_cap(new.max_open));
    };
    let mut details = json!({"surface": opening.surface.as_str()});
    if opening.surface == Surface::Mcp {
        details["protocol_version"] = json!(new.protocol_version);
        details["client_info"] = json!(
            opening
                .client_info
                .as_ref()
                .map(|info| bounded::bounded_value(info, MAX_CLIENT_INFO))
        );
    }
    let event = Event::new(
        AuditKind::Admin,
        "session_opened",
        Actor::principal(principal),
        details,
    )
    .in_session(&session.id);
    state.audit(event).await?;
    Ok(session)
}

/// Closes `session` as `principal` (who [`may_manage`] it) and records
/// `session_closed`; `false` if it was already closed. A `/mcp` session's
/// transport state goes with it, so no replica can restore it.
pub async fn close(
    state: &AppState,
    principal: &Principal,
    session: &Session,
) -> Result<bool, ApiError> {
    if !state.store.close_session(&session.id, time::now()).await? {
        return Ok(false);
    }
    if session.surface == Surface::Mcp {
        state.store.delete_transport_state(&session.id).await?;
    }
    let details = json!({"surface": session.surface.as_str(), "owner_id": session.user_id});
    let event = Event::new(
        AuditKind::Admin,
        "session_closed",
        Actor::principal(principal),
        details,
    )
    .in_session(&session.id);
    state.audit(event).await?;
    Ok(true)
}
