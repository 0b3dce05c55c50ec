//! Security round two, L6: the data directory is 0700 and the database and
//! secret files are 0600, so other local users read neither password hashes
//! nor the audit log nor the signing secret. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres", unix))]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Backend, TestDb, TestServer};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

async fn l6_the_data_directory_and_database_files_are_owner_only(backend: Backend) {
    let db = TestDb::create(backend).await;
    let data = db.data_dir().join("fresh");
    let data_dir = data.display().to_string();
    let sqlite_url = format!("sqlite://{data_dir}/db/aiapi.db?mode=rwc");
    let mut env = vec![("AIAPI_DATA_DIR", data_dir.as_str())];
    if backend == Backend::Sqlite {
        env.push(("DATABASE_URL", sqlite_url.as_str()));
    }
    let server = TestServer::start_with(&db, &env).await;
    assert_eq!(server.get("/health").await.status(), 200);
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(
        mode(&data.join("jwt-secret")),
        0o600,
        "the development secret"
    );
    if backend == Backend::Sqlite {
        let dir = data.join("db");
        assert_eq!(mode(&dir), 0o700, "the database's directory");
        for file in ["aiapi.db", "aiapi.db-wal", "aiapi.db-shm"] {
            assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
        }
    }
}

on_both_backends!(l6_the_data_directory_and_database_files_are_owner_only);
