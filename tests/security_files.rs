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

async fn l6_files_left_world_readable_by_an_older_version_are_narrowed(backend: Backend) {
    let db = TestDb::create(backend).await;
    let data = db.data_dir().join("older");
    std::fs::create_dir_all(&data).unwrap();
    let secret = data.join("jwt-secret");
    std::fs::write(&secret, "an-older-secret-that-is-long-enough-0123456789").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let data_dir = data.display().to_string();
    let sqlite_url = format!("sqlite://{data_dir}/aiapi.db?mode=rwc");
    let mut env = vec![("AIAPI_DATA_DIR", data_dir.as_str())];
    if backend == Backend::Sqlite {
        // A database an older version made, readable by everyone.
        let migrated = db
            .command(&["migrate"])
            .env("DATABASE_URL", &sqlite_url)
            .output()
            .unwrap();
        assert!(migrated.status.success());
        let file = data.join("aiapi.db");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        env.push(("DATABASE_URL", sqlite_url.as_str()));
    }
    let server = TestServer::start_with(&db, &env).await;
    assert_eq!(server.get("/health").await.status(), 200);
    assert_eq!(mode(&secret), 0o600, "the secret");
    if backend == Backend::Sqlite {
        assert_eq!(mode(&data.join("aiapi.db")), 0o600, "the database");
    }
}

on_both_backends!(
    l6_the_data_directory_and_database_files_are_owner_only,
    l6_files_left_world_readable_by_an_older_version_are_narrowed,
);
