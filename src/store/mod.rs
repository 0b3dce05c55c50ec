//! Persistence. One object-safe [`Store`] trait, made of one sub-trait per
//! table, with a SQLite and a Postgres implementation under the same file
//! names. The backend is chosen at run time from the `DATABASE_URL` scheme.
//! Upper layers see only [`StoreError`], never `sqlx` types.

mod api_keys;
mod audit;
mod count_cache;
mod error;
mod items;
pub mod migrate;
mod oauth_clients;
mod oauth_flow;
#[cfg(feature = "postgres")]
pub mod postgres;
mod rate_limits;
mod sessions;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod throttle;
mod tokens;
mod tx;
mod users;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::config::DatabaseUrl;
pub use api_keys::ApiKeyStore;
pub use audit::{
    AuditCursor, AuditFilter, AuditGroup, AuditPage, AuditRecord, AuditStore, AuditSummaryRow,
    ChainHead, PAGE_BYTES, ToolUsage,
};
pub use count_cache::CountCache;
pub use error::{StoreError, StoreResult};
pub use items::{
    CategoryCount, ItemFilter, ItemSort, ItemStore, PriceStats, TimeWindow, TrendInterval,
    TrendPoint,
};
pub use migrate::{MigrationState, MigrationStatus};
pub use oauth_clients::OAuthClientStore;
pub use oauth_flow::{
    BrowserSession, CodeRecord, ConnectedApp, Grant, OAuthFlowStore, Redemption, SignedIn,
};
pub use rate_limits::{CallWindow, RateLimitStore};
pub use sessions::{NewSession, SessionStore};
pub use throttle::{FailurePolicy, KeyState, ThrottleStore};
pub use tokens::{AccessCheck, RefreshRecord, Revocation, Rotation, TokenStore};
pub use tx::StoreTx;
pub use users::{LAST_ADMIN, NewUser, UserChanges, UserStore};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// The production database.
    Postgres,
}

impl Backend {
    /// The name shown in `/health`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Pool settings shared by both backends.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long a request waits for a connection before failing as unavailable.
    pub acquire_timeout: Duration,
    /// Whether opening may create a SQLite database that does not exist.
    pub creation: Creation,
}

/// Whether opening may create the database (SQLite; Postgres databases are
/// made by their operators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Creation {
    /// A missing file is created, and its directory too when that is the
    /// data directory or inside it: `serve` and `migrate`.
    Allowed {
        /// `AIAPI_DATA_DIR`.
        data_dir: std::path::PathBuf,
    },
    /// The database must exist: every other command, which would otherwise
    /// work on a fresh, empty database beside the real one.
    Refused,
}

/// Everything the service stores.
#[async_trait]
pub trait Store:
    UserStore
    + ApiKeyStore
    + OAuthClientStore
    + OAuthFlowStore
    + TokenStore
    + ThrottleStore
    + ItemStore
    + SessionStore
    + AuditStore
    + RateLimitStore
    + Send
    + Sync
    + 'static
{
    /// Which database this is.
    fn backend(&self) -> Backend;

    /// Opens a write transaction.
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>>;

    /// Connections of the pools: (in use, idle).
    fn pool_connections(&self) -> (u32, u32);

    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Applies pending migrations and returns the versions it applied.
    async fn migrate(&self) -> StoreResult<Vec<MigrationStatus>>;

    /// Lists every known migration as applied or pending.
    async fn migration_status(&self) -> StoreResult<Vec<MigrationStatus>>;

    /// Closes the pools, waiting for connections in use to be returned.
    async fn close(&self);
}

/// Opens the database named by `url`.
pub async fn connect(url: &DatabaseUrl, pool: PoolSettings) -> StoreResult<Arc<dyn Store>> {
    if url.is_sqlite() {
        #[cfg(feature = "sqlite")]
        return Ok(Arc::new(sqlite::SqliteStore::connect(url, pool).await?));
        #[cfg(not(feature = "sqlite"))]
        return Err(StoreError::Other(
            "this build has no SQLite support (cargo feature `sqlite`)".into(),
        ));
    }
    #[cfg(feature = "postgres")]
    return Ok(Arc::new(postgres::PostgresStore::connect(url, pool).await?));
    #[cfg(not(feature = "postgres"))]
    Err(StoreError::Other(
        "this build has no Postgres support (cargo feature `postgres`)".into(),
    ))
}
