//! The OAuth flow's pages in a real browser (headless Chromium driven by
//! Playwright, `tests/browser/oauth_pages.mjs`): signing in with the
//! keyboard, allowing and denying by the buttons' accessible names, with
//! screenshots of both pages under `target/screenshots/`. The code the
//! browser carries back is then exchanged like a client would. On both
//! backends. Needs `make browser-setup`; `make test` skips these without
//! it.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use std::path::PathBuf;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::api::status_and_json;
use common::{Backend, TestDb, TestServer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "a-verifier-for-the-browser-test-of-at-least-43-chars";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the browser script on `authorize`, answering `decision`; returns
/// the URL the browser was sent back to.
fn drive_browser(authorize: &str, decision: &str, shots: &str) -> url::Url {
    let modules = root().join("target/browser/node_modules");
    assert!(
        modules.join("playwright-core").exists() && PathBuf::from("/usr/bin/chromium").exists(),
        "the browser tests need chromium and playwright-core: run `make browser-setup`"
    );
    let out = Command::new("node")
        .arg(root().join("tests/browser/oauth_pages.mjs"))
        .env("AIAPI_BROWSER_MODULES", &modules)
        .env("AUTHORIZE_URL", authorize)
        .env("REDIRECT_PREFIX", REDIRECT)
        .env("LOGIN_USERNAME", "ai_agent")
        .env("LOGIN_PASSWORD", "ai123")
        .env("DECISION", decision)
        .env("SCREENSHOTS", root().join("target/screenshots").join(shots))
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "browser script failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    url::Url::parse(printed["url"].as_str().unwrap()).unwrap()
}

async fn authorize_url(server: &TestServer, name: &str) -> (String, String) {
    let resp = server
        .post_json(
            "/oauth/register",
            &json!({"client_name": name, "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none"}),
        )
        .await;
    let (status, client) = status_and_json(resp).await;
    assert_eq!(status, 201, "{client}");
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let mut url = url::Url::parse(&server.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "from-the-browser")
        .append_pair("resource", &server.url("/mcp"))
        .append_pair("scope", "read:items write:items use:mcp_tools");
    (url.into(), client_id)
}

fn param(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

async fn browser_signs_in_and_allows(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let (authorize, client_id) = authorize_url(&server, "Browser Test App").await;
    let shots = format!("{}-allow", backend.name());
    let back = drive_browser(&authorize, "allow", &shots);
    assert_eq!(param(&back, "state"), "from-the-browser");
    assert_eq!(param(&back, "iss"), server.base);
    let form = [
        ("grant_type", "authorization_code".to_owned()),
        ("code", param(&back, "code")),
        ("redirect_uri", REDIRECT.to_owned()),
        ("code_verifier", VERIFIER.to_owned()),
        ("client_id", client_id),
    ];
    let resp = reqwest::Client::new()
        .post(server.url("/oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, tokens) = status_and_json(resp).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "read:items write:items use:mcp_tools");
    for page in ["oauth-login.png", "oauth-consent.png"] {
        let shot = root().join("target/screenshots").join(&shots).join(page);
        assert!(
            std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
            "{shot:?}"
        );
    }
}

async fn browser_signs_in_and_denies(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let (authorize, _) = authorize_url(&server, "Denied Browser App").await;
    let back = drive_browser(&authorize, "deny", &format!("{}-deny", backend.name()));
    assert_eq!(param(&back, "error"), "access_denied");
    assert_eq!(param(&back, "state"), "from-the-browser");
}

on_both_backends!(browser_signs_in_and_allows, browser_signs_in_and_denies);
