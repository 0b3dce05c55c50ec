//! The `api_keys` table on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::PostgresStore;
use super::users::UserRow;
use crate::domain::{ApiKey, User};
use crate::store::api_keys::stored_scopes;
use crate::store::{ApiKeyStore, StoreError, StoreResult};

/// A stored key, its scopes as text.
struct KeyRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    prefix: String,
    key_hash: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    scopes: Option<String>,
}

impl TryFrom<KeyRow> for ApiKey {
    type Error = StoreError;

    fn try_from(row: KeyRow) -> Result<Self, Self::Error> {
        Ok(ApiKey {
            scopes: stored_scopes(row.scopes.as_deref())?,
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            prefix: row.prefix,
            key_hash: row.key_hash,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// A key and its owner from one joined query.
struct KeyPrincipalRow {
    key_id: Uuid,
    key_name: String,
    key_prefix: String,
    key_hash: String,
    key_created_at: DateTime<Utc>,
    key_last_used_at: Option<DateTime<Utc>>,
    key_expires_at: Option<DateTime<Utc>>,
    key_revoked_at: Option<DateTime<Utc>>,
    key_scopes: Option<String>,
    id: Uuid,
    username: String,
    email: String,
    full_name: Option<String>,
    role: String,
    password_hash: String,
    is_active: bool,
    token_version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
}

impl TryFrom<KeyPrincipalRow> for (User, ApiKey) {
    type Error = StoreError;

    fn try_from(row: KeyPrincipalRow) -> Result<Self, Self::Error> {
        let key = ApiKey {
            id: row.key_id,
            user_id: row.id,
            name: row.key_name,
            prefix: row.key_prefix,
            key_hash: row.key_hash,
            created_at: row.key_created_at,
            last_used_at: row.key_last_used_at,
            expires_at: row.key_expires_at,
            revoked_at: row.key_revoked_at,
            scopes: stored_scopes(row.key_scopes.as_deref())?,
        };
        let user = UserRow {
            id: row.id,
            username: row.username,
            email: row.email,
            full_name: row.full_name,
            role: row.role,
            password_hash: row.password_hash,
            is_active: row.is_active,
            token_version: row.token_version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_login_at: row.last_login_at,
        };
        Ok((user.try_into()?, key))
    }
}

#[async_trait]
impl ApiKeyStore for PostgresStore {
    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at, expires_at, scopes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            key.id,
            key.user_id,
            key.name,
            key.prefix,
            key.key_hash,
            key.created_at,
            key.expires_at,
            key.scopes.map(|s| s.to_string())
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_api_keys(&self, user_id: Uuid) -> StoreResult<Vec<ApiKey>> {
        sqlx::query_as!(
            KeyRow,
            "SELECT id, user_id, name, prefix, key_hash, created_at, last_used_at, expires_at, revoked_at,
                    scopes
             FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id",
            user_id
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(ApiKey::try_from)
        .collect()
    }

    async fn revoke_api_key(
        &self,
        id: Uuid,
        user_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> StoreResult<ApiKey> {
        sqlx::query_as!(
            KeyRow,
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1)
             WHERE id = $2 AND ($3::uuid IS NULL OR user_id = $3)
             RETURNING id, user_id, name, prefix, key_hash, created_at, last_used_at, expires_at,
                       revoked_at, scopes",
            now,
            id,
            user_id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn api_key_owner(&self, id: Uuid) -> StoreResult<Option<Uuid>> {
        Ok(
            sqlx::query_scalar!("SELECT user_id FROM api_keys WHERE id = $1", id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn revoke_all_api_keys(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<u64> {
        let updated = sqlx::query!(
            "UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            now,
            user_id
        )
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected())
    }

    async fn principal_by_api_key(&self, key_hash: &str) -> StoreResult<Option<(User, ApiKey)>> {
        sqlx::query_as!(
            KeyPrincipalRow,
            "SELECT k.id AS key_id, k.name AS key_name, k.prefix AS key_prefix,
                    k.key_hash AS key_hash, k.created_at AS key_created_at,
                    k.last_used_at AS key_last_used_at, k.expires_at AS key_expires_at,
                    k.revoked_at AS key_revoked_at, k.scopes AS key_scopes,
                    u.id, u.username, u.email, u.full_name, u.role, u.password_hash,
                    u.is_active, u.token_version, u.created_at, u.updated_at, u.last_login_at
             FROM api_keys k JOIN users u ON u.id = k.user_id
             WHERE k.key_hash = $1",
            key_hash
        )
        .fetch_optional(&self.pool)
        .await?
        .map(<(User, ApiKey)>::try_from)
        .transpose()
    }

    async fn touch_api_key(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query!(
            "UPDATE api_keys SET last_used_at = $1
             WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
            now,
            id,
            now - Duration::minutes(1)
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
