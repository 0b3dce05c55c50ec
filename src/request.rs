//! The request being served, as the layers below the doors see it: its id,
//! the client's address and the door it came through (kept in a task-local
//! for the audit log), and the one body reader every middleware and door
//! uses. It sits below `app`, so nothing imports the application back.

use bytes::Bytes;
use poem::Request;

use crate::domain::Surface;

/// The response header that carries our id of the request.
pub const REQUEST_ID: &str = "x-request-id";

/// What the audit log records about the request being served.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Our id of the request, sent back in `x-request-id`.
    pub request_id: String,
    /// The `x-request-id` the client sent, kept beside ours.
    pub client_request_id: Option<String>,
    /// The client's address (the peer's, or `X-Forwarded-For`'s from a trusted
    /// proxy).
    pub client_addr: Option<String>,
    /// The door: `/mcp` or the REST API.
    pub surface: Surface,
    /// When the request arrived (audit rows record durations from it).
    pub started: std::time::Instant,
}

tokio::task_local! {
    static REQUEST: RequestInfo;
}

/// The request being served by this task, if any.
pub fn current_request() -> Option<RequestInfo> {
    REQUEST.try_with(Clone::clone).ok()
}

/// Runs `serve` as the handling of the request `info` describes.
pub async fn serve_as<F: Future>(info: RequestInfo, serve: F) -> F::Output {
    REQUEST.scope(info, serve).await
}

/// The door a request to `path` comes through.
pub fn surface_of(path: &str) -> Surface {
    if path == "/mcp" || path.starts_with("/mcp/") {
        Surface::Mcp
    } else {
        Surface::Rest
    }
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// It is longer than `limit` bytes (413).
    #[error("request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The connection failed while reading it.
    #[error("cannot read the request body: {0}")]
    Unreadable(String),
}

/// Reads the whole request body, refusing it past `limit` bytes.
pub async fn read_body(req: &mut Request, limit: usize) -> Result<Bytes, BodyError> {
    req.take_body()
        .into_bytes_limit(limit)
        .await
        .map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => BodyError::TooLarge { limit },
            other => BodyError::Unreadable(other.to_string()),
        })
}
