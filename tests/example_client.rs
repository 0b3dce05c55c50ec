//! Runs the example client (`examples/ai_assistant.rs`) against a live
//! server on both backends: the example's own code, included here.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

#[allow(dead_code)] // its `main` is for `cargo run --example`
#[path = "../examples/ai_assistant.rs"]
mod ai_assistant;

use common::{Backend, TestDb, TestServer};

async fn the_tutorial_workflow_runs(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let out = db.cli(&["api-keys", "create", "ai_agent", "--name", "assistant"]);
    assert!(out.status.success());
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let transcript = ai_assistant::run(&server.base, &key)
        .await
        .expect("workflow");
    assert_eq!(transcript[0], "available tools: 8");
    assert_eq!(
        transcript[1],
        "Create a new item -> created 'AI recommended item'"
    );
    assert!(
        transcript[2].starts_with("Search for items -> search results (1 items):"),
        "{}",
        transcript[2]
    );
    assert!(transcript[2].contains("AI recommended item"));
    assert_eq!(
        transcript[3],
        "Analyze price distribution -> price analysis: average 100000.0, minimum 100000.0, maximum 100000.0"
    );
    let audited = db
        .scalar_i64(
            "SELECT count(*) FROM audit_log WHERE kind = 'tool' AND auth_method = 'api_key' AND outcome = 'success'",
        )
        .await;
    assert_eq!(audited, 3);
}

on_both_backends!(the_tutorial_workflow_runs);
