//! The `audit_log` table: reads (rows are appended through [`super::StoreTx`]).

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;

/// Calls of one tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolUsage {
    /// The tool.
    pub tool: String,
    /// All calls.
    pub calls: i64,
    /// Successful calls.
    pub successes: i64,
}

/// Audit log queries.
#[async_trait]
pub trait AuditStore {
    /// Tool calls per tool: one user's, or everyone's with `None`.
    async fn tool_usage(&self, user_id: Option<Uuid>) -> StoreResult<Vec<ToolUsage>>;
}
