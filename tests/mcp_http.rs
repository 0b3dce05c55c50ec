//! The MCP endpoint `/mcp` over raw HTTP: sessions bound to their user and
//! served by any replica, the transport's refusals in JSON-RPC, Host and
//! Origin checks, on both backends (what differs by protocol revision is in
//! `mcp_revisions.rs`).

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::jsonrpc_message;
use common::{Backend, TestDb, TestServer};
use serde_json::{Value, json};

async fn started(backend: Backend) -> (TestDb, TestServer) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    (db, server)
}

/// One JSON-RPC POST over raw HTTP; returns status, session id header, and
/// the JSON message (from a JSON body or the SSE data line).
async fn post(
    server: &TestServer,
    token: &str,
    session: Option<&str>,
    body: Value,
) -> (u16, Option<String>, Value) {
    let mut request = server
        .http
        .post(server.url("/mcp"))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body);
    if let Some(id) = session {
        request = request.header("mcp-session-id", id);
    }
    let resp = request.send().await.unwrap();
    let status = resp.status().as_u16();
    let sid = resp
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    let message = jsonrpc_message(&text).unwrap_or(Value::Null);
    (status, sid, message)
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
}

async fn sessions_are_bound_to_their_user_and_end_with_delete(backend: Backend) {
    let (db, server) = started(backend).await;
    let alice = server.token("ai_agent", "ai123").await;
    let bob = server.new_user("bob").await;
    let (status, sid, message) = post(&server, &alice, None, initialize()).await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(message["result"]["protocolVersion"], "2025-11-25");
    let sid = sid.expect("Mcp-Session-Id");
    post(
        &server,
        &alice,
        Some(&sid),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (status, _, message) = post(&server, &alice, Some(&sid), list.clone()).await;
    assert_eq!(
        (status, message["result"]["tools"].as_array().map(Vec::len)),
        (200, Some(8))
    );
    let (status, _, message) = post(
        &server,
        &alice,
        Some(&sid),
        json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}),
    )
    .await;
    assert_eq!((status, message["result"].clone()), (200, json!({})));

    // Bob cannot use Alice's session: it does not exist for him.
    let (status, _, message) = post(&server, &bob, Some(&sid), list.clone()).await;
    assert_eq!(status, 404);
    assert_eq!(message["error"]["code"], -32004);
    assert_eq!(message["id"], Value::Null);
    let (status, _, _) = post(&server, &alice, Some("not-a-session"), list.clone()).await;
    assert_eq!(status, 404);

    // A second replica serves the session too.
    let replica = TestServer::start(&db).await;
    let (status, _, message) = post(&replica, &alice, Some(&sid), list.clone()).await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(message["result"]["tools"].as_array().map(Vec::len), Some(8));

    let resp = server
        .http
        .delete(server.url("/mcp"))
        .bearer_auth(&alice)
        .header("mcp-session-id", &sid)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .unwrap();
    assert!(
        resp.status() == 204 || resp.status() == 200,
        "{}",
        resp.status()
    );
    let (status, _, message) = post(&server, &alice, Some(&sid), list.clone()).await;
    assert_eq!(
        (status, message["error"]["code"].as_i64()),
        (404, Some(-32004))
    );
    let (status, _, _) = post(&replica, &alice, Some(&sid), list).await;
    assert_eq!(status, 404, "closed everywhere");
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM mcp_sessions WHERE closed_at IS NOT NULL")
            .await,
        1
    );
    // The door's own session events carry its surface.
    assert_eq!(
        db.texts(&format!(
            "SELECT action || ' ' || surface FROM audit_log WHERE session_id = '{sid}' AND kind = 'admin' \
             AND outcome = 'success' ORDER BY seq"
        ))
        .await,
        vec![
            Some("session_opened mcp".to_owned()),
            Some("session_closed mcp".to_owned())
        ]
    );
}

async fn the_transport_refuses_in_json(backend: Backend) {
    let (db, server) = started(backend).await;
    let token = server.token("ai_agent", "ai123").await;
    let raw = |body: &'static str| {
        server
            .http
            .post(server.url("/mcp"))
            .bearer_auth(&token)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (body, status, code) in [
        ("{not json", 400, -32700),
        (r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, 400, -32600),
        (r#"[1, "garbage"]"#, 400, -32600),
    ] {
        let resp = raw(body).await.unwrap();
        assert_eq!(resp.status(), status, "{body}");
        let message: Value = resp.json().await.unwrap();
        assert_eq!(message["error"]["code"], code, "{body}");
        assert_eq!(message["jsonrpc"], "2.0");
    }
    // A request without a session (2025 era) is refused by the transport, in JSON.
    let resp = raw(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());
    let message: Value = resp.json().await.unwrap();
    assert!(message["error"]["code"].is_i64(), "{message}");

    // Credentials and permissions.
    let resp = server
        .http
        .post(server.url("/mcp"))
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let metadata = format!(
        "resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
        server.base
    );
    assert!(challenge.contains(&metadata), "{challenge}");
    assert!(
        challenge.contains("scope=\"read:items write:items") && challenge.contains("use:mcp_tools"),
        "the 401 hints at the scopes to ask for: {challenge}"
    );
    let (status, doc) = common::api::status_and_json(
        server
            .http
            .get(server.url("/.well-known/oauth-protected-resource/mcp"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["resource"], format!("{}/mcp", server.base));
    assert_eq!(doc["authorization_servers"], json!([server.base]));
    assert_eq!(
        server
            .get("/.well-known/oauth-protected-resource")
            .await
            .status(),
        200
    );

    server.new_user("viewer").await;
    assert!(
        db.cli(&["users", "set-role", "viewer", "readonly"])
            .status
            .success()
    );
    let viewer = server.token("viewer", "password-viewer").await;
    let resp = server
        .http
        .post(server.url("/mcp"))
        .bearer_auth(&viewer)
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );

    // Browsers from other origins, and other Host names, are refused.
    let evil = server
        .http
        .post(server.url("/mcp"))
        .bearer_auth(&token)
        .header("origin", "https://evil.example")
        .header("accept", "application/json, text/event-stream")
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    let message: Value = evil.json().await.unwrap();
    assert!(
        message["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Origin")
    );
    // The server's own origin is no rebinding: a page it serves may call it,
    // under any loopback name.
    let own = server.base.clone();
    for origin in [own.clone(), own.replace("127.0.0.1", "localhost")] {
        let resp = server
            .http
            .post(server.url("/mcp"))
            .bearer_auth(&token)
            .header("origin", &origin)
            .header("accept", "application/json, text/event-stream")
            .json(&initialize())
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            200,
            "{origin}: {}",
            resp.text().await.unwrap()
        );
    }
    let rebound = server
        .http
        .post(server.url("/mcp"))
        .bearer_auth(&token)
        .header("host", "evil.example")
        .header("accept", "application/json, text/event-stream")
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403, "a foreign Host (DNS rebinding)");
    let message: Value = rebound.json().await.unwrap();
    assert!(message["error"]["code"].is_i64(), "{message}");

    // An auditor reads the audit log, and has no business on /mcp.
    server.new_user("inspector").await;
    assert!(
        db.cli(&["users", "set-role", "inspector", "auditor"])
            .status
            .success()
    );
    let inspector = server.token("inspector", "password-inspector").await;
    let resp = server
        .http
        .post(server.url("/mcp"))
        .bearer_auth(&inspector)
        .header("accept", "application/json, text/event-stream")
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

on_both_backends!(
    sessions_are_bound_to_their_user_and_end_with_delete,
    the_transport_refuses_in_json,
);
