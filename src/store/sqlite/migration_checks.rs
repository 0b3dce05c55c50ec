//! Checks that must pass before a SQLite migration runs, for what the
//! Postgres migrations check in SQL (SQLite raises errors only from
//! triggers, with messages fixed when the trigger is written).

use sqlx::SqliteConnection;

use crate::store::{MigrationState, MigrationStatus, StoreError, StoreResult};

/// V12 makes usernames unique whatever their case.
const USERNAMES_IGNORE_CASE: i64 = 12;

/// Refuses, naming what is in the way, a migration among `known` that
/// would fail on the data already there.
pub async fn before_applying(
    conn: &mut SqliteConnection,
    known: &[MigrationStatus],
) -> StoreResult<()> {
    let state = |version| known.iter().find(|m| m.version == version).map(|m| m.state);
    // With V1 pending too, the users table is made in this run, empty.
    if state(USERNAMES_IGNORE_CASE) == Some(MigrationState::Pending)
        && state(1) == Some(MigrationState::Applied)
    {
        refuse_username_case_clashes(conn).await?;
    }
    Ok(())
}

async fn refuse_username_case_clashes(conn: &mut SqliteConnection) -> StoreResult<()> {
    let clashes = sqlx::query_scalar!(
        "SELECT group_concat(names, '; ') AS clashes
         FROM (SELECT group_concat(username, ', ') AS names
               FROM users GROUP BY lower(username) HAVING count(*) > 1)"
    )
    .fetch_one(&mut *conn)
    .await?;
    match clashes {
        Some(clashes) => Err(StoreError::Other(format!(
            "migration V12 refused: usernames that differ only in case; rename all but one \
             of each (PUT /auth/me as that user, or UPDATE users) and run the migration \
             again: {clashes}"
        ))),
        _ => Ok(()),
    }
}

/// Fails when a row refers to one that is not there: a migration that
/// rebuilt a table with foreign keys off must not leave a dangling
/// reference. (SQLite reports the pragma's columns untyped, so the message
/// points at the pragma rather than naming the table.)
pub async fn broken_references(conn: &mut SqliteConnection) -> StoreResult<()> {
    let broken =
        sqlx::query_scalar!(r#"SELECT count(*) AS "broken!: i64" FROM pragma_foreign_key_check"#)
            .fetch_one(&mut *conn)
            .await?;
    match broken {
        1.. => Err(StoreError::Other(
            "a migration left rows referring to rows that are not there; \
             PRAGMA foreign_key_check lists them"
                .into(),
        )),
        _ => Ok(()),
    }
}
