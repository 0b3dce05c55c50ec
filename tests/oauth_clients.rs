//! The authorization server's clients: Dynamic Client Registration (RFC
//! 7591) at `/oauth/register`, open, admin-only or off, rate-limited, with
//! the RFC's error shapes; and pre-registered clients from the CLI. Stored
//! in the database, audited with the client's id in the row. On both
//! backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::status_and_json;
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn register(server: &TestServer, body: &Value) -> (u16, Value) {
    let resp = server.post_json("/oauth/register", body).await;
    let no_store = resp
        .headers()
        .get("cache-control")
        .is_some_and(|v| v == "no-store");
    let (status, body) = status_and_json(resp).await;
    assert!(no_store, "every answer is no-store: {body}");
    (status, body)
}

async fn clients_register_themselves(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;

    // A native app (Claude Code, VS Code): public, a loopback redirect.
    let (status, public) = register(
        &server,
        &json!({"client_name": "Claude Code", "redirect_uris": ["http://localhost:33418/callback"],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "none", "software_id": "ignored"}),
    )
    .await;
    assert_eq!(status, 201, "{public}");
    let id = public["client_id"].as_str().unwrap();
    assert!(public.get("client_secret").is_none(), "{public}");
    assert_eq!(public["token_endpoint_auth_method"], "none");
    assert_eq!(public["client_name"], "Claude Code");
    assert_eq!(
        public["redirect_uris"],
        json!(["http://localhost:33418/callback"])
    );
    assert!(public["client_id_issued_at"].as_i64().unwrap() > 1_700_000_000);

    // A web app that names no method gets a secret (RFC 7591's default).
    let (status, confidential) = register(
        &server,
        &json!({"client_name": "ChatGPT", "scope": "read:items use:mcp_tools",
            "redirect_uris": ["https://chatgpt.com/connector_platform_oauth_redirect"]}),
    )
    .await;
    assert_eq!(status, 201, "{confidential}");
    let secret = confidential["client_secret"].as_str().unwrap();
    common::remember_secret(secret);
    assert_eq!(confidential["client_secret_expires_at"], 0);
    assert_eq!(
        confidential["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert_eq!(confidential["scope"], "read:items use:mcp_tools");

    // An app's own scheme.
    let (status, body) = register(
        &server,
        &json!({"client_name": "Cursor", "token_endpoint_auth_method": "none",
            "redirect_uris": ["cursor://anysphere.cursor-retrieval/oauth/user-aiapi/callback"]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // Every replica knows them: they are in the database, listed by the CLI.
    let out = db.cli(&["oauth-clients", "list"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for name in ["Claude Code", "ChatGPT", "Cursor"] {
        assert!(listing.contains(name), "{listing}");
    }
    assert!(
        listing.contains(id) && !listing.contains(secret),
        "{listing}"
    );

    let auditor = server.auditor_token(&db).await;
    let (_, rows) = server
        .get_as(
            "/api/v1/audit?action=oauth_client_registered&limit=10",
            &auditor,
        )
        .await;
    let rows = rows["entries"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().any(|r| r["oauth_client_id"] == id), "{rows:?}");
    assert!(!rows.iter().any(|r| r.to_string().contains(secret)));
}

async fn bad_metadata_gets_the_rfc_error_never_a_422(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    for (body, error) in [
        (
            json!({"client_name": "no redirect"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb#x"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "scope": "read:items root"}),
            "invalid_client_metadata",
        ),
        (json!("a string"), "invalid_client_metadata"),
    ] {
        let (status, answer) = register(&server, &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"], error, "{body}: {answer}");
        assert!(
            answer["error_description"].as_str().unwrap().len() > 10,
            "{answer}"
        );
    }
    let resp = reqwest::Client::new()
        .post(server.url("/oauth/register"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, answer) = status_and_json(resp).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_client_metadata"))
    );
    let resp = reqwest::Client::new()
        .post(server.url("/oauth/register"))
        .form(&[("redirect_uris", "https://a.example/cb")])
        .send()
        .await
        .unwrap();
    let (status, answer) = status_and_json(resp).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_client_metadata"))
    );
    let (status, answer) = status_and_json(server.get("/oauth/register").await).await;
    assert_eq!(status, 405, "{answer}");
    assert!(answer["error"].is_string(), "{answer}");
}

async fn registration_can_be_admin_only_or_off(backend: Backend) {
    let db = TestDb::create(backend).await;
    let metadata = json!({"client_name": "App", "redirect_uris": ["https://app.example/cb"]});
    let server = TestServer::start_with(&db, &[("AIAPI_OAUTH_REGISTRATION", "admin")]).await;
    let (status, body) = register(&server, &metadata).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token");
    let user = server.new_user("someone").await;
    let resp = server
        .authed(Method::POST, "/oauth/register", &user)
        .json(&metadata)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 403, "{body}");
    let admin = server.admin_token().await;
    let resp = server
        .authed(Method::POST, "/oauth/register", &admin)
        .json(&metadata)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 201, "{body}");
    drop(server);

    let server = TestServer::start_with(&db, &[("AIAPI_OAUTH_REGISTRATION", "off")]).await;
    let (status, body) = register(&server, &metadata).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("AIAPI_OAUTH_REGISTRATION"),
        "{body}"
    );
}

async fn registrations_from_one_address_are_limited(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_OAUTH_REGISTRATIONS_PER_ADDR", "2")]).await;
    let metadata = json!({"redirect_uris": ["https://app.example/cb"],
        "token_endpoint_auth_method": "none"});
    for _ in 0..2 {
        assert_eq!(register(&server, &metadata).await.0, 201);
    }
    let resp = server.post_json("/oauth/register", &metadata).await;
    assert!(resp.headers().contains_key("retry-after"));
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    // An admin is not counted.
    let admin = server.admin_token().await;
    let resp = server
        .authed(Method::POST, "/oauth/register", &admin)
        .json(&metadata)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

async fn operators_pre_register_and_disable_clients(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let out = db.cli(&[
        "oauth-clients",
        "create",
        "Internal dashboard",
        "--redirect-uri",
        "https://dash.example/cb",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--confidential",
        "--scope",
        "read:items",
    ]);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {printed}"))
            .trim()
            .to_owned()
    };
    let id = field("client_id:");
    common::remember_secret(&field("client_secret:"));

    let out = db.cli(&[
        "oauth-clients",
        "create",
        "Bad",
        "--redirect-uri",
        "http://x.example/cb",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("http"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = db.cli(&["oauth-clients", "disable", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8_lossy(&db.cli(&["oauth-clients", "list"]).stdout).into_owned();
    let line = listing.lines().find(|l| l.contains(&id)).unwrap();
    assert!(
        line.contains("disabled") && line.contains("confidential") && line.contains("cli"),
        "{line}"
    );
    let out = db.cli(&["oauth-clients", "disable", "cl_nope"]);
    assert!(!out.status.success());

    let auditor = server.auditor_token(&db).await;
    let (_, rows) = server
        .get_as(
            &format!("/api/v1/audit?kind=admin&oauth_client_id={id}&limit=10"),
            &auditor,
        )
        .await;
    assert_eq!(rows["entries"].as_array().unwrap().len(), 2, "{rows}");
    let actions: Vec<(&str, &str)> = rows["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["oauth_client_id"] == id.as_str())
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["surface"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("oauth_client_disabled", "cli"),
            ("oauth_client_registered", "cli")
        ]
    );
}

on_both_backends!(
    clients_register_themselves,
    bad_metadata_gets_the_rfc_error_never_a_422,
    registration_can_be_admin_only_or_off,
    registrations_from_one_address_are_limited,
    operators_pre_register_and_disable_clients,
);
