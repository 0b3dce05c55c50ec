//! The `mcp_sessions` table on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use super::checked::{self, sqlite_row};
use super::{SqliteStore, parse_time, parse_uuid};
use crate::domain::{Session, Surface, time};
use crate::store::{NewSession, SessionStore, StoreError, StoreResult};

sqlite_row! {
    /// An `mcp_sessions` row without its context text.
    struct SessionRow {
        id: String,
        user_id: String,
        surface: String,
        protocol_version: Option<String>,
        context_size: i64,
        context_version: i64,
        tool_usage_count: i64,
        created_at: String,
        last_activity_at: String,
        expires_at: String,
        closed_at: Option<String>,
    }
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;

    fn try_from(row: SessionRow) -> Result<Self, Self::Error> {
        Ok(Session {
            user_id: parse_uuid(&row.user_id)?,
            surface: Surface::parse(&row.surface)
                .ok_or_else(|| StoreError::Other(format!("bad surface {:?}", row.surface)))?,
            created_at: parse_time(&row.created_at)?,
            last_activity_at: parse_time(&row.last_activity_at)?,
            expires_at: parse_time(&row.expires_at)?,
            closed_at: row.closed_at.as_deref().map(parse_time).transpose()?,
            id: row.id,
            protocol_version: row.protocol_version,
            context_size: row.context_size,
            context_version: row.context_version,
            tool_usage_count: row.tool_usage_count,
        })
    }
}

sqlite_row! {
    /// A session row with its context text.
    struct SessionContextRow {
        id: String,
        user_id: String,
        surface: String,
        protocol_version: Option<String>,
        context_size: i64,
        context_version: i64,
        tool_usage_count: i64,
        created_at: String,
        last_activity_at: String,
        expires_at: String,
        closed_at: Option<String>,
        context: String,
    }
}

impl SessionContextRow {
    fn split(self) -> (SessionRow, String) {
        let session = SessionRow {
            id: self.id,
            user_id: self.user_id,
            surface: self.surface,
            protocol_version: self.protocol_version,
            context_size: self.context_size,
            context_version: self.context_version,
            tool_usage_count: self.tool_usage_count,
            created_at: self.created_at,
            last_activity_at: self.last_activity_at,
            expires_at: self.expires_at,
            closed_at: self.closed_at,
        };
        (session, self.context)
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(
        &self,
        new: &NewSession,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>> {
        let user_id = new.user_id.hyphenated().to_string();
        let surface = new.surface.as_str();
        let at = time::to_text(now);
        let expires_at = time::to_text(new.expires_at);
        // One statement on the one writer: the count and the insert cannot
        // interleave with another open.
        let inserted = sqlx::query!(
            "INSERT INTO mcp_sessions (id, user_id, surface, protocol_version, client_info,
                                       created_at, last_activity_at, expires_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7
             WHERE (SELECT count(*) FROM mcp_sessions
                    WHERE user_id = ?2 AND closed_at IS NULL AND expires_at > ?6) < ?8",
            new.id,
            user_id,
            surface,
            new.protocol_version,
            new.client_info,
            at,
            expires_at,
            new.max_open
        )
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(Session {
            id: new.id.clone(),
            user_id: new.user_id,
            surface: new.surface,
            protocol_version: new.protocol_version.clone(),
            context_size: 2,
            context_version: 0,
            tool_usage_count: 0,
            created_at: now,
            last_activity_at: now,
            expires_at: new.expires_at,
            closed_at: None,
        }))
    }

    async fn open_session_count(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<i64> {
        let user_id = user_id.hyphenated().to_string();
        let at = time::to_text(now);
        Ok(sqlx::query_scalar!(
            r#"SELECT count(*) AS "open!: i64" FROM mcp_sessions
               WHERE user_id = ?1 AND closed_at IS NULL AND expires_at > ?2"#,
            user_id,
            at
        )
        .fetch_one(&self.read)
        .await?)
    }

    async fn session(&self, id: &str) -> StoreResult<Option<Session>> {
        // On every tool call in a session and every `/mcp` request: a
        // primary-key read, so it runs inline.
        self.inline
            .now(|conn| {
                checked::row!(
                    conn,
                    SessionRow,
                    r#"SELECT id, user_id, surface, protocol_version, length(context) AS "context_size!: i64",
                              context_version, tool_usage_count, created_at, last_activity_at, expires_at, closed_at
                       FROM mcp_sessions WHERE id = ?1"#,
                    id
                )
                .optional()
            })?
            .map(Session::try_from)
            .transpose()
    }

    async fn close_session(&self, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let at = time::to_text(now);
        let closed = sqlx::query!(
            "UPDATE mcp_sessions SET closed_at = ?1
             WHERE id = ?2 AND closed_at IS NULL AND expires_at > ?1",
            at,
            id
        )
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(closed.rows_affected() > 0)
    }

    async fn list_open_sessions(
        &self,
        user_id: Option<Uuid>,
        now: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<(Vec<Session>, i64)> {
        let at = time::to_text(now);
        let (rows, total) = match user_id {
            Some(user_id) => {
                let user_id = user_id.hyphenated().to_string();
                let rows = sqlx::query_as!(
                    SessionRow,
                    r#"SELECT id, user_id, surface, protocol_version, length(context) AS "context_size!: i64",
                              context_version, tool_usage_count, created_at, last_activity_at, expires_at, closed_at
                       FROM mcp_sessions
                       WHERE user_id = ?1 AND closed_at IS NULL AND expires_at > ?2
                       ORDER BY created_at DESC LIMIT ?3"#,
                    user_id,
                    at,
                    limit
                )
                .fetch_all(&self.read)
                .await?;
                let total = sqlx::query_scalar!(
                    r#"SELECT count(*) AS "n!: i64" FROM mcp_sessions
                       WHERE user_id = ?1 AND closed_at IS NULL AND expires_at > ?2"#,
                    user_id,
                    at
                )
                .fetch_one(&self.read)
                .await?;
                (rows, total)
            }
            None => {
                let rows = sqlx::query_as!(
                    SessionRow,
                    r#"SELECT id, user_id, surface, protocol_version, length(context) AS "context_size!: i64",
                              context_version, tool_usage_count, created_at, last_activity_at, expires_at, closed_at
                       FROM mcp_sessions
                       WHERE closed_at IS NULL AND expires_at > ?1
                       ORDER BY created_at DESC LIMIT ?2"#,
                    at,
                    limit
                )
                .fetch_all(&self.read)
                .await?;
                let total = sqlx::query_scalar!(
                    r#"SELECT count(*) AS "n!: i64" FROM mcp_sessions
                       WHERE closed_at IS NULL AND expires_at > ?1"#,
                    at
                )
                .fetch_one(&self.read)
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
        let at = time::to_text(now);
        let mut conn = self.sqlx_writer().await?;
        let expired = sqlx::query_scalar!(
            r#"UPDATE mcp_sessions SET closed_at = expires_at
               WHERE closed_at IS NULL AND expires_at <= ?1
               RETURNING id AS "id!: String""#,
            at
        )
        .fetch_all(&mut *conn)
        .await?;
        // A closed session is never restored: what rmcp kept of it goes.
        sqlx::query!(
            "DELETE FROM mcp_session_state
             WHERE EXISTS (SELECT 1 FROM mcp_sessions AS m
                           WHERE m.id = mcp_session_state.session_id AND m.closed_at IS NOT NULL)"
        )
        .execute(&mut *conn)
        .await?;
        Ok(expired)
    }

    async fn session_context(&self, id: &str) -> StoreResult<Option<(Session, String)>> {
        self.inline.now(|conn| session_with_context(conn, id))
    }

    async fn save_transport_state(
        &self,
        id: &str,
        state: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let at = time::to_text(now);
        sqlx::query!(
            "INSERT INTO mcp_session_state (session_id, state, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (session_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            id,
            state,
            at
        )
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(())
    }

    async fn transport_state(&self, id: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar!(
            "SELECT state FROM mcp_session_state WHERE session_id = ?1",
            id
        )
        .fetch_optional(&self.read)
        .await?)
    }

    async fn delete_transport_state(&self, id: &str) -> StoreResult<()> {
        sqlx::query!("DELETE FROM mcp_session_state WHERE session_id = ?1", id)
            .execute(&mut *self.sqlx_writer().await?)
            .await?;
        Ok(())
    }
}

/// Counts a tool call in an open session of `user_id`, inside a transaction.
pub(super) fn touch(
    conn: &Connection,
    id: &str,
    user_id: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<bool> {
    let touched = checked::execute!(
        conn,
        "UPDATE mcp_sessions
         SET tool_usage_count = tool_usage_count + 1, last_activity_at = ?1, expires_at = ?2
         WHERE id = ?3 AND user_id = ?4 AND closed_at IS NULL AND expires_at > ?1",
        time::to_text(now),
        time::to_text(expires_at),
        id,
        user_id.hyphenated().to_string(),
    )?;
    Ok(touched > 0)
}

/// A session and its context text (inside a write transaction, SQLite's
/// write lock keeps it from changing).
pub(super) fn session_with_context(
    conn: &Connection,
    id: &str,
) -> StoreResult<Option<(Session, String)>> {
    let row = checked::row!(
        conn,
        SessionContextRow,
        r#"SELECT id, user_id, surface, protocol_version, length(context) AS "context_size!: i64",
                  context_version, tool_usage_count, created_at, last_activity_at, expires_at,
                  closed_at, context
           FROM mcp_sessions WHERE id = ?1"#,
        id
    )
    .optional()?
    .map(SessionContextRow::split);
    match row {
        Some((session, context)) => Ok(Some((session.try_into()?, context))),
        None => Ok(None),
    }
}

/// Stores new context text and bumps the version, inside a transaction.
pub(super) fn write_context(conn: &Connection, id: &str, context: &str) -> StoreResult<i64> {
    Ok(checked::scalar!(
        conn,
        r#"UPDATE mcp_sessions SET context = ?1, context_version = context_version + 1
           WHERE id = ?2 RETURNING context_version AS "context_version!: i64""#,
        context,
        id
    )?)
}
