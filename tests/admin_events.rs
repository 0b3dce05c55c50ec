//! Account changes record the same admin events whichever door made them:
//! REST, the `manage_users` tool through the REST facade and through
//! `/mcp`, and the CLI, each stamped with its own surface. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

/// Calls `manage_users` through `/mcp` in the stateless revision.
async fn manage_users_over_mcp(server: &TestServer, token: &str, arguments: Value) -> Value {
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let resp = server
        .http
        .post(server.url("/mcp"))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "manage_users")
        .json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "manage_users", "arguments": arguments, "_meta": meta}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let json = text
        .lines()
        .find_map(|line| line.strip_prefix("data:"))
        .unwrap_or(&text);
    let message: Value = serde_json::from_str(json.trim()).unwrap();
    assert_ne!(message["result"]["isError"], true, "{message}");
    message["result"]["structuredContent"].clone()
}

/// `action surface` of the admin events about `username`, in order.
async fn events_about(db: &TestDb, username: &str) -> Vec<String> {
    db.texts(&format!(
        "SELECT action || ' ' || surface FROM audit_log
         WHERE kind = 'admin' AND arguments LIKE '%\"username\":\"{username}\"%' ORDER BY seq"
    ))
    .await
    .into_iter()
    .map(Option::unwrap)
    .collect()
}

fn expected(surface: &str) -> Vec<String> {
    [
        "user_created",
        "user_role_changed",
        "user_deactivated",
        "user_activated",
    ]
    .iter()
    .map(|action| format!("{action} {surface}"))
    .collect()
}

async fn every_door_records_the_same_account_events(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let admin = server.admin_token().await;

    // The REST facade's execute door.
    let (_, created) = server
        .execute(
            &admin,
            "manage_users",
            json!({"action": "create", "user_data": {"username": "via_execute", "email": "e@example.com"}}),
            None,
        )
        .await;
    let id = created["result"]["user"]["id"].as_str().unwrap().to_owned();
    for data in [
        json!({"role": "readonly"}),
        json!({"is_active": false}),
        json!({"is_active": true}),
    ] {
        let (_, body) = server
            .execute(
                &admin,
                "manage_users",
                json!({"action": "update", "user_id": id, "user_data": data}),
                None,
            )
            .await;
        assert_eq!(body["success"], true, "{body}");
    }
    assert_eq!(events_about(&db, "via_execute").await, expected("rest"));

    // The /mcp door.
    let created = manage_users_over_mcp(
        &server,
        &admin,
        json!({"action": "create", "user_data": {"username": "via_mcp", "email": "m@example.com"}}),
    )
    .await;
    let id = created["user"]["id"].as_str().unwrap().to_owned();
    for data in [
        json!({"role": "readonly"}),
        json!({"is_active": false}),
        json!({"is_active": true}),
    ] {
        manage_users_over_mcp(
            &server,
            &admin,
            json!({"action": "update", "user_id": id, "user_data": data}),
        )
        .await;
    }
    assert_eq!(events_about(&db, "via_mcp").await, expected("mcp"));
    let actors = db
        .texts(
            "SELECT DISTINCT username FROM audit_log WHERE kind = 'admin' AND surface = 'mcp' \
             AND action LIKE 'user_%'",
        )
        .await;
    assert_eq!(
        actors,
        vec![Some("admin".to_owned())],
        "the actor is the caller"
    );

    // REST's own endpoints.
    let resp = server
        .authed(Method::POST, "/auth/users", &admin)
        .json(
            &json!({"username": "via_rest", "email": "r@example.com", "password": "password-rest"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for patch in [
        json!({"role": "readonly"}),
        json!({"is_active": false}),
        json!({"is_active": true}),
    ] {
        let resp = server
            .authed(Method::PATCH, &format!("/auth/users/{id}"), &admin)
            .json(&patch)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(events_about(&db, "via_rest").await, expected("rest"));

    // The CLI.
    let mut create = db
        .command(&["users", "create", "via_cli", "--email", "c@example.com"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"password-cli\n")
        .unwrap();
    let out = create.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", common::db::stderr(&out));
    for args in [
        &["users", "set-role", "via_cli", "readonly"][..],
        &["users", "deactivate", "via_cli"],
        &["users", "activate", "via_cli"],
    ] {
        let out = db.cli(args);
        assert!(out.status.success(), "{}", common::db::stderr(&out));
    }
    assert_eq!(events_about(&db, "via_cli").await, expected("cli"));

    let verified = server
        .get_as(
            "/api/v1/audit/verify",
            &server.token("admin", common::api::ADMIN_PASSWORD).await,
        )
        .await
        .1;
    assert_eq!(verified["ok"], true, "{verified}");
}

on_both_backends!(every_door_records_the_same_account_events);
