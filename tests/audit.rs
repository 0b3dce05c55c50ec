//! The audit log for auditors, on both backends: every event kind, filters
//! and cursors, summaries, exports, and the tamper-evident chain.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use std::collections::BTreeSet;

use aiapi::domain::{AuditEntry, AuditKind, Outcome, Surface, time};
use common::api::{ADMIN_PASSWORD, status_and_json};
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn started(backend: Backend, env: &[(&str, &str)]) -> (TestDb, TestServer) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, env).await;
    (db, server)
}

async fn entries(server: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = server
        .get_as(&format!("/api/v1/audit?limit=1000&{query}"), token)
        .await;
    assert_eq!(status, 200, "{query}: {body}");
    body["entries"].as_array().unwrap().clone()
}

fn actions(rows: &[Value]) -> BTreeSet<String> {
    rows.iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn every_event_kind_is_recorded(backend: Backend) {
    let (db, server) = started(backend, &[("AIAPI_LOGIN_MAX_FAILURES", "2")]).await;
    let user = server.new_user("eve").await;
    let bad = json!({"username": "mallory", "password": "wrong-password-123"});
    for _ in 0..3 {
        server.post_json("/auth/login", &bad).await;
    }
    let admin_pair = server.login("admin", ADMIN_PASSWORD).await;
    let refresh = admin_pair["refresh_token"].clone();
    server
        .post_json("/auth/refresh", &json!({"refresh_token": refresh}))
        .await;
    server
        .post_json("/auth/refresh", &json!({"refresh_token": refresh}))
        .await;
    let admin = server.token("admin", ADMIN_PASSWORD).await;
    server
        .authed(Method::POST, "/auth/me/password", &user)
        .json(&json!({"current_password": "password-eve", "new_password": "password-eve-2"}))
        .send()
        .await
        .unwrap();
    let user = server.token("eve", "password-eve-2").await;
    let (_, key) = status_and_json(
        server
            .authed(Method::POST, "/auth/api-keys", &user)
            .json(&json!({"name": "k"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    server
        .authed(
            Method::DELETE,
            &format!("/auth/api-keys/{}", key["id"].as_str().unwrap()),
            &user,
        )
        .send()
        .await
        .unwrap();
    let eve_id = server.get_as("/auth/me", &user).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for patch in [
        json!({"role": "readonly"}),
        json!({"is_active": false}),
        json!({"is_active": true}),
    ] {
        let resp = server
            .authed(Method::PATCH, &format!("/auth/users/{eve_id}"), &admin)
            .json(&patch)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let agent = server.token("ai_agent", "ai123").await;
    let session = server.open_session(&agent).await;
    server
        .execute(&agent, "search_items", json!({"query": ""}), Some(&session))
        .await;
    server.close_session(&agent, &session).await;
    let stale = server.open_session(&agent).await;
    db.execute(&format!(
        "UPDATE mcp_sessions SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = '{stale}'"
    ))
    .await;
    server
        .authed(Method::POST, "/auth/logout", &agent)
        .send()
        .await
        .unwrap();
    assert!(
        db.cli(&["users", "set-role", "eve", "user"])
            .status
            .success()
    );
    drop(server);
    // Housekeeping runs at start: the stale session is closed and recorded.
    let server = TestServer::start(&db).await;
    let inspector = server.auditor_token(&db).await;

    let all = entries(&server, &inspector, "").await;
    let seen = actions(&all);
    for action in [
        "register",
        "login",
        "login_locked",
        "token_refreshed",
        "refresh_token_reuse",
        "password_changed",
        "api_key_created",
        "api_key_revoked",
        "user_role_changed",
        "user_deactivated",
        "user_activated",
        "session_opened",
        "session_closed",
        "session_expired",
        "logout",
        "search_items",
    ] {
        assert!(seen.contains(action), "no {action} row in {seen:?}");
    }
    let failures = entries(&server, &inspector, "action=login&outcome=denied").await;
    assert_eq!(failures.len(), 2, "two wrong passwords, then the lock");
    assert_eq!(failures[0]["username"], "mallory", "the username as typed");
    assert_eq!(failures[0]["user_id"], Value::Null);
    assert_eq!(failures[0]["kind"], "auth");
    assert!(
        !all.iter()
            .any(|r| r.to_string().contains("wrong-password-123")
                || r.to_string().contains("password-eve"))
    );
    let throttled = entries(&server, &inspector, "action=login&outcome=rate_limited").await;
    assert!(
        throttled.is_empty(),
        "attempts the throttle refuses write no rows"
    );
    let locks = entries(&server, &inspector, "action=login_locked").await;
    assert_eq!(locks.len(), 1, "the lock is recorded once");
    let expired = entries(&server, &inspector, "action=session_expired").await;
    assert_eq!(expired[0]["session_id"], stale);
    assert_eq!(expired[0]["kind"], "admin");
    assert_eq!(
        expired[0]["surface"], "system",
        "housekeeping is the system's"
    );
    let opened = entries(&server, &inspector, "action=session_opened").await;
    assert!(opened.iter().all(|r| r["surface"] == "rest"), "{opened:?}");
    // eve to readonly over REST, eve back to user and inspector to auditor at the CLI.
    let role = entries(&server, &inspector, "action=user_role_changed").await;
    assert_eq!(role.len(), 3);
    let rest: Vec<&Value> = role.iter().filter(|r| r["surface"] == "rest").collect();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["username"], "admin", "the actor");
    assert!(
        rest[0]["arguments"]
            .as_str()
            .unwrap()
            .contains(r#""to":"readonly""#)
    );
    assert!(
        role.iter()
            .filter(|r| r["surface"] == "cli")
            .all(|r| r["username"].is_null())
    );
    let reuse = entries(&server, &inspector, "action=refresh_token_reuse").await;
    assert_eq!(reuse[0]["outcome"], "denied");
}

async fn listing_filters_and_cursors_hold_while_rows_arrive(backend: Backend) {
    let (db, server) = started(backend, &[]).await;
    let inspector = server.auditor_token(&db).await;
    let agent = server.token("ai_agent", "ai123").await;
    let session = server.open_session(&agent).await;
    for i in 0..12 {
        server
            .execute(&agent, "get_item", json!({"id": i + 1}), Some(&session))
            .await;
    }
    let (_, key) = status_and_json(
        server
            .authed(Method::POST, "/auth/api-keys", &agent)
            .json(&json!({"name": "k"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let key_token = key["api_key"].as_str().unwrap();
    server
        .execute(key_token, "search_items", json!({"query": ""}), None)
        .await;
    server
        .execute(
            &agent,
            "search_items",
            json!({"limit": 0, "query": ""}),
            None,
        )
        .await;

    // Page through get_item rows five at a time while new rows arrive.
    let mut seen = Vec::new();
    let mut cursor: Option<i64> = None;
    loop {
        let query = match cursor {
            Some(c) => format!("/api/v1/audit?action=get_item&limit=5&cursor={c}"),
            None => "/api/v1/audit?action=get_item&limit=5".to_owned(),
        };
        let (status, page) = server.get_as(&query, &inspector).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap()),
        );
        server
            .execute(&agent, "get_item", json!({"id": 99}), None)
            .await;
        match page["next_cursor"].as_i64() {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12, "no row skipped or repeated: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first");

    let agent_id = server.get_as("/auth/me", &agent).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        entries(&server, &inspector, &format!("session_id={session}"))
            .await
            .len(),
        13
    );
    assert_eq!(
        entries(
            &server,
            &inspector,
            &format!("api_key_id={}", key["id"].as_str().unwrap())
        )
        .await
        .len(),
        1
    );
    assert!(
        entries(&server, &inspector, &format!("user_id={agent_id}"))
            .await
            .iter()
            .all(|e| e["username"] == "ai_agent")
    );
    assert!(
        entries(
            &server,
            &inspector,
            "username=ai_agent&kind=tool&outcome=invalid"
        )
        .await
        .len()
            == 1
    );
    assert!(
        entries(&server, &inspector, "surface=rest&kind=tool")
            .await
            .len()
            >= 14
    );
    let future = "2999-01-01T00:00:00Z";
    assert!(
        entries(&server, &inspector, &format!("from={future}"))
            .await
            .is_empty()
    );
    assert!(
        !entries(&server, &inspector, &format!("to={future}"))
            .await
            .is_empty()
    );

    let first = entries(&server, &inspector, "action=get_item").await[0].clone();
    let seq = first["seq"].as_i64().unwrap();
    let (status, one) = server
        .get_as(&format!("/api/v1/audit/{seq}"), &inspector)
        .await;
    assert_eq!((status, one["hash"].clone()), (200, first["hash"].clone()));
    assert_eq!(
        server.get_as("/api/v1/audit/999999", &inspector).await.0,
        404
    );
    for bad in [
        "limit=0",
        "limit=1001",
        "kind=spy",
        "outcome=meh",
        "surface=fax",
        "cursor=0",
        "from=yesterday",
    ] {
        let (status, body) = server
            .get_as(&format!("/api/v1/audit?{bad}"), &inspector)
            .await;
        assert!(status == 422 || status == 400, "{bad}: {status} {body}");
    }

    // Auditors read the log and nothing else; others cannot read it.
    assert_eq!(server.get_as("/api/v1/audit", &agent).await.0, 403);
    assert_eq!(server.get_as("/api/v1/items", &inspector).await.0, 403);
    assert_eq!(server.get_as("/auth/users", &inspector).await.0, 403);
    assert_eq!(
        server
            .execute(&inspector, "search_items", json!({"query": ""}), None)
            .await
            .0,
        403
    );
}

async fn summaries_count_and_rate_per_group(backend: Backend) {
    let (db, server) = started(backend, &[]).await;
    let inspector = server.auditor_token(&db).await;
    let agent = server.token("ai_agent", "ai123").await;
    for _ in 0..3 {
        server
            .execute(&agent, "search_items", json!({"query": ""}), None)
            .await;
    }
    server
        .execute(&agent, "get_item", json!({"id": 1}), None)
        .await;
    server
        .execute(&agent, "manage_users", json!({"action": "list"}), None)
        .await;
    let (status, summary) = server
        .get_as("/api/v1/audit/summary?group_by=action", &inspector)
        .await;
    assert_eq!(status, 200, "{summary}");
    let group = |key: &str| {
        summary["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == key)
            .cloned()
            .unwrap()
    };
    assert_eq!(group("search_items")["count"], 3);
    assert_eq!(group("search_items")["error_rate"], 0.0);
    assert_eq!(group("get_item")["error_rate"], 1.0);
    assert_eq!(group("manage_users")["denial_rate"], 1.0);
    assert!(
        group("search_items")["p95_ms"].as_i64().unwrap()
            >= group("search_items")["p50_ms"].as_i64().unwrap()
    );
    let (_, by_user) = server
        .get_as("/api/v1/audit/summary?group_by=user", &inspector)
        .await;
    let agent_group = by_user["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "ai_agent")
        .cloned()
        .unwrap();
    assert_eq!(
        agent_group["count"], 6,
        "5 tool calls and a login: {by_user}"
    );
    let (_, by_outcome) = server
        .get_as("/api/v1/audit/summary?group_by=outcome", &inspector)
        .await;
    // Each summary is recorded after it counts: two more rows since the first.
    assert_eq!(
        by_outcome["total"].as_i64().unwrap(),
        summary["total"].as_i64().unwrap() + 2
    );
    let (_, by_day) = server
        .get_as("/api/v1/audit/summary?group_by=day", &inspector)
        .await;
    assert_eq!(
        by_day["groups"][0]["key"],
        chrono::Utc::now().date_naive().to_string()
    );
    let (_, empty) = server
        .get_as(
            "/api/v1/audit/summary?from=2999-01-01T00:00:00Z",
            &inspector,
        )
        .await;
    assert_eq!(empty["total"], 0);
    assert_eq!(
        server
            .get_as("/api/v1/audit/summary?group_by=mood", &inspector)
            .await
            .0,
        422
    );
}

fn entry(i: usize) -> AuditEntry {
    AuditEntry {
        occurred_at: time::now(),
        kind: AuditKind::Tool,
        action: "bulk".into(),
        user_id: None,
        username: Some(format!("user,{i}\n\"quoted\"")),
        auth_method: None,
        api_key_id: None,
        session_id: None,
        surface: Surface::Rest,
        arguments: format!(r#"{{"i":{i}}}"#),
        outcome: Outcome::Success,
        error: None,
        duration_ms: (i % 17) as i64,
        request_id: None,
        client_addr: None,
        approval_id: None,
        oauth_client_id: None,
        client_request_id: None,
    }
}

async fn ten_thousand_rows_export_and_parse_back(backend: Backend) {
    let (db, server) = started(backend, &[]).await;
    let store = db.store().await;
    let mut tx = store.begin().await.unwrap();
    for i in 0..10_000 {
        tx.append_audit(&entry(i)).await.unwrap();
    }
    tx.commit().await.unwrap();
    store.close().await;
    let inspector = server.auditor_token(&db).await;
    // The export records itself (`audit_exported`) before its rows stream.
    let expected = db.scalar_i64("SELECT count(*) FROM audit_log").await as usize + 1;

    let resp = server
        .authed(
            Method::GET,
            "/api/v1/audit/export?format=ndjson",
            &inspector,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let ndjson = resp.text().await.unwrap();
    let rows: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), expected);
    assert!(
        rows.windows(2)
            .all(|w| w[0]["seq"].as_i64() < w[1]["seq"].as_i64()),
        "oldest first"
    );
    assert_eq!(rows[0]["username"], "user,0\n\"quoted\"");
    assert_eq!(rows[9999]["arguments"], r#"{"i":9999}"#);

    let resp = server
        .authed(
            Method::GET,
            "/api/v1/audit/export?format=csv&action=bulk",
            &inspector,
        )
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv_text = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "seq");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 10_000);
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    for (record, row) in records.iter().zip(&rows) {
        assert_eq!(record[column("seq")], row["seq"].to_string());
        assert_eq!(&record[column("hash")], row["hash"].as_str().unwrap());
        assert_eq!(
            &record[column("username")],
            row["username"].as_str().unwrap()
        );
        assert_eq!(
            &record[column("occurred_at")],
            row["occurred_at"].as_str().unwrap()
        );
    }

    let out = db.dir.path().join("export.ndjson");
    let cli = db.cli(&[
        "audit",
        "export",
        "--format",
        "ndjson",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(cli.status.success(), "{}", common::db::stderr(&cli));
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        written.starts_with(&ndjson),
        "the CLI writes the same export"
    );
    let later: Vec<Value> = written[ndjson.len()..]
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(later.len(), 1, "and the CSV export's own row after it");
    assert_eq!(later[0]["action"], "audit_exported");
    let (status, body) = server
        .get_as("/api/v1/audit/export?format=xml", &inspector)
        .await;
    assert_eq!(status, 422, "{body}");
}

async fn the_chain_verifies_and_tampering_is_found(backend: Backend) {
    let (db, server) = started(backend, &[]).await;
    let inspector = server.auditor_token(&db).await;
    let agent = server.token("ai_agent", "ai123").await;
    for i in 0..6 {
        server
            .execute(&agent, "get_item", json!({"id": i + 1}), None)
            .await;
    }
    let (status, ok) = server.get_as("/api/v1/audit/verify", &inspector).await;
    assert_eq!(status, 200);
    assert_eq!(ok["ok"], true, "{ok}");
    let rows = ok["rows"].as_i64().unwrap();
    // The verification is recorded after it ran: one row it did not see.
    assert_eq!(
        rows + 1,
        db.scalar_i64("SELECT count(*) FROM audit_log").await
    );
    let head = db
        .texts("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1 OFFSET 1")
        .await
        .remove(0);
    assert_eq!(ok["head_hash"].as_str(), head.as_deref());
    let cli = db.cli(&["audit", "verify"]);
    assert!(cli.status.success(), "{}", common::db::stderr(&cli));
    assert!(String::from_utf8_lossy(&cli.stdout).contains(r#""ok":true"#));

    // The triggers refuse changes.
    for sql in [
        "UPDATE audit_log SET outcome = 'success'",
        "DELETE FROM audit_log",
    ] {
        let refused = db.try_execute(sql).await.unwrap_err();
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }

    // Someone with the database's keys drops them and edits a row.
    let drop_triggers = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;",
        Backend::Postgres => "DROP TRIGGER audit_log_no_update_delete ON audit_log;",
    };
    db.execute(drop_triggers).await;
    let target = db
        .scalar_i64(
            "SELECT seq FROM audit_log WHERE action = 'get_item' ORDER BY seq LIMIT 1 OFFSET 2",
        )
        .await;
    db.execute(&format!(
        "UPDATE audit_log SET outcome = 'success' WHERE seq = {target}"
    ))
    .await;
    let (_, broken) = server.get_as("/api/v1/audit/verify", &inspector).await;
    assert_eq!(broken["ok"], false);
    assert_eq!(broken["broken_seq"], target);
    assert!(
        broken["reason"].as_str().unwrap().contains("altered"),
        "{broken}"
    );
    let cli = db.cli(&["audit", "verify"]);
    assert_eq!(cli.status.code(), Some(1));
    assert!(common::db::stderr(&cli).contains(&format!("seq {target}")));

    // A deleted row breaks the link of the row after it.
    db.execute(&format!(
        "UPDATE audit_log SET outcome = 'error' WHERE seq = {target}"
    ))
    .await;
    assert_eq!(
        server.get_as("/api/v1/audit/verify", &inspector).await.1["ok"],
        true,
        "restored"
    );
    let victim = target + 1;
    db.execute(&format!("DELETE FROM audit_log WHERE seq = {victim}"))
        .await;
    let (_, broken) = server.get_as("/api/v1/audit/verify", &inspector).await;
    assert_eq!(broken["broken_seq"], victim + 1);
    assert!(
        broken["reason"].as_str().unwrap().contains("prev_hash"),
        "{broken}"
    );
}

async fn two_servers_writing_at_once_keep_one_chain(backend: Backend) {
    let db = TestDb::create(backend).await;
    // 200 calls at once from one address: more than its default cap.
    let many = [("AIAPI_MAX_CONNECTIONS_PER_ADDR", "256")];
    let a = TestServer::start_with(&db, &many).await;
    let b = TestServer::start_with(&db, &many).await;
    let token = a.token("ai_agent", "ai123").await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..200 {
        let server = if i % 2 == 0 { &a } else { &b };
        let request = server
            .authed(Method::POST, "/api/v1/mcp/execute", &token)
            .json(&json!({"tool_name": "create_item", "parameters": {"name": format!("n{i}"), "price": 1}}));
        calls.spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
    }
    while let Some(status) = calls.join_next().await {
        assert_eq!(status.unwrap().unwrap(), 200);
    }
    assert_eq!(db.scalar_i64("SELECT count(*) FROM items").await, 200);
    let inspector = a.auditor_token(&db).await;
    let (_, verified) = b.get_as("/api/v1/audit/verify", &inspector).await;
    assert_eq!(verified["ok"], true, "{verified}");
    assert!(verified["rows"].as_i64().unwrap() >= 200);
}

on_both_backends!(
    every_event_kind_is_recorded,
    listing_filters_and_cursors_hold_while_rows_arrive,
    summaries_count_and_rate_per_group,
    ten_thousand_rows_export_and_parse_back,
    the_chain_verifies_and_tampering_is_found,
    two_servers_writing_at_once_keep_one_chain,
);
