//! The `aiapi` command line: parses arguments, loads settings, and runs one
//! subcommand. Every failure is one line on stderr and a non-zero exit.

mod api_keys;
mod audit;
mod demo_data;
mod migrate;
mod oauth_clients;
mod serve;
mod users;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{CommonSettings, ConfigError, ENVIRONMENT_HELP, ProcessEnv, Vars};
use crate::store::{self, Creation, PoolSettings, Store, StoreError};

/// Item catalogue and user service with a REST API and an MCP server.
#[derive(Debug, Parser)]
#[command(name = "aiapi", version, about, after_help = ENVIRONMENT_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the REST API and /mcp (the default). Migrates the database first.
    #[command(after_help = ENVIRONMENT_HELP)]
    Serve(serve::ServeArgs),
    /// Apply pending database migrations, or list them with --status.
    #[command(after_help = ENVIRONMENT_HELP)]
    Migrate(migrate::MigrateArgs),
    /// Manage accounts (create, set-password, set-role, deactivate, activate, list).
    #[command(after_help = ENVIRONMENT_HELP)]
    Users(users::UsersArgs),
    /// Manage API keys (create, list, revoke).
    #[command(name = "api-keys", after_help = ENVIRONMENT_HELP)]
    ApiKeys(api_keys::ApiKeysArgs),
    /// Manage OAuth clients (create, list, disable).
    #[command(name = "oauth-clients", after_help = ENVIRONMENT_HELP)]
    OAuthClients(oauth_clients::OAuthClientsArgs),
    /// Export or verify the audit log.
    #[command(after_help = ENVIRONMENT_HELP)]
    Audit(audit::AuditArgs),
    /// Add generated items to the catalogue (to try the service, or to benchmark it).
    #[command(name = "demo-data", after_help = ENVIRONMENT_HELP)]
    DemoData(demo_data::DemoDataArgs),
}

/// An error that ends the command, printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A setting is invalid.
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    /// The database failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The server refused to start.
    #[error("{0}")]
    Startup(#[from] crate::startup::StartupError),
    /// Anything else, already worded for the operator.
    #[error("{0}")]
    Other(String),
}

/// Runs the command line and returns the process exit code.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::private_files::private_from_now_on();
    let result = match cli.command {
        None => serve::run(serve::ServeArgs::default()).await,
        Some(Command::Serve(args)) => serve::run(args).await,
        Some(Command::Migrate(args)) => migrate::run(args).await,
        Some(Command::Users(args)) => users::run(args).await,
        Some(Command::ApiKeys(args)) => api_keys::run(args).await,
        Some(Command::OAuthClients(args)) => oauth_clients::run(args).await,
        Some(Command::Audit(args)) => audit::run(args).await,
        Some(Command::DemoData(args)) => demo_data::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the database of an existing installation: commands other than
/// `serve` and `migrate` never create one, since a fresh database beside
/// the real one would take their changes (and print keys the running
/// server refuses).
async fn open_store(common: &CommonSettings) -> Result<std::sync::Arc<dyn Store>, CliError> {
    open_store_as(common, Creation::Refused).await
}

/// Opens the database, creating it (and the data directory) if missing:
/// `serve` and `migrate`.
async fn open_or_create_store(
    common: &CommonSettings,
) -> Result<std::sync::Arc<dyn Store>, CliError> {
    let creation = Creation::Allowed {
        data_dir: common.data_dir.clone(),
    };
    open_store_as(common, creation).await
}

async fn open_store_as(
    common: &CommonSettings,
    creation: Creation,
) -> Result<std::sync::Arc<dyn Store>, CliError> {
    let pool = PoolSettings {
        max_connections: common.db_max_connections,
        acquire_timeout: common.db_timeout,
        creation,
    };
    let url = common.database_url.redacted();
    store::connect(&common.database_url, pool)
        .await
        .map_err(|e| match e {
            StoreError::Missing(why) => CliError::Other(format!(
                "{why} (DATABASE_URL={url}, AIAPI_DATA_DIR={}); this command does not create \
                 one: point DATABASE_URL or AIAPI_DATA_DIR at the database `aiapi serve` uses, \
                 or create this one with `aiapi migrate`",
                common.data_dir.display()
            )),
            other => CliError::Other(format!("cannot open database {url}: {other}")),
        })
}

/// Reads the shared settings from the environment and starts logging.
/// One-shot commands log warnings only unless `AIAPI_LOG` says otherwise:
/// their output is what they print.
fn common_settings() -> Result<CommonSettings, CliError> {
    let common = CommonSettings::from_vars(&ProcessEnv)?;
    crate::telemetry::init(&common.log_filter, common.log_format)?;
    Ok(common)
}

/// Like [`common_settings`], for commands other than `serve`.
fn quiet_settings() -> Result<CommonSettings, CliError> {
    let mut common = CommonSettings::from_vars(&ProcessEnv)?;
    if ProcessEnv.get("AIAPI_LOG").is_none() {
        common.log_filter = "warn".into();
    }
    crate::telemetry::init(&common.log_filter, common.log_format)?;
    Ok(common)
}
