//! What a newcomer trips over in the first hour (issue 16's small points):
//! audit rows of logins carry real durations, and the CLI's key listing
//! shows expiry and says when a key was already revoked. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::{Backend, TestDb, TestServer};

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

on_both_backends!(
    login_rows_record_how_long_the_login_took,
    the_cli_lists_expiry_and_says_when_a_key_was_already_revoked,
);
