//! The `audit_log` table on SQLite.

use async_trait::async_trait;
use sqlx::SqliteConnection;
use uuid::Uuid;

use super::SqliteStore;
use crate::domain::audit::GENESIS_HASH;
use crate::domain::{AuditEntry, time};
use crate::store::{AuditStore, StoreResult, ToolUsage};

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
}

/// Appends `entry` to the chain inside a write transaction. SQLite has one
/// writer at a time (and our transactions begin IMMEDIATE), so the last hash
/// read here is still the last when the row commits.
pub(super) async fn append(conn: &mut SqliteConnection, entry: &AuditEntry) -> StoreResult<i64> {
    // Differs in text from the Postgres twin so their offline data files don't collide.
    let prev = sqlx::query_scalar!(
        r#"SELECT hash AS "hash!: String" FROM audit_log ORDER BY seq DESC LIMIT 1"#
    )
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or_else(|| GENESIS_HASH.to_owned());
    let hash = entry.chain_hash(&prev);
    let occurred_at = time::to_text(entry.occurred_at);
    let kind = entry.kind.as_str();
    let user_id = entry.user_id.map(|u| u.hyphenated().to_string());
    let api_key_id = entry.api_key_id.map(|u| u.hyphenated().to_string());
    let surface = entry.surface.as_str();
    let outcome = entry.outcome.as_str();
    let seq = sqlx::query_scalar!(
        r#"INSERT INTO audit_log (occurred_at, kind, action, user_id, username, auth_method, api_key_id,
                                  session_id, surface, arguments, outcome, error, duration_ms,
                                  request_id, client_addr, prev_hash, hash)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
           RETURNING seq AS "seq!: i64""#,
        occurred_at,
        kind,
        entry.action,
        user_id,
        entry.username,
        entry.auth_method,
        api_key_id,
        entry.session_id,
        surface,
        entry.arguments,
        outcome,
        entry.error,
        entry.duration_ms,
        entry.request_id,
        entry.client_addr,
        prev,
        hash
    )
    .fetch_one(conn)
    .await?;
    Ok(seq)
}
