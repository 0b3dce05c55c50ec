//! Typed settings, read once from the environment (`AIAPI_*`, `DATABASE_URL`)
//! and overridden by command-line flags. A bad value is an error naming the
//! variable; secrets never show in `Debug` output.

mod api_keys;
mod connections;
mod help;
mod jwt;
mod oauth;
mod registration;
mod secret;
mod vars;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use api_keys::{ApiKeyPolicy, MAX_KEY_DAYS};
pub use connections::ConnectionLimits;
pub use help::ENVIRONMENT_HELP;
pub use oauth::{ClientRegistration, OAuthPolicy};
pub use registration::{Registration, RegistrationPolicy};
pub use secret::{DatabaseUrl, Secret};
pub use vars::{ConfigError, ProcessEnv, Vars};
use vars::{choice_var, list_var, parse_var, positive_var};

/// The deployment mode: production refuses unsafe defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Local work: generated secrets and seeded passwords are tolerated.
    Development,
    /// Real deployments: a JWT secret is required and seeded passwords are refused.
    Production,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Settings every command needs: where the data is and how to log.
#[derive(Debug, Clone)]
pub struct CommonSettings {
    /// Directory for the default SQLite file and the development JWT secret.
    pub data_dir: PathBuf,
    /// The database.
    pub database_url: DatabaseUrl,
    /// Tracing filter directives.
    pub log_filter: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// Database pool size.
    pub db_max_connections: u32,
    /// How long to wait for a database connection.
    pub db_timeout: Duration,
    /// The lifetimes new API keys may have (the server and the CLI make
    /// keys).
    pub api_keys: ApiKeyPolicy,
}

/// Settings of the HTTP server.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Deployment mode.
    pub environment: Environment,
    /// The JWT signing secret, when configured.
    pub jwt_secret: Option<Secret>,
    /// Secrets of before a rotation, which verify tokens but never sign.
    pub jwt_previous_secrets: Vec<Secret>,
    /// Externally visible base URL, without a trailing slash.
    pub public_url: String,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// `Host` values accepted on `/mcp`; empty means loopback only.
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed by CORS and `/mcp`.
    pub allowed_origins: Vec<String>,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Time in-flight requests get to finish on shutdown.
    pub shutdown_grace: Duration,
    /// Access token lifetime.
    pub access_token_ttl: Duration,
    /// Refresh token lifetime.
    pub refresh_token_ttl: Duration,
    /// Failed logins of one username that lock it.
    pub login_max_failures: i64,
    /// Failed logins from one address that lock it.
    pub login_max_failures_per_addr: i64,
    /// Counting window and lock duration for failed logins.
    pub login_lockout: Duration,
    /// Sessions close after this long without a call.
    pub session_idle: Duration,
    /// Largest session context object, in bytes of compact JSON.
    pub session_context_max_bytes: usize,
    /// Tool calls per minute per user, by role (0: unlimited).
    pub tool_calls_per_minute: Vec<(crate::domain::Role, u32)>,
    /// Whether `/metrics` is open to anyone (else it needs `read:audit`).
    pub metrics_open: bool,
    /// Who may register, and how often.
    pub registration: RegistrationPolicy,
    /// Who may register OAuth clients, and how often.
    pub oauth: OAuthPolicy,
    /// The most open sessions one user may hold.
    pub max_sessions_per_user: i64,
    /// Client connection timeouts and caps.
    pub connections: ConnectionLimits,
}

impl ServeSettings {
    /// The resource (RFC 8707) that `/mcp` is: OAuth tokens for it name it
    /// as their audience.
    pub fn mcp_resource(&self) -> String {
        format!("{}/mcp", self.public_url)
    }

    /// The resource that the REST API is.
    pub fn rest_resource(&self) -> String {
        self.public_url.clone()
    }

    /// The per-minute tool call limit of `role`, if it has one.
    pub fn tool_call_limit(&self, role: crate::domain::Role) -> Option<i64> {
        self.tool_calls_per_minute
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, n)| i64::from(*n))
            .filter(|n| *n > 0)
    }
}

/// Parses `role=calls,...`; roles not named keep the default.
fn rate_limits(vars: &dyn Vars) -> Result<Vec<(crate::domain::Role, u32)>, ConfigError> {
    let mut limits: Vec<(crate::domain::Role, u32)> = crate::domain::Role::ALL
        .iter()
        .map(|r| (*r, 6000))
        .collect();
    for part in list_var(vars, "AIAPI_TOOL_RATE_LIMITS") {
        let bad = || {
            ConfigError::new(
                "AIAPI_TOOL_RATE_LIMITS",
                format!(
                    "{part:?} is not role=calls_per_minute (roles: admin, user, ai_agent, readonly, auditor)"
                ),
            )
        };
        let (role, calls) = part.split_once('=').ok_or_else(bad)?;
        let role: crate::domain::Role = role.trim().parse().map_err(|_| bad())?;
        let calls: u32 = calls.trim().parse().map_err(|_| bad())?;
        for entry in limits.iter_mut().filter(|(r, _)| *r == role) {
            entry.1 = calls;
        }
    }
    Ok(limits)
}

impl CommonSettings {
    /// Reads the settings every command shares.
    pub fn from_vars(vars: &dyn Vars) -> Result<Self, ConfigError> {
        let data_dir = PathBuf::from(
            vars.get("AIAPI_DATA_DIR")
                .unwrap_or_else(|| "./data".into()),
        );
        let database_url = match vars.get("DATABASE_URL") {
            Some(raw) => DatabaseUrl::parse(raw.trim())?,
            None => DatabaseUrl::parse(&default_sqlite_url(&data_dir))?,
        };
        // refinery narrates every migration at info; our own lines say what was applied.
        let log_filter = vars
            .get("AIAPI_LOG")
            .unwrap_or_else(|| "info,refinery_core=warn".into());
        let log_format = choice_var(
            vars,
            "AIAPI_LOG_FORMAT",
            LogFormat::Text,
            &[("text", LogFormat::Text), ("json", LogFormat::Json)],
        )?;
        // SQLite reads are CPU-bound in this process: readers beyond two
        // per core add threads, page caches and contention, not throughput.
        let default_connections = if database_url.is_sqlite() {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            (2 * cores).clamp(2, 10) as u32
        } else {
            10
        };
        let db_max_connections: u32 = positive_var(
            vars,
            "AIAPI_DB_MAX_CONNECTIONS",
            default_connections,
            "a whole number of connections",
        )?;
        let db_timeout_secs: u64 = parse_var(
            vars,
            "AIAPI_DB_TIMEOUT_SECS",
            5,
            "a whole number of seconds",
        )?;
        Ok(Self {
            data_dir,
            database_url,
            log_filter,
            log_format,
            db_max_connections,
            db_timeout: Duration::from_secs(db_timeout_secs.max(1)),
            api_keys: ApiKeyPolicy::from_vars(vars)?,
        })
    }
}

/// The default database: a SQLite file inside the data directory.
fn default_sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}/aiapi.db?mode=rwc", data_dir.display())
}

impl ServeSettings {
    /// Reads the server's settings; `bind` from a flag wins over `AIAPI_BIND`.
    pub fn from_vars(vars: &dyn Vars, bind: Option<SocketAddr>) -> Result<Self, ConfigError> {
        let bind = match bind {
            Some(bind) => bind,
            None => parse_var(
                vars,
                "AIAPI_BIND",
                SocketAddr::from(([127, 0, 0, 1], 8000)),
                "a socket address like 127.0.0.1:8000",
            )?,
        };
        let grace_secs: u64 = parse_var(
            vars,
            "AIAPI_SHUTDOWN_GRACE_SECS",
            30,
            "a whole number of seconds",
        )?;
        let session_idle_secs: u64 = positive_var(
            vars,
            "AIAPI_SESSION_IDLE_SECS",
            1800,
            "a whole number of seconds",
        )?;
        let (access_token_ttl, refresh_token_ttl) = jwt::token_lifetimes(vars)?;
        let (login_max_failures, login_max_failures_per_addr, login_lockout) = login_limits(vars)?;
        let trusted_proxies = trusted_proxies(vars)?;
        Ok(Self {
            connections: ConnectionLimits::from_vars(vars, &trusted_proxies)?,
            environment: choice_var(
                vars,
                "AIAPI_ENV",
                Environment::Development,
                &[
                    ("development", Environment::Development),
                    ("production", Environment::Production),
                ],
            )?,
            jwt_secret: jwt::secret(vars)?,
            jwt_previous_secrets: jwt::previous_secrets(vars)?,
            public_url: public_url(vars, bind)?,
            trusted_proxies,
            allowed_hosts: list_var(vars, "AIAPI_ALLOWED_HOSTS"),
            allowed_origins: allowed_origins(vars)?,
            max_body_bytes: parse_var(
                vars,
                "AIAPI_MAX_BODY_BYTES",
                1024 * 1024,
                "a whole number of bytes",
            )?,
            shutdown_grace: Duration::from_secs(grace_secs),
            access_token_ttl,
            refresh_token_ttl,
            login_max_failures,
            login_max_failures_per_addr,
            login_lockout,
            session_idle: Duration::from_secs(session_idle_secs),
            session_context_max_bytes: positive_var(
                vars,
                "AIAPI_SESSION_CONTEXT_MAX_BYTES",
                64 * 1024,
                "a whole number of bytes",
            )?,
            tool_calls_per_minute: rate_limits(vars)?,
            registration: RegistrationPolicy::from_vars(vars)?,
            oauth: OAuthPolicy::from_vars(vars)?,
            max_sessions_per_user: positive_var(
                vars,
                "AIAPI_MAX_SESSIONS_PER_USER",
                100,
                "a whole number",
            )?,
            metrics_open: choice_var(
                vars,
                "AIAPI_METRICS",
                false,
                &[("0", false), ("false", false), ("1", true), ("true", true)],
            )?,
            bind,
        })
    }
}

/// Failed logins that lock a username, and an address, and for how long.
fn login_limits(vars: &dyn Vars) -> Result<(i64, i64, Duration), ConfigError> {
    let per_user = positive_var(vars, "AIAPI_LOGIN_MAX_FAILURES", 5, "a whole number")?;
    let per_addr = positive_var(
        vars,
        "AIAPI_LOGIN_MAX_FAILURES_PER_ADDR",
        1000,
        "a whole number",
    )?;
    let lockout_secs: u64 = positive_var(
        vars,
        "AIAPI_LOGIN_LOCKOUT_SECS",
        900,
        "a whole number of seconds",
    )?;
    Ok((per_user, per_addr, Duration::from_secs(lockout_secs)))
}

/// `AIAPI_PUBLIC_URL` without its trailing slash, or the bound address.
fn public_url(vars: &dyn Vars, bind: SocketAddr) -> Result<String, ConfigError> {
    let Some(raw) = vars.get("AIAPI_PUBLIC_URL") else {
        return Ok(format!("http://{bind}"));
    };
    let url = raw.trim().trim_end_matches('/').to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError::new(
            "AIAPI_PUBLIC_URL",
            format!("{raw:?} is not an http:// or https:// URL"),
        ));
    }
    Ok(url)
}

/// `AIAPI_TRUSTED_PROXIES`: IP addresses.
fn trusted_proxies(vars: &dyn Vars) -> Result<Vec<IpAddr>, ConfigError> {
    list_var(vars, "AIAPI_TRUSTED_PROXIES")
        .into_iter()
        .map(|s| {
            s.parse().map_err(|_| {
                ConfigError::new(
                    "AIAPI_TRUSTED_PROXIES",
                    format!("{s:?} is not an IP address"),
                )
            })
        })
        .collect()
}

/// `AIAPI_ALLOWED_ORIGINS`: origins that can be sent as header values.
fn allowed_origins(vars: &dyn Vars) -> Result<Vec<String>, ConfigError> {
    let origins = list_var(vars, "AIAPI_ALLOWED_ORIGINS");
    if let Some(bad) = origins.iter().find(|o| {
        !(o.starts_with("http://") || o.starts_with("https://"))
            || poem::http::HeaderValue::from_str(o).is_err()
    }) {
        return Err(ConfigError::new(
            "AIAPI_ALLOWED_ORIGINS",
            format!("{bad:?} is not an origin like https://app.example.com"),
        ));
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_variable() {
        let err = ServeSettings::from_vars(&[("AIAPI_BIND", "nowhere")], None).unwrap_err();
        assert_eq!(err.name, "AIAPI_BIND");
        let err = CommonSettings::from_vars(&[("AIAPI_LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(err.name, "AIAPI_LOG_FORMAT");
        let err = CommonSettings::from_vars(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(err.name, "DATABASE_URL");
        let err = ServeSettings::from_vars(&[("AIAPI_JWT_SECRET", "short")], None).unwrap_err();
        assert_eq!(err.name, "AIAPI_JWT_SECRET");
        assert!(
            !err.to_string().contains("short"),
            "the secret must not be echoed"
        );
    }

    #[test]
    fn defaults_serve_sqlite_in_the_data_dir_on_loopback() {
        let common = CommonSettings::from_vars(&[]).unwrap();
        assert!(common.database_url.is_sqlite());
        assert_eq!(
            common.database_url.expose(),
            "sqlite://./data/aiapi.db?mode=rwc"
        );
        let serve = ServeSettings::from_vars(&[], None).unwrap();
        assert_eq!(serve.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(serve.public_url, "http://127.0.0.1:8000");
        assert_eq!(serve.environment, Environment::Development);
    }

    #[test]
    fn database_passwords_are_redacted() {
        let url = DatabaseUrl::parse("postgres://app:hunter2@db:5432/aiapi").unwrap();
        assert_eq!(url.redacted(), "postgres://app:***@db:5432/aiapi");
        assert!(!format!("{url:?}").contains("hunter2"));
        let url = DatabaseUrl::parse(
            "postgres://app:p@ss@db/aiapi?sslmode=require&password=hunter2&sslpassword=k3y",
        )
        .unwrap();
        assert_eq!(
            url.redacted(),
            "postgres://app:***@db/aiapi?sslmode=require&password=***&sslpassword=***"
        );
        let url = DatabaseUrl::parse("postgres://app:pa?ss/w@db/aiapi").unwrap();
        assert_eq!(url.redacted(), "postgres://app:***@db/aiapi");
        let url = DatabaseUrl::parse("sqlite:///tmp/a.db?mode=rwc").unwrap();
        assert_eq!(url.redacted(), "sqlite:///tmp/a.db?mode=rwc");
        let secret = Secret::new("s3cr3t");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
    }
}
