//! Security round two: open sessions per user are capped (L10),
//! registration is throttled per address and can be switched off (L11),
//! and registering as admin is refused and recorded (M1). On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::status_and_json;
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn l10_open_sessions_per_user_are_capped_exactly(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_MAX_SESSIONS_PER_USER", "3")]).await;
    let token = server.token("ai_agent", "ai123").await;
    let mut opens = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let open = server.authed(Method::POST, "/api/v1/mcp/session", &token);
        opens.spawn(async move { status_and_json(open.send().await.unwrap()).await });
    }
    let mut opened = Vec::new();
    while let Some(result) = opens.join_next().await {
        let (status, body) = result.unwrap();
        match status {
            200 => opened.push(body["session_id"].as_str().unwrap().to_owned()),
            429 => assert!(
                body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("AIAPI_MAX_SESSIONS_PER_USER"),
                "{body}"
            ),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(opened.len(), 3, "exactly the cap, however many race");
    let other = server.admin_token().await;
    assert_eq!(
        server
            .authed(Method::POST, "/api/v1/mcp/session", &other)
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "the cap is per user"
    );
    let (status, _) = server.close_session(&token, &opened[0]).await;
    assert_eq!(status, 200);
    server.open_session(&token).await;
    // /mcp refuses before its transport makes a session.
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "one-too-many", "version": "1"}}});
    let resp = server
        .mcp_request(&token, None, &initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("mcp-session-id").is_none());
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("AIAPI_MAX_SESSIONS_PER_USER"),
        "{body}"
    );
}

async fn h1_huge_initialize_parameters_are_refused(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let token = server.token("ai_agent", "ai123").await;
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"experimental": {"pad": "p".repeat(20_000)}},
        "clientInfo": {"name": "huge", "version": "1"}}});
    let resp = server
        .mcp_request(&token, None, &initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("mcp-session-id").is_none());
    let kept = db.scalar_i64("SELECT count(*) FROM mcp_sessions").await;
    assert_eq!(kept, 0, "nothing was stored");
}

async fn register(
    server: &TestServer,
    username: &str,
    role: Option<&str>,
    token: Option<&str>,
) -> (u16, Value) {
    let mut body = json!({
        "username": username, "email": format!("{}@example.com", uuid::Uuid::new_v4().simple()),
        "password": "a-long-password",
    });
    if let Some(role) = role {
        body["role"] = json!(role);
    }
    let mut request = server.http.post(server.url("/auth/register")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    status_and_json(request.send().await.unwrap()).await
}

async fn l11_registration_is_throttled_per_address(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_REGISTRATIONS_PER_ADDR", "3")]).await;
    for i in 0..3 {
        let (status, body) = register(&server, &format!("reg{i}"), None, None).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = register(&server, "reg3", None, None).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("AIAPI_REGISTRATIONS_PER_ADDR")
    );
    let admin = server.admin_token().await;
    let (status, body) = register(&server, "reg4", None, Some(&admin)).await;
    assert_eq!(status, 201, "admins are not throttled: {body}");
}

async fn l11_registration_can_be_switched_off(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_REGISTRATION", "off")]).await;
    let (status, body) = register(&server, "nobody", None, None).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("registration is off")
    );
    let admin = server.admin_token().await;
    let (status, body) = register(&server, "somebody", None, Some(&admin)).await;
    assert_eq!(status, 201, "{body}");
}

async fn m1_registering_as_admin_is_refused_and_recorded(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let user = server.new_user("climber").await;
    for token in [None, Some(user.as_str())] {
        let (status, body) = register(&server, "boss", Some("admin"), token).await;
        assert_eq!(status, 403, "{body}");
    }
    let rows = db
        .scalar_i64(
            "SELECT count(*) FROM audit_log WHERE action = 'register' AND outcome = 'denied' \
             AND username IN ('boss', 'climber')",
        )
        .await;
    assert_eq!(rows, 2, "both refusals are recorded");
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM users WHERE username = 'boss'")
            .await,
        0
    );
}

async fn l5_usernames_are_unique_whatever_their_case(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let (status, body) = register(&server, "Casey", None, None).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = register(&server, "casey", None, None).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("already taken"),
        "{body}"
    );
    let (status, _) = register(&server, "ADMIN", None, None).await;
    assert_eq!(status, 409, "ADMIN beside admin");
    server.login("CASEY", "a-long-password").await;
    for bad in ["ali\u{202e}ce", "bob\u{0007}", "eve\u{200f}x", "zoë"] {
        let (status, body) = register(&server, bad, None, None).await;
        assert_eq!(status, 422, "{bad:?}: {body}");
        assert_eq!(body["errors"][0]["field"], "username");
    }
}

async fn l5_the_migration_refuses_and_names_clashing_usernames(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    // Back to the schema before V12, with two accounts it would refuse.
    db.execute("DROP INDEX audit_log_oauth_client_idx").await;
    for table in [
        "oauth_codes",
        "oauth_grants",
        "oauth_consents",
        "browser_sessions",
        "oauth_clients",
    ] {
        db.execute(&format!("DROP TABLE {table}")).await;
    }
    db.execute("ALTER TABLE api_keys DROP COLUMN scopes").await;
    db.execute("DROP INDEX users_username_lower_key").await;
    db.execute("DROP INDEX items_price_id_created_idx").await;
    db.execute("CREATE INDEX items_price_idx ON items (price_cents)")
        .await;
    db.execute("DELETE FROM refinery_schema_history WHERE version >= 12")
        .await;
    for name in ["dana", "Dana"] {
        let (status, body) = register(&server, name, None, None).await;
        assert_eq!(status, 201, "{body}");
    }
    drop(server);
    let out = db.cli(&["migrate"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("Dana, dana") || said.contains("dana, Dana"),
        "{said}"
    );
    assert!(said.contains("differ only in case"), "{said}");
    // The database's words, without the driver's position in its C source.
    assert!(!said.contains(" at line "), "{said}");
    db.execute("UPDATE users SET username = 'dana2' WHERE username = 'Dana'")
        .await;
    let out = db.cli(&["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn h1_what_the_transport_keeps_goes_with_an_expired_session(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let token = server.token("ai_agent", "ai123").await;
    let session = server.mcp_session(&token).await;
    let kept = format!("SELECT count(*) FROM mcp_session_state WHERE session_id = '{session}'");
    assert_eq!(db.scalar_i64(&kept).await, 1);
    db.execute(&format!(
        "UPDATE mcp_sessions SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = '{session}'"
    ))
    .await;
    let store = db.store().await;
    let expired = store
        .expire_sessions(aiapi::domain::time::now())
        .await
        .unwrap();
    store.close().await;
    assert_eq!(expired, vec![session]);
    assert_eq!(
        db.scalar_i64(&kept).await,
        0,
        "no state outlives its session"
    );
}

on_both_backends!(
    h1_huge_initialize_parameters_are_refused,
    h1_what_the_transport_keeps_goes_with_an_expired_session,
    l5_usernames_are_unique_whatever_their_case,
    l5_the_migration_refuses_and_names_clashing_usernames,
    l10_open_sessions_per_user_are_capped_exactly,
    l11_registration_is_throttled_per_address,
    l11_registration_can_be_switched_off,
    m1_registering_as_admin_is_refused_and_recorded,
);
