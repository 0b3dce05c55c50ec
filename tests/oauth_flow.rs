//! The authorization flow over HTTP as a browser and a client make it:
//! the login and consent pages (CSRF, framing, no JavaScript needed), a
//! code with PKCE S256 and `iss`, its exchange, tokens bound to `/mcp`,
//! refresh rotation with reuse detection, code reuse, revocation, denial,
//! and what must never redirect. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use base64::Engine;
use common::api::status_and_json;
use common::oauth::*;
use common::{Backend, TestDb, TestServer};
use serde_json::{Value, json};

async fn a_user_signs_in_consents_and_the_client_gets_tokens_for_mcp(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let client_id = public_client(&server, "Agent App").await;
    let mut browser = Browser::new();
    let authorize = authorize_url(&server, &client_id, &[]);

    let login = browser.get(&authorize).await;
    assert_eq!(login.status, 200);
    let csp = login.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("form-action 'self' http://127.0.0.1:9"),
        "{csp}"
    );
    assert_eq!(login.headers["x-frame-options"], "DENY");
    assert!(
        login.body.contains("Agent App") && !login.body.contains("<script"),
        "{}",
        login.body
    );

    // A wrong password shows the form again, with the reason.
    let request = hidden(&login.body, "request");
    let wrong = log_in_as(&server, &mut browser, &login, "ai_agent", "nope-nope").await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("incorrect username or password"),
        "{}",
        wrong.body
    );
    // A form without its CSRF token is refused.
    let forged = browser
        .post(
            &server.url("/oauth/login"),
            &[
                ("request", &request),
                ("username", "ai_agent"),
                ("password", "ai123"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);

    let consent = sign_in(&server, &mut browser, &authorize).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(
        consent.body.contains("See the items in the catalogue"),
        "{}",
        consent.body
    );
    assert!(
        consent.body.contains("127.0.0.1"),
        "names where it goes back to"
    );
    let approved = answer(&server, &mut browser, &consent, "approve").await;
    assert_eq!(approved.status, 303);
    let code = code_of(&server, &approved);

    let (status, tokens) = exchange(&server, &client_id, &code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "read:items use:mcp_tools");
    let access = tokens["access_token"].as_str().unwrap();
    common::remember_secret(access);
    let claims = common::jwt::claims_of(access);
    assert_eq!(claims["iss"], server.base);
    assert_eq!(claims["aud"], server.url("/mcp"));
    assert_eq!(claims["client_id"], client_id.as_str());

    let tools = tools_of(&server, access).await.unwrap();
    assert!(
        tools.contains(&"search_items".to_owned()) && !tools.contains(&"create_item".to_owned()),
        "{tools:?}"
    );
    // Issued for /mcp, so refused by the REST API.
    assert_eq!(server.get_as("/api/v1/items", access).await.0, 401);

    // Refresh rotates; the spent token presented again revokes the grant.
    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, rotated) = refresh(&server, &client_id, first_refresh).await;
    assert_eq!(status, 200, "{rotated}");
    let new_access = rotated["access_token"].as_str().unwrap();
    assert!(tools_of(&server, new_access).await.is_ok());
    let (status, reused) = refresh(&server, &client_id, first_refresh).await;
    assert_eq!(
        (status, reused["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        tools_of(&server, new_access).await,
        Err(401),
        "reuse ends the grant"
    );

    // The consent is remembered: the next authorization needs no page.
    let again = browser.get(&authorize).await;
    assert_eq!(again.status, 302, "{}", again.body);
    let code = code_of(&server, &again);
    let (status, tokens) = exchange(&server, &client_id, &code).await;
    assert_eq!(status, 200);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert!(tools_of(&server, &access).await.is_ok());
    // A code used twice is refused, and what it issued is revoked.
    let (status, body) = exchange(&server, &client_id, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(tools_of(&server, &access).await, Err(401));

    // Revocation (RFC 7009) ends a grant at once.
    let code = code_of(&server, &browser.get(&authorize).await);
    let (_, tokens) = exchange(&server, &client_id, &code).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let resp = reqwest::Client::new()
        .post(server.url("/oauth/revoke"))
        .form(&[
            ("token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(tools_of(&server, &access).await, Err(401));

    let auditor = server.auditor_token(&db).await;
    let (_, rows) = server
        .get_as("/api/v1/audit?kind=auth&limit=100", &auditor)
        .await;
    let actions: Vec<&str> = rows["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["oauth_client_id"] == client_id.as_str())
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for action in [
        "oauth_consent_granted",
        "oauth_code_issued",
        "oauth_token_issued",
        "oauth_token_refreshed",
        "oauth_refresh_reuse",
        "oauth_code_reuse",
        "oauth_token_revoked",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

async fn a_denial_and_a_bad_request_go_back_to_the_client_as_errors(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let client_id = public_client(&server, "Denied App").await;
    let mut browser = Browser::new();
    let consent = sign_in(
        &server,
        &mut browser,
        &authorize_url(&server, &client_id, &[]),
    )
    .await;
    let denied = answer(&server, &mut browser, &consent, "deny").await;
    assert_eq!(denied.status, 303);
    let query = query_of(denied.location.as_deref().unwrap());
    assert_eq!(query["error"], "access_denied");
    assert_eq!(
        (query["state"].as_str(), query["iss"].as_str()),
        ("st-123", server.base.as_str())
    );

    // What is wrong with a valid client's request goes back to it only when
    // the user follows a link: registration is open, so an automatic
    // redirect would let a link to this server lead anywhere.
    // What is wrong with a valid client's request goes back to it only when
    // the user follows a link: registration is open, so an automatic
    // redirect would let a link to this server lead anywhere.
    for (extra, error) in [
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            vec![("resource", "https://elsewhere.example/mcp")],
            "invalid_target",
        ),
        (vec![("scope", "read:items root")], "invalid_scope"),
    ] {
        let got = browser
            .get(&authorize_url(&server, &client_id, &extra))
            .await;
        assert_eq!(
            (got.status, got.location.as_deref()),
            (400, None),
            "{extra:?}: {}",
            got.body
        );
        let query = query_of(&link(&got.body));
        assert_eq!(query["error"], error, "{extra:?}");
        assert_eq!(
            (query["state"].as_str(), query["iss"].as_str()),
            ("st-123", server.base.as_str())
        );
    }

    // Never a redirect to an address the client did not register.
    for extra in [
        vec![("client_id", "cl_unknown")],
        vec![("redirect_uri", "https://evil.example/cb")],
        vec![("client_id", "")],
    ] {
        let got = browser
            .get(&authorize_url(&server, &client_id, &extra))
            .await;
        assert_eq!(
            (got.status, got.location.as_deref()),
            (400, None),
            "{extra:?}"
        );
        assert!(got.body.contains("cannot be authorized"), "{}", got.body);
    }
    // A loopback redirect URI matches on any port.
    let got = browser
        .get(&authorize_url(
            &server,
            &client_id,
            &[("redirect_uri", "http://127.0.0.1:40001/callback")],
        ))
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
}

async fn the_token_endpoint_answers_in_rfc_6749_errors(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let client_id = public_client(&server, "Token App").await;
    let post = |form: Vec<(&'static str, String)>| {
        let url = server.url("/oauth/token");
        async move {
            status_and_json(
                reqwest::Client::new()
                    .post(url)
                    .form(&form)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    for (form, status, error) in [
        (
            vec![
                ("grant_type", "password".to_owned()),
                ("client_id", client_id.clone()),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![("client_id", client_id.clone())],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code".to_owned()),
                ("client_id", client_id.clone()),
                ("code", "nope".to_owned()),
                ("code_verifier", VERIFIER.to_owned()),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "authorization_code".to_owned()),
                ("client_id", "cl_nobody".to_owned()),
                ("code", "nope".to_owned()),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "refresh_token".to_owned()),
                ("client_id", client_id.clone()),
                ("refresh_token", "not.a.token".to_owned()),
            ],
            400,
            "invalid_grant",
        ),
    ] {
        let (got, body) = post(form.clone()).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{form:?}: {body}"
        );
    }
    let resp = reqwest::Client::new()
        .post(server.url("/oauth/token"))
        .json(&json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // A login's refresh token is no OAuth client's.
    let login = server.login("ai_agent", "ai123").await;
    let (status, body) = refresh(
        &server,
        &client_id,
        login["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let (status, metadata) =
        status_and_json(server.get("/.well-known/oauth-authorization-server").await).await;
    assert_eq!(status, 200);
    assert_eq!(metadata["issuer"], server.base);
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert!(
        metadata["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("none"))
    );
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "registration_endpoint",
        "revocation_endpoint",
    ] {
        assert!(
            metadata[endpoint]
                .as_str()
                .unwrap()
                .starts_with(&server.base),
            "{endpoint}"
        );
    }
    let (_, resource) = status_and_json(
        server
            .get("/.well-known/oauth-protected-resource/mcp")
            .await,
    )
    .await;
    assert_eq!(resource["resource"], server.url("/mcp"));
    assert_eq!(resource["authorization_servers"], json!([server.base]));
}

/// Tokens for `client_id` from `browser` (signed in as ai_agent, or
/// signing in), approving the consent page if it is shown.
async fn tokens_for(server: &TestServer, browser: &mut Browser, client_id: &str) -> Value {
    let authorize = authorize_url(server, client_id, &[]);
    let mut got = browser.get(&authorize).await;
    if got.body.contains("name=\"password\"") {
        got = sign_in(server, browser, &authorize).await;
    }
    if got.status == 200 {
        got = answer(server, browser, &got, "approve").await;
    }
    let (status, tokens) = exchange(server, client_id, &code_of(server, &got)).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

async fn users_revoke_connected_apps_and_admins_disable_clients(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let client_id = public_client(&server, "Connected App").await;
    let mut browser = Browser::new();
    let tokens = tokens_for(&server, &mut browser, &client_id).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert!(tools_of(&server, &access).await.is_ok());

    let owner = server.token("ai_agent", "ai123").await;
    let (status, apps) = server.get_as("/auth/connected-apps", &owner).await;
    assert_eq!(status, 200, "{apps}");
    assert_eq!(apps[0]["client_id"], client_id.as_str());
    assert_eq!(apps[0]["scopes"], json!(["read:items", "use:mcp_tools"]));
    let disconnect = |token: String| {
        let url = server.url(&format!("/auth/connected-apps/{client_id}"));
        async move {
            reqwest::Client::new()
                .delete(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(disconnect(owner.clone()).await, 204);
    assert_eq!(
        tools_of(&server, &access).await,
        Err(401),
        "refused at once"
    );
    let (status, body) = refresh(
        &server,
        &client_id,
        tokens["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(disconnect(owner.clone()).await, 404);
    assert_eq!(
        server.get_as("/auth/connected-apps", &owner).await.1,
        json!([])
    );
    // The consent is forgotten: the page asks again.
    let again = browser.get(&authorize_url(&server, &client_id, &[])).await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("decision"), "{}", again.body);

    // An admin disables the client: its tokens stop at once.
    let tokens = tokens_for(&server, &mut browser, &client_id).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert!(tools_of(&server, &access).await.is_ok());
    let disable = |token: String| {
        let url = server.url(&format!("/api/v1/oauth/clients/{client_id}/disable"));
        async move {
            status_and_json(
                reqwest::Client::new()
                    .post(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(disable(owner.clone()).await.0, 403, "not an admin");
    assert_eq!(server.get_as("/api/v1/oauth/clients", &owner).await.0, 403);
    let admin = server.admin_token().await;
    let (status, listed) = server.get_as("/api/v1/oauth/clients", &admin).await;
    assert_eq!(status, 200);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == client_id.as_str())
    );
    let (status, disabled) = disable(admin.clone()).await;
    assert_eq!(status, 200, "{disabled}");
    assert!(disabled["disabled_at"].is_string());
    assert_eq!(
        tools_of(&server, &access).await,
        Err(401),
        "refused at once"
    );
    let got = browser.get(&authorize_url(&server, &client_id, &[])).await;
    assert_eq!(
        (got.status, got.location.as_deref()),
        (400, None),
        "a disabled client gets a page"
    );

    let auditor = server.auditor_token(&db).await;
    let (_, rows) = server.get_as("/api/v1/audit?limit=200", &auditor).await;
    let rows: Vec<(String, String)> = rows["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["oauth_client_id"] == client_id.as_str())
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("oauth_consent_revoked", "success"),
        ("oauth_client_disabled", "success"),
        ("oauth_client_disabled", "denied"),
    ] {
        assert!(
            rows.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {rows:?}"
        );
    }
}

async fn grants_hold_only_what_the_role_had_and_sessions_end_with_the_password(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let client_id = public_client(&server, "Greedy App").await;
    let mut browser = Browser::new();
    // ai_agent's role lacks manage:users: the page says so, and the token
    // does not carry it, so a later promotion widens nothing.
    let greedy = authorize_url(
        &server,
        &client_id,
        &[("scope", "read:items manage:users use:mcp_tools")],
    );
    let consent = sign_in(&server, &mut browser, &greedy).await;
    assert!(
        consent.body.contains("which it will not get"),
        "{}",
        consent.body
    );
    let approved = answer(&server, &mut browser, &consent, "approve").await;
    let code = code_of(&server, &approved);
    let (status, tokens) = exchange(&server, &client_id, &code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "read:items use:mcp_tools");
    assert_eq!(
        common::jwt::claims_of(tokens["access_token"].as_str().unwrap())["scope"],
        "read:items use:mcp_tools"
    );

    // The token endpoint wants the redirect URI the code was sent to.
    let code = code_of(
        &server,
        &browser.get(&authorize_url(&server, &client_id, &[])).await,
    );
    let resp = reqwest::Client::new()
        .post(server.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
            ("client_id", &client_id),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );

    // A password change ends the browser session with every token.
    let owner = server.token("ai_agent", "ai123").await;
    let resp = server
        .authed(reqwest::Method::POST, "/auth/me/password", &owner)
        .json(&json!({"current_password": "ai123", "new_password": "another-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    common::remember_secret("another-password-1");
    let after = browser.get(&authorize_url(&server, &client_id, &[])).await;
    assert_eq!(after.status, 200);
    assert!(
        after.body.contains("name=\"password\""),
        "signed out: {}",
        after.body
    );

    // Malformed client credentials are a 401, not a failure of the database.
    let resp = reqwest::Client::new()
        .post(server.url("/oauth/token"))
        .header(
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("%00:x")
            ),
        )
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["www-authenticate"], "Basic realm=\"aiapi\"");
    let (status, body) = status_and_json(resp).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let resp = reqwest::Client::new()
        .post(server.url("/oauth/token"))
        .body("grant_type=refresh_token&client_id=%00")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // An account whose role allows none of what is asked gets a page.
    let auditor = server.auditor_token(&db).await;
    drop(auditor);
    let mut other = Browser::new();
    let login = other.get(&authorize_url(&server, &client_id, &[])).await;
    let got = log_in_as(
        &server,
        &mut other,
        &login,
        "inspector",
        "password-inspector",
    )
    .await;
    let page = other
        .get(&server.url(got.location.as_deref().unwrap()))
        .await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (403, None),
        "{}",
        page.body
    );
    assert!(page.body.contains("allows none"), "{}", page.body);
}

on_both_backends!(
    grants_hold_only_what_the_role_had_and_sessions_end_with_the_password,
    users_revoke_connected_apps_and_admins_disable_clients,
    a_user_signs_in_consents_and_the_client_gets_tokens_for_mcp,
    a_denial_and_a_bad_request_go_back_to_the_client_as_errors,
    the_token_endpoint_answers_in_rfc_6749_errors,
);
