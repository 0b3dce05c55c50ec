//! The `users` table on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use uuid::Uuid;

use super::checked::{self, sqlite_row};
use super::{SqliteStore, parse_time, parse_uuid};
use crate::domain::{User, time};
use crate::store::{LAST_ADMIN, NewUser, StoreError, StoreResult, UserChanges, UserStore};

sqlite_row! {
    /// A `users` row as SQLite returns it.
    pub(super) struct UserRow {
        pub id: String,
        pub username: String,
        pub email: String,
        pub full_name: Option<String>,
        pub role: String,
        pub password_hash: String,
        pub is_active: bool,
        pub token_version: i64,
        pub created_at: String,
        pub updated_at: String,
        pub last_login_at: Option<String>,
    }
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(User {
            id: parse_uuid(&row.id)?,
            role: row
                .role
                .parse()
                .map_err(|e| StoreError::Other(format!("users row {}: {e}", row.id)))?,
            created_at: parse_time(&row.created_at)?,
            updated_at: parse_time(&row.updated_at)?,
            last_login_at: row.last_login_at.as_deref().map(parse_time).transpose()?,
            username: row.username,
            email: row.email,
            full_name: row.full_name,
            password_hash: row.password_hash,
            is_active: row.is_active,
            token_version: row.token_version,
        })
    }
}

/// Reads a user inside a write transaction, so a write just made is visible.
fn user_after_write(conn: &Connection, id: &str) -> StoreResult<User> {
    checked::row!(
        conn,
        UserRow,
        r#"SELECT id, username, email, full_name, role, password_hash,
                  is_active AS "is_active: bool", token_version, created_at, updated_at, last_login_at
           FROM users WHERE id = ?1"#,
        id
    )?
    .try_into()
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
               FROM users WHERE lower(username) = lower(?1)"#,
            username
        )
        .fetch_optional(&self.read)
        .await?
        .map(User::try_from)
        .transpose()
    }

    async fn create_user(&self, new: &NewUser, now: DateTime<Utc>) -> StoreResult<User> {
        let tx = self.begin_tx().await?;
        let user = insert(tx.conn(), new, now)?;
        tx.finish()?;
        Ok(user)
    }

    async fn list_users(&self, limit: i64, offset: i64) -> StoreResult<(Vec<User>, i64)> {
        let rows = sqlx::query_as!(
            UserRow,
            r#"SELECT id, username, email, full_name, role, password_hash,
                      is_active AS "is_active: bool", token_version, created_at, updated_at, last_login_at
               FROM users ORDER BY created_at, id LIMIT ?1 OFFSET ?2"#,
            limit,
            offset
        )
        .fetch_all(&self.read)
        .await?;
        let total = sqlx::query_scalar!(r#"SELECT count(*) AS "total!: i64" FROM users"#)
            .fetch_one(&self.read)
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
        let tx = self.begin_tx().await?;
        let user = update(tx.conn(), id, changes, now)?;
        tx.finish()?;
        Ok(user)
    }

    async fn set_password(&self, id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<User> {
        let id = id.hyphenated().to_string();
        let tx = self.begin_tx().await?;
        checked::execute!(
            tx.conn(),
            "UPDATE users SET password_hash = ?1, token_version = token_version + 1, updated_at = ?2
             WHERE id = ?3",
            hash,
            time::to_text(now),
            id
        )?;
        let user = user_after_write(tx.conn(), &id)?;
        tx.finish()?;
        Ok(user)
    }

    async fn bump_token_version(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<User> {
        let id = id.hyphenated().to_string();
        let tx = self.begin_tx().await?;
        checked::execute!(
            tx.conn(),
            "UPDATE users SET token_version = token_version + 1, updated_at = ?1 WHERE id = ?2",
            time::to_text(now),
            id
        )?;
        let user = user_after_write(tx.conn(), &id)?;
        tx.finish()?;
        Ok(user)
    }

    async fn record_login(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        let id = id.hyphenated().to_string();
        let at = time::to_text(now);
        sqlx::query!("UPDATE users SET last_login_at = ?1 WHERE id = ?2", at, id)
            .execute(&mut *self.sqlx_writer().await?)
            .await?;
        Ok(())
    }
}

/// Inserts a user inside a transaction.
pub(super) fn insert(conn: &Connection, new: &NewUser, now: DateTime<Utc>) -> StoreResult<User> {
    let id = Uuid::new_v4();
    checked::execute!(
        conn,
        "INSERT INTO users (id, username, email, full_name, role, password_hash,
                            is_active, token_version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 0, ?7, ?7)",
        id.hyphenated().to_string(),
        new.username,
        new.email,
        new.full_name,
        new.role.as_str(),
        new.password_hash,
        time::to_text(now),
    )?;
    Ok(User {
        id,
        username: new.username.clone(),
        email: new.email.clone(),
        full_name: new.full_name.clone(),
        role: new.role,
        password_hash: new.password_hash.clone(),
        is_active: true,
        token_version: 0,
        created_at: now,
        updated_at: now,
        last_login_at: None,
    })
}

/// Changes a user inside a transaction, refusing to leave no active admin.
pub(super) fn update(
    conn: &Connection,
    id: Uuid,
    changes: &UserChanges,
    now: DateTime<Utc>,
) -> StoreResult<User> {
    let id = id.hyphenated().to_string();
    // One writer at a time, so the admin count read inside this
    // transaction cannot change under it.
    let updated = checked::execute!(
        conn,
        "UPDATE users SET
             username = COALESCE(?1, username),
             email = COALESCE(?2, email),
             full_name = CASE WHEN ?3 THEN ?4 ELSE full_name END,
             role = COALESCE(?5, role),
             is_active = COALESCE(?6, is_active),
             token_version = CASE WHEN ?6 = 0 THEN token_version + 1 ELSE token_version END,
             updated_at = ?7
         WHERE id = ?8",
        changes.username,
        changes.email,
        changes.full_name.is_some(),
        changes.full_name.clone().flatten(),
        changes.role.map(|r| r.as_str()),
        changes.is_active,
        time::to_text(now),
        id,
    )?;
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    let admins: i64 = checked::scalar!(
        conn,
        r#"SELECT count(*) AS "admins!: i64" FROM users WHERE role = 'admin' AND is_active = 1"#
    )?;
    if admins == 0 {
        return Err(StoreError::Conflict {
            constraint: LAST_ADMIN.into(),
        });
    }
    user_after_write(conn, &id)
}
