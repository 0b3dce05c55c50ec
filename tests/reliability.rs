//! Reliability under contention, across replicas and at shutdown, on both
//! backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::api::ADMIN_PASSWORD;
use common::private_pg::PrivateCluster;
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::json;

async fn sixty_four_concurrent_writers_never_see_a_locked_database(backend: Backend) {
    let db = TestDb::create(backend).await;
    // 128 requests at once from one address: more than its default cap.
    let env = [
        ("AIAPI_DB_MAX_CONNECTIONS", "8"),
        ("AIAPI_MAX_CONNECTIONS_PER_ADDR", "256"),
    ];
    let server = TestServer::start_with(&db, &env).await;
    let token = server.token("ai_agent", "ai123").await;
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..64 {
        let create = server
            .authed(Method::POST, "/api/v1/items", &token)
            .json(&json!({"name": format!("w{i}"), "price": 1}));
        let tool = server
            .authed(Method::POST, "/api/v1/mcp/execute", &token)
            .json(&json!({"tool_name": "create_item", "parameters": {"name": format!("t{i}"), "price": 2}}));
        writers.spawn(async move {
            let a = create.send().await.map(|r| r.status().as_u16());
            let b = tool.send().await.map(|r| r.status().as_u16());
            (a, b)
        });
    }
    while let Some(result) = writers.join_next().await {
        let (a, b) = result.unwrap();
        assert_eq!(a.unwrap(), 201);
        assert_eq!(b.unwrap(), 200);
    }
    assert_eq!(db.scalar_i64("SELECT count(*) FROM items").await, 128);
    let log = server.log();
    assert!(
        !log.contains("database is locked") && !log.contains("status=5"),
        "{log}"
    );
}

async fn a_logout_on_one_replica_holds_on_another(backend: Backend) {
    let db = TestDb::create(backend).await;
    let a = TestServer::start(&db).await;
    let b = TestServer::start(&db).await;
    let pair = a.login("admin", ADMIN_PASSWORD).await;
    let token = pair["access_token"].as_str().unwrap();
    assert_eq!(b.get_as("/auth/me", token).await.0, 200);
    let resp = a
        .authed(Method::POST, "/auth/logout", token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        b.get_as("/auth/me", token).await.0,
        401,
        "revocations live in the database"
    );
    let resp = b
        .http
        .post(b.url("/auth/refresh"))
        .json(&json!({"refresh_token": pair["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // A session opened on A is usable on B.
    let agent = a.token("ai_agent", "ai123").await;
    let session = a.open_session(&agent).await;
    let (status, body) = b
        .execute(&agent, "search_items", json!({"query": ""}), Some(&session))
        .await;
    assert_eq!((status, body["success"].as_bool()), (200, Some(true)));
}

async fn sigterm_lets_in_flight_requests_finish(backend: Backend) {
    let db = TestDb::create(backend).await;
    let mut server = TestServer::start(&db).await;
    // Logins are slow on purpose (argon2 on a small pool): a good load to interrupt.
    let mut logins = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let request = server
            .http
            .post(server.url("/auth/login"))
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}));
        logins.spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
    }
    // Once one has finished, the others are being served.
    let first = logins.join_next().await.unwrap().unwrap();
    assert_eq!(first.unwrap(), 200);
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    while let Some(result) = logins.join_next().await {
        assert_eq!(
            result.unwrap().unwrap(),
            200,
            "an in-flight request was cut off"
        );
    }
    let exit = server
        .wait(Duration::from_secs(30))
        .await
        .expect("exits within the grace period");
    assert!(exit.success(), "{exit:?}");
    let refused = server.http.get(server.url("/health")).send().await;
    assert!(refused.is_err(), "no new requests after shutdown");
}

async fn bad_input_is_always_a_4xx_json_error(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let out = db.cli(&["api-keys", "create", "ai_agent"]);
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let mut cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("POST", "/api/v1/items", deep.clone().into_bytes()),
        (
            "POST",
            "/api/v1/items",
            b"{\"name\":\"\xff\xfe\",\"price\":1}".to_vec(),
        ),
        ("POST", "/api/v1/mcp/execute", deep.clone().into_bytes()),
        ("POST", "/auth/login", b"\xff\xff\xff".to_vec()),
        // NUL characters, which Postgres cannot store and FTS5 cannot parse.
        (
            "POST",
            "/api/v1/items",
            br#"{"name":"a\u0000b","price":1}"#.to_vec(),
        ),
        (
            "POST",
            "/api/v1/mcp/execute",
            br#"{"tool_name":"search_items","parameters":{"query":"abc\u0000"}}"#.to_vec(),
        ),
        (
            "POST",
            "/auth/login",
            br#"{"username":"ad\u0000min","password":"admin123"}"#.to_vec(),
        ),
    ];
    for path in [
        "/api/v1/items/-1",
        "/api/v1/items/0",
        "/api/v1/items/abc",
        "/api/v1/items/99999999999999999999",
        "/api/v1/items?page_size=1000000",
        "/api/v1/items?sort=sideways",
        "/api/v1/audit/-5",
        "/api/v1/mcp/tools?category=%00",
        "/api/v1/items?q=abc%00def",
        "/api/v1/audit?action=a%00",
    ] {
        cases.push(("GET", path, Vec::new()));
    }
    for (method, path, body) in cases {
        let resp = server
            .http
            .request(method.parse().unwrap(), server.url(path))
            .header("x-api-key", &key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert!((400..500).contains(&status), "{method} {path}: {status}");
        let body: serde_json::Value = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON: {e}"));
        assert!(
            body["code"].is_string() || body["detail"].is_string(),
            "{method} {path}: {body}"
        );
    }

    // Malformed JSON-RPC on /mcp: each a JSON-RPC error object, status 400.
    for body in [
        deep.as_str(),
        r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
        r#"{"id":1,"method":"initialize"}"#,
        r#""just a string""#,
        r#"{}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
        r#"[1, {"jsonrpc": "2.0"}, "garbage"]"#,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\u{0}\"",
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_items","arguments":{"query":"a\u0000"}}}"#,
    ] {
        let resp = server
            .http
            .post(server.url("/mcp"))
            .header("x-api-key", &key)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{body:.60}");
        let message: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(message["jsonrpc"], "2.0");
        assert!(
            [-32700, -32600].contains(&message["error"]["code"].as_i64().unwrap()),
            "{message}"
        );
    }
}

async fn tool_calls_are_rate_limited_per_principal_across_replicas(backend: Backend) {
    let db = TestDb::create(backend).await;
    let env = [("AIAPI_TOOL_RATE_LIMITS", "ai_agent=3,user=0")];
    let a = TestServer::start_with(&db, &env).await;
    let b = TestServer::start_with(&db, &env).await;
    let agent = a.token("ai_agent", "ai123").await;
    let search = json!({"query": ""});
    assert_eq!(
        a.execute(&agent, "search_items", search.clone(), None)
            .await
            .0,
        200
    );
    assert_eq!(
        a.execute(&agent, "search_items", search.clone(), None)
            .await
            .0,
        200
    );
    assert_eq!(
        b.execute(&agent, "search_items", search.clone(), None)
            .await
            .0,
        200
    );
    let resp = b
        .authed(Method::POST, "/api/v1/mcp/execute", &agent)
        .json(&json!({"tool_name": "search_items", "parameters": search}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        429,
        "the limit counts calls on both replicas"
    );
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "too_many_requests");
    let outcome = db
        .texts("SELECT outcome FROM audit_log WHERE kind = 'tool' ORDER BY seq DESC LIMIT 1")
        .await;
    assert_eq!(outcome[0].as_deref(), Some("rate_limited"));

    // Other principals have their own counters; 0 means unlimited.
    let user = a.new_user("unlimited").await;
    for _ in 0..5 {
        assert_eq!(
            a.execute(&user, "search_items", json!({"query": ""}), None)
                .await
                .0,
            200
        );
    }
    // Over MCP the refusal is a tool error result.
    let resp = a
        .http
        .post(a.url("/mcp"))
        .bearer_auth(&agent)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "search_items")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "search_items", "arguments": {"query": ""},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}}}}),
        )
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert!(
        text.contains(r#""isError":true"#) && text.contains("too many tool calls"),
        "{text}"
    );
}

async fn a_killed_server_loses_no_acknowledged_write(backend: Backend) {
    let db = TestDb::create(backend).await;
    let mut server = TestServer::start(&db).await;
    let token = server.token("ai_agent", "ai123").await;
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..300 {
        let request = server
            .authed(Method::POST, "/api/v1/mcp/execute", &token)
            .json(&json!({"tool_name": "create_item", "parameters": {"name": format!("crash {i}"), "price": 1}}));
        writes.spawn(async move {
            let resp = request.send().await.ok()?;
            let body: serde_json::Value = resp.json().await.ok()?;
            body["result"]["item"]["name"].as_str().map(str::to_owned)
        });
    }
    // Kill it (no chance to clean up) once some writes have been acknowledged.
    let mut acknowledged = Vec::new();
    while let Some(done) = writes.join_next().await {
        if let Some(name) = done.unwrap() {
            acknowledged.push(name);
        }
        if acknowledged.len() == 20 {
            let kill = std::process::Command::new("kill")
                .args(["-KILL", &server.pid().to_string()])
                .status()
                .unwrap();
            assert!(kill.success());
        }
    }
    server.wait(Duration::from_secs(10)).await.expect("killed");
    assert!(acknowledged.len() >= 20);

    let restarted = TestServer::start(&db).await;
    for name in &acknowledged {
        let rows = db
            .scalar_i64(&format!(
                "SELECT count(*) FROM audit_log WHERE action = 'create_item' AND outcome = 'success'
                 AND arguments LIKE '%\"name\":\"{name}\"%'"
            ))
            .await;
        assert_eq!(rows, 1, "{name}: one audit row");
        let items = db
            .scalar_i64(&format!("SELECT count(*) FROM items WHERE name = '{name}'"))
            .await;
        assert_eq!(items, 1, "{name}: the item");
    }
    // Every item that exists has its row, and no row claims an item that does not.
    let items = db.scalar_i64("SELECT count(*) FROM items").await;
    let rows = db
        .scalar_i64(
            "SELECT count(*) FROM audit_log WHERE action = 'create_item' AND outcome = 'success'",
        )
        .await;
    assert_eq!(items, rows);
    let inspector = restarted.admin_token().await;
    let (status, verified) = restarted.get_as("/api/v1/audit/verify", &inspector).await;
    assert_eq!(
        (status, verified["ok"].as_bool()),
        (200, Some(true)),
        "{verified}"
    );
}

on_both_backends!(
    metrics_describe_requests_tools_and_the_pool,
    a_killed_server_loses_no_acknowledged_write,
    tool_calls_are_rate_limited_per_principal_across_replicas,
    sixty_four_concurrent_writers_never_see_a_locked_database,
    a_logout_on_one_replica_holds_on_another,
    sigterm_lets_in_flight_requests_finish,
    bad_input_is_always_a_4xx_json_error,
);

async fn metrics_describe_requests_tools_and_the_pool(backend: Backend) {
    let db = TestDb::create(backend).await;
    let closed = TestServer::start(&db).await;
    assert_eq!(
        closed.get("/metrics").await.status(),
        401,
        "needs read:audit by default"
    );
    let agent = closed.token("ai_agent", "ai123").await;
    assert_eq!(closed.get_as("/metrics", &agent).await.0, 403);
    let admin = closed.admin_token().await;
    let resp = closed
        .authed(Method::GET, "/metrics", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    drop(closed);

    let open = TestServer::start_with(&db, &[("AIAPI_METRICS", "1")]).await;
    let agent = open.token("ai_agent", "ai123").await;
    open.execute(&agent, "search_items", json!({"query": ""}), None)
        .await;
    open.execute(&agent, "search_items", json!({"limit": 0}), None)
        .await;
    open.get("/api/v1/items/123").await;
    open.get("/no/such/thing").await;
    let text = open.get("/metrics").await.text().await.unwrap();
    for line in [
        r#"aiapi_tool_calls_total{outcome="success",tool="search_items"} 1"#,
        r#"aiapi_tool_calls_total{outcome="invalid",tool="search_items"} 1"#,
        r#"aiapi_http_requests_total{method="POST",route="/api/v1/mcp/execute",status="200"} 1"#,
        r#"aiapi_http_requests_total{method="GET",route="/api/v1/items/{id}",status="401"} 1"#,
        r#"aiapi_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        "aiapi_http_request_duration_seconds_bucket",
        r#"aiapi_db_pool_connections{state="idle"}"#,
    ] {
        assert!(text.contains(line), "missing {line}\n{text}");
    }
}

/// Postgres only, on a private cluster it may stop: an outage in the middle
/// of a read and write load is answered 503 JSON within the configured
/// connection timeout (no 500, no hang), and the service recovers by itself
/// when the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_is_503_and_the_service_recovers() {
    let cluster = Arc::new(PrivateCluster::create());
    let db = TestDb::existing(Backend::Postgres, cluster.url());
    let timeout_secs = 2;
    let server = Arc::new(
        TestServer::start_with(&db, &[("AIAPI_DB_TIMEOUT_SECS", &timeout_secs.to_string())]).await,
    );
    let token = server.admin_token().await;

    // (status, error code) of every load request. A request that hangs
    // fails the test through the client's timeout, set far above the
    // server's own database timeout: how fast the 503s come is for `make
    // bench`, that they come at all is for this test.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..4 {
        let (server, token, stop, answered) = (
            server.clone(),
            token.clone(),
            stop.clone(),
            answered.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let request = if n % 2 == 0 {
                    server.authed(Method::GET, "/api/v1/items?page_size=5", &token)
                } else {
                    server
                        .authed(Method::POST, "/api/v1/items", &token)
                        .json(&json!({"name": format!("load {worker}-{n}"), "price": 1.5}))
                };
                let resp = request
                    .timeout(Duration::from_secs(timeout_secs * 30))
                    .send()
                    .await
                    .expect("the server answers, and does not hang");
                let status = resp.status().as_u16();
                let body: serde_json::Value = resp.json().await.expect("a JSON body");
                let code = body["code"].as_str().map(str::to_owned);
                seen.push((status, code));
                answered.fetch_add(1, Ordering::Relaxed);
            }
            seen
        }));
    }

    wait_for(
        || answered.load(Ordering::Relaxed) >= 20,
        "the load is running",
    )
    .await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.stop()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        let resp = server.get("/health").await;
        if resp.status() == 503 {
            break resp.json::<serde_json::Value>().await.unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "health never said 503 during the outage"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(body["services"]["database"], "unavailable", "{body}");

    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.start())
        .await
        .unwrap();
    let back = Instant::now();
    loop {
        let resp = server
            .authed(Method::GET, "/api/v1/items?page_size=1", &token)
            .send()
            .await
            .unwrap();
        if resp.status() == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "not recovered 30 s after Postgres came back: {}",
            resp.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every worker answers a few more requests after recovery.
    let recovered_at = answered.load(Ordering::Relaxed);
    wait_for(
        || answered.load(Ordering::Relaxed) >= recovered_at + 16,
        "the load goes on after recovery",
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut seen = Vec::new();
    for worker in workers {
        let results = worker.await.unwrap();
        let (status, code) = results.last().expect("each worker sent requests");
        assert!(
            *status < 300,
            "the load still failed after recovery: {status} {code:?}"
        );
        seen.extend(results);
    }

    let unavailable = seen.iter().filter(|(status, ..)| *status == 503).count();
    assert!(unavailable > 0, "no request saw the outage");
    for (status, code) in &seen {
        assert!(
            [200, 201, 503].contains(status),
            "{status} {code:?} during the outage"
        );
        if *status == 503 {
            assert_eq!(code.as_deref(), Some("service_unavailable"));
        }
    }
    let resp = server
        .authed(Method::POST, "/api/v1/items", &token)
        .json(&json!({"name": "after the outage", "price": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(server.get("/health").await.status(), 200);
    assert!(!server.log().contains("panicked"), "{}", server.log());
    eprintln!(
        "{} requests, {unavailable} answered 503 during the outage",
        seen.len()
    );
}

/// SQLite only: while another process holds the database's write lock, a
/// tool call waits for it (on the blocking pool, so the server keeps
/// answering) and then commits; nothing fails with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_waits_for_another_process_holding_the_sqlite_lock() {
    use sqlx::{Connection, SqliteConnection};

    let db = TestDb::create(Backend::Sqlite).await;
    let server = TestServer::start(&db).await;
    let token = server.token("ai_agent", "ai123").await;
    let mut other = SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();

    let call = server
        .authed(Method::POST, "/api/v1/mcp/execute", &token)
        .json(&json!({"tool_name": "create_item", "parameters": {"name": "waited", "price": 3}}))
        .send();
    let call = tokio::spawn(call);
    // While the lock is held the call cannot commit, so a call that has
    // finished by now gave up instead of waiting; the server keeps
    // answering meanwhile.
    for _ in 0..5 {
        assert_eq!(server.get("/health").await.status(), 200);
    }
    assert!(!call.is_finished(), "the call did not wait for the lock");
    sqlx::raw_sql("COMMIT").execute(&mut other).await.unwrap();

    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM items WHERE name = 'waited'")
            .await,
        1
    );
    assert!(!server.log().contains("database is locked"));
}

/// Waits until `done` holds, failing after a minute.
async fn wait_for(done: impl Fn() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
