//! The `refresh_tokens` and `revoked_tokens` tables.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::User;

/// A refresh token as recorded when issued.
#[derive(Debug, Clone)]
pub struct RefreshRecord {
    /// The token's id.
    pub jti: Uuid,
    /// Its owner.
    pub user_id: Uuid,
    /// The login it descends from; reuse revokes the whole family.
    pub family_id: Uuid,
    /// When issued.
    pub issued_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// What happened to a presented refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// It was live; it is now spent and its successor recorded.
    Rotated,
    /// It was spent, revoked, expired or unknown: nothing changed, and the
    /// caller should revoke its family (a spent token presented again leaked).
    Refused,
}

/// A revocation to record in the blacklist.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// The access token's `jti`, or a family id (revoking every token carrying it).
    pub jti: Uuid,
    /// Whose token.
    pub user_id: Uuid,
    /// When the row may be pruned: when no token it covers can still be valid.
    pub expires_at: DateTime<Utc>,
    /// Why (`logout`, `refresh_reuse`, ...).
    pub reason: &'static str,
}

/// Token bookkeeping.
#[derive(Debug, Clone)]
pub struct AccessCheck {
    /// The token's owner as the database has it now.
    pub user: User,
    /// Whether the token or its family is blacklisted.
    pub revoked: bool,
}

/// Refresh-token rotation and the revocation blacklist.
#[async_trait]
pub trait TokenStore {
    /// The user and whether `jti` or `family` is revoked, in one query.
    async fn check_access_token(
        &self,
        user_id: Uuid,
        jti: Uuid,
        family: Uuid,
    ) -> StoreResult<Option<AccessCheck>>;

    /// Records a newly issued refresh token.
    async fn insert_refresh_token(&self, record: &RefreshRecord) -> StoreResult<()>;

    /// Spends `old` and records `new` in one transaction, unless `old` is
    /// spent, revoked, expired or unknown.
    async fn rotate_refresh_token(
        &self,
        old: Uuid,
        new: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation>;

    /// Revokes every refresh token of a family and blacklists the family id.
    async fn revoke_family(&self, family: &Revocation, now: DateTime<Utc>) -> StoreResult<()>;

    /// Blacklists an access token (idempotent).
    async fn revoke_access_token(&self, token: &Revocation, now: DateTime<Utc>) -> StoreResult<()>;

    /// Deletes blacklist rows and refresh tokens that can no longer matter.
    async fn prune_expired_tokens(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}
