//! One scope vocabulary: an API key may carry scopes, never wider than its
//! owner's role, and a request may do what the role and the scopes both
//! allow, read fresh on every request. What only the scopes refuse is a
//! 403 `insufficient_scope` with a step-up challenge, on REST and on
//! `/mcp`. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::{error_fields, jsonrpc_message, status_and_json};
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn make_key(server: &TestServer, token: &str, body: Value) -> (u16, Value) {
    status_and_json(
        server
            .authed(Method::POST, "/auth/api-keys", token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A key of `token`'s user with `scopes`.
async fn scoped_key(server: &TestServer, token: &str, scopes: &[&str]) -> String {
    let (status, created) =
        make_key(server, token, json!({"name": "agent", "scopes": scopes})).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["scopes"], json!(scopes));
    common::remember_secret(created["api_key"].as_str().unwrap());
    created["api_key"].as_str().unwrap().to_owned()
}

/// The `WWW-Authenticate` header of `resp`.
fn challenge(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn a_key_carries_no_scope_beyond_its_owners_role(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let token = server.new_user("sam").await;

    let (status, whole) = make_key(&server, &token, json!({"name": "whole"})).await;
    assert_eq!(status, 201, "{whole}");
    assert_eq!(whole["scopes"], Value::Null, "no scopes: the whole role");
    scoped_key(&server, &token, &["read:items"]).await;

    for (scopes, why) in [
        (json!(["read:items", "manage:users"]), "beyond the role"),
        (json!([]), "no scope at all"),
        (json!(["read:items", "root"]), "no such scope"),
        (json!("read:items"), "not a list"),
    ] {
        let (status, body) =
            make_key(&server, &token, json!({"name": "wide", "scopes": scopes})).await;
        assert_eq!(status, 422, "{why}: {body}");
        assert!(
            error_fields(&body).iter().all(|f| f.contains("scopes")),
            "{why}: {body}"
        );
    }
    let (status, body) = make_key(
        &server,
        &token,
        json!({"name": "wide", "scopes": ["manage:users"]}),
    )
    .await;
    assert_eq!(status, 422);
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("manage:users") && message.contains("read:items write:items"),
        "names the refused scope and what may be granted: {message}"
    );

    let (_, listed) = server.get_as("/auth/api-keys", &token).await;
    let mut listed: Vec<Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["scopes"].clone())
        .collect();
    listed.sort_by_key(|s| s.to_string());
    assert_eq!(listed, [json!(["read:items"]), Value::Null]);
}

async fn a_scoped_key_may_do_what_its_role_and_scopes_both_allow(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let token = server.new_user("rita").await;
    let reader = scoped_key(&server, &token, &["read:items"]).await;
    let writer = scoped_key(&server, &token, &["read:items", "write:items"]).await;

    let (status, me) = server.get_as("/auth/me", &reader).await;
    assert_eq!(status, 200);
    assert_eq!(me["role"], "user");
    assert_eq!(me["permissions"], json!(["read:items"]), "{me}");
    assert_eq!(server.get_as("/api/v1/items", &reader).await.0, 200);

    let item = json!({"name": "lamp", "price": 12.5, "category": "home"});
    let resp = server
        .authed(Method::POST, "/api/v1/items", &reader)
        .json(&item)
        .send()
        .await
        .unwrap();
    let challenged = challenge(&resp);
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "insufficient_scope", "{body}");
    assert!(
        challenged.starts_with("Bearer ")
            && challenged.contains("error=\"insufficient_scope\"")
            && challenged.contains("scope=\"write:items\""),
        "{challenged}"
    );
    let resp = server
        .authed(Method::POST, "/api/v1/items", &writer)
        .json(&item)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    // The role is read on every request: demoted, the writer's key keeps its
    // scopes but may no longer write, and no scope can help.
    let admin = server.admin_token().await;
    let id = me["id"].as_str().unwrap();
    let resp = server
        .authed(Method::PATCH, &format!("/auth/users/{id}"), &admin)
        .json(&json!({"role": "readonly"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = server
        .authed(Method::POST, "/api/v1/items", &writer)
        .json(&item)
        .send()
        .await
        .unwrap();
    assert!(challenge(&resp).is_empty(), "{}", challenge(&resp));
    let (status, body) = status_and_json(resp).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (_, me) = server.get_as("/auth/me", &writer).await;
    assert_eq!(me["permissions"], json!(["read:items"]), "{me}");
}

/// A JSON-RPC POST to `/mcp` as `key`, in `session`.
async fn mcp_call(
    server: &TestServer,
    key: &str,
    session: &str,
    body: Value,
) -> (u16, String, Value) {
    let resp = server
        .mcp_request(key, Some(session), &body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let challenged = challenge(&resp);
    let text = resp.text().await.unwrap();
    let message = jsonrpc_message(&text).unwrap_or(Value::Null);
    (status, challenged, message)
}

async fn tools_show_and_run_only_what_the_scopes_allow(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let token = server.new_user("moe").await;
    let key = scoped_key(&server, &token, &["read:items", "use:mcp_tools"]).await;

    let (status, listed) = server.get_as("/api/v1/mcp/tools", &key).await;
    assert_eq!(status, 200, "{listed}");
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"get_item"), "{names:?}");
    assert!(!names.contains(&"create_item"), "{names:?}");
    let (_, full) = server.get_as("/api/v1/mcp/tools", &token).await;
    assert!(full["total_tools"].as_i64() > listed["total_tools"].as_i64());

    let session = server.mcp_session(&key).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (status, _, message) = mcp_call(&server, &key, &session, list).await;
    assert_eq!(status, 200);
    let mcp_names: Vec<&str> = message["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(mcp_names, names, "both doors show the same tools");

    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "create_item",
        "arguments": {"name": "kite", "price": 3.0, "category": "toys"}}});
    let (status, challenged, message) = mcp_call(&server, &key, &session, call).await;
    assert_eq!(status, 403, "{message}");
    assert!(
        challenged.contains("error=\"insufficient_scope\"")
            && challenged.contains("scope=\"write:items use:mcp_tools\"")
            && challenged.contains("resource_metadata=\""),
        "{challenged}"
    );
    assert!(
        message["error"]["message"]
            .as_str()
            .unwrap()
            .contains("write:items"),
        "{message}"
    );
    let read = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
        "name": "search_items", "arguments": {"query": ""}}});
    let (status, _, message) = mcp_call(&server, &key, &session, read).await;
    assert_eq!(status, 200);
    assert_eq!(message["result"]["isError"], false, "{message}");

    let resp = server
        .authed(Method::POST, "/api/v1/mcp/execute", &key)
        .json(&json!({"tool_name": "create_item",
            "parameters": {"name": "kite", "price": 3.0, "category": "toys"}}))
        .send()
        .await
        .unwrap();
    assert!(challenge(&resp).contains("insufficient_scope"));
    let (status, body) = status_and_json(resp).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("insufficient_scope"))
    );

    // Both refusals are in the audit log, as denied calls of the key.
    let auditor = server.auditor_token(&db).await;
    let (_, rows) = server
        .get_as("/api/v1/audit?action=create_item&limit=10", &auditor)
        .await;
    let rows = rows["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in rows {
        assert_eq!(row["outcome"], "denied", "{row}");
        assert_eq!(row["auth_method"], "api_key", "{row}");
    }

    // Without use:mcp_tools the door itself asks for it.
    let no_tools = scoped_key(&server, &token, &["read:items"]).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}});
    let resp = server
        .mcp_request(&no_tools, None, &init)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(
        challenge(&resp).contains("scope=\"use:mcp_tools\""),
        "{}",
        challenge(&resp)
    );
}

async fn resources_ask_for_read_items(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let token = server.new_user("ike").await;
    let key = scoped_key(&server, &token, &["use:mcp_tools"]).await;
    let session = server.mcp_session(&key).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "resources/list"});
    let (status, challenged, _) = mcp_call(&server, &key, &session, list).await;
    assert_eq!(status, 403);
    assert!(challenged.contains("scope=\"read:items\""), "{challenged}");
}

async fn the_cli_makes_scoped_keys_within_the_role(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    server.new_user("cleo").await;
    let out = db.cli(&[
        "api-keys",
        "create",
        "cleo",
        "--scope",
        "read:items",
        "--scope",
        "use:mcp_tools",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (_, me) = server.get_as("/auth/me", &key).await;
    assert_eq!(me["permissions"], json!(["read:items", "use:mcp_tools"]));
    let listing =
        String::from_utf8_lossy(&db.cli(&["api-keys", "list", "cleo"]).stdout).into_owned();
    assert!(listing.contains("read:items use:mcp_tools"), "{listing}");

    for (scope, says) in [("read:audit", "read:audit"), ("root", "unknown scope")] {
        let out = db.cli(&["api-keys", "create", "cleo", "--scope", scope]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains(says), "{stderr}");
    }
}

async fn a_scoped_credential_cannot_manage_the_account(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let token = server.new_user("tess").await;
    let key = scoped_key(&server, &token, &["read:items"]).await;
    let send = |method: Method, path: &'static str, body: Value| {
        let request = server.authed(method, path, &key).json(&body);
        async move { status_and_json(request.send().await.unwrap()).await }
    };
    for (method, path, body) in [
        (Method::PUT, "/auth/me", json!({"full_name": "Mallory"})),
        (
            Method::POST,
            "/auth/logout?all=true&revoke_api_keys=true",
            json!(null),
        ),
        (Method::GET, "/auth/api-keys", json!(null)),
        (Method::GET, "/auth/connected-apps", json!(null)),
        (
            Method::POST,
            "/auth/me/password",
            json!({"current_password": "password-tess", "new_password": "mallory-password"}),
        ),
    ] {
        let (status, body) = send(method.clone(), path, body).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("scopes"),
            "{body}"
        );
    }
    // The login itself still works, and so does the key.
    assert_eq!(server.get_as("/auth/me", &token).await.0, 200);
    assert_eq!(server.get_as("/auth/me", &key).await.0, 200);
}

on_both_backends!(
    a_scoped_credential_cannot_manage_the_account,
    a_key_carries_no_scope_beyond_its_owners_role,
    a_scoped_key_may_do_what_its_role_and_scopes_both_allow,
    tools_show_and_run_only_what_the_scopes_allow,
    resources_ask_for_read_items,
    the_cli_makes_scoped_keys_within_the_role,
);
