//! Reliability under contention, across replicas and at shutdown, on both
//! backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use std::time::Duration;

use common::api::ADMIN_PASSWORD;
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::json;

async fn sixty_four_concurrent_writers_never_see_a_locked_database(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_DB_MAX_CONNECTIONS", "8")]).await;
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

on_both_backends!(
    sixty_four_concurrent_writers_never_see_a_locked_database,
    a_logout_on_one_replica_holds_on_another,
    sigterm_lets_in_flight_requests_finish,
);
