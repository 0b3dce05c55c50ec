//! What `/mcp` does differently by protocol revision, over raw HTTP:
//! negotiation and the version headers, the stateless 2026-07-28 revision,
//! and the SSE priming event, on both backends.

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

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
}

/// POST with explicit protocol headers; returns status and the JSON message.
async fn post_with(
    server: &TestServer,
    token: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, Value) {
    let mut request = server
        .http
        .post(server.url("/mcp"))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let resp = request.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let message = jsonrpc_message(&text).unwrap_or(Value::Null);
    (status, message)
}

async fn versions_are_negotiated_and_checked(backend: Backend) {
    let (db, server) = started(backend).await;
    let token = server.token("ai_agent", "ai123").await;
    // An unknown version in initialize is answered with our latest handshake revision.
    let mut init = initialize();
    init["params"]["protocolVersion"] = json!("2024-01-01");
    let resp = server
        .http
        .post(server.url("/mcp"))
        .bearer_auth(&token)
        .header("accept", "application/json, text/event-stream")
        .json(&init)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sid = resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = resp.text().await.unwrap();
    assert!(text.contains(r#""protocolVersion":"2025-11-25""#), "{text}");
    let client_info = db
        .texts(&format!(
            "SELECT CAST(client_info AS TEXT) FROM mcp_sessions WHERE id = '{sid}'"
        ))
        .await;
    assert!(
        client_info[0].as_deref().unwrap().contains("raw"),
        "{client_info:?}"
    );
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (status, message) = post_with(
        &server,
        &token,
        &[
            ("mcp-session-id", &sid),
            ("mcp-protocol-version", "1999-01-01"),
        ],
        list.clone(),
    )
    .await;
    assert_eq!(
        status, 400,
        "an unsupported MCP-Protocol-Version: {message}"
    );
    assert!(message["error"]["code"].is_i64());
    let (status, message) =
        post_with(&server, &token, &[("mcp-session-id", &sid)], list.clone()).await;
    assert_eq!(status, 200, "an absent header means 2025-03-26: {message}");
    assert!(
        message["result"].get("ttlMs").is_none(),
        "ttlMs is 2026-07-28's: {message}"
    );

    // The stateless revision: per-request _meta, Mcp-Method, resultType and caching hints.
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let stateless =
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": meta}});
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/list"),
    ];
    let (status, message) = post_with(&server, &token, &headers, stateless.clone()).await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(message["result"]["resultType"], "complete");
    assert!(message["result"]["ttlMs"].is_u64());
    assert!(message["result"]["cacheScope"].is_string());
    // The revision has no sessions: a stale or unknown session id is ignored.
    let stale = [
        headers[0],
        headers[1],
        ("mcp-session-id", "no-such-session"),
    ];
    let (status, message) = post_with(&server, &token, &stale, stateless.clone()).await;
    assert_eq!(status, 200, "a session id is ignored: {message}");
    let set_level = json!({"jsonrpc": "2.0", "id": 9, "method": "logging/setLevel",
                           "params": {"level": "info", "_meta": meta}});
    let (status, message) = post_with(
        &server,
        &token,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "logging/setLevel"),
        ],
        set_level,
    )
    .await;
    assert_eq!(
        message["error"]["code"], -32601,
        "2026-07-28 has no logging/setLevel ({status}): {message}"
    );
    let (status, message) = post_with(
        &server,
        &token,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
        ],
        stateless,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        message["error"]["code"], -32020,
        "Mcp-Method must match the body"
    );
    let call = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
                      "params": {"name": "search_items", "arguments": {"query": ""}, "_meta": meta}});
    let (status, message) = post_with(
        &server,
        &token,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "get_item"),
        ],
        call.clone(),
    )
    .await;
    assert_eq!(
        (status, message["error"]["code"].as_i64()),
        (400, Some(-32020)),
        "Mcp-Name must match"
    );
    let (status, message) = post_with(
        &server,
        &token,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
        ],
        call.clone(),
    )
    .await;
    assert_eq!(
        (status, message["error"]["code"].as_i64()),
        (400, Some(-32020)),
        "Mcp-Name is required"
    );
    let (status, message) = post_with(
        &server,
        &token,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "search_items"),
        ],
        call,
    )
    .await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(message["result"]["resultType"], "complete");
    let discover =
        json!({"jsonrpc": "2.0", "id": 4, "method": "server/discover", "params": {"_meta": meta}});
    let (status, message) = post_with(
        &server,
        &token,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "server/discover"),
        ],
        discover,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        message["result"]["supportedVersions"],
        json!(["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"])
    );
    let old_meta = json!({"io.modelcontextprotocol/protocolVersion": "1999-01-01", "io.modelcontextprotocol/clientCapabilities": {}});
    let unsupported =
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {"_meta": old_meta}});
    let (status, message) = post_with(
        &server,
        &token,
        &[("mcp-protocol-version", "1999-01-01")],
        unsupported,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(message["error"]["code"], -32022);
    assert!(
        message["error"]["data"]["supported"]
            .as_array()
            .is_some_and(|v| v.len() == 4)
    );
}

/// The first SSE event of an `initialize` asking for `revision`.
async fn first_event(server: &TestServer, token: &str, revision: &str) -> String {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": revision, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
    let resp = server
        .http
        .post(server.url("/mcp"))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    text.split("\n\n").next().unwrap_or_default().to_owned()
}

async fn the_priming_event_goes_only_to_clients_that_expect_it(backend: Backend) {
    let (_db, server) = started(backend).await;
    let token = server.token("admin", "admin123").await;
    for revision in ["2025-03-26", "2025-06-18"] {
        let first = first_event(&server, &token, revision).await;
        assert!(first.contains("data: {"), "{revision}: {first:?}");
    }
    let first = first_event(&server, &token, "2025-11-25").await;
    assert!(
        first.contains("retry:") && !first.contains("data: {"),
        "2025-11-25 is primed: {first:?}"
    );
}

on_both_backends!(
    versions_are_negotiated_and_checked,
    the_priming_event_goes_only_to_clients_that_expect_it,
);
