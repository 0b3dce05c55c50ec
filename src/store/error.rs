//! The store's error: a small enum that upper layers map to statuses.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness constraint refused the write.
    #[error("conflict on {constraint}")]
    Conflict {
        /// The index or columns that collided, e.g. `users_username_key`.
        constraint: String,
    },
    /// The database does not exist, and opening may not create it.
    #[error("{0}")]
    Missing(String),
    /// The database cannot be reached right now.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the text is for logs only.
    #[error("{0}")]
    Other(String),
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => StoreError::Conflict {
                    constraint: constraint_name(db.as_ref()),
                },
                _ if is_connection_failure(db.code().as_deref()) => {
                    StoreError::Unavailable(database_message(db.as_ref()))
                }
                _ => StoreError::Other(database_message(db.as_ref())),
            },
            _ => StoreError::Other(err.to_string()),
        }
    }
}

/// A database's error in its own words. sqlx's Display of a Postgres error
/// appends "at line N", a position in the server's C source that tells the
/// reader nothing.
fn database_message(db: &dyn sqlx::error::DatabaseError) -> String {
    format!("error returned from database: {}", db.message())
}

/// The name of the violated constraint. Postgres reports it; SQLite only
/// names the columns in its message ("UNIQUE constraint failed: users.email"),
/// so for SQLite the `table_column_key` name our migrations use is rebuilt
/// from them. That keeps callers matching on one name for both backends.
fn constraint_name(db: &dyn sqlx::error::DatabaseError) -> String {
    match db.constraint() {
        Some(name) => name.to_owned(),
        None => sqlite_constraint_name(db.message()),
    }
}

/// The `table_column_key` name of the constraint a SQLite message names.
pub(crate) fn sqlite_constraint_name(message: &str) -> String {
    match message.split_once("constraint failed: ") {
        // A unique index over an expression: SQLite names the index.
        Some((_, index)) if index.starts_with("index '") => index
            .trim_start_matches("index '")
            .trim_end_matches('\'')
            .to_owned(),
        Some((_, columns)) => {
            let first = columns.split(',').next().unwrap_or(columns).trim();
            format!("{}_key", first.replace('.', "_"))
        }
        None => message.to_owned(),
    }
}

/// SQLSTATEs that mean "the server or database is not there": class 08
/// (connection exceptions), 57P01-57P03 (shutdown, cannot connect now),
/// 3D000 (database dropped), and SQLite's SQLITE_BUSY (5) and SQLITE_LOCKED (6).
fn is_connection_failure(code: Option<&str>) -> bool {
    match code {
        Some(code) => {
            code.starts_with("08")
                || matches!(code, "57P01" | "57P02" | "57P03" | "3D000" | "5" | "6")
        }
        None => false,
    }
}
