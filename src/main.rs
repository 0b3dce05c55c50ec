//! The `aiapi` binary: everything happens in [`aiapi::cli`].

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    aiapi::cli::run().await
}
