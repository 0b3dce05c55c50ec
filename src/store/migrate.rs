//! Schema migrations: refinery's async driver traits implemented over sqlx
//! connections, so one database stack serves both the app and its migrations.
//!
//! This is one of the two places allowed runtime SQL: refinery hands us the
//! text of each migration and of its own bookkeeping queries.

use refinery::{Migration, Runner};
use refinery_core::traits::r#async::{AsyncMigrate, AsyncQuery, AsyncTransaction};
use serde::Serialize;
use sqlx::{AssertSqlSafe, Connection, Row};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{StoreError, StoreResult};

/// Whether a migration has been applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationState {
    /// Recorded in `refinery_schema_history`.
    Applied,
    /// Embedded in this binary but not yet applied.
    Pending,
}

/// One migration and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationStatus {
    /// The version number (`V{n}`).
    pub version: i64,
    /// The name after `__`.
    pub name: String,
    /// Applied or pending.
    pub state: MigrationState,
}

/// Implements refinery's async driver for a wrapper around a sqlx connection.
/// `$version` is the Rust type the history table's `version` column decodes
/// to on that backend (refinery creates it as `int4`).
macro_rules! refinery_driver {
    ($wrapper:ident, $conn:ty, $version:ty, $history_exists:literal) => {
        /// A connection refinery can migrate.
        pub struct $wrapper<'c>(pub &'c mut $conn);

        impl $wrapper<'_> {
            /// Applies every pending migration of `runner`, first logging
            /// each by name: one that rebuilds an index over a large table
            /// can take a minute, and says nothing while it runs.
            pub async fn apply(
                &mut self,
                runner: fn() -> Runner,
            ) -> StoreResult<Vec<MigrationStatus>> {
                let known = self.status(runner()).await?;
                for pending in known.iter().filter(|m| m.state == MigrationState::Pending) {
                    tracing::info!(
                        version = pending.version,
                        name = %pending.name,
                        "applying migration"
                    );
                }
                apply(runner(), self).await
            }

            /// Lists every migration of `runner` as applied or pending,
            /// without creating refinery's history table.
            pub async fn status(&mut self, runner: Runner) -> StoreResult<Vec<MigrationStatus>> {
                let exists: bool = sqlx::query_scalar($history_exists)
                    .fetch_one(&mut *self.0)
                    .await?;
                status(runner, self, exists).await
            }
        }

        // StoreError, not sqlx::Error, so a failing migration is told in
        // the database's words (see `StoreError::from`).
        impl AsyncTransaction for $wrapper<'_> {
            type Error = StoreError;

            // Each call is one migration plus its history row: one transaction,
            // so a failing migration leaves the schema at the last good version.
            async fn execute<'a, T: Iterator<Item = &'a str> + Send + 'a>(
                &'a mut self,
                queries: T,
            ) -> Result<usize, Self::Error> {
                let mut tx = self.0.begin().await?;
                let mut count = 0;
                for query in queries {
                    sqlx::raw_sql(AssertSqlSafe(query))
                        .execute(&mut *tx)
                        .await?;
                    count += 1;
                }
                tx.commit().await?;
                Ok(count)
            }
        }

        impl AsyncQuery<Vec<Migration>> for $wrapper<'_> {
            async fn query(&mut self, query: &str) -> Result<Vec<Migration>, Self::Error> {
                let rows = sqlx::query(AssertSqlSafe(query))
                    .fetch_all(&mut *self.0)
                    .await?;
                rows.iter()
                    .map(|row| {
                        let version: $version = row.try_get(0)?;
                        let applied_on: String = row.try_get(2)?;
                        let checksum: String = row.try_get(3)?;
                        let applied_on = OffsetDateTime::parse(&applied_on, &Rfc3339)
                            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                        let checksum = checksum
                            .parse::<u64>()
                            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                        Ok(Migration::applied(
                            version as i32,
                            row.try_get::<String, _>(1)?,
                            applied_on,
                            checksum,
                        ))
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(StoreError::from)
            }
        }

        impl AsyncMigrate for $wrapper<'_> {}
    };
}

#[cfg(feature = "sqlite")]
mod embedded_sqlite {
    refinery::embed_migrations!("migrations/sqlite");
}

#[cfg(feature = "postgres")]
mod embedded_postgres {
    refinery::embed_migrations!("migrations/postgres");
}

#[cfg(feature = "sqlite")]
refinery_driver!(
    SqliteMigrator,
    sqlx::SqliteConnection,
    i64,
    "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history'"
);
#[cfg(feature = "postgres")]
refinery_driver!(
    PgMigrator,
    sqlx::PgConnection,
    i32,
    "SELECT to_regclass('refinery_schema_history') IS NOT NULL"
);

/// The SQLite migrations embedded in this binary.
#[cfg(feature = "sqlite")]
pub fn sqlite_runner() -> Runner {
    embedded_sqlite::migrations::runner()
}

/// The Postgres migrations embedded in this binary.
#[cfg(feature = "postgres")]
pub fn postgres_runner() -> Runner {
    embedded_postgres::migrations::runner()
}

/// Applies every pending migration and reports what it applied.
async fn apply<C: AsyncMigrate + Send>(
    runner: Runner,
    conn: &mut C,
) -> StoreResult<Vec<MigrationStatus>> {
    let report = runner
        .set_abort_divergent(true)
        .set_abort_missing(true)
        .run_async(conn)
        .await
        .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| status_of(m, MigrationState::Applied))
        .collect())
}

/// Lists every embedded migration as applied or pending. `history_exists`
/// says whether refinery's table is there yet (it is created on first apply).
async fn status<C: AsyncMigrate + Send>(
    runner: Runner,
    conn: &mut C,
    history_exists: bool,
) -> StoreResult<Vec<MigrationStatus>> {
    let applied = if history_exists {
        runner
            .get_applied_migrations_async(conn)
            .await
            .map_err(|e| StoreError::Other(format!("cannot read migration history: {e}")))?
    } else {
        Vec::new()
    };
    let mut all: Vec<MigrationStatus> = applied
        .iter()
        .map(|m| status_of(m, MigrationState::Applied))
        .collect();
    for migration in runner.get_migrations() {
        if !applied.iter().any(|a| a.version() == migration.version()) {
            all.push(status_of(migration, MigrationState::Pending));
        }
    }
    all.sort_by_key(|m| m.version);
    Ok(all)
}

fn status_of(m: &Migration, state: MigrationState) -> MigrationStatus {
    MigrationStatus {
        version: i64::from(m.version()),
        name: m.name().to_owned(),
        state,
    }
}
