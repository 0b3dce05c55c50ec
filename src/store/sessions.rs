//! The `mcp_sessions` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::{Session, Surface};

/// A session to open.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Its id.
    pub id: String,
    /// Its owner.
    pub user_id: Uuid,
    /// Which door.
    pub surface: Surface,
    /// Negotiated MCP version, for MCP sessions.
    pub protocol_version: Option<String>,
    /// The client's `clientInfo`, as JSON text.
    pub client_info: Option<String>,
    /// When it expires unless used.
    pub expires_at: DateTime<Utc>,
    /// The most open sessions its owner may hold, this one included.
    pub max_open: i64,
}

/// Session bookkeeping.
#[async_trait]
pub trait SessionStore {
    /// Opens a session, unless its owner already holds `new.max_open` open
    /// ones (`None`): counted and inserted atomically, so parallel opens
    /// cannot overshoot.
    async fn create_session(
        &self,
        new: &NewSession,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>>;

    /// How many open sessions `user_id` holds at `now`.
    async fn open_session_count(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<i64>;

    /// A session in any state.
    async fn session(&self, id: &str) -> StoreResult<Option<Session>>;

    /// Closes an open session; `false` if there is no open one.
    async fn close_session(&self, id: &str, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Open sessions, newest first: one user's, or everyone's with `None`.
    async fn list_open_sessions(
        &self,
        user_id: Option<Uuid>,
        now: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<(Vec<Session>, i64)>;

    /// Marks sessions idle past their expiry as closed; returns their ids.
    async fn expire_sessions(&self, now: DateTime<Utc>) -> StoreResult<Vec<String>>;

    /// A session and its context object's text.
    async fn session_context(&self, id: &str) -> StoreResult<Option<(Session, String)>>;

    /// Saves (insert or replace) the MCP transport state of a session.
    async fn save_transport_state(
        &self,
        id: &str,
        state: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The MCP transport state of a session, if saved.
    async fn transport_state(&self, id: &str) -> StoreResult<Option<String>>;

    /// Forgets the MCP transport state of a session.
    async fn delete_transport_state(&self, id: &str) -> StoreResult<()>;
}
