//! The `users` table on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PostgresStore;
use crate::domain::User;
use crate::store::{StoreError, StoreResult, UserStore};

struct UserRow {
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
             FROM users WHERE username = $1",
            username
        )
        .fetch_optional(&self.pool)
        .await?
        .map(User::try_from)
        .transpose()
    }
}
