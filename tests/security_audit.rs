//! Security round two: what a caller can make the audit log store, and
//! how it is read back (H1, L3, L4, L8), and the headers every response
//! carries. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn started(backend: Backend) -> (TestDb, TestServer) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    (db, server)
}

/// The newest audit rows of `action`, as the auditor sees them.
async fn rows_of(server: &TestServer, auditor: &str, action: &str) -> Vec<Value> {
    let (status, body) = server
        .get_as(&format!("/api/v1/audit?action={action}"), auditor)
        .await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().unwrap().clone()
}

async fn h1_large_arguments_and_client_info_are_stored_as_digests(backend: Backend) {
    let (db, server) = started(backend).await;
    let mallory = server.new_user("mallory").await;
    let auditor = server.auditor_token(&db).await;
    let blob = "x".repeat(600 * 1024);
    let (status, _) = server
        .execute(&mallory, "no_such_tool", json!({"blob": blob}), None)
        .await;
    assert_eq!(status, 404);
    let rows = rows_of(&server, &auditor, "no_such_tool").await;
    let stored: Value = serde_json::from_str(rows[0]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(stored["truncated"], true, "{stored}");
    assert!(stored["bytes"].as_u64().unwrap() > 600 * 1024);
    assert_eq!(stored["sha256"].as_str().unwrap().len(), 64);

    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "y".repeat(10 * 1024), "version": "1"}}});
    let resp = server
        .http
        .post(server.url("/mcp"))
        .bearer_auth(&mallory)
        .header("accept", "application/json, text/event-stream")
        .json(&initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let longest = db
        .scalar_i64(
            "SELECT CAST(max(length(CAST(client_info AS TEXT))) AS BIGINT) FROM mcp_sessions",
        )
        .await;
    assert!(longest <= 2048, "client_info stored at {longest} bytes");
    let widest = db
        .scalar_i64("SELECT CAST(max(length(CAST(arguments AS TEXT))) AS BIGINT) FROM audit_log")
        .await;
    assert!(widest <= 8 * 1024, "an audit row holds {widest} bytes");
    let (status, body) = server.get_as("/api/v1/audit/verify", &auditor).await;
    assert_eq!((status, &body["ok"]), (200, &json!(true)), "{body}");
}

/// Rows written before arguments were capped can be a mebibyte each: a
/// page of them is cut by its bytes, and every row is still reached.
async fn h1_audit_pages_are_cut_by_bytes(backend: Backend) {
    let (db, server) = started(backend).await;
    let auditor = server.auditor_token(&db).await;
    let store = db.store().await;
    let huge = format!("{{\"blob\":\"{}\"}}", "z".repeat(1024 * 1024));
    for _ in 0..12 {
        let mut tx = store.begin().await.unwrap();
        tx.append_audit(&aiapi::domain::AuditEntry {
            occurred_at: aiapi::domain::time::now(),
            kind: aiapi::domain::AuditKind::Tool,
            action: "legacy_bulk".into(),
            user_id: None,
            username: Some("old".into()),
            auth_method: None,
            api_key_id: None,
            session_id: None,
            surface: aiapi::domain::Surface::Rest,
            arguments: huge.clone(),
            outcome: aiapi::domain::Outcome::Success,
            error: None,
            duration_ms: 0,
            request_id: None,
            client_addr: None,
            approval_id: None,
            oauth_client_id: None,
            client_request_id: None,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    store.close().await;
    let (status, first) = server
        .get_as("/api/v1/audit?action=legacy_bulk&limit=200", &auditor)
        .await;
    assert_eq!(status, 200);
    let page = first["entries"].as_array().unwrap().len();
    assert!(page < 12, "a page of {page} mebibyte rows");
    let mut seen = page;
    let mut cursor = first["next_cursor"].as_i64();
    while let Some(at) = cursor {
        let (_, next) = server
            .get_as(
                &format!("/api/v1/audit?action=legacy_bulk&limit=200&cursor={at}"),
                &auditor,
            )
            .await;
        seen += next["entries"].as_array().unwrap().len();
        cursor = next["next_cursor"].as_i64();
    }
    assert_eq!(seen, 12, "the cursor reaches every row");
    let export = server
        .authed(
            Method::GET,
            "/api/v1/audit/export?action=legacy_bulk",
            &auditor,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(export.lines().count(), 12);
    let (_, verified) = server.get_as("/api/v1/audit/verify", &auditor).await;
    assert_eq!(verified["ok"], true, "{verified}");
}

async fn l3_csv_cells_never_start_a_formula(backend: Backend) {
    let (db, server) = started(backend).await;
    let auditor = server.auditor_token(&db).await;
    let resp = server
        .post_json(
            "/auth/login",
            &json!({"username": "=HYPERLINK(\"http://evil\")", "password": "whatever-it-is"}),
        )
        .await;
    assert_eq!(resp.status(), 401);
    let csv_text = server
        .authed(
            Method::GET,
            "/api/v1/audit/export?format=csv&action=login",
            &auditor,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let username = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "username")
        .unwrap();
    let cells: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[username].to_owned())
        .collect();
    assert!(
        cells.contains(&"'=HYPERLINK(\"http://evil\")".to_owned()),
        "{cells:?}"
    );
    for record in csv::Reader::from_reader(csv_text.as_bytes()).records() {
        for cell in record.unwrap().iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?}"
            );
        }
    }
}

async fn l4_secrets_are_redacted_by_wider_names_and_by_shape(backend: Backend) {
    let (db, server) = started(backend).await;
    let auditor = server.auditor_token(&db).await;
    let agent = server.token("ai_agent", "ai123").await;
    let key = format!("aiapi_{}", "Q9w8E7r6T5".repeat(4));
    let arguments = json!({
        "pwd": "hunter2-pwd", "pass_word": "hunter2-pw",
        "note": format!("my key is {key}"), "forwarded": format!("Bearer {agent}")
    });
    let (status, _) = server
        .execute(&agent, "no_such_tool", arguments, None)
        .await;
    assert_eq!(status, 404);
    let rows = rows_of(&server, &auditor, "no_such_tool").await;
    let stored = rows[0]["arguments"].as_str().unwrap();
    for secret in ["hunter2-pwd", "hunter2-pw", key.as_str(), agent.as_str()] {
        assert!(!stored.contains(secret), "{stored}");
    }
    assert_eq!(
        stored,
        r#"{"forwarded":"***","note":"***","pass_word":"***","pwd":"***"}"#
    );
}

async fn l8_our_request_id_is_stored_and_the_clients_beside_it(backend: Backend) {
    let (db, server) = started(backend).await;
    let auditor = server.auditor_token(&db).await;
    let agent = server.token("ai_agent", "ai123").await;
    let resp = server
        .authed(Method::POST, "/api/v1/mcp/execute", &agent)
        .header("x-request-id", "chosen-by-client")
        .json(&json!({"tool_name": "search_items", "parameters": {"query": ""}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ours = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(ours, "chosen-by-client");
    assert!(uuid::Uuid::parse_str(&ours).is_ok(), "{ours}");
    let rows = rows_of(&server, &auditor, "search_items").await;
    assert_eq!(rows[0]["request_id"], json!(ours));
    assert_eq!(rows[0]["client_request_id"], "chosen-by-client");
    let export = server
        .authed(
            Method::GET,
            "/api/v1/audit/export?action=search_items",
            &auditor,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let exported: Value = serde_json::from_str(export.lines().next().unwrap()).unwrap();
    assert_eq!(exported["client_request_id"], "chosen-by-client");
}

async fn every_response_says_nosniff(backend: Backend) {
    let (_db, server) = started(backend).await;
    for path in ["/health", "/api/v1/items", "/nowhere", "/openapi.json"] {
        let resp = server.get(path).await;
        assert_eq!(
            resp.headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{path}"
        );
    }
}

async fn cors_allows_only_the_apis_methods_and_no_credentials(backend: Backend) {
    let db = TestDb::create(backend).await;
    let origin = "https://app.example";
    let server = TestServer::start_with(&db, &[("AIAPI_ALLOWED_ORIGINS", origin)]).await;
    let preflight = |method: &'static str| {
        server
            .http
            .request(Method::OPTIONS, server.url("/api/v1/items"))
            .header("origin", origin)
            .header("access-control-request-method", method)
            .send()
    };
    let allowed = preflight("DELETE").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert!(
        allowed
            .headers()
            .get("access-control-allow-credentials")
            .is_none(),
        "{:?}",
        allowed.headers()
    );
    for method in ["TRACE", "CONNECT"] {
        let refused = preflight(method).await.unwrap();
        assert!(
            refused.status().is_client_error(),
            "{method}: {}",
            refused.status()
        );
    }
    // A browser MCP client may send MCP's own headers.
    let mcp_preflight = server
        .http
        .request(Method::OPTIONS, server.url("/mcp"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, mcp-session-id, mcp-protocol-version, last-event-id",
        )
        .send()
        .await
        .unwrap();
    assert!(
        mcp_preflight.status().is_success(),
        "{}",
        mcp_preflight.status()
    );
    let allowed = mcp_preflight
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in [
        "authorization",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
    ] {
        assert!(allowed.contains(header), "{header} not in {allowed:?}");
    }
    // A browser MCP client reads the session, the version and a 401's
    // challenge; CORS hides every response header it is not told to expose.
    let refused = server
        .http
        .post(server.url("/mcp"))
        .header("origin", origin)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let exposed = refused
        .headers()
        .get("access-control-expose-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in ["mcp-session-id", "mcp-protocol-version", "www-authenticate"] {
        assert!(exposed.contains(header), "{header} not in {exposed:?}");
    }
}

async fn m1_rest_item_writes_and_refusals_are_audited(backend: Backend) {
    let (db, server) = started(backend).await;
    let auditor = server.auditor_token(&db).await;
    let owner = server.new_user("olive").await;
    let other = server.new_user("oscar").await;
    let item = server
        .create_item(&owner, json!({"name": "Lamp", "price": 12.5}))
        .await;
    let id = item["id"].as_i64().unwrap();
    let path = format!("/api/v1/items/{id}");
    for (token, method, status) in [
        (&other, Method::PUT, 403),
        (&other, Method::DELETE, 403),
        (&owner, Method::PUT, 200),
        (&owner, Method::DELETE, 204),
    ] {
        let resp = server
            .authed(method.clone(), &path, token)
            .json(&json!({"name": "Lamp 2"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{method}");
    }
    let created = rows_of(&server, &auditor, "item_created").await;
    assert_eq!(created.len(), 1);
    let arguments: Value = serde_json::from_str(created[0]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments["item_id"], id);
    assert_eq!(arguments["name"], "Lamp");
    assert_eq!(created[0]["username"], "olive");
    for action in ["item_updated", "item_deleted"] {
        let rows = rows_of(&server, &auditor, action).await;
        let outcomes: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r["username"].as_str().unwrap(),
                    r["outcome"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            outcomes,
            [("olive", "success"), ("oscar", "denied")],
            "{action}"
        );
    }
}

async fn m1_audit_reads_and_exports_are_recorded(backend: Backend) {
    let (db, server) = started(backend).await;
    let auditor = server.auditor_token(&db).await;
    let (status, _) = server
        .get_as("/api/v1/audit?action=login&limit=5", &auditor)
        .await;
    assert_eq!(status, 200);
    let resp = server
        .authed(
            Method::GET,
            "/api/v1/audit/export?format=csv&outcome=denied",
            &auditor,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let reads = rows_of(&server, &auditor, "audit_read").await;
    // A listing's own row is written after its page is read.
    assert_eq!(reads.len(), 1, "one row per request");
    let first: Value = serde_json::from_str(reads[0]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&first["action"], &first["limit"]),
        (&json!("login"), &json!(5))
    );
    let exports = rows_of(&server, &auditor, "audit_exported").await;
    assert_eq!(exports.len(), 1);
    let details: Value = serde_json::from_str(exports[0]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&details["format"], &details["outcome"]),
        (&json!("csv"), &json!("denied"))
    );
    let before = db
        .scalar_i64("SELECT count(*) FROM audit_log WHERE action = 'audit_read'")
        .await;
    for path in [
        "/api/v1/audit/1",
        "/api/v1/audit/summary",
        "/api/v1/audit/verify",
    ] {
        assert_eq!(server.get_as(path, &auditor).await.0, 200, "{path}");
    }
    let after = db
        .scalar_i64("SELECT count(*) FROM audit_log WHERE action = 'audit_read'")
        .await;
    assert_eq!(after - before, 2, "a row read and a summary");
    let verified = db
        .scalar_i64("SELECT count(*) FROM audit_log WHERE action = 'audit_verified'")
        .await;
    assert_eq!(verified, 1);
}

on_both_backends!(
    h1_large_arguments_and_client_info_are_stored_as_digests,
    h1_audit_pages_are_cut_by_bytes,
    l3_csv_cells_never_start_a_formula,
    l4_secrets_are_redacted_by_wider_names_and_by_shape,
    l8_our_request_id_is_stored_and_the_clients_beside_it,
    every_response_says_nosniff,
    cors_allows_only_the_apis_methods_and_no_credentials,
    m1_rest_item_writes_and_refusals_are_audited,
    m1_audit_reads_and_exports_are_recorded,
);
