//! Authentication over HTTP on both backends: registration, login, refresh
//! rotation, logout, the caller's account, throttling, and the attacks the
//! tutorial's code let through.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::{ADMIN_PASSWORD, error_fields, status_and_json};
use common::jwt::{SECRET, base64_payload, claims_of, forge};
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

/// A fixed secret so tests can forge tokens that differ only in one way.
async fn server(backend: Backend, extra: &[(&str, &str)]) -> (TestDb, TestServer) {
    let db = TestDb::create(backend).await;
    let mut env = vec![("AIAPI_JWT_SECRET", SECRET)];
    env.extend_from_slice(extra);
    let server = TestServer::start_with(&db, &env).await;
    (db, server)
}

fn assert_unauthorized(status: u16, body: &Value) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "unauthorized", "{body}");
}

async fn register_gives_role_user_and_hides_secrets(backend: Backend) {
    let (_db, server) = server(backend, &[]).await;
    let resp = server
        .post_json(
            "/auth/register",
            &json!({"username": "carol", "email": "Carol@Example.com", "password": "long-password", "full_name": "Carol"}),
        )
        .await;
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["role"], "user");
    assert_eq!(body["email"], "carol@example.com");
    assert_eq!(
        body["permissions"],
        json!(["read:items", "write:items", "use:mcp_tools"])
    );
    let text = body.to_string();
    assert!(
        !text.contains("long-password") && !text.contains("argon2"),
        "{text}"
    );
    assert!(body.get("api_key").is_none());
}

async fn register_refuses_roles_without_an_admin(backend: Backend) {
    let (_db, server) = server(backend, &[]).await;
    let ask = json!({"username": "mallory", "email": "m@example.com", "password": "long-password", "role": "admin"});
    let (status, body) = status_and_json(server.post_json("/auth/register", &ask).await).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "forbidden");

    let user = server.new_user("someone").await;
    let resp = server
        .authed(Method::POST, "/auth/register", &user)
        .json(&ask)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "a non-admin cannot grant roles");

    let admin = server.admin_token().await;
    let resp = server
        .authed(Method::POST, "/auth/register", &admin)
        .json(&ask)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["role"], "admin");
}

async fn register_rejects_duplicates_and_bad_fields(backend: Backend) {
    let (_db, server) = server(backend, &[]).await;
    server.new_user("dave").await;
    let dup_name =
        json!({"username": "dave", "email": "other@example.com", "password": "long-password"});
    let (status, body) = status_and_json(server.post_json("/auth/register", &dup_name).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains("username"));

    let dup_email =
        json!({"username": "dave2", "email": "DAVE@example.com", "password": "long-password"});
    let (status, body) =
        status_and_json(server.post_json("/auth/register", &dup_email).await).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("email"));

    for password in ["", "short"] {
        let weak = json!({"username": "erin", "email": "erin@example.com", "password": password});
        let (status, body) = status_and_json(server.post_json("/auth/register", &weak).await).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"][0]["field"], "password");
    }

    let many = json!({"username": "x", "email": "not-an-email", "password": "short"});
    let (status, body) = status_and_json(server.post_json("/auth/register", &many).await).await;
    assert_eq!(status, 422);
    let fields = error_fields(&body);
    assert_eq!(
        fields,
        ["username", "email", "password"],
        "every bad field is listed"
    );

    let (status, body) = status_and_json(
        server
            .post_json("/auth/register", &json!({"username": 5}))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let fields = error_fields(&body);
    assert_eq!(fields, ["email", "username", "password"], "{body}");
}

async fn login_accepts_form_and_json(backend: Backend) {
    let (_db, server) = server(backend, &[]).await;
    let resp = server
        .http
        .post(server.url("/auth/login"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("grant_type", "password"),
        ])
        .send()
        .await
        .unwrap();
    let (status, form) = status_and_json(resp).await;
    assert_eq!(status, 200, "{form}");
    assert_eq!(form["token_type"], "bearer");
    assert_eq!(form["expires_in"], 1800);
    assert_eq!(form["user"]["username"], "admin");
    assert!(form["user"]["last_login"].is_string());
    assert!(form["refresh_token"].is_string());

    let json = server.login("admin", ADMIN_PASSWORD).await;
    let access = json["access_token"].as_str().unwrap();
    let (status, me) = server.get_as("/auth/me", access).await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "admin");

    let log = server.log();
    assert!(log.contains("login"), "the log is captured");
    for secret in [
        ADMIN_PASSWORD,
        access,
        json["refresh_token"].as_str().unwrap(),
        SECRET,
    ] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}

async fn wrong_password_and_unknown_user_look_alike(backend: Backend) {
    let (_db, server) = server(backend, &[]).await;
    let wrong = server
        .post_json(
            "/auth/login",
            &json!({"username": "admin", "password": "nope-nope"}),
        )
        .await;
    assert_eq!(wrong.headers()["www-authenticate"], "Bearer");
    let (wrong_status, wrong_body) = status_and_json(wrong).await;
    let unknown = server
        .post_json(
            "/auth/login",
            &json!({"username": "nobody", "password": "nope-nope"}),
        )
        .await;
    let (unknown_status, unknown_body) = status_and_json(unknown).await;
    assert_eq!(wrong_status, 401);
    assert_eq!(unknown_status, 401);
    assert_eq!(wrong_body, unknown_body);
}

/// L9: a deactivated account answers exactly as a wrong password does,
/// so the answer does not reveal whether the password was right.
async fn l9_deactivated_accounts_answer_the_same_whatever_the_password(backend: Backend) {
    let (db, server) = server(backend, &[]).await;
    server.new_user("frank").await;
    let out = db.cli(&["users", "deactivate", "frank"]);
    assert!(out.status.success(), "{}", common::db::stderr(&out));
    let mut answers = Vec::new();
    for password in ["password-frank", "not-the-password"] {
        let resp = server
            .post_json(
                "/auth/login",
                &json!({"username": "frank", "password": password}),
            )
            .await;
        answers.push(status_and_json(resp).await);
    }
    assert_eq!(answers[0].0, 401, "{}", answers[0].1);
    assert_eq!(answers[0].1["detail"], answers[1].1["detail"]);
    assert_eq!(answers[0].1["code"], answers[1].1["code"]);
}

async fn refresh_rotates_and_reuse_revokes_the_family(backend: Backend) {
    let (_db, server) = server(backend, &[]).await;
    let first = server.login("admin", ADMIN_PASSWORD).await;
    let refresh1 = first["refresh_token"].as_str().unwrap();
    let (status, second) = status_and_json(
        server
            .post_json("/auth/refresh", &json!({"refresh_token": refresh1}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{second}");
    let access2 = second["access_token"].as_str().unwrap();
    let refresh2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(refresh1, refresh2);
    assert_eq!(server.get_as("/auth/me", access2).await.0, 200);

    // The spent token again: refused, and the whole login ends.
    let (status, body) = status_and_json(
        server
            .post_json("/auth/refresh", &json!({"refresh_token": refresh1}))
            .await,
    )
    .await;
    assert_unauthorized(status, &body);
    let (status, body) = status_and_json(
        server
            .post_json("/auth/refresh", &json!({"refresh_token": refresh2}))
            .await,
    )
    .await;
    assert_unauthorized(status, &body);
    let (status, body) = server.get_as("/auth/me", access2).await;
    assert_unauthorized(status, &body);
    let (status, _) = server
        .get_as("/auth/me", first["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 401);

    // Another login of the same user is a different family and still works.
    let other = server.admin_token().await;
    assert_eq!(server.get_as("/auth/me", &other).await.0, 200);
}

async fn refresh_and_access_tokens_are_not_interchangeable(backend: Backend) {
    let (_db, server) = server(backend, &[]).await;
    let pair = server.login("admin", ADMIN_PASSWORD).await;
    let refresh = pair["refresh_token"].as_str().unwrap();
    let access = pair["access_token"].as_str().unwrap();
    let (status, body) = server.get_as("/auth/users", refresh).await;
    assert_unauthorized(status, &body);
    let (status, body) = status_and_json(
        server
            .post_json("/auth/refresh", &json!({"refresh_token": access}))
            .await,
    )
    .await;
    assert_unauthorized(status, &body);
    // The refresh token never travels in the query string.
    let resp = server
        .http
        .post(server.url(&format!("/auth/refresh?refresh_token={refresh}")))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "body", "{body}");
}

async fn logout_revokes_tokens_and_all_ends_every_login(backend: Backend) {
    let (_db, server) = server(backend, &[]).await;
    let a = server.login("admin", ADMIN_PASSWORD).await;
    let b = server.login("admin", ADMIN_PASSWORD).await;
    let a_access = a["access_token"].as_str().unwrap();
    let resp = server
        .authed(Method::POST, "/auth/logout", a_access)
        .json(&json!({"refresh_token": a["refresh_token"]}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], "Successfully logged out");
    let (status, body) = server.get_as("/auth/me", a_access).await;
    assert_unauthorized(status, &body);
    let (status, _) = status_and_json(
        server
            .post_json(
                "/auth/refresh",
                &json!({"refresh_token": a["refresh_token"]}),
            )
            .await,
    )
    .await;
    assert_eq!(
        status, 401,
        "the refresh token of a logged-out login is dead"
    );

    // The other login is untouched, until ?all=true.
    let b_access = b["access_token"].as_str().unwrap();
    assert_eq!(server.get_as("/auth/me", b_access).await.0, 200);
    let c = server.admin_token().await;
    let resp = server
        .authed(Method::POST, "/auth/logout?all=true", &c)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "a bare POST (no body) is fine");
    assert_eq!(server.get_as("/auth/me", b_access).await.0, 401);
    assert_eq!(server.get_as("/auth/me", &c).await.0, 401);
    let (status, _) = status_and_json(
        server
            .post_json(
                "/auth/refresh",
                &json!({"refresh_token": b["refresh_token"]}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 401, "outdated ver refused on refresh too");
    assert_eq!(
        server
            .get_as("/auth/me", &server.admin_token().await)
            .await
            .0,
        200
    );
}

async fn me_updates_but_never_role_or_activation(backend: Backend) {
    let (_db, server) = server(backend, &[]).await;
    let token = server.new_user("gina").await;
    server.new_user("henry").await;
    let put = |body: Value| {
        server
            .authed(Method::PUT, "/auth/me", &token)
            .json(&body)
            .send()
    };
    let (status, body) = status_and_json(put(json!({"role": "admin"})).await.unwrap()).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = status_and_json(put(json!({"is_active": false})).await.unwrap()).await;
    assert_eq!(status, 403);
    let (status, body) = status_and_json(put(json!({"username": "henry"})).await.unwrap()).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = status_and_json(
        put(json!({"full_name": "Gina G", "email": "GG@example.com", "role": "user"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["full_name"], "Gina G");
    assert_eq!(body["email"], "gg@example.com");
    assert_eq!(body["role"], "user");
    let (_, me) = server.get_as("/auth/me", &token).await;
    assert_eq!(me["role"], "user");
    assert!(me["is_active"].as_bool().unwrap());
}

async fn password_change_ends_other_tokens(backend: Backend) {
    let (_db, server) = server(backend, &[]).await;
    let token = server.new_user("ivan").await;
    let other = server.token("ivan", "password-ivan").await;
    let change = |current: &str, new: &str| {
        server
            .authed(Method::POST, "/auth/me/password", &token)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    assert_eq!(
        change("wrong-wrong", "new-password-1")
            .await
            .unwrap()
            .status(),
        403
    );
    let (status, body) = status_and_json(change("password-ivan", "short").await.unwrap()).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "new_password");
    let (status, fresh) =
        status_and_json(change("password-ivan", "new-password-1").await.unwrap()).await;
    assert_eq!(status, 200, "{fresh}");
    assert_eq!(server.get_as("/auth/me", &other).await.0, 401);
    assert_eq!(server.get_as("/auth/me", &token).await.0, 401);
    assert_eq!(
        server
            .get_as("/auth/me", fresh["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );
    let (status, _) = status_and_json(
        server
            .post_json(
                "/auth/login",
                &json!({"username": "ivan", "password": "password-ivan"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 401);
    server.login("ivan", "new-password-1").await;
}

async fn forged_and_stale_tokens_are_refused(backend: Backend) {
    let (_db, server) = server(backend, &[]).await;
    let good = server.admin_token().await;
    let claims = claims_of(&good);
    assert_eq!(
        server.get_as("/auth/me", &forge(&claims, SECRET)).await.0,
        200,
        "the forge works"
    );

    let now = chrono::Utc::now().timestamp();
    let mut expired = claims.clone();
    expired["exp"] = json!(now - 30);
    expired["iat"] = json!(now - 1900);
    let mut other_jti = claims.clone();
    other_jti["jti"] = json!(uuid::Uuid::new_v4());
    other_jti["ver"] = json!(-1);
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("someone-else");
    let mut no_exp = claims.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut refresh_typed = claims.clone();
    refresh_typed["type"] = json!("refresh");

    let header_none = base64_payload::encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64_payload::encode(claims.to_string().as_bytes());
    let alg_none = format!("{header_none}.{payload}.");
    let mut parts: Vec<&str> = good.split('.').collect();
    let mut tampered_claims = claims.clone();
    tampered_claims["sub"] = json!("00000000-0000-4000-8000-000000000002");
    let tampered_payload = base64_payload::encode(tampered_claims.to_string().as_bytes());
    parts[1] = &tampered_payload;
    let tampered = parts.join(".");

    for (what, token) in [
        ("expired", forge(&expired, SECRET)),
        ("outdated ver", forge(&other_jti, SECRET)),
        ("wrong audience", forge(&wrong_aud, SECRET)),
        ("no exp", forge(&no_exp, SECRET)),
        ("refresh type", forge(&refresh_typed, SECRET)),
        (
            "another secret",
            forge(&claims, "another-secret-another-secret-another-1"),
        ),
        ("alg none", alg_none),
        ("tampered payload", tampered),
        ("garbage", "not.a.token".to_owned()),
    ] {
        let resp = server
            .authed(Method::GET, "/auth/me", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{what}");
        let challenge = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\", error_description="),
            "{what}: {challenge}"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized", "{what}");
    }
    let resp = server.get("/auth/me").await;
    assert_eq!(resp.status(), 401, "no credentials");
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn m4_failed_logins_lock_the_guesser_not_the_owner(backend: Backend) {
    let (db, server) = server(
        backend,
        &[
            ("AIAPI_LOGIN_MAX_FAILURES", "3"),
            ("AIAPI_LOGIN_MAX_FAILURES_PER_ADDR", "6"),
            ("AIAPI_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let attempt = |username: &'static str, password: &'static str, from: &'static str| {
        server
            .http
            .post(server.url("/auth/login"))
            .header("x-forwarded-for", from)
            .json(&json!({"username": username, "password": password}))
            .send()
    };
    // A success resets the username's count.
    for _ in 0..2 {
        assert_eq!(
            attempt("admin", "bad-password", "10.0.0.1")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    assert_eq!(
        attempt("admin", ADMIN_PASSWORD, "10.0.0.1")
            .await
            .unwrap()
            .status(),
        200
    );
    for _ in 0..2 {
        assert_eq!(
            attempt("admin", "bad-password", "10.0.0.2")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    assert_eq!(
        attempt("admin", ADMIN_PASSWORD, "10.0.0.2")
            .await
            .unwrap()
            .status(),
        200
    );

    // M4: three failures lock the (username, address) pair, not the
    // username: its owner, at an address with no failures, still logs in.
    for _ in 0..3 {
        assert_eq!(
            attempt("ai_agent", "bad-password", "10.0.0.3")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    let locked = attempt("ai_agent", "ai123", "10.0.0.3").await.unwrap();
    assert_eq!(locked.status(), 429, "the guessing address is locked out");
    let retry = retry_after(&locked);
    assert!(retry > 0 && retry <= 900, "{retry}");
    let body: Value = locked.json().await.unwrap();
    assert_eq!(body["code"], "too_many_requests");
    // The username is now hot: another address that has failed is
    // refused, a clean one may try (and its owner gets in).
    assert_eq!(
        attempt("someone", "bad-password", "10.0.0.5")
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        attempt("ai_agent", "ai123", "10.0.0.5")
            .await
            .unwrap()
            .status(),
        429,
        "a failing address may not guess a hot username"
    );
    assert_eq!(
        attempt("ai_agent", "ai123", "10.0.0.4")
            .await
            .unwrap()
            .status(),
        200,
        "the owner, from a clean address, logs in"
    );
    // Each failure after a lock doubles the next lock.
    db.execute("UPDATE login_throttle SET locked_until = NULL")
        .await;
    assert_eq!(
        attempt("ai_agent", "bad-password", "10.0.0.3")
            .await
            .unwrap()
            .status(),
        401
    );
    let relocked = attempt("ai_agent", "ai123", "10.0.0.3").await.unwrap();
    assert_eq!(relocked.status(), 429);
    let retry = retry_after(&relocked);
    assert!(
        retry > 30 && retry <= 60,
        "the second lock is twice as long: {retry}"
    );

    // Six failures from one (forwarded) address lock the address for every username.
    for name in ["u1", "u2", "u3", "u4", "u5", "u6"] {
        assert_eq!(
            attempt(name, "bad-password", "10.0.0.9")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    assert_eq!(
        attempt("admin", ADMIN_PASSWORD, "10.0.0.9")
            .await
            .unwrap()
            .status(),
        429
    );
    assert_eq!(
        attempt("admin", ADMIN_PASSWORD, "10.0.0.10")
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn m4_forwarded_for_from_untrusted_peers_is_ignored_and_warned(backend: Backend) {
    let (_db, server) = server(
        backend,
        &[
            ("AIAPI_LOGIN_MAX_FAILURES", "50"),
            ("AIAPI_LOGIN_MAX_FAILURES_PER_ADDR", "3"),
        ],
    )
    .await;
    // Each failure claims a new address, but the peer (127.0.0.1) is not a
    // trusted proxy, so they all count against the peer.
    for i in 0..3 {
        let resp = server
            .http
            .post(server.url("/auth/login"))
            .header("x-forwarded-for", format!("10.1.0.{i}"))
            .json(&json!({"username": format!("nobody{i}"), "password": "bad-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    let resp = server
        .http
        .post(server.url("/auth/login"))
        .header("x-forwarded-for", "10.1.0.99")
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let log = server.log();
    let warnings = log
        .matches("X-Forwarded-For from a peer not in AIAPI_TRUSTED_PROXIES")
        .count();
    assert_eq!(
        warnings, 1,
        "warned at once, then at most once a minute: {log}"
    );
}

on_both_backends!(
    register_gives_role_user_and_hides_secrets,
    register_refuses_roles_without_an_admin,
    register_rejects_duplicates_and_bad_fields,
    login_accepts_form_and_json,
    wrong_password_and_unknown_user_look_alike,
    l9_deactivated_accounts_answer_the_same_whatever_the_password,
    refresh_rotates_and_reuse_revokes_the_family,
    refresh_and_access_tokens_are_not_interchangeable,
    logout_revokes_tokens_and_all_ends_every_login,
    me_updates_but_never_role_or_activation,
    password_change_ends_other_tokens,
    forged_and_stale_tokens_are_refused,
    m4_failed_logins_lock_the_guesser_not_the_owner,
    m4_forwarded_for_from_untrusted_peers_is_ignored_and_warned,
);
