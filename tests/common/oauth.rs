//! The authorization flow's pieces as a browser and a client use them:
//! a cookie-keeping browser that follows no redirect, the login and
//! consent forms, PKCE, the code in a redirect, and the token endpoint.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::TestServer;
use super::api::{jsonrpc_message, status_and_json};

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const VERIFIER: &str = "a-pkce-verifier-of-at-least-forty-three-characters-long";

/// A browser: keeps cookies, follows no redirects.
pub struct Browser {
    pub http: reqwest::Client,
    pub cookies: HashMap<String, String>,
}

/// A page or redirect as the browser got it.
pub struct Got {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn keep(&mut self, resp: reqwest::Response) -> Got {
        for set in resp.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            assert!(
                attributes.contains("HttpOnly") && attributes.contains("SameSite=Lax"),
                "{set}"
            );
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Got {
            status: resp.status().as_u16(),
            location: resp
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned()),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Got {
        let resp = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(resp).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Got {
        let resp = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(resp).await
    }
}

/// The value of hidden input `name` in `page`.
pub fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    unescape(&page[start..start + page[start..].find('"').unwrap()])
}

/// HTML character references decoded, as a browser reads an attribute.
pub fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').expect("a terminated reference") + at;
        let name = &rest[at + 1..end];
        let decoded = match name {
            "amp" => '&',
            "quot" => '"',
            "lt" => '<',
            "gt" => '>',
            "apos" => '\'',
            _ if name.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&name[2..], 16).unwrap()).unwrap()
            }
            _ => char::from_u32(name[1..].parse().unwrap()).unwrap(),
        };
        out.push(decoded);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The target of the first link in `page`.
pub fn link(page: &str) -> String {
    let start = page
        .find("<a href=\"")
        .unwrap_or_else(|| panic!("no link in {page}"))
        + 9;
    unescape(&page[start..start + page[start..].find('"').unwrap()])
}

/// The query parameters of `url`.
pub fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn challenge() -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))
}

pub async fn public_client(server: &TestServer, name: &str) -> String {
    let resp = server
        .post_json(
            "/oauth/register",
            &json!({"client_name": name, "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none"}),
        )
        .await;
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 201, "{body}");
    body["client_id"].as_str().unwrap().to_owned()
}

pub fn authorize_url(server: &TestServer, client_id: &str, extra: &[(&str, &str)]) -> String {
    let resource = server.url("/mcp");
    let challenge = challenge();
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", "st-123"),
        ("resource", resource.as_str()),
        ("scope", "read:items use:mcp_tools"),
    ];
    for (name, value) in extra {
        params.retain(|(n, _)| n != name);
        if !value.is_empty() {
            params.push((name, value));
        }
    }
    let mut url = url::Url::parse(&server.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.into()
}

/// Posts the login form of `page` as `username`.
pub async fn log_in_as(
    server: &TestServer,
    browser: &mut Browser,
    page: &Got,
    username: &str,
    password: &str,
) -> Got {
    let form = [
        ("csrf", hidden(&page.body, "csrf")),
        ("request", hidden(&page.body, "request")),
        ("username", username.to_owned()),
        ("password", password.to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(&server.url("/oauth/login"), &form).await
}

/// Answers the consent page `page` with `decision` (`approve` or `deny`).
pub async fn answer(server: &TestServer, browser: &mut Browser, page: &Got, decision: &str) -> Got {
    let (csrf, request) = (hidden(&page.body, "csrf"), hidden(&page.body, "request"));
    browser
        .post(
            &server.url("/oauth/consent"),
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", decision),
            ],
        )
        .await
}

/// Signs `browser` in as the seeded ai_agent from the login page of `authorize`.
pub async fn sign_in(server: &TestServer, browser: &mut Browser, authorize: &str) -> Got {
    let login = browser.get(authorize).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let signed = log_in_as(server, browser, &login, "ai_agent", "ai123").await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    browser
        .get(&server.url(signed.location.as_deref().unwrap()))
        .await
}

/// The code in a redirect to the client, checking `state` and `iss`.
pub fn code_of(server: &TestServer, got: &Got) -> String {
    let location = got
        .location
        .as_deref()
        .unwrap_or_else(|| panic!("no redirect: {}", got.body));
    assert!(location.starts_with(REDIRECT), "{location}");
    let query = query_of(location);
    assert_eq!(query["state"], "st-123");
    assert_eq!(query["iss"], server.base);
    query["code"].clone()
}

pub async fn exchange(server: &TestServer, client_id: &str, code: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(server.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    status_and_json(resp).await
}

pub async fn refresh(server: &TestServer, client_id: &str, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(server.url("/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap();
    status_and_json(resp).await
}

/// The tool names `/mcp` lists for `token` (stateless 2026-07-28 style
/// would do too; a session keeps to what every client does).
pub async fn tools_of(server: &TestServer, token: &str) -> Result<Vec<String>, u16> {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "oauth-test", "version": "1"}}});
    let resp = server.mcp_request(token, None, &init).send().await.unwrap();
    if resp.status() != 200 {
        return Err(resp.status().as_u16());
    }
    let session = resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    resp.text().await.unwrap();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let resp = server
        .mcp_request(token, Some(&session), &list)
        .send()
        .await
        .unwrap();
    let message = jsonrpc_message(&resp.text().await.unwrap()).unwrap();
    Ok(message["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect())
}
