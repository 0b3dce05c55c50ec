//! Typed request helpers over [`TestServer`].

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

use super::{TestDb, TestServer};

/// The seeded admin's password.
pub const ADMIN_PASSWORD: &str = "admin123";

impl TestServer {
    /// A request to `path` carrying `Authorization: Bearer <token>`.
    pub fn authed(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(token)
    }

    /// POST JSON to `path` without credentials.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// Logs in (JSON) and returns the whole token response; panics unless 200.
    /// The password and the tokens are remembered for CI's log scan.
    pub async fn login(&self, username: &str, password: &str) -> Value {
        super::remember_secret(password);
        let resp = self
            .post_json(
                "/auth/login",
                &json!({"username": username, "password": password}),
            )
            .await;
        let status = resp.status();
        let body: Value = resp.json().await.expect("JSON");
        assert_eq!(status, 200, "login as {username} failed: {body}");
        for token in ["access_token", "refresh_token"] {
            super::remember_secret(body[token].as_str().unwrap_or_default());
        }
        body
    }

    /// An access token for `username`.
    pub async fn token(&self, username: &str, password: &str) -> String {
        self.login(username, password).await["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Registers `inspector`, makes it an auditor (through the CLI on `db`)
    /// and returns its access token.
    pub async fn auditor_token(&self, db: &TestDb) -> String {
        self.new_user("inspector").await;
        assert!(
            db.cli(&["users", "set-role", "inspector", "auditor"])
                .status
                .success()
        );
        self.token("inspector", "password-inspector").await
    }

    /// A JSON-RPC POST to `/mcp` as `token` (2025-11-25, in `session` if
    /// given), ready to send.
    pub fn mcp_request(&self, token: &str, session: Option<&str>, body: &Value) -> RequestBuilder {
        let request = self
            .authed(Method::POST, "/mcp", token)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .json(body);
        match session {
            Some(id) => request.header("mcp-session-id", id),
            None => request,
        }
    }

    /// Initializes a session over `/mcp` as `token` (and says it is
    /// initialized); returns its id.
    pub async fn mcp_session(&self, token: &str) -> String {
        let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "slow", "version": "1"}}});
        let resp = self
            .mcp_request(token, None, &initialize)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let session = resp.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        resp.text().await.unwrap();
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let resp = self
            .mcp_request(token, Some(&session), &initialized)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
        session
    }

    /// An access token of the seeded admin.
    pub async fn admin_token(&self) -> String {
        self.token("admin", ADMIN_PASSWORD).await
    }

    /// Registers a `user`-role account (password `password-<username>`)
    /// and returns its access token.
    pub async fn new_user(&self, username: &str) -> String {
        let password = format!("password-{username}");
        let resp = self
            .post_json(
                "/auth/register",
                &json!({
                    "username": username,
                    "email": format!("{username}@example.com"),
                    "password": password,
                }),
            )
            .await;
        assert_eq!(
            resp.status(),
            201,
            "{}",
            resp.text().await.unwrap_or_default()
        );
        self.token(username, &password).await
    }

    /// GET `path` with a bearer token; returns status and JSON body.
    pub async fn get_as(&self, path: &str, token: &str) -> (u16, Value) {
        let resp = self
            .authed(Method::GET, path, token)
            .send()
            .await
            .expect("GET");
        status_and_json(resp).await
    }
}

impl TestServer {
    /// `POST /api/v1/mcp/execute` as `token`; returns status and body.
    pub async fn execute(
        &self,
        token: &str,
        tool: &str,
        parameters: Value,
        session: Option<&str>,
    ) -> (u16, Value) {
        let resp = self
            .authed(Method::POST, "/api/v1/mcp/execute", token)
            .json(&json!({"tool_name": tool, "parameters": parameters, "session_id": session}))
            .send()
            .await
            .expect("execute");
        status_and_json(resp).await
    }

    /// `DELETE /api/v1/mcp/session/{session}` as `token`; returns status and body.
    pub async fn close_session(&self, token: &str, session: &str) -> (u16, Value) {
        let resp = self
            .authed(
                Method::DELETE,
                &format!("/api/v1/mcp/session/{session}"),
                token,
            )
            .send()
            .await
            .expect("close session");
        status_and_json(resp).await
    }

    /// Opens a REST session as `token` and returns its id.
    pub async fn open_session(&self, token: &str) -> String {
        let resp = self
            .authed(Method::POST, "/api/v1/mcp/session", token)
            .send()
            .await
            .expect("session");
        let (status, body) = status_and_json(resp).await;
        assert_eq!(status, 200, "{body}");
        body["session_id"].as_str().expect("session_id").to_owned()
    }

    /// Creates an item over REST as `token`; returns its JSON.
    pub async fn create_item(&self, token: &str, item: Value) -> Value {
        let resp = self
            .authed(Method::POST, "/api/v1/items", token)
            .json(&item)
            .send()
            .await
            .expect("create item");
        let (status, body) = status_and_json(resp).await;
        assert_eq!(status, 201, "{body}");
        body
    }
}

/// Status and JSON body (Null when the body is empty or not JSON).
pub async fn status_and_json(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The `field` of each entry in a 422's `errors`, in order.
pub fn error_fields(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {body}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect()
}

/// The JSON-RPC message of an `/mcp` answer: the body itself when it is
/// JSON, else the first SSE `data:` line that is one.
pub fn jsonrpc_message(text: &str) -> Option<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .chain(std::iter::once(text))
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v.get("jsonrpc").is_some())
        })
}
