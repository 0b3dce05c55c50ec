//! `aiapi audit`: export and verify the audit log without a running server.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use futures_util::TryStreamExt;

use super::{CliError, open_store, quiet_settings};
use crate::audit::export::{self, Format};
use crate::audit::verify_chain;
use crate::store::{AuditFilter, Store};

/// Options of `aiapi audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

/// An RFC 3339 instant, or an error that shows the expected form.
fn instant(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!("expected an RFC 3339 instant such as 2026-01-01T00:00:00Z, not {raw:?}")
        })
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Write every row in a time window, oldest first, as NDJSON or CSV.
    Export {
        /// Rows at or after this instant (RFC 3339, e.g. 2026-01-01T00:00:00Z).
        #[arg(long, value_parser = instant)]
        from: Option<DateTime<Utc>>,
        /// Rows before this instant (RFC 3339).
        #[arg(long, value_parser = instant)]
        to: Option<DateTime<Utc>>,
        /// ndjson or csv.
        #[arg(long, default_value = "ndjson")]
        format: Format,
        /// Write here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Walk the hash chain; exits 1 if a row was altered, removed or inserted.
    Verify,
}

/// Runs an `audit` subcommand.
pub async fn run(args: AuditArgs) -> Result<(), CliError> {
    let common = quiet_settings()?;
    let store = open_store(&common).await?;
    let result = execute(store.clone(), args.command).await;
    store.close().await;
    result
}

async fn execute(store: std::sync::Arc<dyn Store>, command: AuditCommand) -> Result<(), CliError> {
    match command {
        AuditCommand::Export {
            from,
            to,
            format,
            output,
        } => {
            let filter = AuditFilter {
                from,
                to,
                ..AuditFilter::default()
            };
            let mut out: Box<dyn Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path).map_err(|e| {
                        CliError::Other(format!("cannot write {}: {e}", path.display()))
                    })?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut chunks = Box::pin(export::stream(store.clone(), filter, format));
            let mut bytes = 0usize;
            let mut pages = 0usize;
            while let Some(chunk) = chunks.try_next().await? {
                bytes += chunk.len();
                pages += 1;
                out.write_all(&chunk)
                    .map_err(|e| CliError::Other(format!("write failed: {e}")))?;
                if pages.is_multiple_of(100) {
                    eprintln!("exported {pages} pages ({bytes} bytes)...");
                }
            }
            out.flush()
                .map_err(|e| CliError::Other(format!("write failed: {e}")))?;
            if let Some(path) = output {
                eprintln!("exported {bytes} bytes to {}", path.display());
            }
        }
        AuditCommand::Verify => {
            let verification = verify_chain(store.as_ref(), |rows| {
                if rows > 0 && rows % 100_000 == 0 {
                    eprintln!("verified {rows} rows...");
                }
            })
            .await?;
            println!(
                "{}",
                serde_json::to_string(&verification).unwrap_or_default()
            );
            if !verification.ok {
                return Err(CliError::Other(format!(
                    "audit chain broken at seq {}: {}",
                    verification.broken_seq.unwrap_or_default(),
                    verification.reason.unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}
