//! The `api_keys` table on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::OptionalExtension;
use uuid::Uuid;

use super::checked::{self, sqlite_row};
use super::users::UserRow;
use super::{SqliteStore, parse_time, parse_uuid};
use crate::domain::{ApiKey, User, time};
use crate::store::api_keys::stored_scopes;
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
    scopes: Option<String>,
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
            scopes: stored_scopes(row.scopes.as_deref())?,
            name: row.name,
            prefix: row.prefix,
            key_hash: row.key_hash,
        })
    }
}

sqlite_row! {
    /// A key and its owner: the one lookup of every API-key request.
    struct KeyOwnerRow {
        key_id: String,
        key_name: String,
        key_prefix: String,
        key_hash: String,
        key_created_at: String,
        key_last_used_at: Option<String>,
        key_expires_at: Option<String>,
        key_revoked_at: Option<String>,
        key_scopes: Option<String>,
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
}

impl KeyOwnerRow {
    fn split(self) -> (KeyRow, UserRow) {
        let key = KeyRow {
            id: self.key_id,
            user_id: self.id.clone(),
            name: self.key_name,
            prefix: self.key_prefix,
            key_hash: self.key_hash,
            created_at: self.key_created_at,
            last_used_at: self.key_last_used_at,
            expires_at: self.key_expires_at,
            revoked_at: self.key_revoked_at,
            scopes: self.key_scopes,
        };
        let user = UserRow {
            id: self.id,
            username: self.username,
            email: self.email,
            full_name: self.full_name,
            role: self.role,
            password_hash: self.password_hash,
            is_active: self.is_active,
            token_version: self.token_version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_login_at: self.last_login_at,
        };
        (key, user)
    }
}

#[async_trait]
impl ApiKeyStore for SqliteStore {
    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        let id = key.id.hyphenated().to_string();
        let user_id = key.user_id.hyphenated().to_string();
        let created_at = time::to_text(key.created_at);
        let expires_at = key.expires_at.map(time::to_text);
        let scopes = key.scopes.map(|s| s.to_string());
        sqlx::query!(
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at, expires_at, scopes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            id,
            user_id,
            key.name,
            key.prefix,
            key.key_hash,
            created_at,
            expires_at,
            scopes
        )
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(())
    }

    async fn list_api_keys(&self, user_id: Uuid) -> StoreResult<Vec<ApiKey>> {
        let user_id = user_id.hyphenated().to_string();
        sqlx::query_as!(
            KeyRow,
            "SELECT id, user_id, name, prefix, key_hash, created_at, last_used_at, expires_at, revoked_at, scopes
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
        let mut conn = self.sqlx_writer().await?;
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
            "SELECT id, user_id, name, prefix, key_hash, created_at, last_used_at, expires_at, revoked_at, scopes
             FROM api_keys WHERE id = ?1",
            id
        )
        .fetch_one(&mut *conn)
        .await?
        .try_into()
    }

    async fn api_key_owner(&self, id: Uuid) -> StoreResult<Option<Uuid>> {
        let id = id.hyphenated().to_string();
        let owner = sqlx::query_scalar!("SELECT user_id FROM api_keys WHERE id = ?1", id)
            .fetch_optional(&self.read)
            .await?;
        owner
            .map(|o| Uuid::parse_str(&o).map_err(|e| StoreError::Other(e.to_string())))
            .transpose()
    }

    async fn revoke_all_api_keys(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<u64> {
        let owner = user_id.hyphenated().to_string();
        let at = time::to_text(now);
        let mut conn = self.sqlx_writer().await?;
        let updated = sqlx::query!(
            "UPDATE api_keys SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
            at,
            owner
        )
        .execute(&mut *conn)
        .await?;
        Ok(updated.rows_affected())
    }

    async fn principal_by_api_key(&self, key_hash: &str) -> StoreResult<Option<(User, ApiKey)>> {
        let Some((key, user)) = self
            .inline
            .now(|conn| {
                checked::row!(
                    conn,
                    KeyOwnerRow,
                    r#"SELECT k.id AS key_id, k.name AS key_name, k.prefix AS key_prefix,
                              k.key_hash, k.created_at AS key_created_at,
                              k.last_used_at AS key_last_used_at, k.expires_at AS key_expires_at,
                              k.revoked_at AS key_revoked_at, k.scopes AS key_scopes,
                              u.id, u.username, u.email, u.full_name, u.role, u.password_hash,
                              u.is_active AS "is_active: bool", u.token_version, u.created_at,
                              u.updated_at, u.last_login_at
                       FROM api_keys k JOIN users u ON u.id = k.user_id
                       WHERE k.key_hash = ?1"#,
                    key_hash
                )
                .optional()
            })?
            .map(KeyOwnerRow::split)
        else {
            return Ok(None);
        };
        Ok(Some((user.try_into()?, key.try_into()?)))
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
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(())
    }
}
