//! Session context, shared by the REST endpoints and the context tools: who
//! may read or write a session's context, versions for `If-Match`, the size
//! limit, and the audit row when an admin touches another user's session.

use serde_json::{Value, json};

use crate::audit::{Actor, Event, entry};
use crate::auth::Principal;
use crate::domain::context::{ContextChange, ContextError, apply};
use crate::domain::{AuditKind, Permission, Session, time};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::StoreTx;

/// A session's context as read or just written.
#[derive(Debug, Clone)]
pub struct ContextView {
    /// The session.
    pub session_id: String,
    /// The context object.
    pub context: Value,
    /// Its version (the `ETag`).
    pub version: i64,
    /// Bytes of its compact JSON.
    pub size: usize,
    /// Whether the caller is not the owner (an admin acting on another's session).
    pub foreign: bool,
}

impl ContextView {
    /// The JSON tools return.
    pub fn to_json(&self) -> Value {
        json!({
            "session_id": self.session_id,
            "version": self.version,
            "size": self.size,
            "context": self.context,
        })
    }

    /// The admin-kind audit event for touching another user's session:
    /// size and version only, never the context itself.
    pub fn admin_event(
        &self,
        principal: &Principal,
        action: &'static str,
        owner: &Session,
    ) -> Event {
        let details =
            json!({"owner_id": owner.user_id, "size": self.size, "version": self.version});
        Event::new(
            AuditKind::Admin,
            action,
            Actor::principal(principal),
            details,
        )
        .in_session(&self.session_id)
    }
}

fn not_found() -> ApiError {
    ApiError::NotFound("session not found".into())
}

/// The session if `principal` may use it (its owner, or `admin:mcp`) and it
/// is open; otherwise 404, never revealing that it exists.
fn accessible(principal: &Principal, session: Option<Session>) -> Result<Session, ApiError> {
    session
        .filter(|s| s.is_open(time::now()))
        .filter(|s| s.user_id == principal.user.id || principal.has(Permission::AdminMcp))
        .ok_or_else(not_found)
}

fn view(session: &Session, text: &str, principal: &Principal) -> ContextView {
    ContextView {
        session_id: session.id.clone(),
        context: serde_json::from_str(text).unwrap_or_else(|_| json!({})),
        version: session.context_version,
        size: text.len(),
        foreign: session.user_id != principal.user.id,
    }
}

/// Reads the context of session `id`.
pub async fn read(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<(ContextView, Session), ApiError> {
    let (session, text) = match state.store.session_context(id).await? {
        Some((session, text)) => (Some(session), text),
        None => (None, String::new()),
    };
    let session = accessible(principal, session)?;
    Ok((view(&session, &text, principal), session))
}

/// Applies `change` to the context of session `id` inside `tx`, holding the
/// row until commit so concurrent writes never lose an update. With
/// `if_version`, a different current version is 412.
pub async fn write(
    limit: usize,
    tx: &mut dyn StoreTx,
    principal: &Principal,
    id: &str,
    change: ContextChange,
    if_version: Option<i64>,
) -> Result<(ContextView, Session), ApiError> {
    let (session, text) = match tx.session_for_update(id).await? {
        Some((session, text)) => (Some(session), text),
        None => (None, String::new()),
    };
    let session = accessible(principal, session)?;
    if let Some(expected) = if_version
        && expected != session.context_version
    {
        return Err(ApiError::PreconditionFailed(format!(
            "the context is at version {}, not {expected}",
            session.context_version
        )));
    }
    let updated = apply(&text, change, limit).map_err(|e| match e {
        ContextError::NotAnObject => ApiError::invalid("context", e.to_string()),
        ContextError::TooLarge { limit, .. } => {
            ApiError::PayloadTooLarge(format!("the context would exceed {limit} bytes"))
        }
    })?;
    let version = tx.write_context(id, &updated).await?;
    let session = Session {
        context_version: version,
        context_size: updated.len() as i64,
        ..session
    };
    Ok((view(&session, &updated, principal), session))
}

/// Appends the admin event inside `tx` (used where the writer is held).
pub async fn append_admin_event(tx: &mut dyn StoreTx, event: Event) -> Result<(), ApiError> {
    tx.append_audit(&entry(event)).await?;
    Ok(())
}
