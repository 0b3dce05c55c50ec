//! `get_session_context` and `update_session_context`: the state an agent
//! keeps in its session, on the session the call arrived in (or, for the
//! stateless 2026-07-28 revision, the `session_id` argument).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::registry::{Annotations, ToolCategory, ToolSpec, object, spec};
use super::{
    BoxFuture, Change, ChangeScope, Plan, ToolCall, ToolFailure, ToolFn, ToolResult, parse_args,
};
use crate::audit;
use crate::domain::Permission;
use crate::domain::context::ContextChange;
use crate::error::ApiError;
use crate::service::session_context as context;
use crate::store::StoreTx;

fn session_arg() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 100,
           "description": "The session; defaults to the one the call arrives in"})
}

fn output() -> Value {
    json!({
        "type": "object",
        "properties": {
            "session_id": {"type": "string"},
            "version": {"type": "integer"},
            "size": {"type": "integer"},
            "context": {"type": "object"}
        },
        "required": ["session_id", "version", "size", "context"]
    })
}

/// Audit rows keep which session and how big the patch was, never the context.
fn audit_view(arguments: &Value) -> Value {
    json!({
        "session_id": arguments.get("session_id"),
        "patch_bytes": arguments.get("patch").map(|p| p.to_string().len()),
        "if_version": arguments.get("if_version"),
    })
}

/// The session to act on, or a failure the caller can fix.
fn target<'a>(ctx: &'a ToolCall<'a>, argument: Option<&'a str>) -> Result<&'a str, ToolFailure> {
    argument.or(ctx.session_id).ok_or_else(|| {
        ToolFailure::Business("no session: call within an MCP session, or pass session_id".into())
    })
}

/// Session problems are results the caller sees, not transport errors.
fn failure(e: ApiError) -> ToolFailure {
    match e {
        ApiError::NotFound(m) | ApiError::PreconditionFailed(m) | ApiError::PayloadTooLarge(m) => {
            ToolFailure::Business(m)
        }
        other => other.into(),
    }
}

/// `get_session_context`.
pub(super) fn get_session_context() -> ToolSpec {
    spec(
        "get_session_context",
        "Get session context",
        "Read the JSON object this session keeps between calls, with its version.",
        ToolCategory::DataManagement,
        &[Permission::UseMcpTools],
        Annotations {
            read_only_hint: true,
            destructive_hint: false,
            idempotent_hint: true,
        },
        object(json!({"session_id": session_arg()}), &[]),
        Some(output()),
        vec![json!({})],
        ToolFn::Read(run_get),
    )
    .with_audit_view(audit_view)
}

#[derive(Deserialize)]
struct GetArgs {
    session_id: Option<String>,
}

fn run_get<'a>(ctx: &'a ToolCall<'a>, args: Value) -> BoxFuture<'a, ToolResult> {
    Box::pin(async move {
        let args: GetArgs = parse_args(args)?;
        let id = target(ctx, args.session_id.as_deref())?.to_owned();
        let (view, session) = context::read(ctx.state, ctx.principal, &id)
            .await
            .map_err(failure)?;
        if view.foreign {
            let event = view.admin_event(ctx.principal, "session_context_read", &session);
            audit::record_stamped(ctx.state.store.as_ref(), event, ctx.call.stamp())
                .await
                .map_err(ApiError::from)?;
        }
        Ok(view.to_json())
    })
}

/// `update_session_context`.
pub(super) fn update_session_context() -> ToolSpec {
    spec(
        "update_session_context",
        "Update session context",
        "Merge a JSON merge patch (RFC 7396: null removes a key) into this session's context \
         object. With if_version, a context that has changed since is not touched.",
        ToolCategory::DataManagement,
        &[Permission::UseMcpTools],
        Annotations {
            read_only_hint: false,
            destructive_hint: false,
            idempotent_hint: true,
        },
        object(
            json!({
                "patch": {"type": "object", "description": "JSON merge patch to apply"},
                "session_id": session_arg(),
                "if_version": {"type": "integer", "minimum": 0, "description": "Apply only at this version"}
            }),
            &["patch"],
        ),
        Some(output()),
        vec![json!({"patch": {"task": "compare notebooks", "step": 2}})],
        ToolFn::Write(run_update),
    )
    .with_audit_view(audit_view)
}

#[derive(Deserialize)]
struct UpdateArgs {
    patch: Value,
    session_id: Option<String>,
    if_version: Option<i64>,
}

fn run_update<'a>(ctx: &'a ToolCall<'a>, args: Value) -> BoxFuture<'a, Result<Plan, ToolFailure>> {
    Box::pin(async move {
        let args: UpdateArgs = parse_args(args)?;
        Ok(Plan::Change(Box::new(PatchContext {
            id: target(ctx, args.session_id.as_deref())?.to_owned(),
            patch: args.patch,
            if_version: args.if_version,
            limit: ctx.state.settings.session_context_max_bytes,
        })))
    })
}

/// A merge patch for a session's context, applied under the session's row
/// lock.
struct PatchContext {
    id: String,
    patch: Value,
    if_version: Option<i64>,
    limit: usize,
}

#[async_trait]
impl Change for PatchContext {
    async fn apply(self: Box<Self>, scope: &ChangeScope<'_>, tx: &mut dyn StoreTx) -> ToolResult {
        let change = ContextChange::Merge(self.patch);
        let (view, session) = context::write(
            self.limit,
            tx,
            scope.principal,
            &self.id,
            change,
            self.if_version,
        )
        .await
        .map_err(failure)?;
        if view.foreign {
            let event = view.admin_event(scope.principal, "session_context_patched", &session);
            tx.append_audit(&audit::entry_stamped(event, scope.origin.stamp()))
                .await?;
        }
        Ok(view.to_json())
    }
}
