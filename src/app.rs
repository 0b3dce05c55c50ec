//! Builds the HTTP application (routes and middleware) and serves it with
//! graceful shutdown.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, Method, header};
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::api;
use crate::auth::client_addr::client_addr;
use crate::error::{ApiError, error_response};
use crate::mcp::http::McpEndpoint;
use crate::nul_guard::reject_nul;
use crate::oauth::register::RegisterEndpoint;
use crate::oauth::revoke::RevokeEndpoint;
use crate::oauth::token::TokenEndpoint;
use crate::request::{REQUEST_ID, RequestInfo, read_body, serve_as, surface_of};
use crate::state::AppState;
use crate::web::Static;
use crate::web::flow::FlowPages;

/// The methods the API and `/mcp` answer, the only ones CORS allows.
const CORS_METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// The response headers a browser client must be able to read: MCP's
/// session and version, the 401's challenge, and the API's own.
const CORS_EXPOSED: [&str; 7] = [
    "mcp-session-id",
    "mcp-protocol-version",
    "www-authenticate",
    "x-request-id",
    "x-total-count",
    "etag",
    "retry-after",
];

/// The complete application: REST API, `/mcp`, docs, spec, and the
/// middleware stack. Cancelling `shutdown` ends open MCP streams.
pub fn build(
    state: Arc<AppState>,
    shutdown: CancellationToken,
) -> impl Endpoint<Output = Response> {
    let api = api::service(state.clone());
    let docs = api.swagger_ui();
    let spec = api.spec_endpoint();
    let max_body = state.settings.max_body_bytes;
    let context_state = state.clone();
    let origins = state.settings.allowed_origins.clone();

    let routes = Route::new()
        .at("/mcp", McpEndpoint::new(state.clone(), shutdown))
        .at("/oauth/register", RegisterEndpoint::new(state.clone()))
        .at("/oauth/token", TokenEndpoint::new(state.clone()))
        .at("/oauth/revoke", RevokeEndpoint::new(state.clone()))
        .at("/oauth/authorize", FlowPages::new(state.clone()))
        .at("/oauth/login", FlowPages::new(state.clone()))
        .at("/oauth/consent", FlowPages::new(state.clone()))
        .at("/oauth/signout", FlowPages::new(state.clone()))
        .at("/static/style.css", Static)
        .at("/static/icon.svg", Static)
        .nest("/docs", docs)
        .at("/openapi.json", spec)
        .nest("/", api);
    // CORS only when origins are configured: poem's Cors with an empty list
    // would allow every origin. Credentials travel in headers, never in
    // cookies, so browsers are not told to send cookies along.
    let routes = if origins.is_empty() {
        routes.boxed()
    } else {
        routes
            .with(
                Cors::new()
                    .allow_origins(origins)
                    .allow_methods(CORS_METHODS)
                    .expose_headers(CORS_EXPOSED)
                    .allow_credentials(false),
            )
            .boxed()
    };
    routes
        .data(state)
        .around(move |ep, req| reject_nul(ep, req, max_body, "/mcp"))
        .around(move |ep, req| limit_body(ep, req, max_body))
        .around(move |ep, req| request_context(ep, req, context_state.clone()))
}

/// Gives the request an id and a tracing span, turns every error into our
/// JSON shape, and logs one line per request.
async fn request_context<E: Endpoint>(
    ep: E,
    req: Request,
    state: Arc<AppState>,
) -> poem::Result<Response> {
    // Our own id, always: a client's id is not unique and could be chosen
    // to collide with another request's rows. Theirs is kept beside it.
    let id = Uuid::new_v4().to_string();
    let client_request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        client_request_id = client_request_id.as_deref().unwrap_or(""),
        method = %req.method(),
        path = %req.uri().path(),
    );
    let (method, path) = (req.method().to_string(), req.uri().path().to_owned());
    let info = RequestInfo {
        request_id: id.clone(),
        client_request_id,
        client_addr: client_addr(&req, &state.settings.trusted_proxies).map(|a| a.to_string()),
        surface: surface_of(req.uri().path()),
        started: Instant::now(),
    };
    let serve = async move {
        let started = Instant::now();
        let mut resp = match ep.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => error_response(err),
        };
        let elapsed = started.elapsed();
        tracing::info!(
            status = resp.status().as_u16(),
            elapsed_ms = elapsed.as_secs_f64() * 1e3,
            "request finished"
        );
        state
            .metrics
            .request(&path, &method, resp.status().as_u16(), elapsed);
        if let Ok(value) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert(REQUEST_ID, value);
        }
        resp.headers_mut().insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        Ok(resp)
    };
    serve_as(info, serve.instrument(span)).await
}

/// The largest declared body that is read (and dropped) before its 413;
/// anything larger is refused at once, connection closed.
const DRAIN_AT_MOST: u64 = 16 * 1024 * 1024;

/// Refuses bodies over `limit` bytes with 413: before the endpoint when
/// `Content-Length` says so, otherwise while reading a chunked body.
async fn limit_body<E: Endpoint>(ep: E, mut req: Request, limit: usize) -> poem::Result<Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    // An empty body without a Content-Type is read as an empty JSON body, so
    // endpoints whose body is optional (logout) work for bare POSTs, and ones
    // whose body is required say "empty body" rather than "no Content-Type".
    let may_have_body = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if may_have_body
        && declared.unwrap_or(0) == 0
        && !chunked
        && !req.headers().contains_key(header::CONTENT_TYPE)
    {
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    match declared {
        Some(len) if len > limit as u64 => {
            // A reply sent while the client still uploads closes the
            // connection under it, and it sees a reset instead of the 413:
            // so what it sends is read and dropped first, within reason.
            if len <= DRAIN_AT_MOST {
                let _ = tokio::io::copy(
                    &mut req.take_body().into_async_read(),
                    &mut tokio::io::sink(),
                )
                .await;
            }
            return Err(ApiError::body_over(limit).into());
        }
        Some(_) => {}
        None if chunked => {
            let body = read_body(&mut req, limit).await.map_err(ApiError::from)?;
            req.set_body(body);
        }
        None => {}
    }
    Ok(ep.call(req).await?.into_response())
}

pub use crate::serving::{Bound, bind};

/// Serves until SIGINT or SIGTERM, then lets in-flight requests finish
/// (up to the configured grace period) and closes the database pools.
pub async fn serve(bound: Bound, state: Arc<AppState>) -> io::Result<()> {
    let grace = state.settings.shutdown_grace;
    let streams = CancellationToken::new();
    let app = build(state.clone(), streams.clone());
    // Open MCP streams would hold shutdown until the grace period ends.
    let stop = shutdown_signal()?;
    let signal = async move {
        stop.await;
        streams.cancel();
    };
    let limits = state.settings.connections.clone();
    let result = crate::serving::run(bound, app, limits, signal, grace).await;
    tracing::info!("server stopped; closing the database");
    state.store.close().await;
    result
}

/// Registers the SIGINT and SIGTERM handlers now (a signal that arrives
/// before the server first polls its shutdown future must not kill the
/// process), and returns the future that completes on either signal.
fn shutdown_signal() -> io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("SIGINT received; shutting down"),
                _ = terminate.recv() => tracing::info!("SIGTERM received; shutting down"),
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("interrupted; shutting down");
    })
}
