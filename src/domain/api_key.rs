//! API keys as stored: never the key itself, only its hash and a prefix.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Scopes;

/// A stored API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Stable id.
    pub id: Uuid,
    /// The owner.
    pub user_id: Uuid,
    /// A label chosen by the owner.
    pub name: String,
    /// The first characters of the key, shown in listings.
    pub prefix: String,
    /// SHA-256 of the key, hex.
    pub key_hash: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The permissions it may use, within its owner's role; `None` is the
    /// whole role.
    pub scopes: Option<Scopes>,
}

impl ApiKey {
    /// Whether the key may authenticate at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}
