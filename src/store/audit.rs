//! The `audit_log` table: reads (rows are appended through [`super::StoreTx`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::{AuditEntry, AuditKind, Outcome, Surface};

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

/// A stored audit row.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Position in the chain (commit order).
    pub seq: i64,
    /// The row's fields.
    pub entry: AuditEntry,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

/// Bytes of row text (arguments and errors) a page of reads holds at most,
/// whatever its row limit: listing, export and verification keep memory
/// flat even over rows written before arguments were capped.
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;

/// A page of rows, cut at `limit` rows or past [`PAGE_BYTES`].
#[derive(Debug, Clone, Default)]
pub struct AuditPage {
    /// The rows, in the cursor's order.
    pub records: Vec<AuditRecord>,
    /// Whether rows past the last one may match: the page was full or cut.
    pub more: bool,
}

impl AuditPage {
    /// Reads `rows` until `limit` of them or [`PAGE_BYTES`] of their text,
    /// dropping the rest of the stream unread.
    pub async fn collect<R, S>(rows: S, limit: i64) -> StoreResult<Self>
    where
        S: futures_util::Stream<Item = Result<R, sqlx::Error>>,
        AuditRecord: TryFrom<R, Error = super::StoreError>,
    {
        use futures_util::TryStreamExt;
        let mut rows = std::pin::pin!(rows);
        let mut page = Self::default();
        let mut bytes = 0;
        while let Some(row) = rows.try_next().await? {
            let record = AuditRecord::try_from(row)?;
            bytes +=
                record.entry.arguments.len() + record.entry.error.as_ref().map_or(0, String::len);
            page.records.push(record);
            if bytes >= PAGE_BYTES {
                page.more = true;
                return Ok(page);
            }
        }
        page.more = page.records.len() as i64 >= limit;
        Ok(page)
    }

    /// The `seq` of the last row, if any.
    pub fn last_seq(&self) -> Option<i64> {
        self.records.last().map(|r| r.seq)
    }
}

/// Which rows to read; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Rows of this user.
    pub user_id: Option<Uuid>,
    /// Rows with this username.
    pub username: Option<String>,
    /// Rows of this kind.
    pub kind: Option<AuditKind>,
    /// Rows of this action (tool or event name).
    pub action: Option<String>,
    /// Rows with this outcome.
    pub outcome: Option<Outcome>,
    /// Rows from this door.
    pub surface: Option<Surface>,
    /// Rows of this session.
    pub session_id: Option<String>,
    /// Rows made with this API key.
    pub api_key_id: Option<Uuid>,
    /// Rows about, or made through, this OAuth client.
    pub oauth_client_id: Option<String>,
    /// Rows at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Rows before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// Where a page starts and which way it runs.
#[derive(Debug, Clone, Copy)]
pub enum AuditCursor {
    /// Newest first, rows with `seq` below this (`None`: from the newest).
    Before(Option<i64>),
    /// Oldest first, rows with `seq` above this (0: from the first).
    After(i64),
}

/// How a summary groups rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditGroup {
    /// By action.
    Action,
    /// By username.
    User,
    /// By outcome.
    Outcome,
    /// By UTC day.
    Day,
}

impl AuditGroup {
    /// The name the summary query is told.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditGroup::Action => "action",
            AuditGroup::User => "user",
            AuditGroup::Outcome => "outcome",
            AuditGroup::Day => "day",
        }
    }
}

/// One group of a summary.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditSummaryRow {
    /// The group's key (an action, username, outcome or `YYYY-MM-DD`).
    pub key: String,
    /// Rows in the group.
    pub count: i64,
    /// Rows with outcome `error`.
    pub errors: i64,
    /// Rows with outcome `denied`.
    pub denials: i64,
    /// Median duration (nearest rank).
    pub p50_ms: i64,
    /// 95th percentile duration (nearest rank).
    pub p95_ms: i64,
}

/// Audit log queries.
#[async_trait]
pub trait AuditStore {
    /// Tool calls per tool: one user's, or everyone's with `None`.
    async fn tool_usage(&self, user_id: Option<Uuid>) -> StoreResult<Vec<ToolUsage>>;

    /// A page of rows matching `filter` from `cursor`: at most `limit`
    /// rows, and cut past [`PAGE_BYTES`].
    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        cursor: AuditCursor,
        limit: i64,
    ) -> StoreResult<AuditPage>;

    /// The database's plan for the page query of `filter` (diagnostics).
    async fn explain_audit_listing(&self, filter: &AuditFilter) -> StoreResult<Vec<String>>;

    /// One row.
    async fn audit_entry(&self, seq: i64) -> StoreResult<Option<AuditRecord>>;

    /// Counts, error and denial counts and duration percentiles per group,
    /// over rows in `[from, to)`, largest groups first (at most 1000).
    async fn audit_summary(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group: AuditGroup,
    ) -> StoreResult<Vec<AuditSummaryRow>>;
}

/// This process's memory of the audit chain's last hash, so an append can
/// usually write its row in one statement instead of reading the head first.
/// It is only a guess: every insert is guarded by the real head, and a wrong
/// guess (another process or replica appended since) costs one extra read.
#[derive(Debug, Default)]
pub struct ChainHead(std::sync::Mutex<Option<String>>);

impl ChainHead {
    /// The remembered last hash, if any.
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Remembers `hash` as the last one (after its row committed).
    pub fn set(&self, hash: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(hash);
    }
}
