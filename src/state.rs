//! What every request handler shares.

use std::sync::Arc;

use crate::config::ServeSettings;
use crate::store::Store;

/// Shared, read-only state of a running server.
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The server's settings.
    pub settings: ServeSettings,
}
