//! The `refresh_tokens` and `revoked_tokens` tables on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use sqlx::Connection as _;
use uuid::Uuid;

use super::SqliteStore;
use super::checked::{self, sqlite_row};
use super::users::UserRow;
use crate::domain::time;
use crate::store::{
    AccessCheck, RefreshRecord, Revocation, Rotation, StoreError, StoreResult, TokenStore,
};

/// Blacklists `r` inside `conn`'s transaction (idempotent).
async fn insert_revocation(
    conn: &mut sqlx::SqliteConnection,
    r: &Revocation,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let jti = r.jti.hyphenated().to_string();
    let user_id = r.user_id.hyphenated().to_string();
    let expires_at = time::to_text(r.expires_at);
    let revoked_at = time::to_text(now);
    sqlx::query!(
        "INSERT INTO revoked_tokens (jti, user_id, expires_at, revoked_at, reason)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (jti) DO NOTHING",
        jti,
        user_id,
        expires_at,
        revoked_at,
        r.reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

sqlite_row! {
    /// A user and whether the presented token is revoked: the one lookup
    /// of every bearer request.
    struct AccessRow {
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
        revoked: bool,
    }
}

impl TryFrom<AccessRow> for AccessCheck {
    type Error = StoreError;

    fn try_from(row: AccessRow) -> Result<Self, Self::Error> {
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
        Ok(AccessCheck {
            user: user.try_into()?,
            revoked: row.revoked,
        })
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn check_access_token(
        &self,
        user_id: Uuid,
        jti: Uuid,
        family: Uuid,
    ) -> StoreResult<Option<AccessCheck>> {
        let user_id = user_id.hyphenated().to_string();
        let jti = jti.hyphenated().to_string();
        let family = family.hyphenated().to_string();
        let row = self.inline.now(|conn| {
            checked::row!(
                conn,
                AccessRow,
                r#"SELECT id, username, email, full_name, role, password_hash,
                          is_active AS "is_active: bool", token_version, created_at, updated_at,
                          last_login_at,
                          EXISTS (SELECT 1 FROM revoked_tokens WHERE jti IN (?2, ?3)) AS "revoked!: bool"
                   FROM users WHERE id = ?1"#,
                user_id,
                jti,
                family
            )
            .optional()
        })?;
        row.map(AccessCheck::try_from).transpose()
    }

    async fn insert_refresh_token(&self, record: &RefreshRecord) -> StoreResult<()> {
        let jti = record.jti.hyphenated().to_string();
        let user_id = record.user_id.hyphenated().to_string();
        let family = record.family_id.hyphenated().to_string();
        let issued_at = time::to_text(record.issued_at);
        let expires_at = time::to_text(record.expires_at);
        sqlx::query!(
            "INSERT INTO refresh_tokens (jti, user_id, family_id, issued_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            jti,
            user_id,
            family,
            issued_at,
            expires_at
        )
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        old: Uuid,
        new: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        let old = old.hyphenated().to_string();
        let at = time::to_text(now);
        let family = new.family_id.hyphenated().to_string();
        // Spending the old token and recording its successor commit together;
        // the one writer serialises this with the family's revocation.
        let mut writer = self.sqlx_writer().await?;
        let mut tx = writer.begin().await?;
        let spent = sqlx::query!(
            "UPDATE refresh_tokens SET used_at = ?1
             WHERE jti = ?2 AND family_id = ?3
               AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?1
               AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?3)",
            at,
            old,
            family
        )
        .execute(&mut *tx)
        .await?;
        if spent.rows_affected() == 0 {
            return Ok(Rotation::Refused);
        }
        let jti = new.jti.hyphenated().to_string();
        let user_id = new.user_id.hyphenated().to_string();
        let issued_at = time::to_text(new.issued_at);
        let expires_at = time::to_text(new.expires_at);
        sqlx::query!(
            "INSERT INTO refresh_tokens (jti, user_id, family_id, issued_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5) /* rotation */",
            jti,
            user_id,
            family,
            issued_at,
            expires_at
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Rotation::Rotated)
    }

    async fn revoke_family(&self, family: &Revocation, now: DateTime<Utc>) -> StoreResult<()> {
        let family_id = family.jti.hyphenated().to_string();
        let at = time::to_text(now);
        let mut writer = self.sqlx_writer().await?;
        let mut tx = writer.begin().await?;
        sqlx::query!(
            "UPDATE refresh_tokens SET revoked_at = ?1 WHERE family_id = ?2 AND revoked_at IS NULL",
            at,
            family_id
        )
        .execute(&mut *tx)
        .await?;
        insert_revocation(&mut tx, family, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_access_token(&self, token: &Revocation, now: DateTime<Utc>) -> StoreResult<()> {
        let mut conn = self.sqlx_writer().await?;
        insert_revocation(&mut conn, token, now).await
    }

    async fn prune_expired_tokens(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let at = time::to_text(now);
        let mut writer = self.sqlx_writer().await?;
        let mut tx = writer.begin().await?;
        let revoked = sqlx::query!("DELETE FROM revoked_tokens WHERE expires_at < ?1", at)
            .execute(&mut *tx)
            .await?;
        let refresh = sqlx::query!("DELETE FROM refresh_tokens WHERE expires_at < ?1", at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(revoked.rows_affected() + refresh.rows_affected())
    }
}
