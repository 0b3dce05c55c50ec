//! The tracing subscriber, built once per process. Logs go to stderr so that
//! stdout stays for command output.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogFormat};

/// Installs the global subscriber with `filter` (`AIAPI_LOG`) and `format`.
pub fn init(filter: &str, format: LogFormat) -> Result<(), ConfigError> {
    // sqlx logs every statement at info; keep that out unless asked for.
    let directives = if filter.contains("sqlx") {
        filter.to_owned()
    } else {
        format!("{filter},sqlx=warn")
    };
    let filter = EnvFilter::try_new(&directives).map_err(|e| ConfigError {
        name: "AIAPI_LOG",
        message: format!("{filter:?} is not a valid tracing filter: {e}"),
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A second init in the same process (only in tests) keeps the first subscriber.
    drop(installed);
    Ok(())
}
