//! The request being served, as the layers below the doors see it: its id,
//! the client's address and the door it came through (kept in a task-local
//! for the audit log), and the one body reader every middleware and door
//! uses. It sits below `app`, so nothing imports the application back.

use bytes::Bytes;
use poem::Request;

use crate::domain::Surface;
use crate::error::ApiError;

/// What the audit log records about the request being served.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// The request id, echoed in `x-request-id`.
    pub request_id: String,
    /// The client's address (see [`crate::auth::client_addr`]).
    pub client_addr: Option<String>,
    /// The door: `/mcp` or the REST API.
    pub surface: Surface,
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

/// Reads the whole request body, refusing it (413) past `limit` bytes.
pub async fn read_body(req: &mut Request, limit: usize) -> Result<Bytes, ApiError> {
    req.take_body()
        .into_bytes_limit(limit)
        .await
        .map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => ApiError::body_over(limit),
            other => ApiError::BadRequest(format!("cannot read the request body: {other}")),
        })
}
