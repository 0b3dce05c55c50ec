//! The one executor behind both doors. In order: count the call against
//! the caller's per-minute limit (every call counts, refused and unknown
//! ones too), find the tool, check permissions, validate the arguments
//! against the tool's schema, check the session (unless the door did), run
//! or prepare the tool outside any transaction, then in one transaction
//! make the tool's change, count the call in its session and write the
//! audit row.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::registry::ToolSpec;
use super::{ChangeScope, Plan, ToolCall, ToolFailure, ToolFn, registry};
use crate::audit::Stamp;
use crate::auth::Principal;
use crate::domain::bounded::{self, MAX_AUDIT_ARGUMENTS, MAX_ERROR_CHARS};
use crate::domain::session::{MAX_SESSION_ID, is_session_shaped};
use crate::domain::validation::FieldError;
use crate::domain::{AuditEntry, AuditKind, Outcome, Scopes, Surface, time};
use crate::error::ApiError;
use crate::request::RequestInfo;
use crate::service::call_limit;
use crate::state::AppState;
use crate::store::StoreTx;

/// Where a call came from, for the audit row.
#[derive(Debug, Clone)]
pub struct CallOrigin {
    /// Which door.
    pub surface: Surface,
    /// The session the call belongs to, if any.
    pub session_id: Option<String>,
    /// The request's id.
    pub request_id: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
    /// The id the client gave the request, if it gave one.
    pub client_request_id: Option<String>,
    /// Whether the door already found `session_id` to be an open session of
    /// the caller (the `/mcp` door checks every request's session).
    pub session_verified: bool,
    /// When the call began: events it records take their duration from it.
    pub started: Instant,
}

impl CallOrigin {
    /// A call on `surface` in the request `request` describes.
    pub fn new(
        surface: Surface,
        session_id: Option<String>,
        request: Option<RequestInfo>,
        session_verified: bool,
    ) -> Self {
        let request = request.map(Stamp::from).unwrap_or_default();
        Self {
            surface,
            session_id,
            request_id: request.request_id,
            client_addr: request.client_addr,
            client_request_id: request.client_request_id,
            session_verified,
            started: request.started.unwrap_or_else(Instant::now),
        }
    }

    /// The call's door and request, for the events a tool records.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            surface: Some(self.surface),
            request_id: self.request_id.clone(),
            client_addr: self.client_addr.clone(),
            client_request_id: self.client_request_id.clone(),
            started: Some(self.started),
        }
    }
}

/// A call that ran: its result, or the business failure it reported.
#[derive(Debug, Clone)]
pub struct ToolOutcome {
    /// The tool's name.
    pub tool: String,
    /// The result, or why the tool could not do what was asked.
    pub result: Result<Value, String>,
    /// When it finished.
    pub timestamp: DateTime<Utc>,
}

/// A call that was refused before or while running; each maps to a status.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// No tool has this name.
    #[error("tool {0:?} not found")]
    UnknownTool(String),
    /// The caller lacks a permission for the tool or its target.
    #[error("{0}")]
    Denied(String),
    /// The caller's role allows the tool but their credential's scopes do
    /// not: it needs `needed`.
    #[error(
        "this credential's scopes do not include {needed}, which this tool needs; use a token or API key that has them"
    )]
    InsufficientScope {
        /// Every scope the tool needs.
        needed: Scopes,
    },
    /// The arguments are invalid.
    #[error("invalid arguments: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The session is unknown, closed, expired or someone else's.
    #[error("session not found")]
    SessionNotFound,
    /// The caller made too many calls this minute.
    #[error("too many tool calls; try again in {retry_after_secs} seconds")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after_secs: u64,
        /// Whether this refusal gets an audit row (the window's first).
        recorded: bool,
    },
    /// The service failed.
    #[error(transparent)]
    Internal(#[from] ApiError),
}

impl From<ToolError> for ApiError {
    fn from(err: ToolError) -> Self {
        match err {
            ToolError::UnknownTool(_) | ToolError::SessionNotFound => {
                ApiError::NotFound(err.to_string())
            }
            ToolError::Denied(message) => ApiError::Forbidden(message),
            ToolError::InsufficientScope { needed } => ApiError::InsufficientScope { needed },
            ToolError::Invalid(errors) => ApiError::Validation(errors),
            ToolError::RateLimited {
                retry_after_secs, ..
            } => ApiError::TooManyRequests {
                detail: err.to_string(),
                retry_after_secs,
            },
            ToolError::Internal(e) => e,
        }
    }
}

/// Validates `arguments` against the tool's schema; every violation names
/// its field (a JSON pointer) and the rule it breaks, never the value.
fn validate(tool: &ToolSpec, arguments: &Value) -> Result<(), Vec<FieldError>> {
    let errors: Vec<FieldError> = tool
        .validator
        .iter_errors(arguments)
        .map(|e| {
            let pointer = e.instance_path().to_string();
            FieldError {
                field: if pointer.is_empty() {
                    "arguments".into()
                } else {
                    pointer
                },
                message: format!("{} ({})", e.masked(), e.kind().keyword()),
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

struct Audit<'a> {
    state: &'a AppState,
    principal: &'a Principal,
    call: &'a CallOrigin,
    tool: &'a str,
    arguments: String,
    started: Instant,
}

impl Audit<'_> {
    fn entry(&self, outcome: Outcome, error: Option<String>) -> AuditEntry {
        let method = &self.principal.method;
        AuditEntry {
            occurred_at: time::now(),
            kind: AuditKind::Tool,
            action: bounded::clip(self.tool, bounded::MAX_LABEL_CHARS),
            user_id: Some(self.principal.user.id),
            username: Some(self.principal.user.username.clone()),
            auth_method: Some(method.as_str().into()),
            api_key_id: method.api_key(),
            session_id: self
                .call
                .session_id
                .clone()
                .filter(|id| is_session_shaped(id)),
            surface: self.call.surface,
            arguments: self.arguments.clone(),
            outcome,
            error: error.map(|e| bounded::clip(&e, MAX_ERROR_CHARS)),
            duration_ms: self.started.elapsed().as_millis() as i64,
            request_id: self.call.request_id.clone(),
            client_addr: self.call.client_addr.clone(),
            approval_id: None,
            oauth_client_id: method.oauth_client().map(str::to_owned),
            client_request_id: self.call.client_request_id.clone(),
        }
    }

    /// Counts the call in the metrics.
    fn measure(&self, outcome: Outcome) {
        let known = registry().get(self.tool).is_some();
        self.state
            .metrics
            .tool_call(self.tool, known, outcome.as_str());
    }

    /// Counts the call and refuses it past the caller's per-minute limit.
    async fn admit(&self) -> Result<(), ToolError> {
        match call_limit::count(self.state, self.principal).await? {
            Ok(()) => Ok(()),
            Err(limited) => Err(ToolError::RateLimited {
                retry_after_secs: limited.retry_after_secs,
                recorded: limited.first,
            }),
        }
    }

    /// Records a call that changed nothing, in a transaction of its own.
    async fn record(&self, outcome: Outcome, error: Option<String>) -> Result<(), ApiError> {
        let mut tx = self.state.store.begin().await?;
        tx.append_audit(&self.entry(outcome, error)).await?;
        self.measure(outcome);
        tx.commit().await?;
        Ok(())
    }

    /// Records a refusal and returns it.
    async fn refuse(&self, err: ToolError) -> ToolError {
        let outcome = match &err {
            ToolError::UnknownTool(_) | ToolError::SessionNotFound => Outcome::NotFound,
            ToolError::Denied(_) | ToolError::InsufficientScope { .. } => Outcome::Denied,
            ToolError::Invalid(_) => Outcome::Invalid,
            ToolError::RateLimited { .. } => Outcome::RateLimited,
            ToolError::Internal(_) => Outcome::Error,
        };
        // Past the limit only the window's first refusal is recorded: the
        // log cannot be flooded by calls that do nothing.
        if matches!(
            err,
            ToolError::RateLimited {
                recorded: false,
                ..
            }
        ) {
            self.measure(outcome);
            return err;
        }
        match self.record(outcome, Some(err.to_string())).await {
            Ok(()) => err,
            Err(audit_failure) => ToolError::Internal(audit_failure),
        }
    }
}

/// Counts the call in its session (if any) inside `tx`; false if the session
/// is not an open session of the caller.
async fn touch_session(
    state: &AppState,
    principal: &Principal,
    call: &CallOrigin,
    tx: &mut dyn StoreTx,
) -> Result<bool, ApiError> {
    let Some(id) = &call.session_id else {
        return Ok(true);
    };
    let now = time::now();
    let expires = now + state.session_idle_ttl();
    Ok(tx
        .touch_session(id, principal.user.id, now, expires)
        .await?)
}

/// The tool called `tool_name` and the audit of a call of it.
fn audited<'a>(
    state: &'a AppState,
    principal: &'a Principal,
    tool_name: &'a str,
    arguments: &Value,
    origin: &'a CallOrigin,
) -> (Option<&'static ToolSpec>, Audit<'a>) {
    let tool = registry().get(tool_name);
    // Each tool decides what of its arguments the audit row may keep; an
    // unknown tool's row keeps them all (secrets redacted).
    let kept = match tool {
        Some(tool) => (tool.audit_view)(arguments),
        None => arguments.clone(),
    };
    let audit = Audit {
        state,
        principal,
        call: origin,
        tool: tool_name,
        arguments: bounded::stored_json(&kept, MAX_AUDIT_ARGUMENTS),
        started: Instant::now(),
    };
    (tool, audit)
}

/// Makes the checks [`execute`] makes before a call runs, counting and
/// recording a refusal as it does, without running the tool. The `/mcp`
/// door screens a call this way when its refusal must be an HTTP status
/// (a step-up challenge), which rmcp's answer could no longer be.
pub async fn screen(
    state: &AppState,
    principal: &Principal,
    tool_name: &str,
    arguments: &Value,
    origin: &CallOrigin,
) -> Result<(), ToolError> {
    let (tool, audit) = audited(state, principal, tool_name, arguments, origin);
    match admit_and_check(&audit, tool, arguments).await {
        Ok(()) => Ok(()),
        Err(refused) => Err(audit.refuse(refused).await),
    }
}

/// Runs `tool_name` for `principal`.
pub async fn execute(
    state: &AppState,
    principal: &Principal,
    tool_name: &str,
    arguments: Value,
    origin: &CallOrigin,
) -> Result<ToolOutcome, ToolError> {
    let (tool, audit) = audited(state, principal, tool_name, &arguments, origin);
    if let Err(refused) = admit_and_check(&audit, tool, &arguments).await {
        return Err(audit.refuse(refused).await);
    }
    let tool = tool.expect("admit_and_check found the tool");
    let call = ToolCall {
        state,
        principal,
        session_id: origin.session_id.as_deref(),
        call: origin,
    };
    // Outside any transaction: a reader answers, a writer prepares.
    let plan = match tool.run {
        ToolFn::Read(run) => run(&call, arguments).await.map(Plan::Answer),
        ToolFn::Write(prepare) => prepare(&call, arguments).await,
    };
    let mut tx = state.store.begin().await.map_err(ApiError::from)?;
    if !touch_session(state, principal, origin, tx.as_mut()).await? {
        drop(tx);
        return Err(audit.refuse(ToolError::SessionNotFound).await);
    }
    let scope = ChangeScope { principal, origin };
    let result = match plan {
        Ok(Plan::Answer(answer)) => Ok(answer),
        Ok(Plan::Change(change)) => change.apply(&scope, tx.as_mut()).await,
        Err(failure) => Err(failure),
    };
    if result.is_err() {
        // The tool's partial changes must not commit: start over with only
        // the session counter and the audit row.
        drop(tx);
        tx = state.store.begin().await.map_err(ApiError::from)?;
        touch_session(state, principal, origin, tx.as_mut()).await?;
    }
    finish(audit, tool.name, result, tx).await
}

/// Everything that may refuse a call before it runs, in order: the rate
/// limit (which counts the call, so refused and unknown calls count too),
/// the tool's existence, the caller's permissions, the arguments, and the
/// session unless the door verified it.
async fn admit_and_check(
    audit: &Audit<'_>,
    tool: Option<&ToolSpec>,
    arguments: &Value,
) -> Result<(), ToolError> {
    audit.admit().await?;
    if audit
        .call
        .session_id
        .as_deref()
        .is_some_and(|id| !is_session_shaped(id))
    {
        return Err(ToolError::Invalid(vec![FieldError::new(
            "session_id",
            format!("is not a session id (at most {MAX_SESSION_ID} letters, digits, '-' or '_')"),
        )]));
    }
    let Some(tool) = tool else {
        return Err(ToolError::UnknownTool(audit.tool.to_owned()));
    };
    if let Some(needed) = tool.scope_shortfall(audit.principal) {
        return Err(ToolError::InsufficientScope { needed });
    }
    if let Some(permission) = tool.needs().find(|p| !audit.principal.has(*p)) {
        return Err(ToolError::Denied(format!(
            "permission {permission} is required for tool {}",
            tool.name
        )));
    }
    validate(tool, arguments).map_err(ToolError::Invalid)?;
    if let Some(id) = &audit.call.session_id
        && !audit.call.session_verified
    {
        let open = audit
            .state
            .store
            .session(id)
            .await
            .map_err(ApiError::from)?
            .is_some_and(|s| s.user_id == audit.principal.user.id && s.is_open(time::now()));
        if !open {
            return Err(ToolError::SessionNotFound);
        }
    }
    Ok(())
}

/// Appends the audit row last, commits, and shapes the answer.
async fn finish(
    audit: Audit<'_>,
    tool: &str,
    result: Result<Value, ToolFailure>,
    mut tx: Box<dyn StoreTx>,
) -> Result<ToolOutcome, ToolError> {
    let (outcome, error, answer) = match result {
        Ok(value) => (Outcome::Success, None, Ok(Ok(value))),
        Err(ToolFailure::Business(message)) => {
            (Outcome::Error, Some(message.clone()), Ok(Err(message)))
        }
        Err(ToolFailure::Denied(message)) => (
            Outcome::Denied,
            Some(message.clone()),
            Err(ToolError::Denied(message)),
        ),
        Err(ToolFailure::Invalid(errors)) => {
            let err = ToolError::Invalid(errors);
            (Outcome::Invalid, Some(err.to_string()), Err(err))
        }
        Err(ToolFailure::Internal(e)) => {
            // The row keeps what a client may see; the door logs the cause.
            let message = e.public_message(audit.call.request_id.as_deref());
            (Outcome::Error, Some(message), Err(ToolError::Internal(e)))
        }
    };
    tx.append_audit(&audit.entry(outcome, error))
        .await
        .map_err(ApiError::from)?;
    tx.commit().await.map_err(ApiError::from)?;
    audit.measure(outcome);
    answer.map(|result| ToolOutcome {
        tool: tool.to_owned(),
        result,
        timestamp: time::now(),
    })
}
