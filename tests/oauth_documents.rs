//! Clients named by a Client ID Metadata Document: the server fetches the
//! document the `client_id` URL names, keeps a copy as long as its cache
//! headers allow, and treats the client like any other (consent, tokens,
//! an admin's disabling). A document that cannot be used is an error page,
//! never a redirect. On both backends; the document is served on loopback,
//! which development mode allows.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::status_and_json;
use common::document_server::{Answer, DocumentServer};
use common::oauth::*;
use common::{Backend, TestDb, TestServer};
use serde_json::{Value, json};

fn document(client_id: &str) -> Value {
    json!({"client_id": client_id, "client_name": "Document App",
        "client_uri": "https://app.example", "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none"})
}

/// Asks to authorize `client_id` and expects an error page saying `why`.
async fn refused_with(server: &TestServer, client_id: &str, why: &str) {
    let got = Browser::new()
        .get(&authorize_url(server, client_id, &[]))
        .await;
    assert_eq!((got.status, got.location.as_deref()), (400, None), "{why}");
    assert!(got.body.contains(why), "{why}: {}", got.body);
}

async fn a_client_named_by_its_document_connects_like_any_other(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let (_, metadata) =
        status_and_json(server.get("/.well-known/oauth-authorization-server").await).await;
    assert_eq!(metadata["client_id_metadata_document_supported"], true);

    let host = DocumentServer::start(Answer::json(&json!({}), "max-age=300")).await;
    let client_id = host.url("/oauth/client.json");
    host.set(Answer::json(&document(&client_id), "max-age=300"))
        .await;
    let mut browser = Browser::new();
    let authorize = authorize_url(&server, &client_id, &[]);
    let consent = sign_in(&server, &mut browser, &authorize).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.body.contains("Document App"), "{}", consent.body);
    assert!(
        consent
            .body
            .contains("described by its publisher at 127.0.0.1"),
        "{}",
        consent.body
    );
    let approved = answer(&server, &mut browser, &consent, "approve").await;
    let (status, tokens) = exchange(&server, &client_id, &code_of(&server, &approved)).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert!(tools_of(&server, access).await.is_ok());
    let (status, refreshed) = refresh(
        &server,
        &client_id,
        tokens["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(host.hits(), 1, "one fetch for the whole flow");

    // Fresh for 300 s: the next authorization uses the copy.
    let again = browser.get(&authorize).await;
    assert!(
        again.location.is_some(),
        "consent remembered: {}",
        again.body
    );
    assert_eq!(host.hits(), 1, "the copy was used");

    let admin = server.admin_token().await;
    let (_, clients) = server.get_as("/api/v1/oauth/clients", &admin).await;
    let listed = clients
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == client_id.as_str())
        .unwrap_or_else(|| panic!("not listed: {clients}"));
    assert_eq!(listed["source"], "document", "{listed}");
    let (status, audit) = server
        .get_as(
            &format!("/api/v1/audit?oauth_client_id={client_id}&action=oauth_client_registered"),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert!(
        entries[0]["arguments"]
            .as_str()
            .unwrap()
            .contains("\"source\":\"document\"")
    );

    // Disabled by an admin, it stays disabled whatever the document says.
    let resp = reqwest::Client::new()
        .post(server.url(&format!(
            "/api/v1/oauth/clients/{}/disable",
            url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect::<String>()
        )))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(tools_of(&server, access).await, Err(401));
    refused_with(&server, &client_id, "disabled").await;
}

async fn a_document_that_cannot_be_used_is_an_error_page(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let host = DocumentServer::start(Answer::json(&json!({}), "no-store")).await;
    let client_id = host.url("/app/client.json");
    let cases = [
        (
            Answer::json(&document("https://other.example/client.json"), "no-store"),
            "not the URL it was fetched from",
        ),
        (
            Answer::json(
                &json!({"client_id": client_id, "redirect_uris": ["http://127.0.0.1:9/other"]}),
                "no-store",
            ),
            "did not register",
        ),
        (
            Answer::json(
                &json!({"client_id": client_id, "redirect_uris": [REDIRECT],
                    "client_secret": "shh"}),
                "no-store",
            ),
            "client secret",
        ),
        (
            Answer {
                status: "404 Not Found",
                headers: vec![],
                body: String::new(),
            },
            "answered 404",
        ),
        (
            Answer {
                status: "302 Found",
                headers: vec!["Location: http://127.0.0.1:9/x".into()],
                body: String::new(),
            },
            "not followed",
        ),
        (
            Answer {
                status: "200 OK",
                headers: vec!["Content-Type: text/html".into()],
                body: "<html></html>".into(),
            },
            "application/json",
        ),
        (
            Answer {
                status: "200 OK",
                headers: vec!["Content-Type: application/json".into()],
                body: format!("[\"{}\"]", "x".repeat(70_000)),
            },
            "larger than",
        ),
    ];
    for (answer, why) in cases {
        host.set(answer).await;
        refused_with(&server, &client_id, why).await;
    }
    assert_eq!(host.hits(), 7, "no-store: fetched every time");
    for (client_id, why) in [
        (host.url("/"), "has no path"),
        (host.url("/a/../client.json"), "normal form"),
        (
            "https://10.0.0.1/client.json".to_owned(),
            "not a public one",
        ),
        ("http://app.example/client.json".to_owned(), "not https"),
    ] {
        refused_with(&server, &client_id, why).await;
    }
    assert_eq!(host.hits(), 7, "refused before any request");

    let off = TestServer::start_with(&db, &[("AIAPI_OAUTH_CLIENT_DOCUMENTS", "off")]).await;
    let (_, metadata) =
        status_and_json(off.get("/.well-known/oauth-authorization-server").await).await;
    assert_eq!(metadata["client_id_metadata_document_supported"], false);
    host.set(Answer::json(&document(&client_id), "no-store"))
        .await;
    refused_with(&off, &client_id, "AIAPI_OAUTH_CLIENT_DOCUMENTS=off").await;
}

on_both_backends!(
    a_client_named_by_its_document_connects_like_any_other,
    a_document_that_cannot_be_used_is_an_error_page,
);
