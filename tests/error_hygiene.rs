//! What failures tell the client: poem's own 4xx statuses are kept (as our
//! JSON), and an internal failure names the request it happened in, never
//! its cause, on REST, on `/mcp` and in the audit log. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::status_and_json;
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn poem_statuses_survive_as_json(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let token = server.token("ai_agent", "ai123").await;

    let (status, body) = status_and_json(
        server
            .authed(Method::POST, "/api/v1/items", &token)
            .header("content-type", "text/plain")
            .body("name=lamp")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["code"], "unsupported_media_type");

    let (status, body) = status_and_json(
        server
            .authed(Method::PUT, "/health", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 405, "{body}");
    assert_eq!(body["code"], "method_not_allowed");

    // /mcp refuses a client that accepts neither JSON nor SSE, in JSON-RPC.
    let resp = server
        .http
        .post(server.url("/mcp"))
        .bearer_auth(&token)
        .header("accept", "text/html")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 406);
    let message: Value = resp.json().await.unwrap();
    assert!(message["error"]["code"].is_i64(), "{message}");

    // Each status is documented, so generated clients and the fuzzer know it.
    let spec = server.get("/openapi.json").await.text().await.unwrap();
    let spec: Value = serde_json::from_str(&spec).unwrap();
    let create = &spec["paths"]["/api/v1/items"]["post"]["responses"];
    for status in ["405", "406", "413", "415"] {
        assert!(create.get(status).is_some(), "{status} undocumented");
    }
}

async fn internal_failures_name_the_request_not_the_cause(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let token = server.token("ai_agent", "ai123").await;
    let (_, created) = server
        .execute(
            &token,
            "create_item",
            json!({"name": "lamp", "price": 3}),
            None,
        )
        .await;
    let id = created["result"]["item"]["id"].as_i64().unwrap();
    // Sabotage: the catalogue's table is gone from under the server.
    db.execute("ALTER TABLE items RENAME TO items_elsewhere")
        .await;
    let leaks = |text: &str| {
        [
            "items_elsewhere",
            "no such table",
            "does not exist",
            "relation",
        ]
        .iter()
        .any(|cause| text.contains(cause))
    };

    let resp = server
        .authed(Method::GET, "/api/v1/items?category=tools", &token)
        .send()
        .await
        .unwrap();
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        body["detail"],
        format!("internal error (request {request_id})")
    );
    assert!(!leaks(&body.to_string()), "{body}");

    let (status, body) = server
        .execute(&token, "get_item", json!({"id": id}), None)
        .await;
    assert_eq!(status, 500, "{body}");
    assert!(!leaks(&body.to_string()), "{body}");
    let audited = db
        .texts("SELECT error FROM audit_log WHERE action = 'get_item' ORDER BY seq")
        .await;
    let audited = audited.last().cloned().flatten().expect("an error row");
    assert!(audited.starts_with("internal error (request "), "{audited}");
    assert!(!leaks(&audited), "{audited}");

    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let uri = format!("aiapi://items/{id}");
    let resp = server
        .http
        .post(server.url("/mcp"))
        .bearer_auth(&token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "resources/read")
        .header("mcp-name", &uri)
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "resources/read",
                      "params": {"uri": uri, "_meta": meta}}),
        )
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert!(text.contains("internal error"), "{text}");
    assert!(!leaks(&text), "{text}");
    // The cause is in the log, for the operator.
    assert!(leaks(&server.log()), "the cause was not logged");
}

on_both_backends!(
    poem_statuses_survive_as_json,
    internal_failures_name_the_request_not_the_cause,
);
