//! The tools themselves, one file per area. Each tool receives arguments
//! that already passed its JSON Schema, and a context with the caller.

mod analysis;
mod context;
mod items;
mod users;

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::executor::CallContext;
use super::registry::ToolSpec;
use crate::auth::Principal;
use crate::error::{ApiError, FieldError};
use crate::state::AppState;
use crate::store::{StoreError, StoreTx};

/// A boxed future borrowing the call's context.
pub(super) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a tool needs to know about its call.
pub struct ToolContext<'a> {
    /// The service.
    pub state: &'a AppState,
    /// The caller, as the database has them now.
    pub principal: &'a Principal,
    /// The session the call arrived in (the MCP session, or the REST
    /// `session_id`), if any.
    pub session_id: Option<&'a str>,
    /// The call's door and request.
    pub call: &'a CallContext,
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

impl From<FieldError> for ToolFailure {
    fn from(err: FieldError) -> Self {
        ToolFailure::Invalid(vec![err])
    }
}

/// A tool's result.
pub type ToolResult = Result<Value, ToolFailure>;

/// A tool's body: readers run on the read pool; writers run inside the
/// transaction that also records the audit row.
#[derive(Clone, Copy)]
pub enum ToolFn {
    /// Changes nothing.
    Read(for<'a> fn(&'a ToolContext<'a>, Value) -> BoxFuture<'a, ToolResult>),
    /// Changes data inside the given transaction.
    Write(for<'a> fn(&'a ToolContext<'a>, Value, &'a mut dyn StoreTx) -> BoxFuture<'a, ToolResult>),
}

/// Deserializes schema-checked arguments into the tool's own type.
pub(super) fn parse_args<T: DeserializeOwned>(args: Value) -> Result<T, ToolFailure> {
    serde_json::from_value(args).map_err(|e| {
        ToolFailure::Invalid(vec![FieldError {
            field: "arguments".into(),
            message: e.to_string(),
        }])
    })
}

/// Every tool, in the order `tools/list` shows them.
pub(super) fn all() -> Vec<ToolSpec> {
    vec![
        items::create_item(),
        items::search_items(),
        analysis::analyze_items(),
        users::manage_users(),
        items::get_item(),
        items::update_item(),
        items::delete_item(),
        context::get_session_context(),
        context::update_session_context(),
    ]
}
