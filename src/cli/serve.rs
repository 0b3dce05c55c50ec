//! `aiapi serve`: migrate, then serve until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;

use super::{CliError, common_settings, open_store};
use crate::app;
use crate::config::{ProcessEnv, ServeSettings};
use crate::state::AppState;

/// Options of `aiapi serve`.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides AIAPI_BIND; port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// Do not apply pending migrations before serving.
    #[arg(long)]
    no_migrate: bool,
}

/// Runs the server.
pub async fn run(args: ServeArgs) -> Result<(), CliError> {
    let common = common_settings()?;
    let settings = ServeSettings::from_vars(&ProcessEnv, args.bind)?;
    let store = open_store(&common).await?;
    tracing::info!(
        database = %common.database_url.redacted(),
        backend = store.backend().as_str(),
        "database opened"
    );
    if !args.no_migrate {
        for m in store.migrate().await? {
            tracing::info!(version = m.version, name = %m.name, "migration applied");
        }
    }
    let bound = app::bind(settings.bind)
        .await
        .map_err(|e| CliError::Other(format!("cannot listen on {}: {e}", settings.bind)))?;
    // The one line on stdout: scripts and tests read the bound address from it.
    println!("listening on http://{}", bound.local_addr);
    tracing::info!(addr = %bound.local_addr, "listening");
    let state = Arc::new(AppState { store, settings });
    app::serve(bound, state)
        .await
        .map_err(|e| CliError::Other(format!("server failed: {e}")))
}
