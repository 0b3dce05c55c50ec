//! The tool registry, the executor, sessions and statistics through the
//! tutorial's REST facade (`/api/v1/mcp`), on both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::{error_fields, status_and_json};
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn started(backend: Backend) -> (TestDb, TestServer) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    (db, server)
}

async fn role_token(server: &TestServer, db: &TestDb, name: &str, role: &str) -> String {
    server.new_user(name).await;
    assert!(db.cli(&["users", "set-role", name, role]).status.success());
    server.token(name, &format!("password-{name}")).await
}

fn tool_names(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn last_audit(db: &TestDb, column: &str) -> Option<String> {
    db.texts(&format!(
        "SELECT CAST({column} AS TEXT) FROM audit_log ORDER BY seq DESC LIMIT 1"
    ))
    .await
    .remove(0)
}

async fn tools_are_listed_by_permission(backend: Backend) {
    let (db, server) = started(backend).await;
    let agent = server.token("ai_agent", "ai123").await;
    let admin = server.admin_token().await;
    let (status, body) = server.get_as("/api/v1/mcp/tools", &agent).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"], "ai_agent");
    assert_eq!(
        tool_names(&body),
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
    assert_eq!(body["total_tools"], 8);
    let create = &body["tools"][0];
    assert_eq!(create["category"], "data_management");
    assert_eq!(create["parameters"]["required"], json!(["name", "price"]));
    assert_eq!(create["required_permissions"], json!(["write:items"]));
    assert_eq!(create["annotations"]["readOnlyHint"], false);
    assert!(create["examples"].as_array().is_some_and(|e| !e.is_empty()));
    let (_, body) = server.get_as("/api/v1/mcp/tools", &admin).await;
    assert_eq!(body["total_tools"], 9);
    let (_, body) = server
        .get_as("/api/v1/mcp/tools?category=admin", &admin)
        .await;
    assert_eq!(tool_names(&body), ["manage_users"]);
    let (status, _) = server
        .get_as("/api/v1/mcp/tools?category=nonsense", &admin)
        .await;
    assert_eq!(status, 400);

    for role in ["readonly", "auditor"] {
        let token = role_token(&server, &db, &format!("{role}1"), role).await;
        for (method, path) in [
            (Method::GET, "/api/v1/mcp/tools"),
            (Method::GET, "/api/v1/mcp/sessions"),
            (Method::GET, "/api/v1/mcp/stats"),
            (Method::POST, "/api/v1/mcp/session"),
        ] {
            let resp = server.authed(method, path, &token).send().await.unwrap();
            assert_eq!(resp.status(), 403, "{role} {path}");
        }
        let (status, body) = server
            .execute(&token, "search_items", json!({"query": "x"}), None)
            .await;
        assert_eq!(status, 403, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("use:mcp_tools"));
        assert_eq!(last_audit(&db, "outcome").await.as_deref(), Some("denied"));
    }
}

async fn execute_answers_in_the_tutorial_shape_and_audits(backend: Backend) {
    let (db, server) = started(backend).await;
    let agent = server.token("ai_agent", "ai123").await;
    let session = server.open_session(&agent).await;
    let resp = server
        .authed(Method::POST, "/api/v1/mcp/execute", &agent)
        .header("x-request-id", "req-create-1")
        .json(&json!({
            "tool_name": "create_item",
            "parameters": {"name": "AI generated item", "description": "MCP through AI generated item", "price": 500000, "category": "ai_generated"},
            "session_id": session,
        }))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["tool"], "create_item");
    assert!(body["timestamp"].is_string());
    assert!(body.get("error").is_none());
    let result = &body["result"];
    assert_eq!(result["action"], "create_item");
    assert_eq!(result["item"]["name"], "AI generated item");
    assert_eq!(result["item"]["price"].as_f64(), Some(500000.0));
    assert_eq!(
        result["message"],
        "Item 'AI generated item' created successfully"
    );

    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM audit_log WHERE kind = 'tool'")
            .await,
        1
    );
    let row = |col: &'static str| last_audit(&db, col);
    assert_eq!(row("kind").await.as_deref(), Some("tool"));
    assert_eq!(row("action").await.as_deref(), Some("create_item"));
    assert_eq!(row("username").await.as_deref(), Some("ai_agent"));
    assert_eq!(
        row("user_id").await.as_deref(),
        Some("00000000-0000-4000-8000-000000000002")
    );
    assert_eq!(row("auth_method").await.as_deref(), Some("bearer"));
    assert_eq!(row("session_id").await.as_deref(), Some(session.as_str()));
    assert_eq!(row("surface").await.as_deref(), Some("rest"));
    assert_eq!(row("outcome").await.as_deref(), Some("success"));
    assert_eq!(
        row("client_request_id").await.as_deref(),
        Some("req-create-1")
    );
    assert_eq!(row("request_id").await.unwrap().len(), 36, "our own id");
    assert_eq!(row("client_addr").await.as_deref(), Some("127.0.0.1"));
    assert!(
        row("arguments")
            .await
            .unwrap()
            .starts_with(r#"{"category":"ai_generated","description""#)
    );
    assert_eq!(row("hash").await.unwrap().len(), 64);

    // With an API key, the row names the key.
    let (_, key) = status_and_json(
        server
            .authed(Method::POST, "/auth/api-keys", &agent)
            .json(&json!({"name": "bot"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (status, _) = server
        .execute(
            key["api_key"].as_str().unwrap(),
            "search_items",
            json!({"query": "AI"}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(row("auth_method").await.as_deref(), Some("api_key"));
    assert_eq!(row("api_key_id").await.as_deref(), key["id"].as_str());
}

async fn bad_calls_are_4xx_and_audited(backend: Backend) {
    let (db, server) = started(backend).await;
    let agent = server.token("ai_agent", "ai123").await;
    for (tool, params, field) in [
        ("create_item", json!({"name": "x", "price": -5}), "/price"),
        ("create_item", json!({"price": 5}), "arguments"),
        (
            "create_item",
            json!({"name": "x", "price": 5, "colour": "red"}),
            "arguments",
        ),
        (
            "search_items",
            json!({"query": "x", "limit": 1000}),
            "/limit",
        ),
        ("search_items", json!({"query": "x", "limit": -1}), "/limit"),
        ("search_items", json!({"query": 7}), "/query"),
        (
            "analyze_items",
            json!({"analysis_type": "vibes"}),
            "/analysis_type",
        ),
        (
            "analyze_items",
            json!({"analysis_type": "trend_analysis", "date_range": {"start_date": "yesterday"}}),
            "/date_range/start_date",
        ),
        ("create_item", json!({"name": "x", "price": 1.001}), "price"),
    ] {
        let (status, body) = server.execute(&agent, tool, params.clone(), None).await;
        assert_eq!(status, 422, "{tool} {params}: {body}");
        assert_eq!(body["code"], "validation_error");
        let fields = error_fields(&body);
        assert!(fields.contains(&field), "{tool} {params}: {fields:?}");
        assert_eq!(last_audit(&db, "outcome").await.as_deref(), Some("invalid"));
    }
    let (status, body) = server
        .execute(&agent, "create_item", json!("not an object"), None)
        .await;
    assert_eq!(status, 422, "{body}");

    let (status, body) = server
        .execute(&agent, "launch_rockets", json!({}), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    assert_eq!(
        last_audit(&db, "outcome").await.as_deref(),
        Some("not_found")
    );
    assert_eq!(
        last_audit(&db, "action").await.as_deref(),
        Some("launch_rockets")
    );

    let (status, body) = server
        .execute(&agent, "manage_users", json!({"action": "list"}), None)
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("manage:users"));
    assert_eq!(last_audit(&db, "outcome").await.as_deref(), Some("denied"));

    // A business failure is the tutorial's 200 with success: false, and changes nothing.
    let (status, body) = server
        .execute(&agent, "update_item", json!({"id": 4242, "price": 3}), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], false);
    assert_eq!(body["error"], "item 4242 not found");
    assert_eq!(last_audit(&db, "outcome").await.as_deref(), Some("error"));

    let resp = server
        .authed(Method::POST, "/api/v1/mcp/execute", &agent)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 400, "{body}");
}

async fn sessions_are_private_and_counted(backend: Backend) {
    let (db, server) = started(backend).await;
    let agent = server.token("ai_agent", "ai123").await;
    let other = server.new_user("intruder").await;
    let admin = server.admin_token().await;
    let session = server.open_session(&agent).await;
    assert_eq!(session.len(), 36);

    for _ in 0..2 {
        let (_, body) = server
            .execute(&agent, "search_items", json!({"query": ""}), Some(&session))
            .await;
        assert_eq!(body["success"], true);
    }
    let (_, list) = server.get_as("/api/v1/mcp/sessions", &agent).await;
    assert_eq!(list["active_sessions"], 1);
    assert_eq!(list["sessions"][0]["session_id"], session);
    assert_eq!(list["sessions"][0]["tool_usage_count"], 2);
    assert!(list["sessions"][0]["last_activity"].is_string());

    // Another user's session does not exist, for them.
    let (status, body) = server
        .execute(&other, "search_items", json!({"query": ""}), Some(&session))
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        last_audit(&db, "outcome").await.as_deref(),
        Some("not_found")
    );
    let (status, _) = server
        .execute(
            &other,
            "create_item",
            json!({"name": "x", "price": 1}),
            Some(&session),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM items").await,
        0,
        "a refused write changes nothing"
    );
    let (_, theirs) = server.get_as("/api/v1/mcp/sessions", &other).await;
    assert_eq!(theirs["active_sessions"], 0);
    let (status, _) = server.close_session(&other, &session).await;
    assert_eq!(status, 404);
    let (status, _) = server
        .execute(
            &agent,
            "search_items",
            json!({"query": ""}),
            Some("no-such-session"),
        )
        .await;
    assert_eq!(status, 404);

    // Admins see everyone's sessions and may end them.
    let (_, all) = server.get_as("/api/v1/mcp/sessions", &admin).await;
    assert_eq!(all["active_sessions"], 1);
    let (status, body) = server.close_session(&agent, &session).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("Session closed successfully"))
    );
    let (status, _) = server
        .execute(&agent, "search_items", json!({"query": ""}), Some(&session))
        .await;
    assert_eq!(status, 404, "closed sessions are gone");
    let (status, _) = server.close_session(&admin, &session).await;
    assert_eq!(status, 404);

    let second = server.open_session(&agent).await;
    let resp = server
        .authed(
            Method::DELETE,
            &format!("/api/v1/mcp/session/{second}"),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "admin:mcp ends anyone's session");
}

async fn idle_sessions_expire(backend: Backend) {
    let (db, server) = started(backend).await;
    let agent = server.token("ai_agent", "ai123").await;
    let session = server.open_session(&agent).await;
    db.execute(&format!(
        "UPDATE mcp_sessions SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = '{session}'"
    ))
    .await;
    let (status, _) = server
        .execute(&agent, "search_items", json!({"query": ""}), Some(&session))
        .await;
    assert_eq!(status, 404);
    let (_, list) = server.get_as("/api/v1/mcp/sessions", &agent).await;
    assert_eq!(list["active_sessions"], 0);
    let store = db.store().await;
    let closed = store
        .expire_sessions(aiapi::domain::time::now())
        .await
        .unwrap();
    assert_eq!(closed, std::slice::from_ref(&session));
    assert!(
        store
            .session(&session)
            .await
            .unwrap()
            .unwrap()
            .closed_at
            .is_some()
    );
    assert!(
        store
            .expire_sessions(aiapi::domain::time::now())
            .await
            .unwrap()
            .is_empty()
    );
    store.close().await;
}

async fn search_and_analysis_answer_from_sql(backend: Backend) {
    let (_db, server) = started(backend).await;
    let agent = server.token("ai_agent", "ai123").await;
    for (name, price, category) in [
        ("Budget notebook", 50_000.0, "electronics"),
        ("Office Notebook", 150_000.0, "electronics"),
        ("Gaming notebook", 600_000.0, "electronics"),
        ("Workstation", 2_000_000.0, "electronics"),
        ("Notebook paper", 3.5, "stationery"),
        ("Pen", 1.25, "stationery"),
        ("Mystery box", 10.0, ""),
    ] {
        let (_, body) = server
            .execute(
                &agent,
                "create_item",
                json!({"name": name, "price": price, "category": category}),
                None,
            )
            .await;
        assert_eq!(body["success"], true, "{body}");
    }
    let search = |params: Value| server.execute(&agent, "search_items", params, None);
    let (_, body) = search(json!({"query": "NOTEBOOK", "limit": 2})).await;
    assert_eq!(body["result"]["total_found"], 4);
    assert_eq!(body["result"]["returned_count"], 2);
    assert_eq!(body["result"]["query"], "NOTEBOOK");
    let (_, body) = search(json!({"query": "notebook", "category": "electronics", "min_price": 100000, "max_price": 700000})).await;
    assert_eq!(body["result"]["total_found"], 2);
    let (_, body) = search(json!({"query": ""})).await;
    assert_eq!(body["result"]["total_found"], 7);
    assert_eq!(body["result"]["returned_count"], 7);

    let analyze = |params: Value| server.execute(&agent, "analyze_items", params, None);
    let (_, body) = analyze(json!({"analysis_type": "price_distribution"})).await;
    let r = &body["result"]["result"];
    assert_eq!(r["total_items"], 7);
    assert_eq!(r["min_price"], json!(1.25));
    assert_eq!(r["max_price"], json!(2_000_000.0));
    assert_eq!(
        r["price_ranges"],
        json!({"under_100k": 4, "100k_to_500k": 1, "500k_to_1m": 1, "over_1m": 1})
    );
    let (_, body) = analyze(json!({"analysis_type": "category_breakdown"})).await;
    let r = &body["result"]["result"];
    assert_eq!(r["total_categories"], 3);
    assert_eq!(
        r["categories"],
        json!({"electronics": 4, "stationery": 2, "uncategorized": 1})
    );
    assert_eq!(
        r["details"][1]["average_price"],
        json!(2.38),
        "(350 + 125) / 2 cents, rounded"
    );

    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let (_, body) = analyze(json!({"analysis_type": "trend_analysis", "interval": "day",
                                   "date_range": {"start_date": today.to_string(), "end_date": today.to_string()}}))
        .await;
    let periods = &body["result"]["result"]["periods"];
    assert_eq!(periods.as_array().unwrap().len(), 1, "{body}");
    assert_eq!(periods[0]["period"], today.to_string());
    assert_eq!(periods[0]["count"], 7);
    assert_eq!(
        body["result"]["date_range"]["start_date"],
        today.to_string()
    );
    let (_, body) = analyze(json!({"analysis_type": "trend_analysis", "interval": "week"})).await;
    let week_start = today
        - chrono::Duration::days(chrono::Datelike::weekday(&today).num_days_from_monday() as i64);
    assert_eq!(
        body["result"]["result"]["periods"][0]["period"],
        week_start.to_string()
    );
    let (_, body) = analyze(json!({"analysis_type": "price_distribution",
                                   "date_range": {"end_date": yesterday.to_string()}}))
    .await;
    assert_eq!(body["result"]["result"]["total_items"], 0);
    let (status, _) = analyze(json!({"analysis_type": "price_distribution",
                                     "date_range": {"start_date": today.to_string(), "end_date": yesterday.to_string()}}))
        .await;
    assert_eq!(status, 422);
}

async fn item_tools_respect_ownership(backend: Backend) {
    let (db, server) = started(backend).await;
    let agent = server.token("ai_agent", "ai123").await;
    let other = server.new_user("someone").await;
    let admin = server.admin_token().await;
    let (_, body) = server
        .execute(
            &agent,
            "create_item",
            json!({"name": "Mine", "price": 10}),
            None,
        )
        .await;
    let id = body["result"]["item"]["id"].as_i64().unwrap();
    let (_, body) = server
        .execute(&other, "get_item", json!({"id": id}), None)
        .await;
    assert_eq!(body["result"]["item"]["name"], "Mine");
    let (status, _) = server
        .execute(
            &other,
            "update_item",
            json!({"id": id, "name": "Theirs"}),
            None,
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(last_audit(&db, "outcome").await.as_deref(), Some("denied"));
    let (status, _) = server
        .execute(&other, "delete_item", json!({"id": id}), None)
        .await;
    assert_eq!(status, 403);
    let (_, body) = server
        .execute(
            &agent,
            "update_item",
            json!({"id": id, "price": 12.5, "category": "x", "description": "d"}),
            None,
        )
        .await;
    assert_eq!(body["result"]["item"]["price"], json!(12.5));
    let (_, body) = server
        .execute(
            &agent,
            "update_item",
            json!({"id": id, "category": null}),
            None,
        )
        .await;
    assert_eq!(
        body["result"]["item"]["category"],
        Value::Null,
        "null clears"
    );
    assert_eq!(body["result"]["item"]["description"], "d", "absent stays");
    let (status, _) = server
        .execute(&agent, "update_item", json!({"id": id}), None)
        .await;
    assert_eq!(status, 422, "nothing to change");
    let (_, body) = server
        .execute(&admin, "delete_item", json!({"id": id}), None)
        .await;
    assert_eq!(body["success"], true);
    let (_, body) = server
        .execute(&agent, "get_item", json!({"id": id}), None)
        .await;
    assert_eq!(
        (body["success"].as_bool(), body["error"].as_str()),
        (Some(false), Some(format!("item {id} not found").as_str()))
    );
}

async fn manage_users_lists_creates_updates_and_deactivates(backend: Backend) {
    let (db, server) = started(backend).await;
    let admin = server.admin_token().await;
    let (_, body) = server
        .execute(&admin, "manage_users", json!({"action": "list"}), None)
        .await;
    assert_eq!(body["result"]["total_users"], 2);
    // The tutorial's own example, which has no password: a temporary one is made.
    let (_, body) = server
        .execute(&admin, "manage_users", json!({"action": "create", "user_data": {"username": "newuser", "email": "newuser@example.com", "role": "user"}}), None)
        .await;
    assert_eq!(body["success"], true, "{body}");
    let temporary = body["result"]["temporary_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = body["result"]["user"]["id"].as_str().unwrap().to_owned();
    let newuser = server.token("newuser", &temporary).await;
    let (_, body) = server
        .execute(&admin, "manage_users", json!({"action": "create", "user_data": {"username": "pwuser", "email": "pw@example.com", "password": "secret-password"}}), None)
        .await;
    assert!(body["result"].get("temporary_password").is_none());
    let arguments = last_audit(&db, "arguments").await.unwrap();
    assert!(
        arguments.contains(r#""password":"***""#) && !arguments.contains("secret-password"),
        "{arguments}"
    );
    let (_, body) = server
        .execute(&admin, "manage_users", json!({"action": "create", "user_data": {"username": "newuser", "email": "x@example.com"}}), None)
        .await;
    assert_eq!(body["success"], false);
    assert!(body["error"].as_str().unwrap().contains("username"));

    let (_, body) = server
        .execute(
            &admin,
            "manage_users",
            json!({"action": "update", "user_id": id, "user_data": {"role": "readonly"}}),
            None,
        )
        .await;
    assert_eq!(body["result"]["user"]["role"], "readonly", "{body}");
    let (_, body) = server
        .execute(
            &admin,
            "manage_users",
            json!({"action": "deactivate", "user_id": id}),
            None,
        )
        .await;
    assert_eq!(body["result"]["action"], "deactivate_user");
    assert_eq!(
        server.get_as("/auth/me", &newuser).await.0,
        401,
        "deactivation ends tokens"
    );

    let admin_id = server.get_as("/auth/me", &admin).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, body) = server
        .execute(
            &admin,
            "manage_users",
            json!({"action": "deactivate", "user_id": admin_id}),
            None,
        )
        .await;
    assert_eq!(body["success"], false);
    let (status, body) = server
        .execute(&admin, "manage_users", json!({"action": "update"}), None)
        .await;
    assert_eq!(status, 422, "update needs user_id and user_data: {body}");
    let (_, body) = server
        .execute(&admin, "manage_users", json!({"action": "update", "user_id": uuid::Uuid::new_v4(), "user_data": {"role": "user"}}), None)
        .await;
    assert_eq!(body["success"], false);
}

async fn stats_come_from_the_database(backend: Backend) {
    let (_db, server) = started(backend).await;
    let agent = server.token("ai_agent", "ai123").await;
    let admin = server.admin_token().await;
    server.open_session(&agent).await;
    server
        .execute(&agent, "search_items", json!({"query": ""}), None)
        .await;
    server
        .execute(&agent, "search_items", json!({"query": ""}), None)
        .await;
    server
        .execute(&agent, "get_item", json!({"id": 1}), None)
        .await;
    server
        .execute(&admin, "search_items", json!({"query": ""}), None)
        .await;
    let (_, stats) = server.get_as("/api/v1/mcp/stats", &agent).await;
    let mine = &stats["user_stats"];
    assert_eq!(mine["username"], "ai_agent");
    assert_eq!(mine["active_sessions"], 1);
    assert_eq!(mine["tool_calls"]["total_calls"], 3);
    assert_eq!(mine["tool_calls"]["successful_calls"], 2);
    assert_eq!(mine["tool_calls"]["by_tool"]["search_items"]["calls"], 2);
    assert!((mine["tool_calls"]["success_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(stats["server_stats"]["available_tools"], 8);
    assert_eq!(stats["server_stats"]["total_active_sessions"], Value::Null);
    let (_, stats) = server.get_as("/api/v1/mcp/stats", &admin).await;
    assert_eq!(stats["server_stats"]["total_active_sessions"], 1);
    assert_eq!(stats["server_stats"]["tool_calls"]["total_calls"], 4);
}

async fn concurrent_calls_in_one_session_all_count(backend: Backend) {
    let (db, server) = started(backend).await;
    let agent = server.token("ai_agent", "ai123").await;
    let session = server.open_session(&agent).await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..50 {
        let request = server
            .authed(Method::POST, "/api/v1/mcp/execute", &agent)
            .json(&json!({"tool_name": "create_item", "parameters": {"name": format!("item {i}"), "price": i + 1}, "session_id": session}));
        calls.spawn(async move { status_and_json(request.send().await.expect("execute")).await });
    }
    while let Some(joined) = calls.join_next().await {
        let (status, body) = joined.expect("task");
        assert_eq!(
            (status, body["success"].as_bool()),
            (200, Some(true)),
            "{body}"
        );
    }
    let (_, list) = server.get_as("/api/v1/mcp/sessions", &agent).await;
    assert_eq!(list["sessions"][0]["tool_usage_count"], 50);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM items").await, 50);
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) FROM audit_log WHERE action = 'create_item' AND outcome = 'success'"
        )
        .await,
        50
    );
    // Every row links to the one before it.
    let broken = db
        .scalar_i64("SELECT count(*) FROM audit_log a JOIN audit_log b ON b.seq = a.seq - 1 WHERE a.prev_hash <> b.hash")
        .await;
    assert_eq!(broken, 0);
}

on_both_backends!(
    tools_are_listed_by_permission,
    execute_answers_in_the_tutorial_shape_and_audits,
    bad_calls_are_4xx_and_audited,
    sessions_are_private_and_counted,
    idle_sessions_expire,
    search_and_analysis_answer_from_sql,
    item_tools_respect_ownership,
    manage_users_lists_creates_updates_and_deactivates,
    stats_come_from_the_database,
    concurrent_calls_in_one_session_all_count,
);
