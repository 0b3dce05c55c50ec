//! `POST /oauth/revoke` (RFC 7009): a client revokes a token it holds, and
//! with it the grant. Answered 200 whether or not the token was live.

use std::sync::Arc;

use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, Request, Response};

use super::form::{client_credentials, read_form};
use crate::error::{ApiError, OAuthError};
use crate::service::oauth::grants;
use crate::state::AppState;

/// The revocation endpoint.
pub struct RevokeEndpoint {
    state: Arc<AppState>,
}

impl RevokeEndpoint {
    /// The endpoint over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    async fn revoke(&self, req: &mut Request) -> Result<Response, ApiError> {
        if req.method() != Method::POST {
            return Err(ApiError::MethodNotAllowed);
        }
        let state = &self.state;
        let form = read_form(req, state.settings.max_body_bytes).await?;
        let (client_id, secret) = client_credentials(req, &form)?;
        let client = grants::authenticate_client(state, &client_id, secret.as_deref()).await?;
        let token = form.get("token").ok_or_else(|| ApiError::OAuth {
            error: OAuthError::InvalidRequest,
            description: "token is required".into(),
        })?;
        grants::revoke(state, &client, token).await?;
        Ok(Response::builder()
            .status(StatusCode::OK)
            .header(header::CACHE_CONTROL, "no-store")
            .finish())
    }
}

impl Endpoint for RevokeEndpoint {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        Ok(match self.revoke(&mut req).await {
            Ok(resp) => resp,
            Err(e) => e.oauth_response(),
        })
    }
}
