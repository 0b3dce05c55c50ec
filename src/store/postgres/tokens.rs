//! The `refresh_tokens` and `revoked_tokens` tables on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PostgresStore;
use super::users::UserRow;
use crate::store::{AccessCheck, RefreshRecord, Revocation, Rotation, StoreResult, TokenStore};

struct AccessRow {
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
    revoked: bool,
}

/// Blacklists `r` on `conn` (idempotent).
async fn insert_revocation(
    conn: &mut sqlx::PgConnection,
    r: &Revocation,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO revoked_tokens (jti, user_id, expires_at, revoked_at, reason)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (jti) DO NOTHING",
        r.jti,
        r.user_id,
        r.expires_at,
        now,
        r.reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Serialises rotation and revocation of one family until `conn`'s
/// transaction ends. Under READ COMMITTED an UPDATE does not see a row that
/// a concurrent rotation inserted and has not committed, so without this a
/// successor born during a logout would outlive it.
async fn lock_family(conn: &mut sqlx::PgConnection, family: Uuid) -> StoreResult<()> {
    let key = i64::from_be_bytes(family.as_bytes()[..8].try_into().expect("8 bytes"));
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", key)
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn check_access_token(
        &self,
        user_id: Uuid,
        jti: Uuid,
        family: Uuid,
    ) -> StoreResult<Option<AccessCheck>> {
        let Some(row) = sqlx::query_as!(
            AccessRow,
            r#"SELECT id, username, email, full_name, role, password_hash,
                      is_active, token_version, created_at, updated_at, last_login_at,
                      EXISTS (SELECT 1 FROM revoked_tokens WHERE jti IN ($2, $3)) AS "revoked!"
               FROM users WHERE id = $1"#,
            user_id,
            jti,
            family
        )
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let revoked = row.revoked;
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
        }
        .try_into()?;
        Ok(Some(AccessCheck { user, revoked }))
    }

    async fn insert_refresh_token(&self, record: &RefreshRecord) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO refresh_tokens (jti, user_id, family_id, issued_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            record.jti,
            record.user_id,
            record.family_id,
            record.issued_at,
            record.expires_at
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        old: Uuid,
        new: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        // Spending the old token and recording its successor commit together,
        // under the family's lock: a revocation waits for this successor to
        // commit and then revokes it, and a rotation that waits for a
        // revocation sees the family's blacklist row and refuses.
        let mut tx = self.pool.begin().await?;
        lock_family(&mut tx, new.family_id).await?;
        let spent = sqlx::query!(
            "UPDATE refresh_tokens SET used_at = $1
             WHERE jti = $2 AND family_id = $3
               AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1
               AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $3)",
            now,
            old,
            new.family_id
        )
        .execute(&mut *tx)
        .await?;
        if spent.rows_affected() == 0 {
            return Ok(Rotation::Refused);
        }
        sqlx::query!(
            "INSERT INTO refresh_tokens (jti, user_id, family_id, issued_at, expires_at)
             VALUES ($1, $2, $3, $4, $5) /* rotation */",
            new.jti,
            new.user_id,
            new.family_id,
            new.issued_at,
            new.expires_at
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Rotation::Rotated)
    }

    async fn revoke_family(&self, family: &Revocation, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        lock_family(&mut tx, family.jti).await?;
        sqlx::query!(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
            now,
            family.jti
        )
        .execute(&mut *tx)
        .await?;
        insert_revocation(&mut tx, family, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_access_token(&self, token: &Revocation, now: DateTime<Utc>) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        insert_revocation(&mut conn, token, now).await
    }

    async fn prune_expired_tokens(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query!("DELETE FROM revoked_tokens WHERE expires_at < $1", now)
            .execute(&mut *tx)
            .await?;
        let refresh = sqlx::query!("DELETE FROM refresh_tokens WHERE expires_at < $1", now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(revoked.rows_affected() + refresh.rows_affected())
    }
}
