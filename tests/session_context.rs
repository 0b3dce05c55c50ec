//! Session context on both doors, on both backends: REST reads, replaces
//! and merges with versions, the MCP tools, limits, isolation and
//! persistence across processes.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::status_and_json;
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn started(backend: Backend, env: &[(&str, &str)]) -> (TestDb, TestServer) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, env).await;
    (db, server)
}

fn path(session: &str) -> String {
    format!("/api/v1/mcp/session/{session}/context")
}

async fn send(
    server: &TestServer,
    method: Method,
    token: &str,
    session: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut request = server.authed(method, &path(session), token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    let resp = request.send().await.unwrap();
    let etag = resp
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = status_and_json(resp).await;
    (status, etag, body)
}

async fn owners_read_replace_and_merge_with_versions(backend: Backend) {
    let (_db, server) = started(backend, &[]).await;
    let agent = server.token("ai_agent", "ai123").await;
    let session = server.open_session(&agent).await;
    let (status, etag, body) = send(&server, Method::GET, &agent, &session, None, None).await;
    assert_eq!(
        (status, etag.as_deref(), body),
        (200, Some("\"0\""), json!({}))
    );

    let (status, etag, body) = send(
        &server,
        Method::PUT,
        &agent,
        &session,
        Some(json!({"task": "compare", "seen": [1, 2]})),
        None,
    )
    .await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"1\"")), "{body}");
    let patch = json!({"seen": null, "step": 2, "notes": {"a": "x"}});
    let (status, etag, body) = send(
        &server,
        Method::PATCH,
        &agent,
        &session,
        Some(patch),
        Some("\"1\""),
    )
    .await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"2\"")));
    assert_eq!(
        body,
        json!({"task": "compare", "step": 2, "notes": {"a": "x"}})
    );

    // application/merge-patch+json is accepted too.
    let resp = server
        .authed(Method::PATCH, &path(&session), &agent)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"notes":{"b":"y"}}"#)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 200);
    assert_eq!(body["notes"], json!({"a": "x", "b": "y"}));

    // A stale version is refused and changes nothing.
    let (status, _, body) = send(
        &server,
        Method::PUT,
        &agent,
        &session,
        Some(json!({})),
        Some("\"2\""),
    )
    .await;
    assert_eq!(status, 412, "{body}");
    assert_eq!(body["code"], "precondition_failed");
    let (status, _, _) = send(
        &server,
        Method::PATCH,
        &agent,
        &session,
        Some(json!({"x": 1})),
        Some("\"1\""),
    )
    .await;
    assert_eq!(status, 412);
    let (_, etag, body) = send(&server, Method::GET, &agent, &session, None, None).await;
    assert_eq!(etag.as_deref(), Some("\"3\""));
    assert!(body.get("x").is_none());

    let (status, _, body) = send(
        &server,
        Method::PUT,
        &agent,
        &session,
        Some(json!([1, 2])),
        None,
    )
    .await;
    assert_eq!(status, 422, "{body}");

    let (_, list) = server.get_as("/api/v1/mcp/sessions", &agent).await;
    assert_eq!(list["sessions"][0]["context_version"], 3);
    let size = list["sessions"][0]["context_size"].as_i64().unwrap();
    assert!(size > 20, "{size}");
}

async fn others_get_404_and_admins_may_read(backend: Backend) {
    let (db, server) = started(backend, &[]).await;
    let agent = server.token("ai_agent", "ai123").await;
    let other = server.new_user("other").await;
    let admin = server.admin_token().await;
    let session = server.open_session(&agent).await;
    send(
        &server,
        Method::PUT,
        &agent,
        &session,
        Some(json!({"secret_plan": "world domination"})),
        None,
    )
    .await;
    for method in [Method::GET, Method::PUT, Method::PATCH] {
        let body = (method != Method::GET).then(|| json!({"x": 1}));
        let (status, _, _) = send(&server, method.clone(), &other, &session, body, None).await;
        assert_eq!(status, 404, "{method}");
    }
    let (status, _, _) = send(&server, Method::GET, &agent, "no-such-session", None, None).await;
    assert_eq!(status, 404);

    let (status, _, body) = send(&server, Method::GET, &admin, &session, None, None).await;
    assert_eq!(
        (status, body["secret_plan"].as_str()),
        (200, Some("world domination"))
    );
    let rows = db.texts("SELECT arguments FROM audit_log WHERE action = 'session_context_read' AND kind = 'admin' AND outcome <> 'denied'").await;
    assert_eq!(rows.len(), 1);
    assert!(
        !rows[0].as_deref().unwrap().contains("domination"),
        "the body never reaches the audit log"
    );

    server.close_session(&agent, &session).await;
    let (status, _, _) = send(&server, Method::GET, &agent, &session, None, None).await;
    assert_eq!(status, 404, "closed sessions have no context");
}

async fn the_context_is_bounded(backend: Backend) {
    let (_db, server) = started(backend, &[("AIAPI_SESSION_CONTEXT_MAX_BYTES", "100")]).await;
    let agent = server.token("ai_agent", "ai123").await;
    let session = server.open_session(&agent).await;
    let (status, _, body) = send(
        &server,
        Method::PUT,
        &agent,
        &session,
        Some(json!({"big": "x".repeat(200)})),
        None,
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "payload_too_large");
    send(
        &server,
        Method::PUT,
        &agent,
        &session,
        Some(json!({"a": "x".repeat(60)})),
        None,
    )
    .await;
    let (status, _, _) = send(
        &server,
        Method::PATCH,
        &agent,
        &session,
        Some(json!({"b": "y".repeat(60)})),
        None,
    )
    .await;
    assert_eq!(status, 413, "a merge that would grow past the limit");
    let (_, etag, _) = send(&server, Method::GET, &agent, &session, None, None).await;
    assert_eq!(etag.as_deref(), Some("\"1\""));
}

async fn concurrent_merges_never_lose_an_update(backend: Backend) {
    let (_db, server) = started(backend, &[]).await;
    let agent = server.token("ai_agent", "ai123").await;
    let session = server.open_session(&agent).await;
    let mut patches = tokio::task::JoinSet::new();
    for i in 0..20 {
        let request = server
            .authed(Method::PATCH, &path(&session), &agent)
            .json(&json!({format!("key{i}"): i}));
        patches.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    while let Some(status) = patches.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    let (_, etag, body) = send(&server, Method::GET, &agent, &session, None, None).await;
    assert_eq!(etag.as_deref(), Some("\"20\""));
    for i in 0..20 {
        assert_eq!(body[format!("key{i}")], i, "{body}");
    }
}

async fn the_context_outlives_the_process_and_is_seen_by_replicas(backend: Backend) {
    let db = TestDb::create(backend).await;
    let first = TestServer::start(&db).await;
    let agent = first.token("ai_agent", "ai123").await;
    let session = first.open_session(&agent).await;
    send(
        &first,
        Method::PUT,
        &agent,
        &session,
        Some(json!({"step": 7})),
        None,
    )
    .await;
    let replica = TestServer::start(&db).await;
    let (_, _, body) = send(&replica, Method::GET, &agent, &session, None, None).await;
    assert_eq!(body, json!({"step": 7}));
    drop(first);
    drop(replica);
    let restarted = TestServer::start(&db).await;
    let (status, etag, body) = send(&restarted, Method::GET, &agent, &session, None, None).await;
    assert_eq!(
        (status, etag.as_deref(), body),
        (200, Some("\"1\""), json!({"step": 7}))
    );
}

async fn the_tools_use_the_calls_session(backend: Backend) {
    let (db, server) = started(backend, &[]).await;
    let agent = server.token("ai_agent", "ai123").await;
    let other = server.new_user("someone").await;
    let session = server.open_session(&agent).await;
    let (status, body) = server
        .execute(
            &agent,
            "update_session_context",
            json!({"patch": {"goal": "cheap lamp", "tried": ["a"]}}),
            Some(&session),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["version"], 1);
    let (_, body) = server
        .execute(&agent, "get_session_context", json!({}), Some(&session))
        .await;
    assert_eq!(
        body["result"]["context"],
        json!({"goal": "cheap lamp", "tried": ["a"]})
    );
    let (_, etag, _) = send(&server, Method::GET, &agent, &session, None, None).await;
    assert_eq!(
        etag.as_deref(),
        Some("\"1\""),
        "the same context on both doors"
    );

    // Without a session, a session_id argument names one, under the same rules.
    let (_, body) = server
        .execute(
            &agent,
            "get_session_context",
            json!({"session_id": session}),
            None,
        )
        .await;
    assert_eq!(body["success"], true);
    let (_, body) = server
        .execute(
            &other,
            "get_session_context",
            json!({"session_id": session}),
            None,
        )
        .await;
    assert_eq!(
        (body["success"].as_bool(), body["error"].as_str()),
        (Some(false), Some("session not found"))
    );
    let (_, body) = server
        .execute(&agent, "get_session_context", json!({}), None)
        .await;
    assert_eq!(body["success"], false, "no session at all");
    let (_, body) = server
        .execute(
            &agent,
            "update_session_context",
            json!({"patch": {"x": 1}, "if_version": 0}),
            Some(&session),
        )
        .await;
    assert_eq!(body["success"], false, "stale if_version");

    let arguments = db
        .texts("SELECT arguments FROM audit_log WHERE action = 'update_session_context'")
        .await;
    assert!(
        arguments
            .iter()
            .all(|a| !a.as_deref().unwrap().contains("cheap lamp")),
        "{arguments:?}"
    );
    assert!(arguments[0].as_deref().unwrap().contains("patch_bytes"));
}

on_both_backends!(
    owners_read_replace_and_merge_with_versions,
    others_get_404_and_admins_may_read,
    the_context_is_bounded,
    concurrent_merges_never_lose_an_update,
    the_context_outlives_the_process_and_is_seen_by_replicas,
    the_tools_use_the_calls_session,
);
