//! The `mcp_sessions` table on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::PostgresStore;
use crate::domain::{Session, Surface};
use crate::store::{NewSession, SessionStore, StoreError, StoreResult};

struct SessionRow {
    id: String,
    user_id: Uuid,
    surface: String,
    protocol_version: Option<String>,
    context_size: i32,
    context_version: i64,
    tool_usage_count: i64,
    created_at: DateTime<Utc>,
    last_activity_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;

    fn try_from(row: SessionRow) -> Result<Self, Self::Error> {
        Ok(Session {
            surface: Surface::parse(&row.surface)
                .ok_or_else(|| StoreError::Other(format!("bad surface {:?}", row.surface)))?,
            id: row.id,
            user_id: row.user_id,
            protocol_version: row.protocol_version,
            context_size: i64::from(row.context_size),
            context_version: row.context_version,
            tool_usage_count: row.tool_usage_count,
            created_at: row.created_at,
            last_activity_at: row.last_activity_at,
            expires_at: row.expires_at,
            closed_at: row.closed_at,
        })
    }
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn create_session(
        &self,
        new: &NewSession,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>> {
        let mut tx = self.pool.begin().await?;
        // Opens of one user's sessions take turns (other writes to the user
        // row, and other users, do not wait): under READ COMMITTED two
        // parallel opens would both count below the cap.
        sqlx::query!(
            "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE",
            new.user_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let open = sqlx::query_scalar!(
            r#"SELECT count(*) AS "open!" FROM mcp_sessions
               WHERE user_id = $1 AND closed_at IS NULL AND expires_at > $2"#,
            new.user_id,
            now
        )
        .fetch_one(&mut *tx)
        .await?;
        if open >= new.max_open {
            return Ok(None);
        }
        let session = sqlx::query_as!(
            SessionRow,
            r#"INSERT INTO mcp_sessions (id, user_id, surface, protocol_version, client_info,
                                         created_at, last_activity_at, expires_at)
               VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $6, $7)
               RETURNING id, user_id, surface, protocol_version,
                         octet_length(context::text) AS "context_size!", context_version,
                         tool_usage_count, created_at, last_activity_at, expires_at, closed_at"#,
            new.id,
            new.user_id,
            new.surface.as_str(),
            new.protocol_version,
            new.client_info,
            now,
            new.expires_at
        )
        .fetch_one(&mut *tx)
        .await?
        .try_into()?;
        tx.commit().await?;
        Ok(Some(session))
    }

    async fn open_session_count(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<i64> {
        Ok(sqlx::query_scalar!(
            r#"SELECT count(*) AS "open!" FROM mcp_sessions
               WHERE user_id = $1 AND closed_at IS NULL AND expires_at > $2"#,
            user_id,
            now
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn session(&self, id: &str) -> StoreResult<Option<Session>> {
        sqlx::query_as!(
            SessionRow,
            r#"SELECT id, user_id, surface, protocol_version,
                      octet_length(context::text) AS "context_size!", context_version,
                      tool_usage_count, created_at, last_activity_at, expires_at, closed_at
               FROM mcp_sessions WHERE id = $1"#,
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .map(Session::try_from)
        .transpose()
    }

    async fn close_session(&self, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let closed = sqlx::query!(
            "UPDATE mcp_sessions SET closed_at = $1
             WHERE id = $2 AND closed_at IS NULL AND expires_at > $1",
            now,
            id
        )
        .execute(&self.pool)
        .await?;
        Ok(closed.rows_affected() > 0)
    }

    async fn list_open_sessions(
        &self,
        user_id: Option<Uuid>,
        now: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<(Vec<Session>, i64)> {
        let (rows, total) = match user_id {
            Some(user_id) => {
                let rows = sqlx::query_as!(
                    SessionRow,
                    r#"SELECT id, user_id, surface, protocol_version,
                              octet_length(context::text) AS "context_size!", context_version,
                              tool_usage_count, created_at, last_activity_at, expires_at, closed_at
                       FROM mcp_sessions
                       WHERE user_id = $1 AND closed_at IS NULL AND expires_at > $2
                       ORDER BY created_at DESC LIMIT $3"#,
                    user_id,
                    now,
                    limit
                )
                .fetch_all(&self.pool)
                .await?;
                let total = sqlx::query_scalar!(
                    r#"SELECT count(*) AS "n!" FROM mcp_sessions
                       WHERE user_id = $1 AND closed_at IS NULL AND expires_at > $2"#,
                    user_id,
                    now
                )
                .fetch_one(&self.pool)
                .await?;
                (rows, total)
            }
            None => {
                let rows = sqlx::query_as!(
                    SessionRow,
                    r#"SELECT id, user_id, surface, protocol_version,
                              octet_length(context::text) AS "context_size!", context_version,
                              tool_usage_count, created_at, last_activity_at, expires_at, closed_at
                       FROM mcp_sessions
                       WHERE closed_at IS NULL AND expires_at > $1
                       ORDER BY created_at DESC LIMIT $2"#,
                    now,
                    limit
                )
                .fetch_all(&self.pool)
                .await?;
                let total = sqlx::query_scalar!(
                    r#"SELECT count(*) AS "n!" FROM mcp_sessions
                       WHERE closed_at IS NULL AND expires_at > $1"#,
                    now
                )
                .fetch_one(&self.pool)
                .await?;
                (rows, total)
            }
        };
        let sessions = rows
            .into_iter()
            .map(Session::try_from)
            .collect::<Result<_, _>>()?;
        Ok((sessions, total))
    }

    async fn expire_sessions(&self, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
        let expired = sqlx::query_scalar!(
            "UPDATE mcp_sessions SET closed_at = expires_at
             WHERE closed_at IS NULL AND expires_at <= $1
             RETURNING id",
            now
        )
        .fetch_all(&self.pool)
        .await?;
        // A closed session is never restored: what rmcp kept of it goes.
        sqlx::query!(
            "DELETE FROM mcp_session_state WHERE EXISTS
               (SELECT 1 FROM mcp_sessions m
                WHERE m.id = mcp_session_state.session_id AND m.closed_at IS NOT NULL)"
        )
        .execute(&self.pool)
        .await?;
        Ok(expired)
    }

    async fn session_context(&self, id: &str) -> StoreResult<Option<(Session, String)>> {
        let mut conn = self.pool.acquire().await?;
        session_with_context(&mut conn, id, false).await
    }

    async fn save_transport_state(
        &self,
        id: &str,
        state: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO mcp_session_state (session_id, state, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (session_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            id,
            state,
            now
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn transport_state(&self, id: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar!(
            "SELECT state FROM mcp_session_state WHERE session_id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn delete_transport_state(&self, id: &str) -> StoreResult<()> {
        sqlx::query!("DELETE FROM mcp_session_state WHERE session_id = $1", id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Counts a tool call in an open session of `user_id`, inside a transaction.
pub(super) async fn touch(
    conn: &mut PgConnection,
    id: &str,
    user_id: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<bool> {
    let touched = sqlx::query!(
        "UPDATE mcp_sessions
         SET tool_usage_count = tool_usage_count + 1, last_activity_at = $1, expires_at = $2
         WHERE id = $3 AND user_id = $4 AND closed_at IS NULL AND expires_at > $1",
        now,
        expires_at,
        id,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(touched.rows_affected() > 0)
}

/// A session and its context text; with `lock`, the row is locked until the
/// transaction ends so concurrent merges apply one after another.
pub(super) async fn session_with_context(
    conn: &mut PgConnection,
    id: &str,
    lock: bool,
) -> StoreResult<Option<(Session, String)>> {
    let context = if lock {
        sqlx::query_scalar!(
            r#"SELECT context::text AS "context!" FROM mcp_sessions WHERE id = $1 FOR UPDATE"#,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query_scalar!(
            r#"SELECT context::text AS "context!" FROM mcp_sessions WHERE id = $1"#,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
    };
    let Some(context) = context else {
        return Ok(None);
    };
    let session = sqlx::query_as!(
        SessionRow,
        r#"SELECT id, user_id, surface, protocol_version,
                  octet_length(context::text) AS "context_size!", context_version,
                  tool_usage_count, created_at, last_activity_at, expires_at, closed_at
           FROM mcp_sessions WHERE id = $1 /* with context */"#,
        id
    )
    .fetch_one(&mut *conn)
    .await?
    .try_into()?;
    Ok(Some((session, context)))
}

/// Stores new context text and bumps the version, inside a transaction.
pub(super) async fn write_context(
    conn: &mut PgConnection,
    id: &str,
    context: &str,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar!(
        "UPDATE mcp_sessions SET context = $1::text::jsonb, context_version = context_version + 1
         WHERE id = $2 RETURNING context_version",
        context,
        id
    )
    .fetch_one(conn)
    .await?)
}
