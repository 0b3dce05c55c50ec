//! Security and admin events (kind `auth` or `admin`): logins, logouts,
//! token reuse, password changes, keys, role and activation changes,
//! sessions. Request id, client address and surface come from the request
//! being served; outside a request the event names its surface: `cli` by
//! default, `system` for housekeeping.

use std::time::Instant;

use serde_json::Value;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::bounded::{self, MAX_AUDIT_ARGUMENTS, MAX_ERROR_CHARS};
use crate::domain::{AuditEntry, AuditKind, Outcome, Surface, User, time};
use crate::request::{RequestInfo, current_request};
use crate::store::{Store, StoreResult};

/// Who acted.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    user_id: Option<Uuid>,
    username: Option<String>,
    auth_method: Option<String>,
    api_key_id: Option<Uuid>,
    oauth_client_id: Option<String>,
}

impl Actor {
    /// An authenticated caller.
    pub fn principal(principal: &Principal) -> Self {
        let method = &principal.method;
        Self {
            user_id: Some(principal.user.id),
            username: Some(principal.user.username.clone()),
            auth_method: Some(method.as_str().into()),
            api_key_id: method.api_key(),
            oauth_client_id: method.oauth_client().map(str::to_owned),
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
    /// Where it happened when no request is being served (`cli` if unset).
    pub surface: Option<Surface>,
    /// The OAuth client concerned, if any.
    pub oauth_client_id: Option<String>,
}

impl Event {
    /// A successful event.
    pub fn new(kind: AuditKind, action: &'static str, actor: Actor, arguments: Value) -> Self {
        // Tests run debug builds: an event nobody listed fails them.
        debug_assert!(
            crate::domain::events::is_event_name(action),
            "event {action:?} is not in domain::events::EVENT_NAMES (and the README)"
        );
        Self {
            kind,
            action,
            outcome: Outcome::Success,
            actor,
            arguments,
            error: None,
            session_id: None,
            surface: None,
            oauth_client_id: None,
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

    /// The same event, done outside any request by `surface` (the CLI or
    /// the service itself).
    pub fn outside_requests_on(mut self, surface: Surface) -> Self {
        self.surface = Some(surface);
        self
    }

    /// The same event about the OAuth client `client_id`.
    pub fn about_client(mut self, client_id: &str) -> Self {
        self.oauth_client_id = Some(client_id.to_owned());
        self
    }

    /// The same event about a session.
    pub fn in_session(mut self, session_id: &str) -> Self {
        self.session_id = Some(session_id.to_owned());
        self
    }
}

/// Where and in which request an event happened.
#[derive(Debug, Clone, Default)]
pub struct Stamp {
    /// The door; `None` outside any request.
    pub surface: Option<Surface>,
    /// Our id of the request.
    pub request_id: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
    /// The id the client gave the request, if any.
    pub client_request_id: Option<String>,
    /// When the request began: the event's duration runs from it to the
    /// moment the event is recorded.
    pub started: Option<Instant>,
}

impl Stamp {
    /// The request this task is serving, if any.
    pub fn current() -> Self {
        current_request().map(Self::from).unwrap_or_default()
    }
}

impl From<RequestInfo> for Stamp {
    fn from(request: RequestInfo) -> Self {
        Self {
            surface: Some(request.surface),
            request_id: Some(request.request_id),
            client_addr: request.client_addr,
            client_request_id: request.client_request_id,
            started: Some(request.started),
        }
    }
}

/// The audit row of `event`, stamped now with the current request's details.
pub fn entry(event: Event) -> AuditEntry {
    entry_stamped(event, Stamp::current())
}

/// The audit row of `event`, stamped now with `stamp`: for events recorded
/// where the request's task-local is not at hand (a tool called through
/// `/mcp` runs in a task of the MCP transport).
pub fn entry_stamped(event: Event, stamp: Stamp) -> AuditEntry {
    AuditEntry {
        occurred_at: time::now(),
        kind: event.kind,
        action: event.action.into(),
        user_id: event.actor.user_id,
        username: event.actor.username,
        auth_method: event.actor.auth_method,
        api_key_id: event.actor.api_key_id,
        session_id: event.session_id,
        surface: stamp.surface.or(event.surface).unwrap_or(Surface::Cli),
        arguments: bounded::stored_json(&event.arguments, MAX_AUDIT_ARGUMENTS),
        outcome: event.outcome,
        error: event.error.map(|e| bounded::clip(&e, MAX_ERROR_CHARS)),
        duration_ms: stamp
            .started
            .map_or(0, |started| started.elapsed().as_millis() as i64),
        request_id: stamp.request_id,
        client_addr: stamp.client_addr,
        approval_id: None,
        oauth_client_id: event.oauth_client_id.or(event.actor.oauth_client_id),
        client_request_id: stamp.client_request_id,
    }
}

/// Appends `event` to the audit chain in a transaction of its own.
pub async fn record(store: &dyn Store, event: Event) -> StoreResult<()> {
    record_stamped(store, event, Stamp::current()).await
}

/// Appends `event`, stamped with `stamp`, in a transaction of its own.
pub async fn record_stamped(store: &dyn Store, event: Event, stamp: Stamp) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    tx.append_audit(&entry_stamped(event, stamp)).await?;
    tx.commit().await
}
