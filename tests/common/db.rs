//! Fresh test databases: a temp SQLite file, or a Postgres database created
//! from `AIAPI_TEST_POSTGRES_URL` and dropped with `WITH (FORCE)` afterwards.

use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tempfile::TempDir;

/// Prefix of every test database; stale ones are swept by it.
const PREFIX: &str = "aiapi_test_";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temp SQLite file.
    Sqlite,
    /// A fresh database on the shared Postgres server.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`, for file names.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Fails a Postgres test that has no Postgres to run on: a test that
    /// did nothing must never be counted as passed. `make test` starts a
    /// private cluster, or filters these tests out (the runner then counts
    /// them as skipped) when it cannot.
    pub fn require_postgres() {
        if admin_url().is_none() {
            panic!(
                "AIAPI_TEST_POSTGRES_URL is not set: run `make test` (it starts a private \
                 PostgreSQL, or skips the Postgres tests when none is installed), or set it \
                 to an admin URL such as postgres://postgres@127.0.0.1:5432/postgres"
            );
        }
    }
}

fn admin_url() -> Option<String> {
    std::env::var("AIAPI_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// A database that exists for one test.
pub struct TestDb {
    /// Which backend.
    pub backend: Backend,
    /// The `DATABASE_URL` of the database.
    pub url: String,
    /// A directory for the SQLite file, data dir and logs of this test.
    pub dir: TempDir,
    pg_name: Option<String>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// Creates an empty database (no migrations applied).
    pub async fn create(backend: Backend) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("aiapi-test-")
            .tempdir()
            .expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}/aiapi.db?mode=rwc", dir.path().display());
                Self {
                    backend,
                    url,
                    dir,
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let admin = admin_url().expect("AIAPI_TEST_POSTGRES_URL");
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .expect("connect to Postgres");
                sweep_stale(&mut conn).await;
                let name = format!(
                    "{PREFIX}{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let url = format!("{}/{name}", base_url(&admin));
                Self {
                    backend,
                    url,
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// A database at `url` that the harness neither created nor drops (a
    /// private cluster's, say).
    pub fn existing(backend: Backend, url: String) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("aiapi-test-")
            .tempdir()
            .expect("temp dir");
        Self {
            backend,
            url,
            dir,
            pg_name: None,
        }
    }

    /// Creates a database and applies every migration.
    pub async fn migrated(backend: Backend) -> Self {
        let db = Self::create(backend).await;
        let out = db.cli(&["migrate"]);
        assert!(out.status.success(), "migrate failed: {}", stderr(&out));
        db
    }

    /// Runs the `aiapi` binary against this database and waits for it. An
    /// API key it prints is remembered for CI's log scan.
    pub fn cli(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().expect("run aiapi");
        let printed = String::from_utf8_lossy(&out.stdout);
        if args.starts_with(&["api-keys", "create"]) {
            super::remember_secret(printed.trim());
        }
        out
    }

    /// The `aiapi` command, with a clean environment pointing at this database.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_aiapi"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.url)
            .env("AIAPI_DATA_DIR", self.data_dir())
            .env("AIAPI_DB_MAX_CONNECTIONS", "3")
            .env("AIAPI_LOG", "info");
        cmd
    }

    /// The data directory servers of this test use.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    /// Runs SQL directly on the database, bypassing the service (to set up
    /// faults). Runtime SQL is fine here: it is test scaffolding, not the store.
    pub async fn execute(&self, sql: &str) {
        if let Err(e) = self.try_execute(sql).await {
            panic!("{sql}: {e}");
        }
    }

    /// Like [`TestDb::execute`], returning the database's refusal.
    pub async fn try_execute(&self, sql: &str) -> Result<(), String> {
        let sql = AssertSqlSafe(sql.to_owned());
        let result = match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("open SQLite");
                sqlx::raw_sql(sql).execute(&mut conn).await.map(drop)
            }
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.expect("connect");
                sqlx::raw_sql(sql).execute(&mut conn).await.map(drop)
            }
        };
        result.map_err(|e| e.to_string())
    }

    /// The first column of the first row of `sql` as an integer (test
    /// inspection of what the service stored).
    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("open SQLite");
                sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
                    .fetch_one(&mut conn)
                    .await
                    .expect(sql)
            }
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.expect("connect");
                sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
                    .fetch_one(&mut conn)
                    .await
                    .expect(sql)
            }
        }
    }

    /// The first column of each row of `sql` as text (NULL as `None`).
    pub async fn texts(&self, sql: &str) -> Vec<Option<String>> {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("open SQLite");
                sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&mut conn)
                    .await
                    .expect(sql)
            }
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.expect("connect");
                sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&mut conn)
                    .await
                    .expect(sql)
            }
        }
    }

    /// Drops the Postgres database now (e.g. to simulate an outage).
    pub async fn drop_now(&self) {
        if let Some(name) = &self.pg_name {
            drop_database(name).await;
        }
    }

    /// Opens the service's own store on this database.
    pub async fn store(&self) -> std::sync::Arc<dyn aiapi::store::Store> {
        let url = aiapi::config::DatabaseUrl::parse(&self.url).expect("url");
        aiapi::store::connect(
            &url,
            aiapi::store::PoolSettings {
                max_connections: 2,
                acquire_timeout: std::time::Duration::from_secs(5),
                creation: aiapi::store::Creation::Refused,
            },
        )
        .await
        .expect("open store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside any runtime guarantee: use a private one on a thread.
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(drop_database(&name));
            })
            .join();
        }
    }
}

fn base_url(admin: &str) -> &str {
    admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(admin)
}

async fn drop_database(name: &str) {
    let admin = admin_url().expect("AIAPI_TEST_POSTGRES_URL");
    if let Ok(mut conn) = PgConnection::connect(&admin).await {
        let _ = sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

/// Drops test databases left by killed runs: their names carry the pid of
/// the test process that made them, and that process is gone.
async fn sweep_stale(conn: &mut PgConnection) {
    let names: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"
    )))
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    for name in names {
        let pid = name[PREFIX.len()..].split('_').next().unwrap_or_default();
        if !pid.is_empty() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut *conn)
            .await;
        }
    }
}

/// The standard error of a finished command, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
