//! The `users` table on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PostgresStore;
use crate::domain::User;
use crate::store::{LAST_ADMIN, NewUser, StoreError, StoreResult, UserChanges, UserStore};

/// A `users` row as Postgres returns it.
pub(super) struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub role: String,
    pub password_hash: String,
    pub is_active: bool,
    pub token_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(User {
            role: row
                .role
                .parse()
                .map_err(|e| StoreError::Other(format!("users row {}: {e}", row.id)))?,
            id: row.id,
            username: row.username,
            email: row.email,
            full_name: row.full_name,
            password_hash: row.password_hash,
            is_active: row.is_active,
            token_version: i64::from(row.token_version),
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_login_at: row.last_login_at,
        })
    }
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        sqlx::query_as!(
            UserRow,
            "SELECT id, username, email, full_name, role, password_hash,
                    is_active, token_version, created_at, updated_at, last_login_at
             FROM users WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .map(User::try_from)
        .transpose()
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        sqlx::query_as!(
            UserRow,
            "SELECT id, username, email, full_name, role, password_hash,
                    is_active, token_version, created_at, updated_at, last_login_at
             FROM users WHERE lower(username) = lower($1)",
            username
        )
        .fetch_optional(&self.pool)
        .await?
        .map(User::try_from)
        .transpose()
    }

    async fn create_user(&self, new: &NewUser, now: DateTime<Utc>) -> StoreResult<User> {
        let mut conn = self.pool.acquire().await?;
        insert(&mut conn, new, now).await
    }

    async fn list_users(&self, limit: i64, offset: i64) -> StoreResult<(Vec<User>, i64)> {
        let rows = sqlx::query_as!(
            UserRow,
            "SELECT id, username, email, full_name, role, password_hash,
                    is_active, token_version, created_at, updated_at, last_login_at
             FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2",
            limit,
            offset
        )
        .fetch_all(&self.pool)
        .await?;
        let total = sqlx::query_scalar!(r#"SELECT count(*) AS "total!" FROM users"#)
            .fetch_one(&self.pool)
            .await?;
        let users = rows
            .into_iter()
            .map(User::try_from)
            .collect::<Result<_, _>>()?;
        Ok((users, total))
    }

    async fn update_user(
        &self,
        id: Uuid,
        changes: &UserChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        let mut tx = self.pool.begin().await?;
        let user = update(&mut tx, id, changes, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn set_password(&self, id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<User> {
        sqlx::query_as!(
            UserRow,
            "UPDATE users SET password_hash = $1, token_version = token_version + 1, updated_at = $2
             WHERE id = $3
             RETURNING id, username, email, full_name, role, password_hash,
                       is_active, token_version, created_at, updated_at, last_login_at",
            hash,
            now,
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn bump_token_version(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<User> {
        sqlx::query_as!(
            UserRow,
            "UPDATE users SET token_version = token_version + 1, updated_at = $1
             WHERE id = $2
             RETURNING id, username, email, full_name, role, password_hash,
                       is_active, token_version, created_at, updated_at, last_login_at",
            now,
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn record_login(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query!("UPDATE users SET last_login_at = $1 WHERE id = $2", now, id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Inserts a user (inside a transaction, or alone).
pub(super) async fn insert(
    conn: &mut sqlx::PgConnection,
    new: &NewUser,
    now: DateTime<Utc>,
) -> StoreResult<User> {
    sqlx::query_as!(
        UserRow,
        "INSERT INTO users (id, username, email, full_name, role, password_hash,
                            is_active, token_version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, TRUE, 0, $7, $7)
         RETURNING id, username, email, full_name, role, password_hash,
                   is_active, token_version, created_at, updated_at, last_login_at",
        Uuid::new_v4(),
        new.username,
        new.email,
        new.full_name,
        new.role.as_str(),
        new.password_hash,
        now
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

/// Changes a user inside a transaction, refusing to leave no active admin.
pub(super) async fn update(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    changes: &UserChanges,
    now: DateTime<Utc>,
) -> StoreResult<User> {
    if changes.role.is_some() || changes.is_active.is_some() {
        // Lock the active admins: two concurrent demotions of the last
        // two admins must not both see the other one still active.
        sqlx::query_scalar!("SELECT id FROM users WHERE role = 'admin' AND is_active FOR UPDATE")
            .fetch_all(&mut *conn)
            .await?;
    }
    let user = sqlx::query_as!(
        UserRow,
        "UPDATE users SET
             username = COALESCE($1, username),
             email = COALESCE($2, email),
             full_name = CASE WHEN $3 THEN $4 ELSE full_name END,
             role = COALESCE($5, role),
             is_active = COALESCE($6, is_active),
             token_version = CASE WHEN $6 = FALSE THEN token_version + 1 ELSE token_version END,
             updated_at = $7
         WHERE id = $8
         RETURNING id, username, email, full_name, role, password_hash,
                   is_active, token_version, created_at, updated_at, last_login_at",
        changes.username,
        changes.email,
        changes.full_name.is_some(),
        changes.full_name.clone().flatten(),
        changes.role.map(|r| r.as_str()),
        changes.is_active,
        now,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    let admins = sqlx::query_scalar!(
        r#"SELECT count(*) AS "admins!" FROM users WHERE role = 'admin' AND is_active"#
    )
    .fetch_one(&mut *conn)
    .await?;
    if admins == 0 {
        return Err(StoreError::Conflict {
            constraint: LAST_ADMIN.into(),
        });
    }
    user.try_into()
}
