//! The `audit_log` table on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use super::checked;
use super::{SqliteStore, parse_time, parse_uuid};
use crate::domain::audit::GENESIS_HASH;
use crate::domain::{AuditEntry, AuditKind, Outcome, Surface, time};
use crate::store::{
    AuditCursor, AuditFilter, AuditGroup, AuditPage, AuditRecord, AuditStore, AuditSummaryRow,
    StoreError, StoreResult, ToolUsage,
};

#[derive(sqlx::FromRow)]
struct AuditRow {
    seq: i64,
    occurred_at: String,
    kind: String,
    action: String,
    user_id: Option<String>,
    username: Option<String>,
    auth_method: Option<String>,
    api_key_id: Option<String>,
    session_id: Option<String>,
    surface: String,
    arguments: String,
    outcome: String,
    error: Option<String>,
    duration_ms: i64,
    request_id: Option<String>,
    client_addr: Option<String>,
    prev_hash: String,
    hash: String,
    approval_id: Option<String>,
    oauth_client_id: Option<String>,
    client_request_id: Option<String>,
}

fn bad(column: &str, value: &str) -> StoreError {
    StoreError::Other(format!("audit_log: bad {column} {value:?}"))
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, Self::Error> {
        Ok(AuditRecord {
            seq: row.seq,
            entry: AuditEntry {
                occurred_at: parse_time(&row.occurred_at)?,
                kind: AuditKind::parse(&row.kind).ok_or_else(|| bad("kind", &row.kind))?,
                action: row.action,
                user_id: row.user_id.as_deref().map(parse_uuid).transpose()?,
                username: row.username,
                auth_method: row.auth_method,
                api_key_id: row.api_key_id.as_deref().map(parse_uuid).transpose()?,
                session_id: row.session_id,
                surface: Surface::parse(&row.surface)
                    .ok_or_else(|| bad("surface", &row.surface))?,
                arguments: row.arguments,
                outcome: Outcome::parse(&row.outcome)
                    .ok_or_else(|| bad("outcome", &row.outcome))?,
                error: row.error,
                duration_ms: row.duration_ms,
                request_id: row.request_id,
                client_addr: row.client_addr,
                approval_id: row.approval_id.as_deref().map(parse_uuid).transpose()?,
                oauth_client_id: row.oauth_client_id,
                client_request_id: row.client_request_id,
            },
            prev_hash: row.prev_hash,
            hash: row.hash,
        })
    }
}

const COLUMNS: &str = "seq, occurred_at, kind, action, user_id, username, auth_method, api_key_id, \
                       session_id, surface, arguments, outcome, error, duration_ms, request_id, \
                       client_addr, prev_hash, hash, approval_id, oauth_client_id, \
                       client_request_id";

/// Appends the filter's conditions. Runtime SQL with bound values only: the
/// set of filters is the caller's choice, and `(? IS NULL OR col = ?)` would
/// keep the planner off the indexes.
fn push_filters(qb: &mut QueryBuilder<Sqlite>, f: &AuditFilter) {
    if let Some(v) = f.user_id {
        qb.push(" AND user_id = ")
            .push_bind(v.hyphenated().to_string());
    }
    if let Some(v) = &f.username {
        qb.push(" AND username = ").push_bind(v.clone());
    }
    if let Some(v) = f.kind {
        qb.push(" AND kind = ").push_bind(v.as_str());
    }
    if let Some(v) = &f.action {
        qb.push(" AND action = ").push_bind(v.clone());
    }
    if let Some(v) = f.outcome {
        qb.push(" AND outcome = ").push_bind(v.as_str());
    }
    if let Some(v) = f.surface {
        qb.push(" AND surface = ").push_bind(v.as_str());
    }
    if let Some(v) = &f.session_id {
        qb.push(" AND session_id = ").push_bind(v.clone());
    }
    if let Some(v) = f.api_key_id {
        qb.push(" AND api_key_id = ")
            .push_bind(v.hyphenated().to_string());
    }
    if let Some(v) = &f.oauth_client_id {
        qb.push(" AND oauth_client_id = ").push_bind(v.clone());
    }
    if let Some(v) = f.from {
        qb.push(" AND occurred_at >= ").push_bind(time::to_text(v));
    }
    if let Some(v) = f.to {
        qb.push(" AND occurred_at < ").push_bind(time::to_text(v));
    }
}

/// A page query of `filter` from `cursor`, after `prefix` (empty, or `EXPLAIN QUERY PLAN `).
fn page_query(
    filter: &AuditFilter,
    cursor: AuditCursor,
    limit: i64,
    prefix: &str,
) -> QueryBuilder<Sqlite> {
    let mut qb = QueryBuilder::<Sqlite>::new(format!(
        "{prefix}SELECT {COLUMNS} FROM audit_log WHERE 1 = 1"
    ));
    push_filters(&mut qb, filter);
    match cursor {
        AuditCursor::Before(before) => {
            if let Some(seq) = before {
                qb.push(" AND seq < ").push_bind(seq);
            }
            qb.push(" ORDER BY seq DESC");
        }
        AuditCursor::After(after) => {
            qb.push(" AND seq > ")
                .push_bind(after)
                .push(" ORDER BY seq");
        }
    }
    qb.push(" LIMIT ").push_bind(limit);
    qb
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn tool_usage(&self, user_id: Option<Uuid>) -> StoreResult<Vec<ToolUsage>> {
        let rows = match user_id {
            Some(user_id) => {
                let user_id = user_id.hyphenated().to_string();
                sqlx::query_as!(
                    ToolUsage,
                    r#"SELECT action AS tool, count(*) AS "calls!: i64",
                              count(*) FILTER (WHERE outcome = 'success') AS "successes!: i64"
                       FROM audit_log WHERE kind = 'tool' AND user_id = ?1
                       GROUP BY action ORDER BY action"#,
                    user_id
                )
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query_as!(
                    ToolUsage,
                    r#"SELECT action AS tool, count(*) AS "calls!: i64",
                              count(*) FILTER (WHERE outcome = 'success') AS "successes!: i64"
                       FROM audit_log WHERE kind = 'tool'
                       GROUP BY action ORDER BY action"#
                )
                .fetch_all(&self.read)
                .await?
            }
        };
        Ok(rows)
    }

    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        cursor: AuditCursor,
        limit: i64,
    ) -> StoreResult<AuditPage> {
        let mut query = page_query(filter, cursor, limit, "");
        AuditPage::collect(query.build_query_as::<AuditRow>().fetch(&self.read), limit).await
    }

    async fn explain_audit_listing(&self, filter: &AuditFilter) -> StoreResult<Vec<String>> {
        let steps: Vec<(i64, i64, i64, String)> = page_query(
            filter,
            AuditCursor::Before(None),
            100,
            "EXPLAIN QUERY PLAN ",
        )
        .build_query_as()
        .fetch_all(&self.read)
        .await?;
        Ok(steps.into_iter().map(|step| step.3).collect())
    }

    async fn audit_entry(&self, seq: i64) -> StoreResult<Option<AuditRecord>> {
        sqlx::query_as!(
            AuditRow,
            r#"SELECT seq AS "seq!: i64", occurred_at, kind, action, user_id, username, auth_method,
                      api_key_id, session_id, surface, arguments, outcome, error, duration_ms,
                      request_id, client_addr, prev_hash, hash, approval_id, oauth_client_id,
                      client_request_id
               FROM audit_log WHERE seq = ?1"#,
            seq
        )
        .fetch_optional(&self.read)
        .await?
        .map(AuditRecord::try_from)
        .transpose()
    }

    async fn audit_summary(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group: AuditGroup,
    ) -> StoreResult<Vec<AuditSummaryRow>> {
        let (from, to) = (time::to_text(from), time::to_text(to));
        let group = group.as_str();
        // Nearest-rank percentiles: the smallest duration whose rank reaches p% of the group.
        Ok(sqlx::query_as!(
            AuditSummaryRow,
            r#"WITH grouped AS (
                   SELECT CASE ?3 WHEN 'action' THEN action
                                  WHEN 'user' THEN COALESCE(username, '')
                                  WHEN 'outcome' THEN outcome
                                  ELSE substr(occurred_at, 1, 10) END AS grp,
                          outcome, duration_ms
                   FROM audit_log WHERE occurred_at >= ?1 AND occurred_at < ?2
               ), ranked AS (
                   SELECT grp, outcome, duration_ms,
                          row_number() OVER (PARTITION BY grp ORDER BY duration_ms) AS rn,
                          count(*) OVER (PARTITION BY grp) AS n
                   FROM grouped
               )
               SELECT grp AS "key!: String", count(*) AS "count!: i64",
                      count(*) FILTER (WHERE outcome = 'error') AS "errors!: i64",
                      count(*) FILTER (WHERE outcome = 'denied') AS "denials!: i64",
                      min(CASE WHEN rn * 100 >= n * 50 THEN duration_ms END) AS "p50_ms!: i64",
                      min(CASE WHEN rn * 100 >= n * 95 THEN duration_ms END) AS "p95_ms!: i64"
               FROM ranked GROUP BY grp ORDER BY 2 DESC, 1 LIMIT 1000"#,
            from,
            to,
            group
        )
        .fetch_all(&self.read)
        .await?)
    }
}

/// Appends `entry` to the chain inside a write transaction and returns its
/// seq and hash. SQLite has one writer at a time (and our transactions begin
/// IMMEDIATE), so the head cannot move between the guard and the commit.
/// With a right `guess` of the head this is one statement; otherwise the
/// head is read and the guarded insert repeated.
pub(super) fn append(
    conn: &Connection,
    entry: &AuditEntry,
    guess: Option<String>,
) -> StoreResult<(i64, String)> {
    if let Some(prev) = guess
        && let Some(appended) = insert_after(conn, entry, &prev)?
    {
        return Ok(appended);
    }
    let prev: String = checked::scalar!(
        conn,
        "SELECT hash AS head FROM audit_log ORDER BY seq DESC LIMIT 1"
    )
    .optional()?
    .unwrap_or_else(|| GENESIS_HASH.to_owned());
    insert_after(conn, entry, &prev)?
        .ok_or_else(|| StoreError::Other("the audit chain head moved under the write lock".into()))
}

/// Inserts `entry` chained to `prev` only if `prev` is the chain's head;
/// `None` when it is not.
fn insert_after(
    conn: &Connection,
    entry: &AuditEntry,
    prev: &str,
) -> StoreResult<Option<(i64, String)>> {
    let hash = entry.chain_hash(prev);
    let seq: Option<i64> = checked::scalar!(
        conn,
        r#"INSERT INTO audit_log (occurred_at, kind, action, user_id, username, auth_method, api_key_id,
                                 session_id, surface, arguments, outcome, error, duration_ms,
                                 request_id, client_addr, prev_hash, hash, approval_id,
                                 oauth_client_id, client_request_id)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?19,
                  ?20, ?21
           WHERE coalesce((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), ?18) = ?16
           RETURNING seq AS "seq!: i64""#,
        time::to_text(entry.occurred_at),
        entry.kind.as_str(),
        entry.action,
        entry.user_id.map(|u| u.hyphenated().to_string()),
        entry.username,
        entry.auth_method,
        entry.api_key_id.map(|u| u.hyphenated().to_string()),
        entry.session_id,
        entry.surface.as_str(),
        entry.arguments,
        entry.outcome.as_str(),
        entry.error,
        entry.duration_ms,
        entry.request_id,
        entry.client_addr,
        prev,
        hash,
        GENESIS_HASH,
        entry.approval_id.map(|u| u.hyphenated().to_string()),
        entry.oauth_client_id,
        entry.client_request_id,
    )
    .optional()?;
    Ok(seq.map(|seq| (seq, hash)))
}
