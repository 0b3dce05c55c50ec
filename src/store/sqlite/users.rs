//! The `users` table on SQLite.

use async_trait::async_trait;
use uuid::Uuid;

use super::SqliteStore;
use crate::domain::{User, time};
use crate::store::{StoreError, StoreResult, UserStore};

struct UserRow {
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

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Other(format!("users row {}: bad {what}: {e}", row.id))
        };
        Ok(User {
            id: Uuid::parse_str(&row.id).map_err(|e| bad("id", &e))?,
            role: row.role.parse().map_err(|e| bad("role", &e))?,
            created_at: time::from_text(&row.created_at).map_err(|e| bad("created_at", &e))?,
            updated_at: time::from_text(&row.updated_at).map_err(|e| bad("updated_at", &e))?,
            last_login_at: row
                .last_login_at
                .as_deref()
                .map(time::from_text)
                .transpose()
                .map_err(|e| bad("last_login_at", &e))?,
            username: row.username,
            email: row.email,
            full_name: row.full_name,
            password_hash: row.password_hash,
            is_active: row.is_active,
            token_version: row.token_version,
        })
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        let id = id.hyphenated().to_string();
        sqlx::query_as!(
            UserRow,
            r#"SELECT id, username, email, full_name, role, password_hash,
                      is_active AS "is_active: bool", token_version, created_at, updated_at, last_login_at
               FROM users WHERE id = ?1"#,
            id
        )
        .fetch_optional(&self.read)
        .await?
        .map(User::try_from)
        .transpose()
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        sqlx::query_as!(
            UserRow,
            r#"SELECT id, username, email, full_name, role, password_hash,
                      is_active AS "is_active: bool", token_version, created_at, updated_at, last_login_at
               FROM users WHERE username = ?1"#,
            username
        )
        .fetch_optional(&self.read)
        .await?
        .map(User::try_from)
        .transpose()
    }
}
