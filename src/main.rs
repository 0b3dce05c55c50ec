//! The `aiapi` binary: everything happens in [`aiapi::cli`].

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc, for Rust and (through the crate's
/// `override` feature) for SQLite's C code: sqlx frees SQLite's values on
/// another thread than the one that allocated them, and glibc's arenas
/// contend on their locks for that (a third of the CPU on item listings);
/// mimalloc's per-thread heaps do not, and keep less memory resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    aiapi::cli::run().await
}
