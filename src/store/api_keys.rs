//! The `api_keys` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{StoreError, StoreResult};
use crate::domain::{ApiKey, Scopes, User};

/// Reads and writes API keys (their hashes; never the keys).
#[async_trait]
pub trait ApiKeyStore {
    /// Stores a new key.
    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()>;

    /// The user's keys, newest first.
    async fn list_api_keys(&self, user_id: Uuid) -> StoreResult<Vec<ApiKey>>;

    /// Revokes a key of `user_id` (any user's when `None`). `NotFound` when
    /// there is no such key for that owner; revoking twice is not an error.
    async fn revoke_api_key(
        &self,
        id: Uuid,
        user_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> StoreResult<ApiKey>;

    /// The owner of key `id`, if there is such a key.
    async fn api_key_owner(&self, id: Uuid) -> StoreResult<Option<Uuid>>;

    /// Revokes every live key of `user_id`; returns how many it revoked.
    async fn revoke_all_api_keys(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<u64>;

    /// The key with this hash and its owner, in one query.
    async fn principal_by_api_key(&self, key_hash: &str) -> StoreResult<Option<(User, ApiKey)>>;

    /// Records use of a key, at most once a minute so reads stay reads.
    async fn touch_api_key(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
}

/// A key's stored `scopes` column (NULL: the owner's whole role).
pub(crate) fn stored_scopes(text: Option<&str>) -> StoreResult<Option<Scopes>> {
    text.map(|text| {
        text.parse()
            .map_err(|e| StoreError::Other(format!("bad stored scopes {text:?}: {e}")))
    })
    .transpose()
}
