//! `POST /oauth/token` (OAuth 2.1 section 3.2): the code exchange and
//! refresh, answered never cached, in RFC 6749's shapes.

use std::sync::Arc;

use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, Request, Response};
use serde_json::json;

use super::form::{client_credentials, read_form};
use crate::domain::Scopes;
use crate::error::{ApiError, OAuthError};
use crate::service::oauth::grants::{self, IssuedGrant};
use crate::state::AppState;

/// The token endpoint.
pub struct TokenEndpoint {
    state: Arc<AppState>,
}

impl TokenEndpoint {
    /// The endpoint over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    async fn token(&self, req: &mut Request) -> Result<Response, ApiError> {
        if req.method() != Method::POST {
            return Err(ApiError::MethodNotAllowed);
        }
        let state = &self.state;
        let form = read_form(req, state.settings.max_body_bytes).await?;
        let (client_id, secret) = client_credentials(req, &form)?;
        let client = grants::authenticate_client(state, &client_id, secret.as_deref()).await?;
        let param = |name: &str| form.get(name).map(String::as_str);
        let required = |name: &str| {
            param(name).ok_or_else(|| ApiError::OAuth {
                error: OAuthError::InvalidRequest,
                description: format!("{name} is required"),
            })
        };
        let issued = match required("grant_type")? {
            "authorization_code" => {
                grants::exchange_code(
                    state,
                    &client,
                    required("code")?,
                    param("redirect_uri"),
                    param("code_verifier"),
                    param("resource"),
                )
                .await?
            }
            "refresh_token" => {
                let scope = param("scope")
                    .map(str::parse::<Scopes>)
                    .transpose()
                    .map_err(|e| ApiError::OAuth {
                        error: OAuthError::InvalidScope,
                        description: e.to_string(),
                    })?;
                grants::refresh(state, &client, required("refresh_token")?, scope).await?
            }
            other => {
                return Err(ApiError::OAuth {
                    error: OAuthError::UnsupportedGrantType,
                    description: format!(
                        "grant_type {other:?} is not supported: authorization_code or refresh_token"
                    ),
                });
            }
        };
        Ok(answer(state, &issued))
    }
}

/// RFC 6749 section 5.1.
fn answer(state: &AppState, issued: &IssuedGrant) -> Response {
    let mut body = json!({
        "access_token": issued.access.token,
        "token_type": "Bearer",
        "expires_in": state.jwt.access_ttl.num_seconds(),
        "refresh_token": issued.refresh.token,
    });
    if let Some(scopes) = issued.scopes {
        body["scope"] = json!(scopes.to_string());
    }
    Response::builder()
        .status(StatusCode::OK)
        .content_type("application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::PRAGMA, "no-cache")
        .body(body.to_string())
}

impl Endpoint for TokenEndpoint {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        Ok(match self.token(&mut req).await {
            Ok(resp) => resp,
            Err(e) => e.oauth_response(),
        })
    }
}
