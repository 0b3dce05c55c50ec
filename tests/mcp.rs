//! The MCP endpoint `/mcp`, driven by the official Rust SDK's client and by
//! raw HTTP for transport details, on both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::{Backend, TestDb, TestServer};
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, GetPromptRequestParams,
    Implementation, ProtocolVersion, ReadResourceRequestParams,
};
use rmcp::service::{
    ClientLifecycleMode, ClientServiceExt, RoleClient, RunningService, ServiceError,
};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

type Client = RunningService<RoleClient, ClientConfig>;

/// How a client authenticates.
enum Credential<'a> {
    Bearer(&'a str),
    ApiKeyHeader(&'a str),
}

async fn connect(
    server: &TestServer,
    credential: Credential<'_>,
    version: ProtocolVersion,
) -> Client {
    let mut config = StreamableHttpClientTransportConfig::with_uri(server.url("/mcp"));
    match credential {
        Credential::Bearer(token) => config.auth_header = Some(token.to_owned()),
        Credential::ApiKeyHeader(key) => {
            config.custom_headers.insert(
                HeaderName::from_static("x-api-key"),
                HeaderValue::from_str(key).unwrap(),
            );
        }
    }
    let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
    let client = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("aiapi-tests", "1.0"),
    )
    .with_protocol_version(version.clone());
    // The stateless revision has no initialize: the client discovers instead.
    let lifecycle = if version == ProtocolVersion::V_2026_07_28 {
        ClientLifecycleMode::Discover {
            preferred_versions: vec![version],
        }
    } else {
        ClientLifecycleMode::Initialize
    };
    client
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .expect("MCP handshake")
}

fn args(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().cloned().unwrap()
}

fn call(name: &'static str, arguments: Value) -> CallToolRequestParams {
    CallToolRequestParams::new(name).with_arguments(args(arguments))
}

async fn started(backend: Backend) -> (TestDb, TestServer) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    (db, server)
}

async fn a_session_client_lists_and_calls_every_tool(backend: Backend) {
    let (db, server) = started(backend).await;
    let token = server.token("ai_agent", "ai123").await;
    let client = connect(
        &server,
        Credential::Bearer(&token),
        ProtocolVersion::V_2025_11_25,
    )
    .await;
    let info = client.peer_info().expect("server info");
    assert_eq!(info.protocol_version, ProtocolVersion::V_2025_11_25);
    assert_eq!(
        info.server_info.as_ref().map(|s| s.name.as_str()),
        Some("aiapi")
    );
    assert!(
        info.capabilities.tools.is_some()
            && info.capabilities.resources.is_some()
            && info.capabilities.prompts.is_some()
    );

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "create_item",
            "search_items",
            "analyze_items",
            "get_item",
            "update_item",
            "delete_item",
            "get_session_context",
            "update_session_context",
        ]
    );
    let create = &tools[0];
    assert_eq!(create.title.as_deref(), Some("Create item"));
    assert!(create.input_schema.get("properties").is_some());
    assert!(create.output_schema.is_some());
    assert_eq!(
        create.annotations.as_ref().unwrap().read_only_hint,
        Some(false)
    );
    assert_eq!(
        tools[1].annotations.as_ref().unwrap().read_only_hint,
        Some(true)
    );

    let created = client
        .call_tool(call(
            "create_item",
            json!({"name": "MCP lamp", "price": 12.5}),
        ))
        .await
        .unwrap();
    assert_ne!(created.is_error, Some(true));
    let structured = created.structured_content.clone().unwrap();
    assert_eq!(structured["item"]["name"], "MCP lamp");
    let text = created.content[0].as_text().unwrap().text.clone();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        structured,
        "text mirrors structuredContent"
    );
    let id = structured["item"]["id"].as_i64().unwrap();

    for (tool, arguments, key) in [
        ("search_items", json!({"query": "lamp"}), "total_found"),
        (
            "analyze_items",
            json!({"analysis_type": "category_breakdown"}),
            "analysis",
        ),
        ("get_item", json!({"id": id}), "item"),
        ("update_item", json!({"id": id, "price": 13}), "item"),
        ("delete_item", json!({"id": id}), "item_id"),
    ] {
        let result = client.call_tool(call(tool, arguments)).await.unwrap();
        assert_ne!(result.is_error, Some(true), "{tool}: {result:?}");
        assert!(
            result
                .structured_content
                .as_ref()
                .unwrap()
                .get(key)
                .is_some(),
            "{tool}"
        );
    }

    // Bound to its user in the database, and every call audited with its session.
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM mcp_sessions WHERE surface = 'mcp'")
            .await,
        1
    );
    let version = db
        .texts("SELECT protocol_version FROM mcp_sessions WHERE surface = 'mcp'")
        .await;
    assert_eq!(version[0].as_deref(), Some("2025-11-25"));
    assert_eq!(
        db.scalar_i64("SELECT tool_usage_count FROM mcp_sessions WHERE surface = 'mcp'")
            .await,
        6
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM audit_log WHERE kind = 'tool' AND surface = 'mcp' AND session_id IS NOT NULL").await,
        6
    );
    client.cancel().await.unwrap();
}

async fn errors_follow_the_spec(backend: Backend) {
    let (db, server) = started(backend).await;
    let token = server.token("ai_agent", "ai123").await;
    let client = connect(
        &server,
        Credential::Bearer(&token),
        ProtocolVersion::V_2025_11_25,
    )
    .await;
    match client.call_tool(call("launch_rockets", json!({}))).await {
        Err(ServiceError::McpError(e)) => assert_eq!(e.code.0, -32602),
        other => panic!("an unknown tool is a JSON-RPC error: {other:?}"),
    }
    let invalid = client
        .call_tool(call("search_items", json!({"query": "x", "limit": 1000})))
        .await
        .unwrap();
    assert_eq!(
        invalid.is_error,
        Some(true),
        "2025-11-25: invalid arguments are a tool error"
    );
    assert!(
        invalid.content[0]
            .as_text()
            .unwrap()
            .text
            .contains("/limit")
    );
    let denied = client
        .call_tool(call("manage_users", json!({"action": "list"})))
        .await
        .unwrap();
    assert_eq!(denied.is_error, Some(true));
    assert!(
        denied.content[0]
            .as_text()
            .unwrap()
            .text
            .contains("manage:users")
    );
    let gone = client
        .call_tool(call("get_item", json!({"id": 777})))
        .await
        .unwrap();
    assert_eq!(gone.is_error, Some(true));
    assert_eq!(
        gone.content[0].as_text().unwrap().text,
        "item 777 not found"
    );
    let outcomes = db
        .texts("SELECT outcome FROM audit_log WHERE surface = 'mcp' AND kind = 'tool' ORDER BY seq")
        .await;
    let outcomes: Vec<&str> = outcomes.iter().map(|o| o.as_deref().unwrap()).collect();
    assert_eq!(outcomes, ["not_found", "invalid", "denied", "error"]);
    client.cancel().await.unwrap();

    // Before 2025-11-25, invalid arguments are a JSON-RPC error.
    let old = connect(
        &server,
        Credential::Bearer(&token),
        ProtocolVersion::V_2025_06_18,
    )
    .await;
    assert_eq!(
        old.peer_info().unwrap().protocol_version,
        ProtocolVersion::V_2025_06_18
    );
    match old
        .call_tool(call("search_items", json!({"query": "x", "limit": 1000})))
        .await
    {
        Err(ServiceError::McpError(e)) => assert_eq!(e.code.0, -32602),
        other => panic!("{other:?}"),
    }
    old.cancel().await.unwrap();
}

async fn api_keys_authenticate_both_ways(backend: Backend) {
    let (db, server) = started(backend).await;
    let out = db.cli(&["api-keys", "create", "ai_agent", "--name", "mcp"]);
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    for credential in [Credential::ApiKeyHeader(&key), Credential::Bearer(&key)] {
        let client = connect(&server, credential, ProtocolVersion::V_2025_11_25).await;
        let result = client
            .call_tool(call("search_items", json!({"query": ""})))
            .await
            .unwrap();
        assert_ne!(result.is_error, Some(true));
        client.cancel().await.unwrap();
    }
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM audit_log WHERE surface = 'mcp' AND kind = 'tool' AND auth_method = 'api_key' AND api_key_id IS NOT NULL").await,
        2
    );
}

async fn the_stateless_revision_needs_no_session(backend: Backend) {
    let (db, server) = started(backend).await;
    let token = server.token("ai_agent", "ai123").await;
    let client = connect(
        &server,
        Credential::Bearer(&token),
        ProtocolVersion::V_2026_07_28,
    )
    .await;
    assert_eq!(
        client.peer_info().unwrap().protocol_version,
        ProtocolVersion::V_2026_07_28
    );
    let result = client
        .call_tool(call(
            "create_item",
            json!({"name": "stateless", "price": 1}),
        ))
        .await
        .unwrap();
    assert_ne!(result.is_error, Some(true), "{result:?}");
    assert_eq!(client.list_all_tools().await.unwrap().len(), 8);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM mcp_sessions").await, 0);
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) FROM audit_log WHERE surface = 'mcp' AND kind = 'tool' AND session_id IS NULL"
        )
        .await,
        1
    );
    client.cancel().await.unwrap();
}

async fn resources_and_prompts(backend: Backend) {
    let (_db, server) = started(backend).await;
    let token = server.token("ai_agent", "ai123").await;
    for i in 0..3 {
        server
            .create_item(
                &token,
                json!({"name": format!("thing {i}"), "price": i + 1}),
            )
            .await;
    }
    let client = connect(
        &server,
        Credential::Bearer(&token),
        ProtocolVersion::V_2025_11_25,
    )
    .await;
    let resources = client.list_all_resources().await.unwrap();
    assert_eq!(resources.len(), 3);
    assert_eq!(resources[0].uri, "aiapi://items/1");
    let read = client
        .read_resource(ReadResourceRequestParams::new("aiapi://items/2"))
        .await
        .unwrap();
    let text = match &read.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["name"],
        "thing 1"
    );
    assert!(
        client
            .read_resource(ReadResourceRequestParams::new("aiapi://items/99"))
            .await
            .is_err()
    );
    let templates = client.list_all_resource_templates().await.unwrap();
    assert_eq!(templates[0].uri_template, "aiapi://items/{id}");
    let prompts = client.list_all_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["analyze_catalogue", "find_item"]);
    let prompt = client
        .get_prompt(
            GetPromptRequestParams::new("find_item")
                .with_arguments(args(json!({"description": "a red lamp"}))),
        )
        .await
        .unwrap();
    assert!(format!("{:?}", prompt.messages[0]).contains("a red lamp"));
    assert!(
        client
            .get_prompt(GetPromptRequestParams::new("find_item"))
            .await
            .is_err()
    );
    client.cancel().await.unwrap();
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
    let message = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .chain(std::iter::once(text.as_str()))
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v.get("jsonrpc").is_some())
        })
        .unwrap_or(Value::Null);
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
            "SELECT action || ' ' || surface FROM audit_log WHERE session_id = '{sid}' AND kind = 'admin' ORDER BY seq"
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

async fn context_tools_act_on_the_mcp_session(backend: Backend) {
    let (db, server) = started(backend).await;
    let token = server.token("ai_agent", "ai123").await;
    let client = connect(
        &server,
        Credential::Bearer(&token),
        ProtocolVersion::V_2025_11_25,
    )
    .await;
    let updated = client
        .call_tool(call(
            "update_session_context",
            json!({"patch": {"plan": ["search", "compare"]}}),
        ))
        .await
        .unwrap();
    assert_ne!(updated.is_error, Some(true), "{updated:?}");
    assert_eq!(updated.structured_content.as_ref().unwrap()["version"], 1);
    let read = client
        .call_tool(call("get_session_context", json!({})))
        .await
        .unwrap();
    assert_eq!(
        read.structured_content.unwrap()["context"],
        json!({"plan": ["search", "compare"]})
    );
    let sid = db
        .texts("SELECT id FROM mcp_sessions WHERE surface = 'mcp'")
        .await
        .remove(0)
        .unwrap();

    // A stateless (2026-07-28) call names the session explicitly.
    let stateless = connect(
        &server,
        Credential::Bearer(&token),
        ProtocolVersion::V_2026_07_28,
    )
    .await;
    let read = stateless
        .call_tool(call("get_session_context", json!({"session_id": sid})))
        .await
        .unwrap();
    assert_eq!(read.structured_content.unwrap()["version"], 1);
    let missing = stateless
        .call_tool(call("get_session_context", json!({})))
        .await
        .unwrap();
    assert_eq!(missing.is_error, Some(true), "no session and no session_id");
    stateless.cancel().await.unwrap();
    client.cancel().await.unwrap();
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
    let message = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .chain(std::iter::once(text.as_str()))
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v.get("jsonrpc").is_some())
        })
        .unwrap_or(Value::Null);
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

on_both_backends!(
    context_tools_act_on_the_mcp_session,
    versions_are_negotiated_and_checked,
    a_session_client_lists_and_calls_every_tool,
    errors_follow_the_spec,
    api_keys_authenticate_both_ways,
    the_stateless_revision_needs_no_session,
    resources_and_prompts,
    sessions_are_bound_to_their_user_and_end_with_delete,
    the_transport_refuses_in_json,
);
