//! The MCP endpoint `/mcp`, driven by the official Rust SDK's client, on
//! both backends. Transport details over raw HTTP are in `mcp_http.rs`.

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
    #[allow(deprecated)]
    let logging = info.capabilities.logging.is_some();
    assert!(
        !logging,
        "no log notifications are sent, so none are offered"
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
    assert_eq!(created.is_error, Some(false));
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
        assert_eq!(result.is_error, Some(false), "{tool}: {result:?}");
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
        assert_eq!(result.is_error, Some(false));
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
    assert_eq!(result.is_error, Some(false), "{result:?}");
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
    assert_eq!(resources[0].uri, "aiapi://items/3", "newest first");
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
    match client
        .read_resource(ReadResourceRequestParams::new("aiapi://items/99"))
        .await
    {
        Err(rmcp::ServiceError::McpError(error)) => {
            assert_eq!(error.code.0, -32002, "{error:?}");
            assert_eq!(error.data, Some(json!({"uri": "aiapi://items/99"})));
        }
        other => panic!("a missing resource is an error naming it: {other:?}"),
    }
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
    assert_eq!(updated.is_error, Some(false), "{updated:?}");
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

on_both_backends!(
    context_tools_act_on_the_mcp_session,
    a_session_client_lists_and_calls_every_tool,
    errors_follow_the_spec,
    api_keys_authenticate_both_ways,
    the_stateless_revision_needs_no_session,
    resources_and_prompts,
);
