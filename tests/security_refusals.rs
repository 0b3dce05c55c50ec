//! Security round two, M1: refused security-relevant REST attempts leave a
//! `denied` row (escalations, someone else's sessions, contexts and keys,
//! the audit log read by the unauthorised), unknown ids leave none, and the
//! refusals count against the caller's limit so they cannot flood the log.
//! On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::status_and_json;
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn denied(db: &TestDb, action: &str, username: &str) -> i64 {
    db.scalar_i64(&format!(
        "SELECT count(*) FROM audit_log WHERE action = '{action}' AND outcome = 'denied' \
         AND username = '{username}'"
    ))
    .await
}

async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> u16 {
    let mut request = server.authed(method, path, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    status_and_json(request.send().await.unwrap()).await.0
}

async fn m1_refused_escalations_and_audit_reads_are_recorded(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let climber = server.new_user("climber").await;
    let (_, me) = server.get_as("/auth/me", &climber).await;
    let my_id = me["id"].as_str().unwrap();

    let tries = [
        (
            Method::PATCH,
            format!("/auth/users/{my_id}"),
            Some(json!({"role": "admin"})),
            "user_role_changed",
        ),
        (
            Method::PUT,
            "/auth/me".to_owned(),
            Some(json!({"role": "admin"})),
            "profile_updated",
        ),
        (
            Method::POST,
            "/auth/users".to_owned(),
            Some(
                json!({"username": "friend", "email": "f@example.com", "password": "a-long-password", "role": "admin"}),
            ),
            "user_created",
        ),
        (Method::GET, "/auth/users".to_owned(), None, "users_listed"),
        (Method::GET, "/api/v1/audit".to_owned(), None, "audit_read"),
        (
            Method::GET,
            "/api/v1/audit/export".to_owned(),
            None,
            "audit_exported",
        ),
        (
            Method::GET,
            "/api/v1/audit/verify".to_owned(),
            None,
            "audit_verified",
        ),
    ];
    for (method, path, body, action) in tries {
        assert_eq!(
            send(&server, method, &path, &climber, body).await,
            403,
            "{path}"
        );
        assert_eq!(
            denied(&db, action, "climber").await,
            1,
            "{action} is recorded"
        );
    }
    let role = db
        .scalar_i64("SELECT count(*) FROM users WHERE username = 'climber' AND role = 'user'")
        .await;
    assert_eq!(role, 1, "nothing changed");
}

async fn m1_idor_attempts_on_sessions_contexts_and_keys_are_recorded(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let owner = server.token("ai_agent", "ai123").await;
    let session = server.open_session(&owner).await;
    let (status, key) = status_and_json(
        server
            .authed(Method::POST, "/auth/api-keys", &owner)
            .json(&json!({"name": "mine"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let key_id = key["id"].as_str().unwrap();
    // An intruder of the same role, who may use sessions but not others'.
    server.new_user("intruder").await;
    assert!(
        db.cli(&["users", "set-role", "intruder", "ai_agent"])
            .status
            .success()
    );
    let intruder = server.token("intruder", "password-intruder").await;

    let context = format!("/api/v1/mcp/session/{session}/context");
    let tries = [
        (Method::GET, context.clone(), None, "session_context_read"),
        (
            Method::PUT,
            context.clone(),
            Some(json!({"stolen": true})),
            "session_context_replaced",
        ),
        (
            Method::DELETE,
            format!("/api/v1/mcp/session/{session}"),
            None,
            "session_closed",
        ),
        (
            Method::DELETE,
            format!("/auth/api-keys/{key_id}"),
            None,
            "api_key_revoked",
        ),
    ];
    for (method, path, body, action) in tries {
        assert_eq!(
            send(&server, method, &path, &intruder, body).await,
            404,
            "{path}"
        );
        assert_eq!(
            denied(&db, action, "intruder").await,
            1,
            "{action} is recorded"
        );
    }
    // On /mcp too: someone else's Mcp-Session-Id.
    let theirs = server.mcp_session(&owner).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let resp = server
        .mcp_request(&intruder, Some(&theirs), &list)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(denied(&db, "session_used", "intruder").await, 1);
    // Ids that exist for nobody are plain 404s, and leave no row.
    let before = db
        .scalar_i64("SELECT count(*) FROM audit_log WHERE outcome = 'denied'")
        .await;
    let nobody = "00000000-0000-4000-8000-000000000000";
    for path in [
        format!("/api/v1/mcp/session/{nobody}"),
        format!("/auth/api-keys/{nobody}"),
    ] {
        assert_eq!(
            send(&server, Method::DELETE, &path, &intruder, None).await,
            404
        );
    }
    let after = db
        .scalar_i64("SELECT count(*) FROM audit_log WHERE outcome = 'denied'")
        .await;
    assert_eq!(before, after);
    // The owner's session and key are untouched.
    assert_eq!(server.get_as(&context, &owner).await.0, 200);
    assert_eq!(
        server
            .get_as("/auth/me", key["api_key"].as_str().unwrap())
            .await
            .0,
        200
    );
}

async fn m1_refusals_count_against_the_callers_limit(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_TOOL_RATE_LIMITS", "user=5")]).await;
    let prober = server.new_user("prober").await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(send(&server, Method::GET, "/api/v1/audit", &prober, None).await);
    }
    assert_eq!(statuses, [403, 403, 403, 403, 403, 429, 429, 429]);
    assert_eq!(
        denied(&db, "audit_read", "prober").await,
        5,
        "refusals past the limit write nothing"
    );
}

on_both_backends!(
    m1_refused_escalations_and_audit_reads_are_recorded,
    m1_idor_attempts_on_sessions_contexts_and_keys_are_recorded,
    m1_refusals_count_against_the_callers_limit,
);
