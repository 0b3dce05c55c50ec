//! Sessions of both doors, kept in the database so any replica serves them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::audit::Surface;

/// Longest session id accepted: ours are UUIDs (36 characters).
pub const MAX_SESSION_ID: usize = 64;

/// Whether `id` could be one of our session ids: 1 to [`MAX_SESSION_ID`]
/// letters, digits, `-` or `_`. Anything else is refused before it can
/// reach an index (a Postgres btree entry holds at most ~2.7 KB).
pub fn is_session_shaped(id: &str) -> bool {
    (1..=MAX_SESSION_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Unguessable id.
    pub id: String,
    /// Who opened it; only they (or `admin:mcp`) may use or see it.
    pub user_id: Uuid,
    /// Which door opened it.
    pub surface: Surface,
    /// The MCP protocol version negotiated (MCP sessions).
    pub protocol_version: Option<String>,
    /// Bytes of the stored context object.
    pub context_size: i64,
    /// Bumped on every context write.
    pub context_version: i64,
    /// Tool calls made in it.
    pub tool_usage_count: i64,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// Its last tool call or open.
    pub last_activity_at: DateTime<Utc>,
    /// When it expires unless used again.
    pub expires_at: DateTime<Utc>,
    /// When it was closed or expired, if it was.
    pub closed_at: Option<DateTime<Utc>>,
}

impl Session {
    /// Whether the session can be used at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.closed_at.is_none() && self.expires_at > now
    }
}
