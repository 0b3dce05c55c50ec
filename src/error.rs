//! The one API error type. Every HTTP status the service answers with on
//! failure is chosen here, in [`ApiError::status`], and every error body is
//! the same JSON shape: `{"detail": "...", "code": "..."}`.

use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object};
use serde::Serialize;

use crate::domain::Scopes;
use crate::store::{LAST_ADMIN, StoreError};

use crate::domain::validation::{FieldError, Invalid};
use crate::request::{BodyError, current_request};

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, Object)]
pub struct ErrorBody {
    /// A human-readable explanation, safe to show to the caller.
    pub detail: String,
    /// A stable machine-readable code, e.g. `not_found`.
    pub code: String,
    /// For validation errors: each invalid field (absent otherwise).
    #[oai(default, skip_serializing_if_is_empty)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request cannot be parsed.
    #[error("{0}")]
    BadRequest(String),
    /// Credentials are missing or malformed.
    #[error("{0}")]
    Unauthorized(String),
    /// A token or key was presented and refused: the text says whether it
    /// expired, was revoked or is invalid (RFC 6750's `invalid_token`).
    #[error("{0}")]
    InvalidToken(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The caller's role allows this but their credential's scopes do not:
    /// a credential with `needed` would (RFC 6750's `insufficient_scope`).
    #[error(
        "this credential's scopes do not include {needed}; use a token or API key that has them"
    )]
    InsufficientScope {
        /// The scopes the request needs that the credential lacks.
        needed: Scopes,
    },
    /// The resource does not exist (or the caller may not know it does).
    #[error("{0}")]
    NotFound(String),
    /// The method is not allowed on this path.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request conflicts with current state (duplicate, last admin, ...).
    #[error("{0}")]
    Conflict(String),
    /// An `If-Match` precondition does not hold (a stale version).
    #[error("{0}")]
    PreconditionFailed(String),
    /// The request's `Content-Type` is not one the endpoint reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No representation the client accepts (`Accept`) can be produced.
    #[error("{0}")]
    NotAcceptable(String),
    /// The request body did not arrive within the body-read timeout.
    #[error("{0}")]
    RequestTimeout(String),
    /// The body is too large (see [`ApiError::body_over`]).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// One or more fields are invalid.
    #[error("invalid request: {}", summarize(.0))]
    Validation(Vec<FieldError>),
    /// Too many attempts; try again after `retry_after_secs`.
    #[error("{detail}")]
    TooManyRequests {
        /// Explanation.
        detail: String,
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// An OAuth endpoint refuses the request in its RFC's words.
    #[error("{description}")]
    OAuth {
        /// The RFC's error code.
        error: OAuthError,
        /// What is wrong, for the client's developer.
        description: String,
    },
    /// The database cannot be reached.
    #[error("the database is unavailable")]
    Unavailable,
    /// A bug or an unexpected failure; the cause is logged, never returned.
    #[error("internal error")]
    Internal(String),
}

/// The error codes of the OAuth endpoints (RFC 6749 section 5.2, RFC 7591
/// section 3.2.2, RFC 7009).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    /// The request is missing a parameter or is malformed.
    InvalidRequest,
    /// The client is unknown, disabled, or failed to authenticate.
    InvalidClient,
    /// A code or refresh token is invalid, expired, spent or another's.
    InvalidGrant,
    /// The grant type is not one this server issues.
    UnsupportedGrantType,
    /// A requested scope is unknown or not allowed.
    InvalidScope,
    /// The `resource` is not this server's (RFC 8707).
    InvalidTarget,
    /// A registered redirect URI is not acceptable.
    InvalidRedirectUri,
    /// Other client metadata is not acceptable.
    InvalidClientMetadata,
}

impl OAuthError {
    /// The code as the RFCs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthError::InvalidRequest => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant => "invalid_grant",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::InvalidTarget => "invalid_target",
            OAuthError::InvalidRedirectUri => "invalid_redirect_uri",
            OAuthError::InvalidClientMetadata => "invalid_client_metadata",
        }
    }
}

fn summarize(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<BodyError> for ApiError {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::TooLarge { limit } => Self::body_over(limit),
            BodyError::Unreadable(why) => {
                Self::BadRequest(format!("cannot read the request body: {why}"))
            }
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        Self::Validation(invalid.0)
    }
}

impl ApiError {
    /// A body over the configured limit of `limit` bytes.
    pub fn body_over(limit: usize) -> Self {
        Self::PayloadTooLarge(format!("request body is larger than {limit} bytes"))
    }

    /// A validation error on a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// The HTTP status of this error: the only place statuses are chosen.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::OAuth {
                error: OAuthError::InvalidClient,
                ..
            } => StatusCode::UNAUTHORIZED,
            Self::OAuth { .. } => StatusCode::BAD_REQUEST,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) | Self::InvalidToken(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::InsufficientScope { .. } => "insufficient_scope",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NotAcceptable(_) => "not_acceptable",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Conflict(_) => "conflict",
            Self::PreconditionFailed(_) => "precondition_failed",
            Self::RequestTimeout(_) => "request_timeout",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Validation(_) => "validation_error",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::OAuth { error, .. } => error.as_str(),
            Self::Unavailable => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// What a client or an audit row may be told: the message, except that
    /// an internal failure is only named, with the request it happened in
    /// (its cause goes to the log, see [`Self::log_cause`]).
    pub fn public_message(&self, request_id: Option<&str>) -> String {
        match (self, request_id) {
            (Self::Internal(_), Some(id)) => format!("internal error (request {id})"),
            (other, _) => other.to_string(),
        }
    }

    /// The parameters of a `WWW-Authenticate: Bearer` challenge for this
    /// error (RFC 6750 section 3): empty when no credentials were refused.
    pub fn bearer_params(&self) -> String {
        match self {
            Self::InvalidToken(why) => format!(
                "error=\"invalid_token\", error_description=\"{}\"",
                why.replace(['"', '\\'], "'")
            ),
            Self::InsufficientScope { needed } => {
                format!("error=\"insufficient_scope\", scope=\"{needed}\"")
            }
            _ => String::new(),
        }
    }

    /// The answer of an OAuth endpoint: this error with its usual status,
    /// but in the RFCs' shape, `{"error", "error_description"}` (RFC 6749
    /// section 5.2), never cached. An error that is not an [`ApiError::OAuth`]
    /// gets the nearest RFC code.
    pub fn oauth_response(&self) -> Response {
        let request = current_request();
        let request_id = request.as_ref().map(|r| r.request_id.as_str());
        self.log_cause(request_id);
        let error = match self {
            Self::OAuth { error, .. } => error.as_str(),
            Self::TooManyRequests { .. } | Self::Unavailable => "temporarily_unavailable",
            Self::Internal(_) => "server_error",
            Self::Unauthorized(_) | Self::InvalidToken(_) => "invalid_token",
            Self::Forbidden(_) => "access_denied",
            Self::InsufficientScope { .. } => "insufficient_scope",
            _ => "invalid_request",
        };
        let body = serde_json::json!({
            "error": error,
            "error_description": self.public_message(request_id),
        });
        let mut resp = Response::builder()
            .status(self.status())
            .content_type("application/json")
            .header(header::CACHE_CONTROL, "no-store")
            .body(body.to_string());
        match self {
            Self::TooManyRequests {
                retry_after_secs, ..
            } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, (*retry_after_secs).into());
            }
            // RFC 6749 section 5.2: a 401 names the scheme the client may use.
            Self::OAuth {
                error: OAuthError::InvalidClient,
                ..
            } => {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Basic realm=\"aiapi\""),
                );
            }
            _ => {}
        }
        resp
    }

    /// Logs the cause of an internal failure, which no client sees.
    pub fn log_cause(&self, request_id: Option<&str>) {
        if let Self::Internal(cause) = self {
            tracing::error!(%cause, request_id, "internal error");
        }
    }

    /// The JSON body. Internal causes are logged here and replaced by a safe message.
    pub fn body(&self) -> ErrorBody {
        let request = current_request();
        let request_id = request.as_ref().map(|r| r.request_id.as_str());
        self.log_cause(request_id);
        ErrorBody {
            detail: self.public_message(request_id),
            code: self.code().to_owned(),
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        }
    }

    /// Converts an error that poem or poem-openapi produced (unknown route,
    /// unparsable payload, missing parameter) into ours, keeping its status.
    fn from_foreign(err: &poem::Error) -> Self {
        let message = err.to_string();
        match err.status() {
            StatusCode::NOT_FOUND => Self::NotFound("no such resource".into()),
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::NOT_ACCEPTABLE => Self::NotAcceptable(message),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType(message),
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge(message),
            StatusCode::UNAUTHORIZED => Self::Unauthorized(message),
            StatusCode::FORBIDDEN => Self::Forbidden(message),
            status if status.is_client_error() => Self::BadRequest(message),
            _ => Self::Internal(message),
        }
    }
}

/// Renders any error as our JSON response. Errors that are already ours
/// keep their response; every other error is converted so that no client ever
/// sees plain text.
pub fn error_response(err: poem::Error) -> Response {
    if err.is::<ApiError>() {
        err.into_response()
    } else {
        ApiError::from_foreign(&err).into_response()
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        if let Self::OAuth { .. } = self {
            return self.oauth_response();
        }
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut resp = Response::builder()
            .status(self.status())
            .content_type("application/json")
            .body(body);
        match self {
            Self::Unauthorized(_) | Self::InvalidToken(_) | Self::InsufficientScope { .. } => {
                let params = self.bearer_params();
                let challenge = if params.is_empty() {
                    "Bearer".to_owned()
                } else {
                    format!("Bearer {params}")
                };
                if let Ok(value) = header::HeaderValue::from_str(&challenge) {
                    resp.headers_mut().insert(header::WWW_AUTHENTICATE, value);
                }
            }
            Self::TooManyRequests {
                retry_after_secs, ..
            } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, (*retry_after_secs).into());
            }
            _ => {}
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        poem::error::ResponseError::as_response(&self)
    }
}

/// Documents every error status with the [`ErrorBody`] schema, so generated
/// clients and schema checks know the shape of every failure.
impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        const DOCUMENTED: &[(u16, &str)] = &[
            (400, "The request cannot be parsed."),
            (401, "Missing, invalid, expired or revoked credentials."),
            (
                403,
                "The caller lacks a permission (`forbidden`), or their credential lacks a scope \
                 (`insufficient_scope`, with a WWW-Authenticate challenge naming it).",
            ),
            (404, "Not found."),
            (405, "The method is not allowed on this path."),
            (406, "No acceptable representation (see Accept)."),
            (408, "The body did not arrive in time."),
            (409, "Conflicts with the current state."),
            (412, "An If-Match version is stale."),
            (413, "The body is too large."),
            (415, "The Content-Type is not one this endpoint reads."),
            (422, "A field is invalid; `errors` lists each one."),
            (429, "Too many attempts; see Retry-After."),
            (500, "Unexpected failure."),
            (503, "The database is unavailable."),
        ];
        // Refused by the HTTP layer before any endpoint runs, with no body.
        const TRANSPORT: &[(u16, &str)] = &[
            (414, "The request line is too long."),
            (
                431,
                "The request's headers are too large (AIAPI_MAX_HEADER_BYTES).",
            ),
        ];
        MetaResponses {
            responses: DOCUMENTED
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json",
                        schema: ErrorBody::schema_ref(),
                    }],
                    headers: vec![],
                })
                .chain(TRANSPORT.iter().map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![],
                    headers: vec![],
                }))
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound("not found".into()),
            StoreError::Conflict { constraint } => Self::Conflict(
                match constraint.as_str() {
                    "users_username_key" | "users_username_lower_key" => {
                        "that username is already taken (usernames ignore case)"
                    }
                    "users_email_key" => "that email address is already registered",
                    LAST_ADMIN => "this would leave no active admin",
                    _ => "conflicts with an existing record",
                }
                .into(),
            ),
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                Self::Unavailable
            }
            StoreError::Missing(cause) | StoreError::Other(cause) => Self::Internal(cause),
        }
    }
}

/// The result type of every handler.
pub type ApiResult<T> = Result<T, ApiError>;
