//! The official SDKs' clients connect to `/mcp` through the authorization
//! server end to end, the person's part in headless Chromium: the
//! TypeScript SDK (`@modelcontextprotocol/sdk`, its OAuth client provider;
//! `tests/browser/sdk_oauth.mjs`) and the Python SDK (`mcp`, its
//! `OAuthClientProvider`; `tests/browser/python_sdk_oauth.py`). Each:
//! discovery from the 401, then once dynamic registration and once a
//! client metadata document the script serves over https (with a test CA
//! the server is told to trust), PKCE, tools/list and tools/call, a
//! refresh, and refusal after revocation. On both backends.
//! Needs `make browser-setup`; `make test` skips these without it.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Backend, TestDb, TestServer};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:9/sdk-callback";

/// A test CA and a certificate it signed for `localhost`, made with
/// openssl in `dir`: the CA's file, then the certificate's and its key's.
fn document_certificates(dir: &Path) -> [PathBuf; 3] {
    let [ca, ca_key, cert, key, request, extensions] = [
        "ca.pem", "ca.key", "cert.pem", "cert.key", "cert.csr", "ext.cnf",
    ]
    .map(|name| dir.join(name));
    std::fs::write(
        &extensions,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         extendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let openssl = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    openssl(&[
        os("req"),
        os("-x509"),
        os("-newkey"),
        os("rsa:2048"),
        os("-nodes"),
        os("-days"),
        os("1"),
        os("-subj"),
        os("/CN=aiapi test CA"),
        os("-keyout"),
        ca_key.as_os_str(),
        os("-out"),
        ca.as_os_str(),
    ]);
    openssl(&[
        os("req"),
        os("-newkey"),
        os("rsa:2048"),
        os("-nodes"),
        os("-subj"),
        os("/CN=localhost"),
        os("-keyout"),
        key.as_os_str(),
        os("-out"),
        request.as_os_str(),
    ]);
    openssl(&[
        os("x509"),
        os("-req"),
        os("-days"),
        os("1"),
        os("-in"),
        request.as_os_str(),
        os("-CA"),
        ca.as_os_str(),
        os("-CAkey"),
        ca_key.as_os_str(),
        os("-CAcreateserial"),
        os("-extfile"),
        extensions.as_os_str(),
        os("-out"),
        cert.as_os_str(),
    ]);
    [ca, cert, key]
}

/// Runs an SDK client script (`program script`) against `server`, with
/// `env` besides the usual; returns what it printed.
fn run_client(server: &TestServer, program: &str, script: &str, env: &[(&str, &Path)]) -> Value {
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
        .envs(env.iter().copied())
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

const TYPESCRIPT: (&str, &str) = ("node", "tests/browser/sdk_oauth.mjs");
const PYTHON: (&str, &str) = (
    "target/browser/pyenv/bin/python",
    "tests/browser/python_sdk_oauth.py",
);

/// The SDK client `(program, script)` registers dynamically.
async fn registers(backend: Backend, (program, script): (&str, &str)) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let seen = run_client(&server, program, script, &[]);
    check(&server, &seen);
    assert!(
        seen["clientId"].as_str().unwrap().starts_with("cl_"),
        "{seen}"
    );
}

/// The SDK client `(program, script)` names its metadata document.
async fn names_its_document(backend: Backend, (program, script): (&str, &str)) {
    let db = TestDb::create(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let [ca, cert, key] = document_certificates(dir.path());
    let server = TestServer::start_with(&db, &[("SSL_CERT_FILE", ca.to_str().unwrap())]).await;
    let env = [
        ("DOCUMENT_CERT", cert.as_path()),
        ("DOCUMENT_KEY", key.as_path()),
    ];
    let seen = run_client(&server, program, script, &env);
    check(&server, &seen);
    let client_id = seen["clientId"].as_str().unwrap();
    assert!(client_id.starts_with("https://localhost:"), "{seen}");
    let admin = server.admin_token().await;
    let (_, clients) = server.get_as("/api/v1/oauth/clients", &admin).await;
    assert!(
        clients
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == client_id && c["source"] == "document"),
        "{clients}"
    );
}

async fn browser_the_typescript_sdk_connects_through_oauth(backend: Backend) {
    registers(backend, TYPESCRIPT).await;
}

async fn browser_the_python_sdk_connects_through_oauth(backend: Backend) {
    registers(backend, PYTHON).await;
}

async fn browser_the_typescript_sdk_connects_with_a_metadata_document(backend: Backend) {
    names_its_document(backend, TYPESCRIPT).await;
}

async fn browser_the_python_sdk_connects_with_a_metadata_document(backend: Backend) {
    names_its_document(backend, PYTHON).await;
}

on_both_backends!(
    browser_the_typescript_sdk_connects_through_oauth,
    browser_the_python_sdk_connects_through_oauth,
    browser_the_typescript_sdk_connects_with_a_metadata_document,
    browser_the_python_sdk_connects_with_a_metadata_document,
);
