//! Every JSON body that does not fit its schema is a 422 naming each bad
//! field, in the API's one error shape; a body that is not JSON at all is a
//! 400 that says so.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::status_and_json;
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

/// The `(field, message)` pairs of a 422, in the order given.
fn violations(status: u16, body: &Value) -> Vec<(String, String)> {
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "validation_error", "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {body}"))
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn fields(found: &[(String, String)]) -> Vec<&str> {
    found.iter().map(|(f, _)| f.as_str()).collect()
}

async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, Value) {
    status_and_json(
        server
            .authed(method, path, token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn missing_and_null_fields_are_named(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;

    let resp = server
        .post_json(
            "/auth/register",
            &json!({"username": "newbie", "password": "long-enough-pw"}),
        )
        .await;
    let (status, body) = status_and_json(resp).await;
    assert_eq!(
        violations(status, &body),
        [("email".into(), "is required".into())]
    );

    let resp = server
        .post_json(
            "/auth/register",
            &json!({"username": null, "email": "a@example.com"}),
        )
        .await;
    let (status, body) = status_and_json(resp).await;
    let found = violations(status, &body);
    assert_eq!(fields(&found), ["username", "password"], "{body}");
    assert_eq!(found[0].1, "must not be null");
    assert_eq!(found[1].1, "is required");

    let resp = server
        .post_json("/auth/login", &json!({"username": 7}))
        .await;
    let (status, body) = status_and_json(resp).await;
    let found = violations(status, &body);
    assert_eq!(fields(&found), ["username", "password"], "{body}");
    assert_eq!(found[0].1, "must be a string, not a number");
}

async fn wrong_types_are_named_on_every_kind_of_body(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let admin = server.admin_token().await;

    let (status, body) = send(
        &server,
        Method::POST,
        "/api/v1/items",
        &admin,
        json!({"name": null, "price": "abc"}),
    )
    .await;
    assert_eq!(
        violations(status, &body),
        [
            ("name".into(), "must not be null".into()),
            ("price".into(), "must be a number, not a string".into()),
        ]
    );

    let item = server
        .create_item(&admin, json!({"name": "lamp", "price": 10.0}))
        .await;
    let path = format!("/api/v1/items/{}", item["id"]);
    let (status, body) = send(
        &server,
        Method::PUT,
        &path,
        &admin,
        json!({"price": true, "category": 5}),
    )
    .await;
    let found = violations(status, &body);
    assert_eq!(fields(&found), ["price", "category"], "{body}");
    assert_eq!(found[0].1, "must be a number, not true or false");

    // Whole numbers: fractional and out-of-range values are named.
    let (status, body) = send(
        &server,
        Method::POST,
        "/auth/api-keys",
        &admin,
        json!({"name": "ci", "expires_in_days": 1.5}),
    )
    .await;
    let found = violations(status, &body);
    assert_eq!(fields(&found), ["expires_in_days"], "{body}");
    assert!(found[0].1.starts_with("must be a whole number"), "{body}");

    // The body itself must be an object.
    let (status, body) = send(
        &server,
        Method::POST,
        "/api/v1/mcp/execute",
        &admin,
        json!(["list_items"]),
    )
    .await;
    let found = violations(status, &body);
    assert_eq!(fields(&found), ["body"], "{body}");

    // Nested values are named by their JSON pointer.
    let (status, body) = send(
        &server,
        Method::POST,
        "/auth/users",
        &admin,
        json!({"username": "x1", "email": "x1@example.com", "password": "long-enough-pw", "role": "boss"}),
    )
    .await;
    let found = violations(status, &body);
    assert_eq!(fields(&found), ["role"], "{body}");
    assert!(found[0].1.starts_with("must be one of:"), "{body}");
}

async fn rule_violations_and_schema_violations_are_one_shape(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let admin = server.admin_token().await;

    // Too long and out of range are the service's rules; they come back in
    // the same shape as the schema's, every field at once.
    let (status, body) = send(
        &server,
        Method::POST,
        "/api/v1/items",
        &admin,
        json!({"name": "n".repeat(101), "price": -1.0, "category": "c".repeat(51)}),
    )
    .await;
    let found = violations(status, &body);
    assert_eq!(fields(&found), ["name", "price", "category"], "{body}");
}

async fn malformed_json_is_a_400_that_says_so(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let admin = server.admin_token().await;

    let resp = server
        .authed(Method::POST, "/api/v1/items", &admin)
        .header("content-type", "application/json")
        .body("{\"name\": \"lamp\", ")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("the body is not valid JSON"),
        "{body}"
    );
    assert!(body["code"].is_string(), "{body}");
}

on_both_backends!(
    missing_and_null_fields_are_named,
    wrong_types_are_named_on_every_kind_of_body,
    rule_violations_and_schema_violations_are_one_shape,
    malformed_json_is_a_400_that_says_so,
);
