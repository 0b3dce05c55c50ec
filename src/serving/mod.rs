//! The accept loop: TCP connections served by hyper-util with the
//! header-read, body-read and keep-alive idle timeouts and the connection
//! caps, and graceful shutdown. poem's `Server` offers none of the
//! timeouts, so this replaces it and hands each request to the poem
//! endpoint.

mod activity;
mod bodies;
mod caps;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use poem::http::uri::Scheme;
use poem::http::{HeaderValue, header};
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, IntoResponse, Response};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ConnectionLimits;
use crate::error::ApiError;
use crate::request::REQUEST_ID;
use crate::telemetry::EveryAtMost;
use activity::{Activity, WatchedIo};
use bodies::{DeadlineBody, PoemBody, TrackedBody};
use caps::{ConnectionCaps, Refusal};

/// A bound, not yet serving, listener.
pub struct Bound {
    listener: TcpListener,
    /// The address actually bound (useful with port 0).
    pub local_addr: SocketAddr,
}

/// Binds the listening socket.
pub async fn bind(addr: SocketAddr) -> io::Result<Bound> {
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    Ok(Bound {
        listener,
        local_addr,
    })
}

/// Serves `ep` until `stop` completes, then stops accepting, lets open
/// connections finish their requests for up to `grace`, and returns.
pub async fn run<E>(
    bound: Bound,
    ep: E,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()>
where
    E: Endpoint<Output = Response> + 'static,
{
    let ep = Arc::new(ep);
    let limits = Arc::new(limits);
    let caps = ConnectionCaps::new(
        limits.max_connections,
        limits.max_connections_per_addr,
        limits.uncapped_addrs.clone(),
    );
    let closing = CancellationToken::new();
    let tracker = TaskTracker::new();
    let local = LocalAddr(poem::Addr::SocketAddr(bound.local_addr));
    tokio::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            _ = &mut stop => break,
            accepted = bound.listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let admitted = match caps.admit(remote.ip()) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                refuse(stream, refusal).await;
                continue;
            }
        };
        // Streamed responses (SSE, exports) go out in small writes; with
        // Nagle on, a write after the first waits for the delayed ACK.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let connection = Connection {
            ep: ep.clone(),
            limits: limits.clone(),
            local: local.clone(),
            remote,
            closing: closing.clone(),
        };
        tracker.spawn(async move {
            connection.serve(stream).await;
            drop(admitted);
        });
    }
    drop(bound.listener);
    closing.cancel();
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "connections still open after the grace period; closing them"
        );
    }
    Ok(())
}

/// Tells a refused client why, as far as a socket that was never read can.
async fn refuse(mut stream: TcpStream, refusal: Refusal) {
    let which = match refusal {
        Refusal::Total => "in all",
        Refusal::PerAddress => "from this address",
    };
    warn_refused(&stream, which);
    let body = format!(
        "{{\"detail\":\"too many open connections {which}\",\"code\":\"too_many_connections\"}}"
    );
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-type: application/json\r\n\
         x-content-type-options: nosniff\r\ncontent-length: {}\r\nretry-after: 1\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(reply.as_bytes())).await;
}

/// The answer to a request whose body was too slow, whatever the endpoint
/// made of its failed read; the rest of the body will not be read, so the
/// connection closes.
fn body_timed_out(endpoint_said: Response, limit: Duration) -> Response {
    let mut resp = ApiError::RequestTimeout(format!(
        "the request body did not arrive within {} s",
        limit.as_secs()
    ))
    .into_response();
    for name in [REQUEST_ID, header::X_CONTENT_TYPE_OPTIONS.as_str()] {
        if let Some(value) = endpoint_said.headers().get(name) {
            resp.headers_mut().insert(name, value.clone());
        }
    }
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Refused connections are logged at most once a second.
static REFUSAL_LOGGED: EveryAtMost = EveryAtMost::secs(1);

fn warn_refused(stream: &TcpStream, which: &str) {
    if REFUSAL_LOGGED.due() {
        let peer = stream
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        tracing::warn!(%peer, "connection refused: too many open connections {which}");
    }
}

struct Connection<E> {
    ep: Arc<E>,
    limits: Arc<ConnectionLimits>,
    local: LocalAddr,
    remote: SocketAddr,
    closing: CancellationToken,
}

impl<E: Endpoint<Output = Response> + 'static> Connection<E> {
    async fn serve(self, stream: TcpStream) {
        let activity = Activity::new();
        let io = TokioIo::new(WatchedIo::new(stream, activity.clone()));
        let Self {
            ep,
            limits,
            local,
            remote,
            closing,
        } = self;
        let (header_read, idle) = (limits.header_read_timeout, limits.idle_timeout);
        let (body_limit, max_header_bytes) = (limits.body_read_timeout, limits.max_header_bytes);
        let requests = activity.clone();
        let service = hyper::service::service_fn(move |req: poem::http::Request<Incoming>| {
            let in_flight = requests.request_started();
            let ep = ep.clone();
            let local = local.clone();
            async move {
                let timed_out = Arc::new(AtomicBool::new(false));
                // Most requests (GETs) have no body to wait for.
                let has_body = !http_body::Body::is_end_stream(req.body());
                let mut req = poem::Request::from((
                    req,
                    local,
                    RemoteAddr(poem::Addr::SocketAddr(remote)),
                    Scheme::HTTP,
                ));
                if has_body {
                    let body: PoemBody = req.take_body().into();
                    req.set_body(poem::Body::from(
                        DeadlineBody::new(body, body_limit, timed_out.clone()).boxed(),
                    ));
                }
                let mut resp = ep.get_response(req).await;
                if timed_out.load(Ordering::Acquire) {
                    resp = body_timed_out(resp, body_limit);
                }
                let resp: poem::http::Response<PoemBody> = resp.into();
                Ok::<_, Infallible>(resp.map(|body| TrackedBody::new(body, in_flight)))
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .max_buf_size(max_header_bytes)
            .keep_alive(true);
        builder
            .http2()
            .max_header_list_size(u32::try_from(max_header_bytes).unwrap_or(u32::MAX));
        let conn = builder.serve_connection_with_upgrades(io, service);
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => return,
            why = activity.expired(header_read, idle) => {
                tracing::debug!(peer = %remote.ip(), "closing connection: {}", why.as_str());
                return;
            }
            _ = closing.cancelled() => {}
        }
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
}
