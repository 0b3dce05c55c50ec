//! The per-principal tool-call limit: counted and checked in one statement
//! before anything else, so parallel calls cannot overshoot it, and every
//! call counts, refused and unknown ones too. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use std::sync::Arc;

use common::{Backend, TestDb, TestServer};
use serde_json::json;

async fn l7_the_limit_is_exact_under_concurrency(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server =
        Arc::new(TestServer::start_with(&db, &[("AIAPI_TOOL_RATE_LIMITS", "ai_agent=20")]).await);
    let agent = server.token("ai_agent", "ai123").await;
    let calls: Vec<_> = (0..60)
        .map(|_| {
            let (server, agent) = (server.clone(), agent.clone());
            tokio::spawn(async move {
                server
                    .execute(&agent, "search_items", json!({"query": ""}), None)
                    .await
                    .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for call in calls {
        statuses.push(call.await.unwrap());
    }
    let served = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((served, limited), (20, 40), "{statuses:?}");
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM audit_log WHERE outcome = 'rate_limited'")
            .await,
        1,
        "past the limit, only the window's first refusal is recorded"
    );
}

async fn l7_refused_and_unknown_calls_count(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_TOOL_RATE_LIMITS", "ai_agent=5")]).await;
    let agent = server.token("ai_agent", "ai123").await;
    for _ in 0..3 {
        let (status, _) = server
            .execute(&agent, "no_such_tool", json!({}), None)
            .await;
        assert_eq!(status, 404);
    }
    let (status, _) = server
        .execute(&agent, "manage_users", json!({"action": "list"}), None)
        .await;
    assert_eq!(status, 403, "denied, and counted");
    let (status, _) = server
        .execute(&agent, "search_items", json!({"limit": 1000}), None)
        .await;
    assert_eq!(status, 422, "invalid, and counted");
    let (status, body) = server
        .execute(&agent, "search_items", json!({"query": ""}), None)
        .await;
    assert_eq!(status, 429, "five refused calls used the limit: {body}");
}

on_both_backends!(
    l7_the_limit_is_exact_under_concurrency,
    l7_refused_and_unknown_calls_count,
);
