//! The `/mcp` door: rmcp's Streamable HTTP service behind our own checks.
//! Before a request reaches rmcp it is authenticated (same credentials as
//! REST), the caller must hold `use:mcp_tools`, a JSON-RPC batch or
//! malformed JSON is answered here, a session id must name an open session
//! of the caller (else 404), and a request only the credential's scopes
//! refuse gets a step-up challenge ([`scope_gate`]). After rmcp answers, a new session is
//! bound to its user in `mcp_sessions`, a DELETE closes it there, and any
//! non-JSON error rmcp produced is rewritten as a JSON-RPC error object.

use std::sync::Arc;

use poem::endpoint::{BoxEndpoint, TowerCompatExt};
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Body, Endpoint, EndpointExt, IntoResponse, Request, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::server::McpServer;
use super::session_store::DbSessionStore;
use super::{priming, revision, scope_gate};
use crate::auth::{Principal, authenticate};
use crate::domain::bounded::MAX_INITIALIZE_PARAMS;
use crate::domain::{Permission, Scopes, Session, Surface, time};
use crate::error::ApiError;
use crate::nul_guard::value_has_nul;
use crate::request::current_request;
use crate::service::sessions::{self, Opening};
use crate::state::AppState;

/// JSON-RPC error codes used by the door.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;
const INTERNAL_ERROR: i64 = -32603;
/// Implementation-defined server errors (-32000 to -32099).
const UNAUTHORIZED: i64 = -32001;
const FORBIDDEN: i64 = -32003;
const SESSION_NOT_FOUND: i64 = -32004;
const RATE_LIMITED: i64 = -32029;

/// The `/mcp` endpoint.
pub struct McpEndpoint {
    state: Arc<AppState>,
    inner: BoxEndpoint<'static, Response>,
}

impl McpEndpoint {
    /// Builds the endpoint; cancelling `shutdown` ends open streams.
    pub fn new(state: Arc<AppState>, shutdown: CancellationToken) -> Self {
        let settings = &state.settings;
        let allowed_hosts = if settings.allowed_hosts.is_empty() {
            vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "::1".to_owned(),
            ]
        } else {
            settings.allowed_hosts.clone()
        };
        let mut origins = settings.allowed_origins.clone();
        origins.extend(own_origins(&settings.public_url));
        let mut config = StreamableHttpServerConfig::default()
            .with_allowed_hosts(allowed_hosts)
            .with_allowed_origins(origins)
            .enforce_origin_validation()
            .with_max_request_body_bytes(settings.max_body_bytes)
            .with_cancellation_token(shutdown);
        config.session_store = Some(Arc::new(DbSessionStore::new(state.store.clone())));
        let factory_state = state.clone();
        let service = StreamableHttpService::new(
            move || Ok(McpServer::new(factory_state.clone())),
            Arc::new(LocalSessionManager::default()),
            config,
        );
        Self {
            state,
            inner: TowerCompatExt::compat(service).boxed(),
        }
    }

    fn resource_metadata(&self) -> String {
        format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            self.state.settings.public_url
        )
    }
}

/// A JSON-RPC error response with `id: null`.
pub fn jsonrpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body.to_string())
}

/// A JSON-RPC 2.0 request, notification or response, by its shape.
fn is_jsonrpc_message(message: &Value) -> bool {
    let Some(object) = message.as_object() else {
        return false;
    };
    object.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
        && (object.get("method").is_some_and(Value::is_string)
            || (object.contains_key("id")
                && (object.contains_key("result") || object.contains_key("error"))))
}

fn session_header(req: &Request) -> Option<String> {
    req.headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl Endpoint for McpEndpoint {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let principal = match self.authorize(&req).await {
            Ok(principal) => principal,
            Err(refused) => {
                // Read what the client sent first: a connection answered
                // before its request body was read cannot be kept alive,
                // and a client that reuses it (every OAuth client does, its
                // first POST being refused) sees it drop under its next one.
                let _ =
                    crate::request::read_body(&mut req, self.state.settings.max_body_bytes).await;
                return Ok(refused);
            }
        };
        let message = match read_message(&mut req).await {
            Ok(message) => message,
            Err(refused) => return Ok(refused),
        };
        let initialize = message
            .as_ref()
            .filter(|m| m.get("method").and_then(Value::as_str) == Some("initialize"))
            .and_then(|m| m.get("params").cloned());
        // 2026-07-28 has no sessions: a client that still sends the header is
        // served as if it had not.
        let stateless = req
            .headers()
            .get("mcp-protocol-version")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| revision::at_least(v, revision::STATELESS));
        if stateless {
            req.headers_mut().remove("mcp-session-id");
        }
        // A request without the header speaks 2025-03-26, except initialize,
        // whose parameters name the revision asked for.
        let revision = req
            .headers()
            .get("mcp-protocol-version")
            .and_then(|v| v.to_str().ok())
            .or_else(|| initialize.as_ref()?.get("protocolVersion")?.as_str())
            .unwrap_or(revision::UNNAMED);
        let strip_priming = priming::unexpected_by(revision);
        let session = match self.open_session_of(&req, &principal).await? {
            Ok(session) => session,
            Err(refused) => return Ok(refused),
        };
        if let Some(message) = &message {
            let session_id = session.as_ref().map(|s| s.id.clone());
            let request = current_request();
            if let Some(refused) =
                scope_gate::refusal(&self.state, &principal, message, session_id, request).await
            {
                return Ok(self.refused(&refused));
            }
        }

        if let Some(params) = &initialize {
            // What rmcp keeps of a session is bounded, and a session over
            // the caller's cap is refused before rmcp makes one.
            let size = serde_json::to_string(params).map_or(0, |text| text.len());
            if size > MAX_INITIALIZE_PARAMS {
                let message = format!(
                    "initialize parameters are {size} bytes; at most {MAX_INITIALIZE_PARAMS} are accepted"
                );
                return Ok(jsonrpc_error(
                    StatusCode::BAD_REQUEST,
                    INVALID_PARAMS,
                    &message,
                ));
            }
            match sessions::may_open(&self.state, &principal).await {
                Ok(()) => {}
                Err(ApiError::TooManyRequests { detail, .. }) => {
                    return Ok(jsonrpc_error(
                        StatusCode::TOO_MANY_REQUESTS,
                        RATE_LIMITED,
                        &detail,
                    ));
                }
                Err(other) => return Err(other.into()),
            }
        }
        req.extensions_mut().insert(principal.clone());
        if let Some(info) = current_request() {
            req.extensions_mut().insert(info);
        }
        let method = req.method().clone();
        let mut resp = self.inner.call(req).await?;
        let is_stream = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        if strip_priming && is_stream {
            let body = resp.take_body();
            resp.set_body(priming::without_priming(body));
        }

        if let Some(params) = initialize
            && resp.status().is_success()
            && let Some(id) = resp
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
        {
            let opening = Opening {
                id: id.to_owned(),
                surface: Surface::Mcp,
                protocol_version: params
                    .get("protocolVersion")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                client_info: params.get("clientInfo").cloned(),
            };
            sessions::open(&self.state, &principal, opening).await?;
        }
        if method == Method::DELETE && resp.status().is_success() {
            if let Some(session) = &session {
                sessions::close(&self.state, &principal, session).await?;
            }
            // rmcp answers 202, which some clients treat as a failed termination.
            resp.set_status(StatusCode::NO_CONTENT);
        }
        Ok(as_jsonrpc_error(resp).await)
    }
}

impl McpEndpoint {
    /// The caller, who must hold `use:mcp_tools`; or the 401 or 403 that
    /// says how to get in.
    async fn authorize(&self, req: &Request) -> Result<Principal, Response> {
        let principal = match authenticate(
            &self.state.jwt,
            self.state.store.as_ref(),
            req.headers(),
            &self.state.settings.mcp_resource(),
        )
        .await
        {
            Ok(principal) => principal,
            Err(e) => {
                return Err(with_challenge(
                    jsonrpc_error(StatusCode::UNAUTHORIZED, UNAUTHORIZED, &e.to_string()),
                    &self.challenge(&e),
                ));
            }
        };
        if let Err(refusal) = principal.require(Permission::UseMcpTools) {
            // The challenge names the scope even when the role lacks it: the
            // client learns what the door needs either way.
            let needed = std::iter::once(Permission::UseMcpTools).collect();
            let challenge = self.challenge(&ApiError::InsufficientScope { needed });
            let refused = jsonrpc_error(StatusCode::FORBIDDEN, FORBIDDEN, &refusal.to_string());
            return Err(with_challenge(refused, &challenge));
        }
        Ok(principal)
    }

    /// `WWW-Authenticate` for `err`, pointing at the resource metadata.
    /// A 401's names the scopes to ask for (SEP-835): every one, since the
    /// authorization server grants only those the user's role has.
    fn challenge(&self, err: &ApiError) -> String {
        let params = err.bearer_params();
        let sep = if params.is_empty() { "" } else { ", " };
        let scope = match err {
            ApiError::InsufficientScope { .. } => String::new(),
            _ => format!(", scope=\"{}\"", Scopes::all()),
        };
        format!(
            "Bearer {params}{sep}resource_metadata=\"{}\"{scope}",
            self.resource_metadata()
        )
    }

    /// A refusal the door makes itself, as a JSON-RPC error with the
    /// error's HTTP status (and a challenge when it is about credentials).
    fn refused(&self, err: &ApiError) -> Response {
        let status = err.status();
        let code = match status {
            StatusCode::UNAUTHORIZED => UNAUTHORIZED,
            StatusCode::FORBIDDEN => FORBIDDEN,
            StatusCode::NOT_FOUND => SESSION_NOT_FOUND,
            StatusCode::TOO_MANY_REQUESTS => RATE_LIMITED,
            s if s.is_client_error() => INVALID_REQUEST,
            _ => INTERNAL_ERROR,
        };
        let request = current_request();
        let message = err.public_message(request.as_ref().map(|r| r.request_id.as_str()));
        err.log_cause(request.as_ref().map(|r| r.request_id.as_str()));
        let resp = jsonrpc_error(status, code, &message);
        match err {
            ApiError::InsufficientScope { .. }
            | ApiError::InvalidToken(_)
            | ApiError::Unauthorized(_) => with_challenge(resp, &self.challenge(err)),
            _ => resp,
        }
    }

    /// The session the `Mcp-Session-Id` header names, which must be an open
    /// `/mcp` session of the caller (else a JSON-RPC 404); `None` without
    /// the header.
    async fn open_session_of(
        &self,
        req: &Request,
        principal: &Principal,
    ) -> poem::Result<Result<Option<Session>, Response>> {
        let Some(id) = session_header(req) else {
            return Ok(Ok(None));
        };
        let open = self
            .state
            .store
            .session(&id)
            .await
            .map_err(ApiError::from)?
            .filter(|s| {
                s.surface == Surface::Mcp
                    && s.user_id == principal.user.id
                    && s.is_open(time::now())
            });
        if let Some(session) = open {
            return Ok(Ok(Some(session)));
        }
        // Someone else's session is recorded as a denied attempt; the answer
        // is the same 404 either way.
        let refusal = sessions::not_found(&self.state, principal, &id, "session_used").await;
        Ok(Err(match refusal {
            ApiError::NotFound(_) => jsonrpc_error(
                StatusCode::NOT_FOUND,
                SESSION_NOT_FOUND,
                "session not found",
            ),
            other => return Err(other.into()),
        }))
    }
}

/// The server's own origins, which are no DNS rebinding: its pages may call
/// it. That is `public_url`'s, and for a loopback address every loopback
/// spelling of it (a browser on `localhost` reaches `127.0.0.1` too). Each
/// with its port, even the scheme's default: rmcp takes an origin without
/// one for any port.
fn own_origins(public_url: &str) -> Vec<String> {
    let Ok(public) = url::Url::parse(public_url) else {
        return Vec::new();
    };
    let (Some(host), Some(port)) = (public.host_str(), public.port_or_known_default()) else {
        return Vec::new();
    };
    let hosts = if LOOPBACK_HOSTS.contains(&host) {
        LOOPBACK_HOSTS.to_vec()
    } else {
        vec![host]
    };
    hosts
        .into_iter()
        .map(|host| format!("{}://{host}:{port}", public.scheme()))
        .collect()
}

/// How a loopback address is written in a URL.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// `resp` with a `WWW-Authenticate` challenge.
fn with_challenge(mut resp: Response, challenge: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    resp
}

/// Reads a POST's body to answer in JSON-RPC what rmcp would refuse in
/// plain text (not JSON, a batch, not a JSON-RPC message, a NUL), and puts
/// it back; returns the message.
async fn read_message(req: &mut Request) -> Result<Option<Value>, Response> {
    if req.method() != Method::POST {
        return Ok(None);
    }
    let bytes = req.take_body().into_bytes().await.unwrap_or_default();
    let message = match serde_json::from_slice::<Value>(&bytes) {
        Err(_) => {
            return Err(jsonrpc_error(
                StatusCode::BAD_REQUEST,
                PARSE_ERROR,
                "parse error: the body is not JSON",
            ));
        }
        Ok(Value::Array(_)) => {
            return Err(jsonrpc_error(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                "JSON-RPC batches are not supported: send one message per request",
            ));
        }
        Ok(message) => message,
    };
    if !is_jsonrpc_message(&message) {
        return Err(jsonrpc_error(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            "not a JSON-RPC 2.0 message: an object with \"jsonrpc\": \"2.0\" and a method, result or error",
        ));
    }
    if value_has_nul(&message) {
        return Err(jsonrpc_error(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            "NUL characters (U+0000) are not accepted",
        ));
    }
    req.set_body(Body::from(bytes));
    Ok(Some(message))
}

/// Rewrites a non-JSON error (rmcp's transport refusals are plain text) as a
/// JSON-RPC error object with the same status.
async fn as_jsonrpc_error(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !status.is_client_error() && !status.is_server_error() || is_json {
        return resp;
    }
    let headers = resp.headers().clone();
    let text = resp.into_body().into_string().await.unwrap_or_default();
    let code = match status {
        StatusCode::NOT_FOUND => SESSION_NOT_FOUND,
        StatusCode::UNAUTHORIZED => UNAUTHORIZED,
        StatusCode::FORBIDDEN => FORBIDDEN,
        s if s.is_server_error() => INTERNAL_ERROR,
        _ => INVALID_REQUEST,
    };
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text.trim().to_owned()
    };
    let mut rewritten = jsonrpc_error(status, code, &message).into_response();
    for name in [header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(value) = headers.get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}
