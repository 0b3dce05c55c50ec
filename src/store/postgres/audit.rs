//! The `audit_log` table on Postgres.

use async_trait::async_trait;
use sqlx::PgConnection;
use uuid::Uuid;

use super::PostgresStore;
use crate::domain::AuditEntry;
use crate::domain::audit::GENESIS_HASH;
use crate::store::{AuditStore, StoreResult, ToolUsage};

/// Key of the transaction-level advisory lock that serialises appends to the
/// chain across connections and replicas ("audit" in ASCII).
const CHAIN_LOCK_KEY: i64 = 0x61_75_64_69_74;

#[async_trait]
impl AuditStore for PostgresStore {
    async fn tool_usage(&self, user_id: Option<Uuid>) -> StoreResult<Vec<ToolUsage>> {
        let rows = match user_id {
            Some(user_id) => {
                sqlx::query_as!(
                    ToolUsage,
                    r#"SELECT action AS tool, count(*) AS "calls!",
                              count(*) FILTER (WHERE outcome = 'success') AS "successes!"
                       FROM audit_log WHERE kind = 'tool' AND user_id = $1
                       GROUP BY action ORDER BY action"#,
                    user_id
                )
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as!(
                    ToolUsage,
                    r#"SELECT action AS tool, count(*) AS "calls!",
                              count(*) FILTER (WHERE outcome = 'success') AS "successes!"
                       FROM audit_log WHERE kind = 'tool'
                       GROUP BY action ORDER BY action"#
                )
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows)
    }
}

/// Appends `entry` to the chain inside a transaction. The advisory lock is
/// held until commit, so the next appender reads this row's hash, and `seq`
/// order is commit order.
pub(super) async fn append(conn: &mut PgConnection, entry: &AuditEntry) -> StoreResult<i64> {
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    let prev = sqlx::query_scalar!("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or_else(|| GENESIS_HASH.to_owned());
    let hash = entry.chain_hash(&prev);
    Ok(sqlx::query_scalar!(
        "INSERT INTO audit_log (occurred_at, kind, action, user_id, username, auth_method, api_key_id,
                                session_id, surface, arguments, outcome, error, duration_ms,
                                request_id, client_addr, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         RETURNING seq",
        entry.occurred_at,
        entry.kind.as_str(),
        entry.action,
        entry.user_id,
        entry.username,
        entry.auth_method,
        entry.api_key_id,
        entry.session_id,
        entry.surface.as_str(),
        entry.arguments,
        entry.outcome.as_str(),
        entry.error,
        entry.duration_ms,
        entry.request_id,
        entry.client_addr,
        prev,
        hash
    )
    .fetch_one(conn)
    .await?)
}
