//! The authorization flow's tables: `browser_sessions`, `oauth_consents`,
//! `oauth_grants` and `oauth_codes`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::{Scopes, User};

/// A sign-in on the login page.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    /// Keyed hash of the cookie's value.
    pub id_hash: String,
    /// Who signed in.
    pub user_id: Uuid,
    /// When they typed their password.
    pub auth_time: DateTime<Utc>,
    /// Their `token_version` then: moving it on ends the session.
    pub token_version: i64,
    /// When it ends unless used again.
    pub expires_at: DateTime<Utc>,
}

/// A live browser session and its user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user as the database has them now.
    pub user: User,
    /// When they typed their password.
    pub auth_time: DateTime<Utc>,
}

/// An authorization code as stored (its keyed hash, never the code).
#[derive(Debug, Clone)]
pub struct CodeRecord {
    /// Keyed hash of the code.
    pub code_hash: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user who approved it.
    pub user_id: Uuid,
    /// The redirect URI it was sent to, which the exchange must repeat.
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The resource its tokens are for.
    pub resource: String,
    /// The scopes approved; `None` is the user's whole role.
    pub scopes: Option<Scopes>,
    /// When the user typed their password.
    pub auth_time: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// What presenting a code found.
#[derive(Debug, Clone)]
pub enum Redemption {
    /// It was live; it is spent now, and started `family`.
    Redeemed(CodeRecord),
    /// It was spent before, by the exchange that started this family.
    Reused {
        /// Whose code it was.
        user_id: Uuid,
        /// The grant the first exchange started, if it got that far.
        family: Option<Uuid>,
    },
    /// Unknown or expired.
    Invalid,
}

/// An authorization a client holds: the refresh family of its tokens.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The family id, carried in every token of the grant.
    pub family_id: Uuid,
    /// The client.
    pub client_id: String,
    /// The user.
    pub user_id: Uuid,
    /// The scopes approved; `None` is the user's whole role.
    pub scopes: Option<Scopes>,
    /// The resource its tokens are for.
    pub resource: String,
    /// When it was granted.
    pub created_at: DateTime<Utc>,
}

/// An app a user authorised.
#[derive(Debug, Clone)]
pub struct ConnectedApp {
    /// The client.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// The scopes approved; `None` is every scope of the role.
    pub scopes: Option<Scopes>,
    /// When the user approved it.
    pub granted_at: DateTime<Utc>,
}

/// The flow's state.
#[async_trait]
pub trait OAuthFlowStore {
    /// Records a sign-in.
    async fn create_browser_session(&self, session: &BrowserSession) -> StoreResult<()>;

    /// The live session with this hash, signed in after `signed_in_after`,
    /// and its user if still active and of the same `token_version`; its
    /// idle expiry moved to `expires_at`.
    async fn touch_browser_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        signed_in_after: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<Option<SignedIn>>;

    /// Ends a session (sign-out).
    async fn end_browser_session(&self, id_hash: &str, now: DateTime<Utc>) -> StoreResult<()>;

    /// The scopes `user_id` approved for `client_id`, if they did and did
    /// not revoke it: `Some(None)` is every scope.
    async fn consent(&self, user_id: Uuid, client_id: &str) -> StoreResult<Option<Option<Scopes>>>;

    /// Remembers an approval, replacing an earlier one.
    async fn grant_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scopes: Option<Scopes>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Stores a new code.
    async fn insert_code(&self, code: &CodeRecord) -> StoreResult<()>;

    /// Spends the code with this hash for a grant of `family`, if it is
    /// live.
    async fn redeem_code(
        &self,
        code_hash: &str,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Redemption>;

    /// Records a new grant.
    async fn create_grant(&self, grant: &Grant) -> StoreResult<()>;

    /// The live grant of `family`: not revoked, its client not disabled.
    async fn live_grant(&self, family: Uuid) -> StoreResult<Option<Grant>>;

    /// Revokes a grant (idempotent).
    async fn revoke_grant(&self, family: Uuid, now: DateTime<Utc>) -> StoreResult<()>;

    /// Deletes codes and browser sessions that can no longer matter: a code
    /// is kept a day past its expiry, so that a late second presentation
    /// is still recognised as reuse.
    async fn prune_oauth_flow(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    /// The apps `user_id` approved and did not revoke, newest first.
    async fn connected_apps(&self, user_id: Uuid) -> StoreResult<Vec<ConnectedApp>>;

    /// Revokes `user_id`'s consent for `client_id` and every grant the
    /// client holds from them; whether there was a consent to revoke.
    async fn disconnect_app(
        &self,
        user_id: Uuid,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}
