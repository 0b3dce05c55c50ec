//! The `aiapi` binary: everything happens in [`aiapi::cli`].

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: under load glibc's arenas contend
/// on their locks and keep freed memory resident; mimalloc's per-thread
/// heaps do neither (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    aiapi::cli::run().await
}
