//! Account administration, API keys, the operator CLI and start-up
//! defaults, over HTTP on both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::api::status_and_json;
use common::db::stderr;
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn started(backend: Backend) -> (TestDb, TestServer) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    (db, server)
}

fn cli_with_stdin(db: &TestDb, args: &[&str], input: &str) -> std::process::Output {
    let mut child = db
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

async fn user_id(server: &TestServer, token: &str) -> String {
    server.get_as("/auth/me", token).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn admins_list_users_with_a_total(backend: Backend) {
    let (_db, server) = started(backend).await;
    let admin = server.admin_token().await;
    let user = server.new_user("jane").await;
    let resp = server
        .authed(Method::GET, "/auth/users?limit=2&offset=1", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-total-count"], "3");
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ai_agent", "jane"]);

    let (status, body) = server.get_as("/auth/users", &user).await;
    assert_eq!(status, 403);
    assert!(
        body["detail"].as_str().unwrap().contains("manage:users"),
        "{body}"
    );
    for bad in ["limit=0", "limit=1000", "offset=-1", "limit=abc"] {
        let (status, body) = server.get_as(&format!("/auth/users?{bad}"), &admin).await;
        assert!(status == 422 || status == 400, "{bad}: {status} {body}");
        assert!(body["code"].is_string(), "{bad}: {body}");
    }
}

async fn admins_create_and_change_users_with_immediate_effect(backend: Backend) {
    let (_db, server) = started(backend).await;
    let admin = server.admin_token().await;
    let resp = server
        .authed(Method::POST, "/auth/users", &admin)
        .json(&json!({"username": "boss2", "email": "boss2@example.com", "password": "boss2-password", "role": "admin"}))
        .send()
        .await
        .unwrap();
    let (status, created) = status_and_json(resp).await;
    assert_eq!(status, 201, "{created}");
    let boss2 = server.token("boss2", "boss2-password").await;
    assert_eq!(server.get_as("/auth/users", &boss2).await.0, 200);

    // Demotion takes effect on the very next request with the same token.
    let id = created["id"].as_str().unwrap();
    let patch = |token: &str, id: &str, body: Value| {
        server
            .authed(Method::PATCH, &format!("/auth/users/{id}"), token)
            .json(&body)
            .send()
    };
    let (status, body) = status_and_json(
        patch(&admin, id, json!({"role": "readonly"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["permissions"], json!(["read:items"]));
    assert_eq!(server.get_as("/auth/users", &boss2).await.0, 403);

    // Deactivation too: the unexpired token is refused at once.
    let (status, _) = status_and_json(
        patch(&admin, id, json!({"is_active": false}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(server.get_as("/auth/me", &boss2).await.0, 401);
    // Reactivating does not revive tokens issued before the deactivation.
    patch(&admin, id, json!({"is_active": true})).await.unwrap();
    assert_eq!(server.get_as("/auth/me", &boss2).await.0, 401);

    let (status, body) =
        status_and_json(patch(&admin, id, json!({"email": "bad"})).await.unwrap()).await;
    assert_eq!(status, 422, "{body}");
    let missing = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        patch(&admin, &missing, json!({"full_name": "x"}))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        patch(&admin, "not-a-uuid", json!({"full_name": "x"}))
            .await
            .unwrap()
            .status(),
        400
    );
}

async fn nobody_removes_the_last_admin_or_deactivates_themselves(backend: Backend) {
    let (db, server) = started(backend).await;
    let admin = server.admin_token().await;
    let admin_id = user_id(&server, &admin).await;
    let patch = |body: Value| {
        server
            .authed(Method::PATCH, &format!("/auth/users/{admin_id}"), &admin)
            .json(&body)
            .send()
    };
    let (status, body) = status_and_json(patch(json!({"is_active": false})).await.unwrap()).await;
    assert_eq!(status, 403, "self-deactivation: {body}");
    let (status, body) = status_and_json(patch(json!({"role": "user"})).await.unwrap()).await;
    assert_eq!(status, 403, "self-demotion: {body}");
    let (status, body) = server
        .execute(
            &admin,
            "manage_users",
            json!({"action": "update", "user_id": admin_id, "user_data": {"role": "readonly"}}),
            None,
        )
        .await;
    assert_eq!(
        body["success"], false,
        "self-demotion by tool: {status} {body}"
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("own role"),
        "{body}"
    );
    assert_eq!(
        server.get_as("/auth/users", &admin).await.0,
        200,
        "still an admin"
    );

    // With a second admin, one may deactivate the other; then the survivor
    // is the last one, and even the CLI (no self to protect) cannot demote it.
    let resp = server
        .authed(Method::POST, "/auth/users", &admin)
        .json(&json!({"username": "second", "email": "second@example.com", "password": "second-password", "role": "admin"}))
        .send()
        .await
        .unwrap();
    let (_, second) = status_and_json(resp).await;
    let second_token = server.token("second", "second-password").await;
    let resp = server
        .authed(
            Method::PATCH,
            &format!("/auth/users/{admin_id}"),
            &second_token,
        )
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let second_id = second["id"].as_str().unwrap();
    let resp = server
        .authed(
            Method::PATCH,
            &format!("/auth/users/{second_id}"),
            &second_token,
        )
        .json(&json!({"role": "user"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "self-demotion");
    let out = db.cli(&["users", "set-role", "second", "user"]);
    assert!(!out.status.success(), "the CLI demoted the last admin");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no active admin"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn api_keys_are_shown_once_and_work_until_revoked(backend: Backend) {
    let (_db, server) = started(backend).await;
    let token = server.new_user("kim").await;
    let resp = server
        .authed(Method::POST, "/auth/api-keys", &token)
        .json(&json!({"name": "laptop", "expires_in_days": 30}))
        .send()
        .await
        .unwrap();
    let (status, created) = status_and_json(resp).await;
    assert_eq!(status, 201, "{created}");
    let key = created["api_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("aiapi_") && key.len() >= 38);
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));

    let (status, listed) = server.get_as("/auth/api-keys", &token).await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["name"], "laptop");
    assert!(
        !listed.to_string().contains(&key),
        "listings never show the key"
    );
    assert!(listed[0]["expires_at"].is_string());

    // X-API-Key, and the key as a bearer token.
    let resp = server
        .http
        .get(server.url("/auth/me"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    let (status, me) = status_and_json(resp).await;
    assert_eq!((status, me["username"].as_str()), (200, Some("kim")));
    assert_eq!(server.get_as("/auth/me", &key).await.0, 200);
    // Login and /auth/me never return keys.
    let (_, me) = server.get_as("/auth/me", &token).await;
    assert!(me.get("api_key").is_none());

    // Someone else cannot revoke it.
    let other = server.new_user("lee").await;
    let id = created["id"].as_str().unwrap();
    let resp = server
        .authed(Method::DELETE, &format!("/auth/api-keys/{id}"), &other)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = server
        .authed(Method::DELETE, &format!("/auth/api-keys/{id}"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = server
        .http
        .get(server.url("/auth/me"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("revoked"), "{challenge}");
    assert_eq!(server.get_as("/auth/me", &key).await.0, 401);
    let resp = server
        .http
        .get(server.url("/auth/me"))
        .header("x-api-key", "aiapi_madeup")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    let (status, body) = status_and_json(
        server
            .authed(Method::POST, "/auth/api-keys", &token)
            .json(&json!({"name": "", "expires_in_days": 0}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
}

async fn expired_keys_and_deactivated_owners_are_refused(backend: Backend) {
    let (db, server) = started(backend).await;
    let token = server.new_user("mia").await;
    let (_, created) = status_and_json(
        server
            .authed(Method::POST, "/auth/api-keys", &token)
            .json(&json!({"name": "old"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let key = created["api_key"].as_str().unwrap();
    assert_eq!(server.get_as("/auth/me", key).await.0, 200);
    let id = created["id"].as_str().unwrap();
    let past = "2000-01-01T00:00:00.000000Z";
    db.execute(&format!(
        "UPDATE api_keys SET expires_at = '{past}' WHERE id = '{id}'"
    ))
    .await;
    assert_eq!(server.get_as("/auth/me", key).await.0, 401, "expired key");

    let (_, fresh) = status_and_json(
        server
            .authed(Method::POST, "/auth/api-keys", &token)
            .json(&json!({"name": "new"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let fresh = fresh["api_key"].as_str().unwrap();
    assert_eq!(server.get_as("/auth/me", fresh).await.0, 200);
    assert!(db.cli(&["users", "deactivate", "mia"]).status.success());
    assert_eq!(
        server.get_as("/auth/me", fresh).await.0,
        401,
        "deactivated owner"
    );
}

async fn admins_generate_keys_in_the_tutorial_shape(backend: Backend) {
    let (_db, server) = started(backend).await;
    let admin = server.admin_token().await;
    let user = server.new_user("ned").await;
    let id = user_id(&server, &user).await;
    let resp = server
        .authed(
            Method::POST,
            &format!("/auth/users/{id}/generate-api-key"),
            &admin,
        )
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], "API key generated successfully");
    let key = body["api_key"].as_str().unwrap();
    assert_eq!(server.get_as("/auth/me", key).await.1["username"], "ned");
    let resp = server
        .authed(
            Method::POST,
            &format!("/auth/users/{id}/generate-api-key"),
            &user,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

async fn the_cli_manages_accounts_and_keys(backend: Backend) {
    let (db, server) = started(backend).await;
    let out = cli_with_stdin(
        &db,
        &[
            "users",
            "create",
            "olga",
            "--email",
            "olga@example.com",
            "--role",
            "auditor",
        ],
        "olga-password\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let token = server.token("olga", "olga-password").await;
    assert_eq!(server.get_as("/auth/me", &token).await.1["role"], "auditor");

    let out = cli_with_stdin(
        &db,
        &["users", "create", "olga", "--email", "o2@example.com"],
        "olga-password\n",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already taken"), "{}", stderr(&out));
    let out = cli_with_stdin(
        &db,
        &["users", "create", "pat", "--email", "pat@example.com"],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("at least 8"), "{}", stderr(&out));
    let out = cli_with_stdin(
        &db,
        &["users", "create", "pat", "--email", "pat@example.com"],
        "",
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no password given on standard input"),
        "{}",
        stderr(&out)
    );
    let out = db.cli(&["audit", "export", "--from", "yesterday"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("such as 2026-01-01T00:00:00Z"),
        "{}",
        stderr(&out)
    );

    let out = db.cli(&["users", "set-role", "olga", "readonly"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        server.get_as("/auth/me", &token).await.1["role"],
        "readonly"
    );
    for args in [
        ["users", "set-role", "admin", "user"],
        ["users", "deactivate", "admin", ""],
    ] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let out = db.cli(&args);
        assert!(!out.status.success(), "the last admin stays: {args:?}");
        assert!(stderr(&out).contains("no active admin"), "{}", stderr(&out));
    }

    let out = db.cli(&["users", "list"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("olga")
            && listing.contains("readonly")
            && listing.contains("3 of 3 users"),
        "{listing}"
    );

    let out = db.cli(&["api-keys", "create", "olga", "--name", "ops"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(server.get_as("/auth/me", &key).await.0, 200);
    let listing =
        String::from_utf8_lossy(&db.cli(&["api-keys", "list", "olga"]).stdout).into_owned();
    assert!(
        listing.contains("ops") && listing.contains("active") && !listing.contains(&key),
        "{listing}"
    );
    let id = listing
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let out = db.cli(&["api-keys", "revoke", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.get_as("/auth/me", &key).await.0, 401);

    let out = cli_with_stdin(
        &db,
        &["users", "set-password", "olga"],
        "another-password\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        server.get_as("/auth/me", &token).await.0,
        401,
        "set-password ends tokens"
    );
    server.token("olga", "another-password").await;

    assert!(db.cli(&["users", "deactivate", "olga"]).status.success());
    let (status, _) = status_and_json(
        server
            .post_json(
                "/auth/login",
                &json!({"username": "olga", "password": "another-password"}),
            )
            .await,
    )
    .await;
    assert_eq!(
        status, 401,
        "a deactivated account answers as a wrong password"
    );
    let out = db.cli(&["users", "deactivate", "nobody"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no user named"), "{}", stderr(&out));
}

async fn seeded_passwords_warn_in_development_and_block_production(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let dev = TestServer::start(&db).await;
    let log = dev.log();
    assert!(
        log.contains("default passwords") && log.contains("admin, ai_agent"),
        "{log}"
    );
    drop(dev);

    let run = |env: &[(&str, &str)]| {
        let mut cmd = db.command(&["serve", "--bind", "127.0.0.1:0"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(&[("AIAPI_ENV", "production")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("AIAPI_JWT_SECRET"),
        "{}",
        stderr(&out)
    );

    let secret = ("AIAPI_JWT_SECRET", "production-secret-production-secret-42");
    let out = run(&[("AIAPI_ENV", "production"), secret]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("default") && err.contains("admin") && err.contains("ai_agent"),
        "{err}"
    );

    for user in ["admin", "ai_agent"] {
        let out = cli_with_stdin(&db, &["users", "set-password", user], "a-better-password\n");
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let prod = TestServer::start_with(&db, &[("AIAPI_ENV", "production"), secret]).await;
    assert_eq!(prod.get("/health").await.status(), 200);
    assert!(!prod.log().contains("default passwords"));
}

async fn the_development_secret_survives_restarts(backend: Backend) {
    let db = TestDb::create(backend).await;
    let first = TestServer::start(&db).await;
    let token = first.admin_token().await;
    drop(first);
    let path = db.data_dir().join("jwt-secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = TestServer::start(&db).await;
    assert_eq!(
        second.get_as("/auth/me", &token).await.0,
        200,
        "tokens outlive a restart"
    );
    let secret = std::fs::read_to_string(&path).unwrap();
    assert!(
        !second.log().contains(secret.trim()),
        "the secret is never logged"
    );
}

async fn expired_revocations_are_pruned(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let store = db.store().await;
    let admin = store.user_by_username("admin").await.unwrap().unwrap();
    let now = aiapi::domain::time::now();
    for (offset, reason) in [(-60, "old"), (3600, "live")] {
        store
            .revoke_access_token(
                &aiapi::store::Revocation {
                    jti: uuid::Uuid::new_v4(),
                    user_id: admin.id,
                    expires_at: now + chrono::Duration::seconds(offset),
                    reason,
                },
                now,
            )
            .await
            .unwrap();
    }
    assert_eq!(store.prune_expired_tokens(now).await.unwrap(), 1);
    assert_eq!(store.prune_expired_tokens(now).await.unwrap(), 0);
    store.close().await;
}

async fn the_login_throttle_holds_across_replicas(backend: Backend) {
    let db = TestDb::create(backend).await;
    let env = [("AIAPI_LOGIN_MAX_FAILURES", "2")];
    let a = TestServer::start_with(&db, &env).await;
    let b = TestServer::start_with(&db, &env).await;
    let bad = json!({"username": "admin", "password": "wrong-password"});
    assert_eq!(a.post_json("/auth/login", &bad).await.status(), 401);
    assert_eq!(b.post_json("/auth/login", &bad).await.status(), 401);
    let good = json!({"username": "admin", "password": common::api::ADMIN_PASSWORD});
    assert_eq!(a.post_json("/auth/login", &good).await.status(), 429);
    assert_eq!(b.post_json("/auth/login", &good).await.status(), 429);
}

on_both_backends!(
    the_login_throttle_holds_across_replicas,
    admins_list_users_with_a_total,
    admins_create_and_change_users_with_immediate_effect,
    nobody_removes_the_last_admin_or_deactivates_themselves,
    api_keys_are_shown_once_and_work_until_revoked,
    expired_keys_and_deactivated_owners_are_refused,
    admins_generate_keys_in_the_tutorial_shape,
    the_cli_manages_accounts_and_keys,
    seeded_passwords_warn_in_development_and_block_production,
    the_development_secret_survives_restarts,
    expired_revocations_are_pruned,
);
