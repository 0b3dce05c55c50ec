//! Security and admin events (kind `auth` or `admin`): logins, logouts,
//! token reuse, password changes, keys, role and activation changes,
//! sessions. Request id and client address come from the request being
//! served; outside a request (the CLI) the surface is `cli`.

use serde_json::Value;
use uuid::Uuid;

use crate::app::current_request;
use crate::auth::{AuthMethod, Principal};
use crate::domain::audit::redacted_canonical_json;
use crate::domain::{AuditEntry, AuditKind, Outcome, Surface, User, time};
use crate::store::{Store, StoreResult};

/// Who acted.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    user_id: Option<Uuid>,
    username: Option<String>,
    auth_method: Option<String>,
    api_key_id: Option<Uuid>,
}

impl Actor {
    /// An authenticated caller.
    pub fn principal(principal: &Principal) -> Self {
        let (method, key) = match &principal.method {
            AuthMethod::Bearer { .. } => ("bearer", None),
            AuthMethod::ApiKey { id } => ("api_key", Some(*id)),
        };
        Self {
            user_id: Some(principal.user.id),
            username: Some(principal.user.username.clone()),
            auth_method: Some(method.into()),
            api_key_id: key,
        }
    }

    /// A known user acting without a request credential (logging in).
    pub fn user(user: &User) -> Self {
        Self {
            user_id: Some(user.id),
            username: Some(user.username.clone()),
            ..Self::default()
        }
    }

    /// Someone known only by the username they typed.
    pub fn typed(username: &str) -> Self {
        Self {
            username: Some(username.chars().take(100).collect()),
            ..Self::default()
        }
    }

    /// Nobody in particular (the system, or an operator at the CLI).
    pub fn system() -> Self {
        Self::default()
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event {
    /// `auth` or `admin`.
    pub kind: AuditKind,
    /// What happened, e.g. `login`.
    pub action: &'static str,
    /// How it ended.
    pub outcome: Outcome,
    /// Who did it.
    pub actor: Actor,
    /// Details (secrets are redacted before storing).
    pub arguments: Value,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// The session concerned, if any.
    pub session_id: Option<String>,
}

impl Event {
    /// A successful event.
    pub fn new(kind: AuditKind, action: &'static str, actor: Actor, arguments: Value) -> Self {
        Self {
            kind,
            action,
            outcome: Outcome::Success,
            actor,
            arguments,
            error: None,
            session_id: None,
        }
    }

    /// The same event with another outcome and its reason.
    pub fn failed(mut self, outcome: Outcome, error: impl Into<String>) -> Self {
        self.outcome = outcome;
        self.error = Some(error.into());
        self
    }

    /// The same event done by `actor`.
    pub fn with_actor(mut self, actor: Actor) -> Self {
        self.actor = actor;
        self
    }

    /// The same event about a session.
    pub fn in_session(mut self, session_id: &str) -> Self {
        self.session_id = Some(session_id.to_owned());
        self
    }
}

/// The audit row of `event`, stamped now with the current request's details.
pub fn entry(event: Event) -> AuditEntry {
    let request = current_request();
    AuditEntry {
        occurred_at: time::now(),
        kind: event.kind,
        action: event.action.into(),
        user_id: event.actor.user_id,
        username: event.actor.username,
        auth_method: event.actor.auth_method,
        api_key_id: event.actor.api_key_id,
        session_id: event.session_id,
        surface: if request.is_some() {
            Surface::Rest
        } else {
            Surface::Cli
        },
        arguments: redacted_canonical_json(&event.arguments),
        outcome: event.outcome,
        error: event.error,
        duration_ms: 0,
        request_id: request.as_ref().map(|r| r.request_id.clone()),
        client_addr: request.and_then(|r| r.client_addr),
    }
}

/// Appends `event` to the audit chain in a transaction of its own.
pub async fn record(store: &dyn Store, event: Event) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    tx.append_audit(&entry(event)).await?;
    tx.commit().await
}
