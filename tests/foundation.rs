//! The foundation: migrations, seeded accounts, health, JSON errors,
//! configuration errors, request ids and shutdown, on both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use std::time::Duration;

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use common::{Backend, TestDb, TestServer};
use serde_json::Value;

const MIGRATIONS: [&str; 18] = [
    "V1__accounts",
    "V2__seed_accounts",
    "V3__items",
    "V4__mcp_sessions",
    "V5__audit_log",
    "V6__mcp_session_state",
    "V7__tool_rate_limits",
    "V8__item_stats",
    "V9__analysis_index",
    "V10__substring_search_chunks",
    "V11__audit_vocabulary",
    "V12__usernames_ignore_case",
    "V13__price_walk_index",
    "V14__api_key_scopes",
    "V15__oauth_clients",
    "V16__oauth_flow",
    "V17__audit_oauth_client_index",
    "V18__client_documents",
];

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn migrate_applies_everything_once_then_nothing(backend: Backend) {
    let db = TestDb::create(backend).await;
    let first = db.cli(&["migrate"]);
    assert!(first.status.success(), "{}", common::db::stderr(&first));
    let printed = stdout(&first);
    for name in MIGRATIONS {
        assert!(printed.contains(&format!("applied {name}")), "{printed}");
    }
    let second = db.cli(&["migrate"]);
    assert!(second.status.success(), "{}", common::db::stderr(&second));
    assert_eq!(
        stdout(&second).trim(),
        "database is up to date; nothing to apply"
    );
}

async fn migrate_status_lists_pending_then_applied(backend: Backend) {
    let db = TestDb::create(backend).await;
    let before = db.cli(&["migrate", "--status"]);
    assert!(before.status.success(), "{}", common::db::stderr(&before));
    let lines: Vec<String> = stdout(&before).lines().map(str::to_owned).collect();
    let expected: Vec<String> = MIGRATIONS.iter().map(|m| format!("pending  {m}")).collect();
    assert_eq!(lines, expected);

    assert!(db.cli(&["migrate"]).status.success());
    let after = db.cli(&["migrate", "--status"]);
    let lines: Vec<String> = stdout(&after).lines().map(str::to_owned).collect();
    let expected: Vec<String> = MIGRATIONS.iter().map(|m| format!("applied  {m}")).collect();
    assert_eq!(lines, expected);
    // Asking twice changes nothing.
    assert_eq!(stdout(&db.cli(&["migrate", "--status"])), stdout(&after));
}

async fn failed_migration_stops_at_the_last_good_version(backend: Backend) {
    let db = TestDb::create(backend).await;
    // A table in the way of V3 makes that migration fail.
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
        .await;
    let out = db.cli(&["migrate"]);
    assert!(!out.status.success());
    let err = common::db::stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{err}");
    assert!(
        last.contains("V3__items"),
        "error should name the migration: {last}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let status = stdout(&db.cli(&["migrate", "--status"]));
    assert_eq!(
        status.lines().collect::<Vec<_>>(),
        vec![
            "applied  V1__accounts",
            "applied  V2__seed_accounts",
            "pending  V3__items",
            "pending  V4__mcp_sessions",
            "pending  V5__audit_log",
            "pending  V6__mcp_session_state",
            "pending  V7__tool_rate_limits",
            "pending  V8__item_stats",
            "pending  V9__analysis_index",
            "pending  V10__substring_search_chunks",
            "pending  V11__audit_vocabulary",
            "pending  V12__usernames_ignore_case",
            "pending  V13__price_walk_index",
            "pending  V14__api_key_scopes",
            "pending  V15__oauth_clients",
            "pending  V16__oauth_flow",
            "pending  V17__audit_oauth_client_index",
            "pending  V18__client_documents",
        ]
    );
}

async fn no_migrate_refuses_a_database_with_pending_migrations(backend: Backend) {
    let db = TestDb::create(backend).await;
    let out = db
        .command(&["serve", "--bind", "127.0.0.1:0", "--no-migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = common::db::stderr(&out);
    assert!(
        err.contains("pending migrations") && err.contains("V1__accounts"),
        "{err}"
    );
    assert!(db.cli(&["migrate"]).status.success());
    let server = TestServer::start_with(&db, &[]).await;
    assert_eq!(server.get("/health").await.status(), 200);
}

async fn seeded_accounts_have_argon2id_hashes(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let store = db.store().await;
    for (username, email, role, password) in [
        (
            "admin",
            "admin@example.com",
            aiapi::domain::Role::Admin,
            "admin123",
        ),
        (
            "ai_agent",
            "ai@example.com",
            aiapi::domain::Role::AiAgent,
            "ai123",
        ),
    ] {
        let user = store
            .user_by_username(username)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{username} is seeded"));
        assert_eq!(user.email, email);
        assert_eq!(user.role, role);
        assert!(user.is_active);
        assert!(
            user.password_hash.starts_with("$argon2id$"),
            "{}",
            user.password_hash
        );
        let hash = PasswordHash::new(&user.password_hash).unwrap();
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .expect("seeded password verifies");
        assert!(Argon2::default().verify_password(b"wrong", &hash).is_err());
        let by_id = store.user_by_id(user.id).await.unwrap().unwrap();
        assert_eq!(by_id, user);
    }
    store.close().await;
}

async fn health_reports_the_backend(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let resp = server.get("/health").await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["services"]["database"], "operational");
    assert_eq!(
        body["database"],
        serde_json::json!({"backend": name, "ok": true})
    );

    let root: Value = server.get("/").await.json().await.unwrap();
    assert_eq!(root["message"], "AI Integrated API with MCP Support");
    assert_eq!(root["endpoints"]["authentication"], "/auth");
    assert_eq!(root["endpoints"]["docs"], "/docs");
}

async fn docs_and_spec_are_served(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let spec: Value = server.get("/openapi.json").await.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert!(spec["paths"]["/health"]["get"].is_object());
    let docs = server.get("/docs").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

async fn errors_are_json(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;

    let resp = server.get("/no/such/path").await;
    assert_eq!(resp.status(), 404);
    assert_json_error(resp, "not_found").await;

    let resp = server
        .http
        .delete(server.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_json_error(resp, "method_not_allowed").await;

    let big = vec![b'a'; 1024 * 1024 + 1];
    let resp = server
        .http
        .post(server.url("/health"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_json_error(resp, "payload_too_large").await;

    // Without Content-Length (chunked), the limit holds while reading.
    let mut request =
        b"POST /health HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
        Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    for chunk in big.chunks(64 * 1024) {
        request.extend(format!("{:x}\r\n", chunk.len()).bytes());
        request.extend(chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n\r\n");
    let response = raw_http(&server.base, &request).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains("\"code\":\"payload_too_large\""),
        "{response}"
    );
}

/// Sends raw bytes and reads the whole response (the server may answer
/// before it has read everything, so write errors are ignored).
async fn raw_http(base: &str, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

async fn assert_json_error(resp: reqwest::Response, code: &str) {
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

async fn request_ids_are_ours_and_the_clients_is_logged(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let resp = server
        .http
        .get(server.url("/health"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    let ours = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(ours.len(), 36, "a UUID of ours, not the client's: {ours}");
    let resp = server.get("/nowhere").await;
    let made = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 36, "a UUID: {made}");
    let log = server.log();
    assert!(
        log.contains(&ours) && log.contains("trace-me-42"),
        "log lines carry both ids"
    );
}

async fn sigterm_stops_the_server_cleanly(backend: Backend) {
    let db = TestDb::create(backend).await;
    let mut server = TestServer::start(&db).await;
    assert_eq!(server.get("/health").await.status(), 200);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server
        .wait(Duration::from_secs(20))
        .await
        .expect("exits after SIGTERM");
    assert!(exit.success(), "exit status {exit:?}\n{}", server.log());
    assert!(server.log().contains("SIGTERM received"));
}

#[tokio::test]
async fn health_is_503_json_when_postgres_goes_away() {
    Backend::require_postgres();
    let db = TestDb::create(Backend::Postgres).await;
    let server = TestServer::start_with(&db, &[("AIAPI_DB_TIMEOUT_SECS", "2")]).await;
    assert_eq!(server.get("/health").await.status(), 200);
    db.drop_now().await;
    let resp = server.get("/health").await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(
        body["database"],
        serde_json::json!({"backend": "postgres", "ok": false})
    );
}

#[tokio::test]
async fn concurrent_migrations_on_postgres_both_succeed() {
    Backend::require_postgres();
    let db = TestDb::create(Backend::Postgres).await;
    let spawn = || {
        db.command(&["migrate"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let (a, b) = (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    );
    assert!(a.status.success(), "{}", common::db::stderr(&a));
    assert!(b.status.success(), "{}", common::db::stderr(&b));
    let status = stdout(&db.cli(&["migrate", "--status"]));
    assert!(
        status.lines().all(|l| l.starts_with("applied ")),
        "{status}"
    );
    assert_eq!(status.lines().count(), MIGRATIONS.len());
}

#[test]
fn bad_configuration_is_one_line_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value) in [
        ("AIAPI_BIND", "not-an-address"),
        ("AIAPI_LOG_FORMAT", "xml"),
        ("AIAPI_ENV", "staging"),
        ("DATABASE_URL", "mysql://localhost/db"),
        ("AIAPI_LOG", "[[["),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_aiapi"))
            .arg("serve")
            .env_clear()
            .env("AIAPI_DATA_DIR", dir.path())
            .env(name, value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = common::db::stderr(&out);
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(name), "{name}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn serve_help_documents_every_setting() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aiapi"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = stdout(&out);
    for name in [
        "DATABASE_URL",
        "--bind",
        "AIAPI_BIND",
        "AIAPI_DATA_DIR",
        "AIAPI_JWT_SECRET",
        "AIAPI_ENV",
        "AIAPI_LOG",
        "AIAPI_LOG_FORMAT",
        "AIAPI_PUBLIC_URL",
        "AIAPI_TRUSTED_PROXIES",
        "AIAPI_ALLOWED_HOSTS",
        "AIAPI_ALLOWED_ORIGINS",
        "--no-migrate",
    ] {
        assert!(help.contains(name), "serve --help lacks {name}");
    }
}

async fn demo_data_fills_the_catalogue_reproducibly(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let args = [
        "demo-data",
        "--items",
        "120",
        "--batch",
        "50",
        "--seed",
        "7",
    ];
    let out = db.cli(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("demo-data: 50/120 items") && err.contains("demo-data: 120/120 items (100%)"),
        "a progress line per batch: {err}"
    );
    assert!(stdout(&out).contains("added 120 items owned by admin"));

    let server = TestServer::start(&db).await;
    let token = server.admin_token().await;
    let (status, page) = server.get_as("/api/v1/items?page_size=100", &token).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 120);
    for item in page["items"].as_array().unwrap() {
        assert!(item["price"].as_f64().unwrap() > 0.0, "{item}");
        assert!(item["category"].is_string(), "{item}");
    }
    let (_, found) = server
        .get_as("/api/v1/items?q=notebook&page_size=1", &token)
        .await;
    assert!(found["total"].as_i64().unwrap() > 0, "searchable: {found}");

    let again = TestDb::migrated(backend).await;
    assert!(again.cli(&args).status.success());
    let names = "SELECT name FROM items ORDER BY id";
    assert_eq!(
        db.texts(names).await,
        again.texts(names).await,
        "same seed, same items"
    );

    let out = db.cli(&["demo-data", "--items", "0"]);
    assert!(!out.status.success());
    let out = db.cli(&["demo-data", "--items", "5", "--owner", "nobody"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user named \"nobody\""));
}

on_both_backends!(
    demo_data_fills_the_catalogue_reproducibly,
    no_migrate_refuses_a_database_with_pending_migrations,
    migrate_applies_everything_once_then_nothing,
    migrate_status_lists_pending_then_applied,
    failed_migration_stops_at_the_last_good_version,
    seeded_accounts_have_argon2id_hashes,
    health_reports_the_backend,
    docs_and_spec_are_served,
    errors_are_json,
    request_ids_are_ours_and_the_clients_is_logged,
    sigterm_stops_the_server_cleanly,
);
