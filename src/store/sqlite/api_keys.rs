//! The `api_keys` table on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::OptionalExtension;
use uuid::Uuid;

use super::users::UserRow;
use super::{SqliteStore, parse_time, parse_uuid};
use crate::domain::{ApiKey, User, time};
use crate::store::{ApiKeyStore, StoreError, StoreResult};

struct KeyRow {
    id: String,
    user_id: String,
    name: String,
    prefix: String,
    key_hash: String,
    created_at: String,
    last_used_at: Option<String>,
    expires_at: Option<String>,
    revoked_at: Option<String>,
}

impl TryFrom<KeyRow> for ApiKey {
    type Error = StoreError;

    fn try_from(row: KeyRow) -> Result<Self, Self::Error> {
        Ok(ApiKey {
            id: parse_uuid(&row.id)?,
            user_id: parse_uuid(&row.user_id)?,
            created_at: parse_time(&row.created_at)?,
            last_used_at: row.last_used_at.as_deref().map(parse_time).transpose()?,
            expires_at: row.expires_at.as_deref().map(parse_time).transpose()?,
            revoked_at: row.revoked_at.as_deref().map(parse_time).transpose()?,
            name: row.name,
            prefix: row.prefix,
            key_hash: row.key_hash,
        })
    }
}

/// A key and its owner from one joined query.
struct KeyPrincipalRow {
    key_id: String,
    key_name: String,
    key_prefix: String,
    key_hash: String,
    key_created_at: String,
    key_last_used_at: Option<String>,
    key_expires_at: Option<String>,
    key_revoked_at: Option<String>,
    id: String,
    username: String,
    email: String,
    full_name: Option<String>,
    role: String,
    password_hash: String,
    is_active: bool,
    token_version: i64,
    created_at: String,
    updated_at: String,
    last_login_at: Option<String>,
}

impl TryFrom<KeyPrincipalRow> for (User, ApiKey) {
    type Error = StoreError;

    fn try_from(row: KeyPrincipalRow) -> Result<Self, Self::Error> {
        let key = KeyRow {
            id: row.key_id,
            user_id: row.id.clone(),
            name: row.key_name,
            prefix: row.key_prefix,
            key_hash: row.key_hash,
            created_at: row.key_created_at,
            last_used_at: row.key_last_used_at,
            expires_at: row.key_expires_at,
            revoked_at: row.key_revoked_at,
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
        Ok((user.try_into()?, key.try_into()?))
    }
}

#[async_trait]
impl ApiKeyStore for SqliteStore {
    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        let id = key.id.hyphenated().to_string();
        let user_id = key.user_id.hyphenated().to_string();
        let created_at = time::to_text(key.created_at);
        let expires_at = key.expires_at.map(time::to_text);
        sqlx::query!(
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            id,
            user_id,
            key.name,
            key.prefix,
            key.key_hash,
            created_at,
            expires_at
        )
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn list_api_keys(&self, user_id: Uuid) -> StoreResult<Vec<ApiKey>> {
        let user_id = user_id.hyphenated().to_string();
        sqlx::query_as!(
            KeyRow,
            "SELECT id, user_id, name, prefix, key_hash, created_at, last_used_at, expires_at, revoked_at
             FROM api_keys WHERE user_id = ?1 ORDER BY created_at DESC, id",
            user_id
        )
        .fetch_all(&self.read)
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
        let id = id.hyphenated().to_string();
        let owner = user_id.map(|u| u.hyphenated().to_string());
        let at = time::to_text(now);
        let mut conn = self.write.acquire().await?;
        let updated = sqlx::query!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?1)
             WHERE id = ?2 AND (?3 IS NULL OR user_id = ?3)",
            at,
            id,
            owner
        )
        .execute(&mut *conn)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query_as!(
            KeyRow,
            "SELECT id, user_id, name, prefix, key_hash, created_at, last_used_at, expires_at, revoked_at
             FROM api_keys WHERE id = ?1",
            id
        )
        .fetch_one(&mut *conn)
        .await?
        .try_into()
    }

    async fn principal_by_api_key(&self, key_hash: &str) -> StoreResult<Option<(User, ApiKey)>> {
        self.inline
            .now(|conn| {
                conn.prepare_cached(
                    "SELECT k.id, k.name, k.prefix, k.key_hash, k.created_at, k.last_used_at,
                            k.expires_at, k.revoked_at,
                            u.id, u.username, u.email, u.full_name, u.role, u.password_hash,
                            u.is_active, u.token_version, u.created_at, u.updated_at, u.last_login_at
                     FROM api_keys k JOIN users u ON u.id = k.user_id
                     WHERE k.key_hash = ?1",
                )?
                .query_row([key_hash], |row| {
                    Ok(KeyPrincipalRow {
                        key_id: row.get(0)?,
                        key_name: row.get(1)?,
                        key_prefix: row.get(2)?,
                        key_hash: row.get(3)?,
                        key_created_at: row.get(4)?,
                        key_last_used_at: row.get(5)?,
                        key_expires_at: row.get(6)?,
                        key_revoked_at: row.get(7)?,
                        id: row.get(8)?,
                        username: row.get(9)?,
                        email: row.get(10)?,
                        full_name: row.get(11)?,
                        role: row.get(12)?,
                        password_hash: row.get(13)?,
                        is_active: row.get(14)?,
                        token_version: row.get(15)?,
                        created_at: row.get(16)?,
                        updated_at: row.get(17)?,
                        last_login_at: row.get(18)?,
                    })
                })
                .optional()
            })?
            .map(<(User, ApiKey)>::try_from)
            .transpose()
    }

    async fn touch_api_key(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        let id = id.hyphenated().to_string();
        let at = time::to_text(now);
        let stale_before = time::to_text(now - Duration::minutes(1));
        sqlx::query!(
            "UPDATE api_keys SET last_used_at = ?1
             WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?3)",
            at,
            id,
            stale_before
        )
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
