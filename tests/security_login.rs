//! Security round two: what a client string can do to logins and tool
//! calls (M2, M3), the throttled current-password check (L1) and forged
//! log lines (L2). On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::status_and_json;
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::json;

async fn m2_a_huge_session_id_is_a_4xx_that_is_audited(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_TOOL_RATE_LIMITS", "ai_agent=1")]).await;
    let agent = server.token("ai_agent", "ai123").await;
    let huge = "s".repeat(3 * 1024);
    let (status, body) = server
        .execute(&agent, "no_such_tool", json!({}), Some(&huge))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("session_id"), "{body}");
    let rows = db
        .scalar_i64(
            "SELECT count(*) FROM audit_log WHERE action = 'no_such_tool' \
             AND outcome = 'invalid' AND session_id IS NULL",
        )
        .await;
    assert_eq!(rows, 1, "the refusal is recorded, without the id");
    let (status, body) = server
        .execute(&agent, "search_items", json!({"query": "x"}), None)
        .await;
    assert_eq!(
        status, 429,
        "the refused call counted against the limit: {body}"
    );
}

async fn m3_a_huge_username_is_a_4xx_that_is_audited_and_counted(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_LOGIN_MAX_FAILURES", "3")]).await;
    let huge = "u".repeat(3 * 1024);
    let attempt = json!({"username": huge, "password": "whatever-it-is"});
    for _ in 0..3 {
        let (status, body) = status_and_json(server.post_json("/auth/login", &attempt).await).await;
        assert_eq!(status, 401, "{body}");
    }
    let (status, _) = status_and_json(server.post_json("/auth/login", &attempt).await).await;
    assert_eq!(status, 429, "the throttle counted them");
    let rows = db
        .scalar_i64("SELECT count(*) FROM audit_log WHERE action = 'login' AND outcome = 'denied'")
        .await;
    assert_eq!(rows, 3);
    let longest = db
        .scalar_i64("SELECT CAST(max(length(username)) AS BIGINT) FROM audit_log")
        .await;
    assert!(longest <= 129, "usernames are stored clipped: {longest}");
}

async fn l12_anonymous_failures_write_a_bounded_number_of_rows(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_LOGIN_MAX_FAILURES_PER_ADDR", "4")]).await;
    for i in 0..12 {
        let attempt = json!({"username": format!("ghost{i}"), "password": "whatever-it-is"});
        let (status, _) = status_and_json(server.post_json("/auth/login", &attempt).await).await;
        assert_eq!(status, if i < 4 { 401 } else { 429 }, "attempt {i}");
    }
    let rows = db
        .scalar_i64("SELECT count(*) FROM audit_log WHERE action IN ('login', 'login_locked')")
        .await;
    assert_eq!(
        rows, 5,
        "four failures and one lock, however many more attempts"
    );
}

async fn l1_current_password_guessing_is_throttled(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_LOGIN_MAX_FAILURES", "3")]).await;
    let token = server.new_user("paula").await;
    let change = |current: &'static str| {
        server
            .authed(Method::POST, "/auth/me/password", &token)
            .json(&json!({"current_password": current, "new_password": "a-brand-new-one"}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(change("guess-guess").await.unwrap().status(), 403);
    }
    let resp = change("password-paula").await.unwrap();
    assert_eq!(resp.status(), 429, "even the right one waits now");
    assert!(resp.headers().contains_key("retry-after"));
}

async fn l2_a_newline_in_a_username_cannot_forge_a_log_line(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_LOGIN_MAX_FAILURES", "1")]).await;
    let forged = "eve\nINFO forged: admin logged in";
    let resp = server
        .post_json(
            "/auth/login",
            &json!({"username": forged, "password": "whatever-it-is"}),
        )
        .await;
    assert_eq!(resp.status(), 401);
    let log = server.log();
    assert!(log.contains("login locked"), "{log}");
    assert!(
        !log.lines().any(|l| l.starts_with("INFO forged")),
        "a line was forged:\n{log}"
    );
}

on_both_backends!(
    l12_anonymous_failures_write_a_bounded_number_of_rows,
    m2_a_huge_session_id_is_a_4xx_that_is_audited,
    m3_a_huge_username_is_a_4xx_that_is_audited_and_counted,
    l1_current_password_guessing_is_throttled,
    l2_a_newline_in_a_username_cannot_forge_a_log_line,
);
