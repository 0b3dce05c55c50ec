//! Browser clients: with `AIAPI_ALLOWED_ORIGINS` set, a listed origin may
//! call the REST API (preflight included) and `/mcp`; any other origin is
//! refused on both. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::json;

const ALLOWED: &str = "https://app.example";
const REFUSED: &str = "https://evil.example";

async fn listed_origins_pass_and_others_are_refused(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_ALLOWED_ORIGINS", ALLOWED)]).await;
    let token = server.token("ai_agent", "ai123").await;

    let preflight = |origin: &'static str| {
        server
            .http
            .request(Method::OPTIONS, server.url("/api/v1/items"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight(ALLOWED).await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        ALLOWED,
        "the listed origin is allowed"
    );
    let refused = preflight(REFUSED).await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "{:?}",
        refused.headers()
    );
    assert!(refused.status().is_client_error(), "{}", refused.status());

    let get = |origin: &'static str| {
        server
            .authed(Method::GET, "/api/v1/items", &token)
            .header("origin", origin)
            .send()
    };
    let resp = get(ALLOWED).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], ALLOWED);
    let resp = get(REFUSED).await.unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "browser", "version": "1"}}});
    let mcp = |origin: &'static str| {
        server
            .http
            .post(server.url("/mcp"))
            .bearer_auth(&token)
            .header("origin", origin)
            .header("accept", "application/json, text/event-stream")
            .json(&initialize)
            .send()
    };
    let resp = mcp(ALLOWED).await.unwrap();
    assert_eq!(resp.status(), 200, "a listed origin may use /mcp");
    assert_eq!(resp.headers()["access-control-allow-origin"], ALLOWED);
    let resp = mcp(REFUSED).await.unwrap();
    assert_eq!(resp.status(), 403, "another origin may not");
}

on_both_backends!(listed_origins_pass_and_others_are_refused);
