//! rmcp's session store over the database: the state rmcp needs to restore
//! an MCP session (the client's `initialize` parameters) on any replica.

use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::{
    SessionState, SessionStore, SessionStoreError,
};

use crate::domain::time;
use crate::store::Store;

/// Keeps rmcp's per-session state in `mcp_session_state`.
pub struct DbSessionStore {
    store: Arc<dyn Store>,
}

impl DbSessionStore {
    /// A session store on `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl SessionStore for DbSessionStore {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        match self.store.transport_state(session_id).await? {
            Some(text) => Ok(Some(serde_json::from_str(&text)?)),
            None => Ok(None),
        }
    }

    // An upsert: rmcp stores again when it restores a session.
    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let text = serde_json::to_string(state)?;
        Ok(self
            .store
            .save_transport_state(session_id, &text, time::now())
            .await?)
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        Ok(self.store.delete_transport_state(session_id).await?)
    }
}
