//! What a newcomer trips over in the first hour (issue 16's small points):
//! a 401 says whether the token expired, was revoked or is invalid, audit
//! rows of logins carry real durations, and the CLI's key listing shows
//! expiry and says when a key was already revoked. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::jwt::{SECRET, claims_of, forge};
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn login_rows_record_how_long_the_login_took(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    server.admin_token().await;
    let slowest = db
        .scalar_i64(
            "SELECT CAST(max(duration_ms) AS BIGINT) FROM audit_log \
             WHERE action = 'login' AND outcome = 'success'",
        )
        .await;
    // An argon2id hash alone takes tens of milliseconds.
    assert!(slowest >= 1, "duration_ms {slowest}");
}

async fn the_cli_lists_expiry_and_says_when_a_key_was_already_revoked(backend: Backend) {
    let db = TestDb::create(backend).await;
    assert!(db.cli(&["migrate"]).status.success());
    let made = db.cli(&[
        "api-keys",
        "create",
        "ai_agent",
        "--name",
        "ops",
        "--expires-in-days",
        "10",
    ]);
    assert!(made.status.success(), "{}", common::db::stderr(&made));
    let listed = db.cli(&["api-keys", "list", "ai_agent"]);
    let listing = String::from_utf8_lossy(&listed.stdout).into_owned();
    let expected = (chrono::Utc::now() + chrono::Duration::days(10))
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        listing.contains("expires") && listing.contains(&expected),
        "{listing}"
    );
    let id = listing
        .lines()
        .find(|l| l.contains(" ops"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the key's line")
        .to_owned();
    let first = db.cli(&["api-keys", "revoke", &id]);
    assert!(String::from_utf8_lossy(&first.stdout).starts_with("revoked "));
    let again = db.cli(&["api-keys", "revoke", &id]);
    assert!(again.status.success());
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(said.contains("already revoked"), "{said}");
}

/// The 401 for `token` on `/auth/me` and on `/mcp`: its detail, and both
/// challenges.
async fn refusal(server: &TestServer, token: &str) -> (String, String, String) {
    let rest = server
        .authed(Method::GET, "/auth/me", token)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 401);
    let rest_challenge = rest.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let detail = rest.json::<Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    let mcp = server
        .authed(Method::POST, "/mcp", token)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(mcp.status(), 401);
    let mcp_challenge = mcp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    (detail, rest_challenge, mcp_challenge)
}

async fn every_401_says_whether_the_token_expired_was_revoked_or_is_invalid(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_JWT_SECRET", SECRET)]).await;
    let token = server.admin_token().await;
    let mut expired = claims_of(&token);
    let now = chrono::Utc::now().timestamp();
    expired["iat"] = json!(now - 3600);
    expired["exp"] = json!(now - 1800);
    let logged_out = server.admin_token().await;
    let resp = server
        .authed(Method::POST, "/auth/logout", &logged_out)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    for (token, cause) in [
        (forge(&expired, SECRET), "expired"),
        (logged_out, "revoked"),
        ("not.a.token".to_owned(), "invalid"),
        ("aiapi_notakeynotakeynotakeynotakey00".to_owned(), "invalid"),
    ] {
        let (detail, rest, mcp) = refusal(&server, &token).await;
        assert!(detail.contains(cause), "{cause}: {detail}");
        for challenge in [&rest, &mcp] {
            assert!(
                challenge.starts_with("Bearer error=\"invalid_token\""),
                "{challenge}"
            );
            assert!(
                challenge.contains(&format!("error_description=\"{detail}\"")),
                "{challenge}"
            );
        }
        assert!(mcp.contains("resource_metadata="), "{mcp}");
    }
    // Without credentials there is nothing to describe.
    let resp = server.get("/auth/me").await;
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
}

/// Runs `aiapi args` on `database_url` with nothing else of this
/// environment, as a newcomer's first command would.
fn aiapi(args: &[&str], database_url: &str, data_dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_aiapi"))
        .args(args)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("AIAPI_DATA_DIR", data_dir)
        .output()
        .unwrap()
}

/// SQLite only: Postgres databases are never created by the service.
#[test]
fn commands_other_than_serve_and_migrate_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("elsewhere.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let out = aiapi(
        &["api-keys", "list", "admin"],
        &url,
        &dir.path().join("data"),
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("there is no SQLite database at"), "{said}");
    assert!(
        said.contains("DATABASE_URL") && said.contains("AIAPI_DATA_DIR"),
        "{said}"
    );
    assert!(said.contains("aiapi migrate"), "{said}");
    assert!(!file.exists(), "nothing was created");
}

#[test]
fn serve_makes_no_directory_outside_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no").join("such").join("dir");
    let url = format!("sqlite://{}/x.db?mode=rwc", missing.display());
    let out = aiapi(
        &["serve", "--bind", "127.0.0.1:0"],
        &url,
        &dir.path().join("data"),
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("does not exist") && said.contains("mkdir -p"),
        "{said}"
    );
    assert!(!missing.exists(), "nothing was created");
}

/// A port already in use is named as such.
#[test]
fn a_port_in_use_is_named_as_such() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/aiapi.db?mode=rwc", dir.path().display());
    let out = aiapi(&["serve", "--bind", &addr], &url, dir.path());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(&format!("cannot listen on {addr}")) && said.contains("in use"),
        "{said}"
    );
}

/// The errors of a Postgres that cannot be used name their cause.
#[test]
fn postgres_connection_errors_name_their_cause() {
    Backend::require_postgres();
    let admin = std::env::var("AIAPI_TEST_POSTGRES_URL").unwrap();
    let missing = format!(
        "{}/aiapi_no_such_database",
        admin.rsplit_once('/').unwrap().0
    );
    let (_, host) = admin.split_once('@').unwrap();
    let unknown_role = format!("postgres://aiapi_no_such_role:s3cret-db-word@{host}");
    let dir = tempfile::tempdir().unwrap();
    for (url, cause) in [
        (
            "postgres://postgres@127.0.0.1:1/x".to_owned(),
            "nothing is listening at 127.0.0.1:1",
        ),
        (
            unknown_role,
            "refused the login of user \"aiapi_no_such_role\"",
        ),
        (missing, "\"aiapi_no_such_database\" does not exist"),
        (
            "postgres://postgres@no-such-host.invalid:5432/x".to_owned(),
            "cannot resolve the host name",
        ),
    ] {
        let out = aiapi(&["migrate"], &url, dir.path());
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(said.contains(cause), "{url}: {said}");
        assert_eq!(said.trim().lines().count(), 1, "one line: {said}");
        assert!(!said.contains("s3cret-db-word"), "no password: {said}");
    }
}

/// SQLite only: a database its user cannot write is named as such, whether
/// it exists already or would be created in a directory the user cannot write.
#[test]
fn an_unwritable_sqlite_database_is_named_as_such() {
    use std::os::unix::fs::PermissionsExt;
    // As root permissions do not apply: the refused runs are another user's.
    let root = std::process::Command::new("id").arg("-u").output().unwrap();
    let as_nobody = String::from_utf8_lossy(&root.stdout).trim() == "0";
    let run = |dir: &std::path::Path, args: &[&str], refused: bool| {
        let mut cmd = if refused && as_nobody {
            let mut cmd = std::process::Command::new("runuser");
            cmd.args(["-u", "nobody", "--", env!("CARGO_BIN_EXE_aiapi")]);
            cmd
        } else {
            std::process::Command::new(env!("CARGO_BIN_EXE_aiapi"))
        };
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/aiapi.db?mode=rwc", dir.display()),
            )
            .env("AIAPI_DATA_DIR", dir)
            .output()
            .unwrap()
    };
    let refused_with = |out: std::process::Output, dir: &std::path::Path| {
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{said}");
        let expected = format!("permission denied writing {}", dir.display());
        assert!(said.contains(&expected), "{said}");
    };
    let read_only = if as_nobody { 0o755 } else { 0o555 };

    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(run(dir.path(), &["migrate"], false).status.success());
    let file = dir.path().join("aiapi.db");
    let mode = if as_nobody { 0o644 } else { 0o444 };
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    refused_with(run(dir.path(), &["migrate", "--status"], true), &file);

    let fresh = tempfile::tempdir().unwrap();
    std::fs::set_permissions(fresh.path(), std::fs::Permissions::from_mode(read_only)).unwrap();
    refused_with(run(fresh.path(), &["migrate"], true), fresh.path());
    std::fs::set_permissions(fresh.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// One JSON-RPC call on `/mcp` in `session`; its result.
async fn mcp_call(
    server: &TestServer,
    token: &str,
    session: &str,
    method: &str,
    params: Value,
) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
    let text = server
        .mcp_request(token, Some(session), &body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let message =
        common::api::jsonrpc_message(&text).unwrap_or_else(|| panic!("no JSON-RPC answer: {text}"));
    message["result"].clone()
}

async fn resources_list_is_bounded_and_the_template_reaches_the_rest(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let out = db.cli(&["demo-data", "--items", "1200"]);
    assert!(out.status.success(), "{}", common::db::stderr(&out));
    let token = server.token("ai_agent", "ai123").await;
    let session = server.mcp_session(&token).await;
    let first = mcp_call(&server, &token, &session, "resources/list", json!({})).await;
    assert_eq!(first["resources"].as_array().unwrap().len(), 500);
    let cursor = first["nextCursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let second = mcp_call(
        &server,
        &token,
        &session,
        "resources/list",
        json!({"cursor": cursor}),
    )
    .await;
    assert_eq!(second["resources"].as_array().unwrap().len(), 500);
    assert!(
        second.get("nextCursor").is_none_or(Value::is_null),
        "the list stops at 1,000: {}",
        second["nextCursor"]
    );
    // The newest item is listed first; the oldest, past the bound, is
    // still read through the template.
    let newest = db.scalar_i64("SELECT max(id) FROM items").await;
    assert_eq!(
        first["resources"][0]["uri"],
        format!("aiapi://items/{newest}")
    );
    let templates = mcp_call(
        &server,
        &token,
        &session,
        "resources/templates/list",
        json!({}),
    )
    .await;
    assert_eq!(
        templates["resourceTemplates"][0]["uriTemplate"],
        "aiapi://items/{id}"
    );
    let oldest = db.scalar_i64("SELECT min(id) FROM items").await;
    let read = mcp_call(
        &server,
        &token,
        &session,
        "resources/read",
        json!({"uri": format!("aiapi://items/{oldest}")}),
    )
    .await;
    assert!(
        read["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("\"id\":{oldest}")),
        "{read}"
    );
}

async fn serve_says_when_it_opened_a_new_database(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    assert!(
        server.log().contains("new, empty database opened"),
        "{}",
        server.log()
    );
    drop(server);
    // Postgres: with a password in the URL (the test server trusts any), which
    // the log line must not show.
    let url = match db.backend {
        Backend::Postgres => db.url.replacen("@", ":s3cret-db-word@", 1),
        Backend::Sqlite => db.url.clone(),
    };
    let again = TestServer::start_with(&db, &[("DATABASE_URL", &url)]).await;
    let log = again.log();
    assert!(
        log.contains("database opened") && !log.contains("new, empty"),
        "{log}"
    );
    assert!(!log.contains("s3cret-db-word"), "{log}");
}

on_both_backends!(
    resources_list_is_bounded_and_the_template_reaches_the_rest,
    serve_says_when_it_opened_a_new_database,
    every_401_says_whether_the_token_expired_was_revoked_or_is_invalid,
    login_rows_record_how_long_the_login_took,
    the_cli_lists_expiry_and_says_when_a_key_was_already_revoked,
);
