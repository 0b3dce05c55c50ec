//! Security round two, H2: a refresh that races a logout or reuse
//! detection never survives it, not even after the blacklist is pruned.
//! On both backends, 50 synchronised rounds each.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use std::sync::Arc;

use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Barrier;

const ROUNDS: usize = 50;

async fn refresh(server: &TestServer, token: &str) -> (u16, Value) {
    let resp = server
        .post_json("/auth/refresh", &json!({"refresh_token": token}))
        .await;
    common::api::status_and_json(resp).await
}

/// Deletes the blacklist rows a prune run would delete one access
/// lifetime (plus its leeway) from now: the moment the finding's
/// survivors came back.
async fn prune_as_after_the_access_lifetime(db: &TestDb, backend: Backend) {
    let sql = match backend {
        Backend::Sqlite => {
            "DELETE FROM revoked_tokens WHERE expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+32 minutes')"
        }
        Backend::Postgres => {
            "DELETE FROM revoked_tokens WHERE expires_at < now() + interval '32 minutes'"
        }
    };
    db.execute(sql).await;
}

/// Whether a refresh token that came out of a race still buys tokens.
async fn survives(server: &TestServer, db: &TestDb, backend: Backend, won: Option<String>) -> bool {
    let Some(token) = won else {
        return false;
    };
    prune_as_after_the_access_lifetime(db, backend).await;
    refresh(server, &token).await.0 == 200
}

async fn h2_refresh_racing_logout_never_survives(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = Arc::new(TestServer::start(&db).await);
    let mut survivors = 0;
    for _ in 0..ROUNDS {
        let login = server.login("ai_agent", "ai123").await;
        let access = login["access_token"].as_str().unwrap().to_owned();
        let refresh_token = login["refresh_token"].as_str().unwrap().to_owned();
        let barrier = Arc::new(Barrier::new(2));
        let rotate = {
            let (server, barrier, token) = (server.clone(), barrier.clone(), refresh_token.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                refresh(&server, &token).await
            })
        };
        let logout = {
            let (server, barrier) = (server.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                server
                    .authed(Method::POST, "/auth/logout", &access)
                    .json(&json!({"refresh_token": refresh_token}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        };
        let (status, body) = rotate.await.unwrap();
        assert_eq!(logout.await.unwrap(), 200);
        let won = (status == 200).then(|| body["refresh_token"].as_str().unwrap().to_owned());
        if survives(&server, &db, backend, won).await {
            survivors += 1;
        }
    }
    assert_eq!(survivors, 0, "refresh tokens outlived their logout");
}

async fn h2_refresh_racing_reuse_detection_never_survives(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = Arc::new(TestServer::start(&db).await);
    let mut survivors = 0;
    for _ in 0..ROUNDS {
        let stolen = server.login("ai_agent", "ai123").await["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, body) = refresh(&server, &stolen).await;
        assert_eq!(status, 200, "{body}");
        let current = body["refresh_token"].as_str().unwrap().to_owned();
        let barrier = Arc::new(Barrier::new(2));
        // The thief keeps rotating the live token while the victim
        // presents the spent one, which must end the whole family.
        let rotate = {
            let (server, barrier) = (server.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                refresh(&server, &current).await
            })
        };
        let reuse = {
            let (server, barrier) = (server.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                refresh(&server, &stolen).await.0
            })
        };
        let (status, body) = rotate.await.unwrap();
        assert_eq!(reuse.await.unwrap(), 401);
        let won = (status == 200).then(|| body["refresh_token"].as_str().unwrap().to_owned());
        if survives(&server, &db, backend, won).await {
            survivors += 1;
        }
    }
    assert_eq!(survivors, 0, "refresh tokens outlived reuse detection");
}

on_both_backends!(
    h2_refresh_racing_logout_never_survives,
    h2_refresh_racing_reuse_detection_never_survives,
);
