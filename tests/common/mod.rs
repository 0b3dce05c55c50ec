//! Test harness: fresh databases of either backend, and the real `aiapi`
//! binary serving on `127.0.0.1:0` against them.
//!
//! Postgres tests run against `AIAPI_TEST_POSTGRES_URL` (an admin URL, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`) and fail without it, so a
//! test that ran nothing is never counted as passed; `make test` provides
//! the URL (a private cluster) or filters them out. The outage test, which
//! stops a private cluster of its own, fails without PostgreSQL's server
//! binaries; `make test` filters it out then.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod api;
pub mod db;
pub mod document_server;
pub mod jwt;
pub mod oauth;
pub mod private_pg;
mod server;

pub use db::{Backend, TestDb};
pub use server::{TestServer, remember_secret};

/// Runs each listed `async fn(Backend)` once per backend, as
/// `sqlite::<name>` and `postgres::<name>`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::common::Backend::require_postgres();
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}
