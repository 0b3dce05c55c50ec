//! Security round two, the JWT lows: tokens from the future or living
//! longer than this server issues are refused (they exist only if the
//! secret leaked), and a rotated secret keeps verifying its tokens through
//! `AIAPI_JWT_PREVIOUS_SECRETS`. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::jwt::{SECRET, claims_of, forge};
use common::{Backend, TestDb, TestServer};
use serde_json::json;

const NEW_SECRET: &str = "the-new-secret-after-rotation-0123456789";

async fn jwt_tokens_from_the_future_or_living_too_long_are_refused(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &[("AIAPI_JWT_SECRET", SECRET)]).await;
    let claims = claims_of(&server.admin_token().await);
    assert_eq!(
        server.get_as("/auth/me", &forge(&claims, SECRET)).await.0,
        200
    );
    let now = chrono::Utc::now().timestamp();
    let mut future = claims.clone();
    future["iat"] = json!(now + 3600);
    future["exp"] = json!(now + 3600 + 1800);
    let mut not_yet = claims.clone();
    not_yet["nbf"] = json!(now + 3600);
    let mut long = claims.clone();
    long["exp"] = json!(now + 365 * 86_400);
    for (what, claims) in [
        ("iat in the future", future),
        ("nbf in the future", not_yet),
        ("a year long", long),
    ] {
        let (status, body) = server.get_as("/auth/me", &forge(&claims, SECRET)).await;
        assert_eq!(status, 401, "{what}: {body}");
    }
}

async fn jwt_previous_secrets_verify_and_never_sign(backend: Backend) {
    let db = TestDb::create(backend).await;
    let before = TestServer::start_with(&db, &[("AIAPI_JWT_SECRET", SECRET)]).await;
    let old_token = before.admin_token().await;
    drop(before);
    let rotated = TestServer::start_with(
        &db,
        &[
            ("AIAPI_JWT_SECRET", NEW_SECRET),
            ("AIAPI_JWT_PREVIOUS_SECRETS", SECRET),
        ],
    )
    .await;
    assert_eq!(
        rotated.get_as("/auth/me", &old_token).await.0,
        200,
        "old tokens still verify"
    );
    let new_token = rotated.admin_token().await;
    drop(rotated);
    let retired = TestServer::start_with(&db, &[("AIAPI_JWT_SECRET", NEW_SECRET)]).await;
    assert_eq!(
        retired.get_as("/auth/me", &old_token).await.0,
        401,
        "retired secret"
    );
    assert_eq!(
        retired.get_as("/auth/me", &new_token).await.0,
        200,
        "new tokens were signed with the new secret"
    );
}

on_both_backends!(
    jwt_tokens_from_the_future_or_living_too_long_are_refused,
    jwt_previous_secrets_verify_and_never_sign,
);
