//! Typed settings, read once from the environment (`AIAPI_*`, `DATABASE_URL`)
//! and overridden by command-line flags. A bad value is an error naming the
//! variable; secrets never show in `Debug` output.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Names and meanings of every environment variable, shown by `--help`.
pub const ENVIRONMENT_HELP: &str = "\
Environment variables (flags win over them):
  DATABASE_URL                  sqlite:<path> or postgres://user:pass@host/db
                                [default: sqlite://<AIAPI_DATA_DIR>/aiapi.db?mode=rwc]
  AIAPI_BIND                    address to listen on [default: 127.0.0.1:8000]
  AIAPI_DATA_DIR                directory for the SQLite file and the development
                                JWT secret [default: ./data]
  AIAPI_JWT_SECRET              HS256 signing secret (required in production; at
                                least 32 bytes)
  AIAPI_ENV                     development | production [default: development]
  AIAPI_LOG                     tracing filter, e.g. info or aiapi=debug [default: info]
  AIAPI_LOG_FORMAT              text | json [default: text]
  AIAPI_PUBLIC_URL              externally visible base URL [default: http://<bind>]
  AIAPI_TRUSTED_PROXIES         comma-separated proxy IPs whose X-Forwarded-For is
                                believed [default: none]
  AIAPI_ALLOWED_HOSTS           comma-separated Host values accepted on /mcp
                                [default: localhost,127.0.0.1,[::1] with any port]
  AIAPI_ALLOWED_ORIGINS         comma-separated browser origins allowed by CORS and
                                /mcp [default: none]
  AIAPI_MAX_BODY_BYTES          largest accepted request body [default: 1048576]
  AIAPI_DB_MAX_CONNECTIONS      database pool size (on SQLite: readers; writes
                                use one connection of their own)
                                [default: 10; SQLite: 2 per core, 2 to 10]
  AIAPI_DB_TIMEOUT_SECS         wait for a database connection before answering 503
                                [default: 5]
  AIAPI_SHUTDOWN_GRACE_SECS     time in-flight requests get on SIGTERM [default: 30]
  AIAPI_ACCESS_TOKEN_MINUTES    access token lifetime [default: 30]
  AIAPI_REFRESH_TOKEN_DAYS      refresh token lifetime [default: 7]
  AIAPI_LOGIN_MAX_FAILURES      failed logins of one username that lock it [default: 5]
  AIAPI_LOGIN_MAX_FAILURES_PER_ADDR
                                failed logins from one address that lock it [default: 20]
  AIAPI_LOGIN_LOCKOUT_SECS      counting window and lock duration [default: 900]
  AIAPI_SESSION_IDLE_SECS       sessions close after this long without a call [default: 1800]
  AIAPI_SESSION_CONTEXT_MAX_BYTES
                                largest session context object [default: 65536]
  AIAPI_METRICS                 1: serve /metrics to anyone; otherwise it needs
                                read:audit [default: 0]
  AIAPI_TOOL_RATE_LIMITS        tool calls per minute per user, by role, e.g.
                                user=120,ai_agent=600 (0: unlimited) [default: 6000 each]";

/// A configuration error: which variable, and what is wrong with its value.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    /// The environment variable or flag at fault.
    pub name: &'static str,
    /// What is wrong, including the offending value unless it is secret.
    pub message: String,
}

impl ConfigError {
    fn new(name: &'static str, message: impl Into<String>) -> Self {
        Self {
            name,
            message: message.into(),
        }
    }
}

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

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

/// The database to use, with its password kept out of `Debug` output.
#[derive(Clone)]
pub struct DatabaseUrl(Secret);

impl DatabaseUrl {
    /// Parses and checks the scheme.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let scheme = raw.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" | "postgres" | "postgresql" => Ok(Self(Secret::new(raw))),
            _ => Err(ConfigError::new(
                "DATABASE_URL",
                format!(
                    "unsupported scheme {scheme:?}: use sqlite:<path> or postgres://user@host/db"
                ),
            )),
        }
    }

    /// Whether this is a SQLite URL (otherwise Postgres).
    pub fn is_sqlite(&self) -> bool {
        self.0.expose().starts_with("sqlite:")
    }

    /// The full URL, password included, for the connection code only.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The URL with any password replaced by `***`, safe to log.
    pub fn redacted(&self) -> String {
        let url = self.0.expose();
        let Some((scheme, rest)) = url.split_once("://") else {
            return url.to_owned();
        };
        match rest.split_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
                None => url.to_owned(),
            },
            None => url.to_owned(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
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
}

impl ServeSettings {
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

/// A source of variables: the process environment in production, a map in tests.
pub trait Vars {
    /// The value of `name`, if set and not empty.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Vars for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<const N: usize> Vars for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

fn parse_var<T: std::str::FromStr>(
    vars: &dyn Vars,
    name: &'static str,
    default: T,
    what: &str,
) -> Result<T, ConfigError> {
    match vars.get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| ConfigError::new(name, format!("{raw:?} is not {what}"))),
    }
}

fn list_var(vars: &dyn Vars, name: &str) -> Vec<String> {
    vars.get(name)
        .map(|raw| {
            raw.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
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
        let log_format = match vars.get("AIAPI_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "AIAPI_LOG_FORMAT",
                    format!("{other:?} is not one of text, json"),
                ));
            }
        };
        // SQLite reads are CPU-bound in this process: readers beyond two
        // per core add threads, page caches and contention, not throughput.
        let default_connections = if database_url.is_sqlite() {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            (2 * cores).clamp(2, 10) as u32
        } else {
            10
        };
        let db_max_connections: u32 = parse_var(
            vars,
            "AIAPI_DB_MAX_CONNECTIONS",
            default_connections,
            "a whole number of connections",
        )?;
        if db_max_connections == 0 {
            return Err(ConfigError::new(
                "AIAPI_DB_MAX_CONNECTIONS",
                "must be at least 1",
            ));
        }
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
        let environment = match vars.get("AIAPI_ENV").as_deref().map(str::trim) {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(ConfigError::new(
                    "AIAPI_ENV",
                    format!("{other:?} is not one of development, production"),
                ));
            }
        };
        let jwt_secret = vars.get("AIAPI_JWT_SECRET").map(Secret::new);
        if let Some(secret) = &jwt_secret
            && secret.expose().len() < 32
        {
            return Err(ConfigError::new(
                "AIAPI_JWT_SECRET",
                "must be at least 32 bytes long",
            ));
        }
        let public_url = match vars.get("AIAPI_PUBLIC_URL") {
            Some(raw) => {
                let url = raw.trim().trim_end_matches('/').to_owned();
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(ConfigError::new(
                        "AIAPI_PUBLIC_URL",
                        format!("{raw:?} is not an http:// or https:// URL"),
                    ));
                }
                url
            }
            None => format!("http://{bind}"),
        };
        let trusted_proxies = list_var(vars, "AIAPI_TRUSTED_PROXIES")
            .into_iter()
            .map(|s| {
                s.parse().map_err(|_| {
                    ConfigError::new(
                        "AIAPI_TRUSTED_PROXIES",
                        format!("{s:?} is not an IP address"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let allowed_origins = list_var(vars, "AIAPI_ALLOWED_ORIGINS");
        if let Some(bad) = allowed_origins.iter().find(|o| {
            !(o.starts_with("http://") || o.starts_with("https://"))
                || poem::http::HeaderValue::from_str(o).is_err()
        }) {
            return Err(ConfigError::new(
                "AIAPI_ALLOWED_ORIGINS",
                format!("{bad:?} is not an origin like https://app.example.com"),
            ));
        }
        let max_body_bytes = parse_var(
            vars,
            "AIAPI_MAX_BODY_BYTES",
            1024 * 1024,
            "a whole number of bytes",
        )?;
        let grace_secs: u64 = parse_var(
            vars,
            "AIAPI_SHUTDOWN_GRACE_SECS",
            30,
            "a whole number of seconds",
        )?;
        let access_minutes: u64 = parse_var(
            vars,
            "AIAPI_ACCESS_TOKEN_MINUTES",
            30,
            "a whole number of minutes",
        )?;
        let refresh_days: u64 = parse_var(
            vars,
            "AIAPI_REFRESH_TOKEN_DAYS",
            7,
            "a whole number of days",
        )?;
        let login_max_failures: i64 =
            parse_var(vars, "AIAPI_LOGIN_MAX_FAILURES", 5, "a whole number")?;
        let login_max_failures_per_addr: i64 = parse_var(
            vars,
            "AIAPI_LOGIN_MAX_FAILURES_PER_ADDR",
            20,
            "a whole number",
        )?;
        let lockout_secs: u64 = parse_var(
            vars,
            "AIAPI_LOGIN_LOCKOUT_SECS",
            900,
            "a whole number of seconds",
        )?;
        let context_max: usize = parse_var(
            vars,
            "AIAPI_SESSION_CONTEXT_MAX_BYTES",
            64 * 1024,
            "a whole number of bytes",
        )?;
        let session_idle_secs: u64 = parse_var(
            vars,
            "AIAPI_SESSION_IDLE_SECS",
            1800,
            "a whole number of seconds",
        )?;
        for (name, value) in [
            ("AIAPI_SESSION_IDLE_SECS", session_idle_secs as i64),
            ("AIAPI_SESSION_CONTEXT_MAX_BYTES", context_max as i64),
            ("AIAPI_ACCESS_TOKEN_MINUTES", access_minutes as i64),
            ("AIAPI_REFRESH_TOKEN_DAYS", refresh_days as i64),
            ("AIAPI_LOGIN_MAX_FAILURES", login_max_failures),
            (
                "AIAPI_LOGIN_MAX_FAILURES_PER_ADDR",
                login_max_failures_per_addr,
            ),
            ("AIAPI_LOGIN_LOCKOUT_SECS", lockout_secs as i64),
        ] {
            if value < 1 {
                return Err(ConfigError::new(name, "must be at least 1"));
            }
        }
        Ok(Self {
            access_token_ttl: Duration::from_secs(access_minutes * 60),
            refresh_token_ttl: Duration::from_secs(refresh_days * 86_400),
            login_max_failures,
            login_max_failures_per_addr,
            login_lockout: Duration::from_secs(lockout_secs),
            session_idle: Duration::from_secs(session_idle_secs),
            session_context_max_bytes: context_max,
            tool_calls_per_minute: rate_limits(vars)?,
            metrics_open: match vars.get("AIAPI_METRICS").as_deref().map(str::trim) {
                None | Some("0") | Some("false") => false,
                Some("1") | Some("true") => true,
                Some(other) => {
                    return Err(ConfigError::new(
                        "AIAPI_METRICS",
                        format!("{other:?} is not one of 0, 1"),
                    ));
                }
            },
            bind,
            environment,
            jwt_secret,
            public_url,
            trusted_proxies,
            allowed_hosts: list_var(vars, "AIAPI_ALLOWED_HOSTS"),
            allowed_origins,
            max_body_bytes,
            shutdown_grace: Duration::from_secs(grace_secs),
        })
    }
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
        let secret = Secret::new("s3cr3t");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
    }
}
