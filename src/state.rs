//! What every request handler shares.

use std::sync::Arc;

use crate::auth::derived::FlowKeys;
use crate::auth::jwt::JwtKeys;
use crate::auth::password::Passwords;
use crate::auth::throttle::LoginThrottle;
use crate::config::{ApiKeyPolicy, ServeSettings};
use crate::store::Store;

/// Shared, read-only state of a running server.
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The server's settings.
    pub settings: ServeSettings,
    /// The lifetimes new API keys may have.
    pub api_keys: ApiKeyPolicy,
    /// Token signing and verification.
    pub jwt: JwtKeys,
    /// The keys of the OAuth flow (codes, CSRF, browser sessions).
    pub flow: FlowKeys,
    /// The bounded password hashing pool.
    pub passwords: Passwords,
    /// Failed-login limits.
    pub login_throttle: LoginThrottle,
    /// Client metadata documents: the fetcher and its freshness.
    pub client_documents: crate::service::oauth::documents::ClientDocuments,
    /// Request and tool-call metrics.
    pub metrics: crate::metrics::Metrics,
}

impl AppState {
    /// Appends a security or admin event to the audit log.
    pub async fn audit(&self, event: crate::audit::Event) -> Result<(), crate::error::ApiError> {
        Ok(crate::audit::record(self.store.as_ref(), event).await?)
    }

    /// How long a session lives without a call.
    pub fn session_idle_ttl(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.session_idle).unwrap_or(chrono::Duration::MAX)
    }
}
