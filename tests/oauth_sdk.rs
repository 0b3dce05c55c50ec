//! The official SDKs' clients connect to `/mcp` through the authorization
//! server end to end, the person's part in headless Chromium: the
//! TypeScript SDK (`@modelcontextprotocol/sdk`, its OAuth client provider;
//! `tests/browser/sdk_oauth.mjs`) and the Python SDK (`mcp`, its
//! `OAuthClientProvider`; `tests/browser/python_sdk_oauth.py`). Each:
//! discovery from the 401, dynamic registration, PKCE, tools/list and
//! tools/call, a refresh, and refusal after revocation. On both backends.
//! Needs `make browser-setup`; `make test` skips these without it.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Backend, TestDb, TestServer};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:9/sdk-callback";

/// Runs an SDK client script (`program script`) against `server`; returns
/// what it printed.
fn run_client(server: &TestServer, program: &str, script: &str) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let modules = root.join("target/browser/node_modules");
    // A program named with a path is one `make browser-setup` installed.
    let program = if program.contains('/') {
        root.join(program)
    } else {
        PathBuf::from(program)
    };
    assert!(
        modules.join("@modelcontextprotocol/sdk").exists()
            && (program.is_relative() || program.exists()),
        "the SDK tests need both SDKs, chromium and playwright-core: run `make browser-setup`"
    );
    let out = Command::new(program)
        .arg(root.join(script))
        .env("AIAPI_BROWSER_MODULES", &modules)
        .env("MCP_URL", server.url("/mcp"))
        .env("REDIRECT_URL", REDIRECT)
        .env("LOGIN_USERNAME", "ai_agent")
        .env("LOGIN_PASSWORD", "ai123")
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "SDK script failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

/// What every SDK client must have seen.
fn check(server: &TestServer, seen: &Value) {
    let authorize = url::Url::parse(seen["authorizeUrl"].as_str().unwrap()).unwrap();
    let asked: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(asked["code_challenge_method"], "S256", "{asked:?}");
    assert_eq!(asked["resource"], server.url("/mcp"), "{asked:?}");
    let tools: Vec<&str> = seen["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tools.contains(&"search_items") && tools.contains(&"create_item"),
        "{seen}"
    );
    assert_eq!(seen["calledIsError"], false, "{seen}");
    assert_eq!(seen["refreshed"], true, "{seen}");
    assert_eq!(seen["afterRefresh"].as_u64(), Some(tools.len() as u64));
    assert_eq!(seen["revokeStatus"], 200);
    assert_eq!(seen["refusedAfterRevoke"], true, "{seen}");
    assert_eq!(seen["askedAgain"], true, "{seen}");
}

async fn browser_the_typescript_sdk_connects_through_oauth(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let seen = run_client(&server, "node", "tests/browser/sdk_oauth.mjs");
    check(&server, &seen);
}

async fn browser_the_python_sdk_connects_through_oauth(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let seen = run_client(
        &server,
        "target/browser/pyenv/bin/python",
        "tests/browser/python_sdk_oauth.py",
    );
    check(&server, &seen);
}

on_both_backends!(
    browser_the_typescript_sdk_connects_through_oauth,
    browser_the_python_sdk_connects_through_oauth,
);
