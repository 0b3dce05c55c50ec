//! What every request handler shares.

use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::Passwords;
use crate::auth::throttle::LoginThrottle;
use crate::config::ServeSettings;
use crate::store::Store;

/// Shared, read-only state of a running server.
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The server's settings.
    pub settings: ServeSettings,
    /// Token signing and verification.
    pub jwt: JwtKeys,
    /// The bounded password hashing pool.
    pub passwords: Passwords,
    /// Failed-login limits.
    pub login_throttle: LoginThrottle,
}
