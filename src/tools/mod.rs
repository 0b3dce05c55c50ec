//! The tool system, transport-neutral: one registry (schemas, permissions,
//! annotations) and one executor (validate, authorize, run, audit) shared by
//! both tool doors, the REST facade at `/api/v1/mcp` and the MCP endpoint at
//! `/mcp` (whose transport is [`crate::mcp`]); and the tools themselves, one
//! file per area. Each tool receives arguments that already passed its JSON
//! Schema, and the call with its caller.

mod analysis;
pub mod executor;
mod items;
pub mod registry;
mod session_context;
mod users;

pub use executor::{CallOrigin, ToolError, ToolOutcome, execute, screen};
pub use registry::{Annotations, Registry, ToolCategory, ToolSpec, registry};

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::Principal;
use crate::domain::validation::{FieldError, Invalid};
use crate::error::ApiError;
use crate::service::items::ItemRefusal;
use crate::state::AppState;
use crate::store::{StoreError, StoreTx};

/// A boxed future borrowing the call's context.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a tool sees of its call before any transaction begins: the whole
/// service (reads, password hashing), the caller and the call's origin.
pub struct ToolCall<'a> {
    /// The service.
    pub state: &'a AppState,
    /// The caller, as the database has them now.
    pub principal: &'a Principal,
    /// The session the call arrived in (the MCP session, or the REST
    /// `session_id`), if any.
    pub session_id: Option<&'a str>,
    /// The call's door and request.
    pub call: &'a CallOrigin,
}

/// How a tool run can fail.
#[derive(Debug)]
pub enum ToolFailure {
    /// The tool ran and could not do what was asked (the item is gone, the
    /// username is taken...): a result with `success: false`.
    Business(String),
    /// The caller may not do this to this target (not the item's owner).
    Denied(String),
    /// An argument is invalid beyond what the schema says.
    Invalid(Vec<FieldError>),
    /// The service failed.
    Internal(ApiError),
}

impl From<StoreError> for ToolFailure {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict { .. } | StoreError::NotFound => {
                ToolFailure::Business(ApiError::from(err).to_string())
            }
            other => ToolFailure::Internal(other.into()),
        }
    }
}

impl From<ApiError> for ToolFailure {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Validation(errors) => ToolFailure::Invalid(errors),
            other => ToolFailure::Internal(other),
        }
    }
}

impl From<ItemRefusal> for ToolFailure {
    fn from(refusal: ItemRefusal) -> Self {
        match refusal {
            ItemRefusal::NotFound(_) => ToolFailure::Business(refusal.to_string()),
            ItemRefusal::NotAllowed(why) => ToolFailure::Denied(why.into()),
            ItemRefusal::Store(e) => e.into(),
        }
    }
}

impl From<Invalid> for ToolFailure {
    fn from(invalid: Invalid) -> Self {
        ToolFailure::Invalid(invalid.0)
    }
}

impl From<FieldError> for ToolFailure {
    fn from(err: FieldError) -> Self {
        ToolFailure::Invalid(vec![err])
    }
}

/// A tool's result.
pub type ToolResult = Result<Value, ToolFailure>;

/// What a [`Change`] sees inside the call's transaction: the caller and the
/// call's origin, and nothing that could open another write (on SQLite a
/// second write would wait for the one this transaction holds).
pub struct ChangeScope<'a> {
    /// The caller, as the database has them now.
    pub principal: &'a Principal,
    /// Where the call came from.
    pub origin: &'a CallOrigin,
}

/// The change a writing tool prepared, made inside the call's transaction,
/// which also counts the call in its session and records its audit row.
#[async_trait]
pub trait Change: Send {
    /// Makes the change in `tx` and answers the call.
    async fn apply(self: Box<Self>, scope: &ChangeScope<'_>, tx: &mut dyn StoreTx) -> ToolResult;
}

/// What a writing tool decided before any transaction began.
pub enum Plan {
    /// Nothing to change (a read-only action, such as listing users).
    Answer(Value),
    /// The change to make.
    Change(Box<dyn Change>),
}

/// A tool's body. Both run outside any transaction: a reader answers; a
/// writer does its slow or reading work (parsing, password hashing, looking
/// things up) and returns its [`Plan`].
#[derive(Clone, Copy)]
pub enum ToolFn {
    /// Changes nothing.
    Read(for<'a> fn(&'a ToolCall<'a>, Value) -> BoxFuture<'a, ToolResult>),
    /// Prepares a change.
    Write(for<'a> fn(&'a ToolCall<'a>, Value) -> BoxFuture<'a, Result<Plan, ToolFailure>>),
}

/// Deserializes schema-checked arguments into the tool's own type.
fn parse_args<T: DeserializeOwned>(args: Value) -> Result<T, ToolFailure> {
    serde_json::from_value(args).map_err(|e| {
        ToolFailure::Invalid(vec![FieldError {
            field: "arguments".into(),
            message: e.to_string(),
        }])
    })
}

/// Every tool, in the order `tools/list` shows them.
fn all() -> Vec<ToolSpec> {
    vec![
        items::create_item(),
        items::search_items(),
        analysis::analyze_items(),
        users::manage_users(),
        items::get_item(),
        items::update_item(),
        items::delete_item(),
        session_context::get_session_context(),
        session_context::update_session_context(),
    ]
}
