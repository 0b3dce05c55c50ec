//! `aiapi migrate`: apply pending migrations, or list them.

use clap::Args;

use super::{CliError, open_or_create_store, quiet_settings};
use crate::store::MigrationState;

/// Options of `aiapi migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// List applied and pending migrations instead of applying them.
    #[arg(long)]
    status: bool,
}

/// Applies pending migrations (printing each) or prints their status.
pub async fn run(args: MigrateArgs) -> Result<(), CliError> {
    let common = quiet_settings()?;
    let store = open_or_create_store(&common).await?;
    let result = if args.status {
        store.migration_status().await.map(|all| {
            for m in all {
                let state = match m.state {
                    MigrationState::Applied => "applied",
                    MigrationState::Pending => "pending",
                };
                println!("{state:<8} V{}__{}", m.version, m.name);
            }
        })
    } else {
        store.migrate().await.map(|applied| {
            if applied.is_empty() {
                println!("database is up to date; nothing to apply");
            }
            for m in applied {
                println!("applied V{}__{}", m.version, m.name);
            }
        })
    };
    store.close().await;
    Ok(result?)
}
