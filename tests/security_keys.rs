//! Security round two, M5: keys need a fresh login, an API key cannot mint
//! keys, keys expire by default, and `logout?all` and a password change can
//! revoke them. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::status_and_json;
use common::jwt::{SECRET, claims_of, forge};
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn started(backend: Backend, extra: &[(&str, &str)]) -> (TestDb, TestServer) {
    let db = TestDb::create(backend).await;
    let mut env = vec![("AIAPI_JWT_SECRET", SECRET)];
    env.extend_from_slice(extra);
    let server = TestServer::start_with(&db, &env).await;
    (db, server)
}

async fn make_key(server: &TestServer, credential: &str, body: Value) -> (u16, Value) {
    status_and_json(
        server
            .authed(Method::POST, "/auth/api-keys", credential)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// `token` re-signed as if its login had been `minutes` ago.
fn aged(token: &str, minutes: i64) -> String {
    let mut claims = claims_of(token);
    claims["auth_time"] = json!(chrono::Utc::now().timestamp() - minutes * 60);
    forge(&claims, SECRET)
}

async fn m5_an_api_key_cannot_mint_keys(backend: Backend) {
    let (_db, server) = started(backend, &[]).await;
    let token = server.new_user("kira").await;
    let (status, created) = make_key(&server, &token, json!({"name": "first"})).await;
    assert_eq!(status, 201, "{created}");
    let key = created["api_key"].as_str().unwrap();
    let (status, body) = make_key(
        &server,
        key,
        json!({"name": "child", "current_password": "password-kira"}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("API key"),
        "{body}"
    );
    let (_, listed) = server.get_as("/auth/api-keys", &token).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "no key was made");
}

async fn m5_a_login_older_than_five_minutes_needs_the_current_password(backend: Backend) {
    let (_db, server) = started(backend, &[]).await;
    let token = server.new_user("olga").await;
    let old = aged(&token, 6);
    assert_eq!(
        server.get_as("/auth/me", &old).await.0,
        200,
        "the old login still works"
    );
    let (status, body) = make_key(&server, &old, json!({"name": "stolen"})).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("current_password"),
        "{body}"
    );
    let (status, _) = make_key(
        &server,
        &old,
        json!({"name": "stolen", "current_password": "a-guess-a-guess"}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = make_key(
        &server,
        &old,
        json!({"name": "mine", "current_password": "password-olga"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = make_key(&server, &aged(&token, 4), json!({"name": "recent"})).await;
    assert_eq!(status, 201, "four minutes is fresh");

    // A refreshed login is no fresher than the login it descends from.
    let login = server.login("olga", "password-olga").await;
    let resp = server
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": login["refresh_token"]}),
        )
        .await;
    let (status, refreshed) = status_and_json(resp).await;
    assert_eq!(status, 200, "{refreshed}");
    let before = claims_of(login["access_token"].as_str().unwrap());
    let after = claims_of(refreshed["access_token"].as_str().unwrap());
    assert_eq!(before["auth_time"], after["auth_time"]);
}

async fn m5_keys_expire_by_default_and_never_only_when_allowed(backend: Backend) {
    let (_db, server) = started(backend, &[]).await;
    let token = server.new_user("nina").await;
    let (status, created) = make_key(&server, &token, json!({"name": "default"})).await;
    assert_eq!(status, 201, "{created}");
    let expires: chrono::DateTime<chrono::Utc> =
        created["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((89.9..=90.1).contains(&days), "{days} days");
    let (status, body) = make_key(
        &server,
        &token,
        json!({"name": "forever", "never_expires": true}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "never_expires");

    let (_db, allowing) = started(
        backend,
        &[
            ("AIAPI_API_KEY_NEVER_EXPIRE", "allow"),
            ("AIAPI_API_KEY_DAYS", "7"),
        ],
    )
    .await;
    let token = allowing.new_user("nina").await;
    let (status, created) = make_key(
        &allowing,
        &token,
        json!({"name": "forever", "never_expires": true}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert!(created["expires_at"].is_null());
    let (_, created) = make_key(&allowing, &token, json!({"name": "week"})).await;
    let expires: chrono::DateTime<chrono::Utc> =
        created["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        (expires - chrono::Utc::now()).num_days(),
        6,
        "just under 7 days"
    );
}

async fn m5_logout_all_and_password_change_can_revoke_keys(backend: Backend) {
    let (db, server) = started(backend, &[]).await;
    let token = server.new_user("pia").await;
    let (_, created) = make_key(&server, &token, json!({"name": "a"})).await;
    let key = created["api_key"].as_str().unwrap().to_owned();
    let logout = |token: String, query: &'static str| {
        let server = &server;
        async move {
            server
                .authed(Method::POST, &format!("/auth/logout{query}"), &token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(logout(token.clone(), "?all=true").await, 200);
    assert_eq!(
        server.get_as("/auth/me", &key).await.0,
        200,
        "keys survive a plain logout"
    );
    let token = server.token("pia", "password-pia").await;
    assert_eq!(
        logout(token.clone(), "?revoke_api_keys=true").await,
        422,
        "only with all=true"
    );
    assert_eq!(logout(token, "?all=true&revoke_api_keys=true").await, 200);
    assert_eq!(server.get_as("/auth/me", &key).await.0, 401);

    let token = server.token("pia", "password-pia").await;
    let (_, created) = make_key(&server, &token, json!({"name": "b"})).await;
    let key = created["api_key"].as_str().unwrap().to_owned();
    let change = |token: String, revoke: bool, from: &'static str, to: &'static str| {
        let server = &server;
        async move {
            server
                .authed(Method::POST, "/auth/me/password", &token)
                .json(&json!({"current_password": from, "new_password": to, "revoke_api_keys": revoke}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let fresh = change(token, false, "password-pia", "second-password").await;
    assert_eq!(
        server.get_as("/auth/me", &key).await.0,
        200,
        "keys survive by default"
    );
    let token = fresh["access_token"].as_str().unwrap().to_owned();
    change(token, true, "second-password", "third-password").await;
    assert_eq!(server.get_as("/auth/me", &key).await.0, 401);
    let rows = db
        .scalar_i64("SELECT count(*) FROM audit_log WHERE action = 'api_keys_revoked'")
        .await;
    assert_eq!(rows, 2);
}

on_both_backends!(
    m5_an_api_key_cannot_mint_keys,
    m5_a_login_older_than_five_minutes_needs_the_current_password,
    m5_keys_expire_by_default_and_never_only_when_allowed,
    m5_logout_all_and_password_change_can_revoke_keys,
);
