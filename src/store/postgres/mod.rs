//! The Postgres store: one pool, `timestamptz` and `uuid` columns, and an
//! advisory lock around migrations so replicas starting together don't race.

mod api_keys;
mod audit;
mod items;
mod oauth_clients;
mod oauth_flow;
mod price_analysis;
mod rate_limits;
mod sessions;
mod throttle;
mod tokens;
mod tx;
mod users;

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use super::migrate::{self, PgMigrator};
use super::{
    Backend, ChainHead, CountCache, MigrationStatus, PoolSettings, Store, StoreError, StoreResult,
    StoreTx,
};
use crate::config::DatabaseUrl;

/// Key of the session-level advisory lock held while migrating ("aiapi" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x61_69_61_70_69;

/// A store on one Postgres database.
pub struct PostgresStore {
    pool: PgPool,
    chain_head: Arc<ChainHead>,
    counts: CountCache,
}

impl PostgresStore {
    /// Connects to the database; fails if it cannot be reached.
    pub async fn connect(url: &DatabaseUrl, pool: PoolSettings) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url.expose())
            .map_err(|e| StoreError::Other(format!("invalid DATABASE_URL: {e}")))?
            .application_name("aiapi");
        // One connection first: its error names the cause, where the pool
        // would only say it timed out.
        match PgConnection::connect_with(&options).await {
            Ok(probe) => {
                let _ = probe.close().await;
            }
            Err(e) => return Err(StoreError::Unavailable(connect_failure(&options, &e))),
        }
        let pool = PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            chain_head: Arc::default(),
            counts: CountCache::default(),
        })
    }
}

/// What went wrong connecting, in one line naming the cause.
fn connect_failure(options: &PgConnectOptions, err: &sqlx::Error) -> String {
    let (host, port) = (options.get_host(), options.get_port());
    let database = options.get_database().unwrap_or("(the user's)");
    let user = options.get_username();
    match err {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("nothing is listening at {host}:{port} (is PostgreSQL running, on that port?)")
        }
        sqlx::Error::Io(io)
            if io.to_string().contains("lookup") || io.to_string().contains("resolve") =>
        {
            format!("cannot resolve the host name {host:?}")
        }
        sqlx::Error::Io(io) => format!("cannot reach {host}:{port}: {io}"),
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("3D000") => format!(
                "the database {database:?} does not exist on {host}:{port} (create it: createdb {database})"
            ),
            Some("28P01" | "28000") => format!(
                "PostgreSQL at {host}:{port} refused the login of user {user:?} \
                 (wrong password, or pg_hba.conf does not allow it)"
            ),
            _ => format!(
                "PostgreSQL at {host}:{port} refused the connection: {}",
                db.message()
            ),
        },
        other => format!("cannot connect to {host}:{port}: {other}"),
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(tx::PgTx {
            tx: self.pool.begin().await?,
            head: self.chain_head.clone(),
            appended: None,
        }))
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn pool_connections(&self) -> (u32, u32) {
        let idle = self.pool.num_idle() as u32;
        (self.pool.size() - idle, idle)
    }

    async fn ping(&self) -> StoreResult<()> {
        // Differs in text from the SQLite twin so their offline data files don't collide.
        sqlx::query_scalar!("SELECT 1 AS ok")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    async fn migrate(&self) -> StoreResult<Vec<MigrationStatus>> {
        let mut conn = self.pool.acquire().await?;
        // A session-level lock: refinery commits each migration separately,
        // and a second process must wait until all of them are in.
        sqlx::query!("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
        let applied = PgMigrator(&mut conn).apply(migrate::postgres_runner).await;
        let unlocked = sqlx::query_scalar!(
            r#"SELECT pg_advisory_unlock($1) AS "unlocked!""#,
            MIGRATION_LOCK_KEY
        )
        .fetch_one(&mut *conn)
        .await;
        if !matches!(unlocked, Ok(true)) {
            // The lock dies with the session: don't hand the connection back.
            conn.detach();
        }
        applied
    }

    async fn migration_status(&self) -> StoreResult<Vec<MigrationStatus>> {
        let mut conn = self.pool.acquire().await?;
        PgMigrator(&mut conn)
            .status(migrate::postgres_runner())
            .await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
