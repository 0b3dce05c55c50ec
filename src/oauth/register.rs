//! `POST /oauth/register`: Dynamic Client Registration (RFC 7591).

use std::sync::Arc;

use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, Request, Response};
use serde_json::{Value, json};

use crate::audit::Actor;
use crate::auth::authenticate;
use crate::auth::client_addr::client_addr;
use crate::config::ClientRegistration;
use crate::domain::ClientSource;
use crate::error::{ApiError, OAuthError};
use crate::request::read_body;
use crate::service::oauth::clients::{self, RegisteredClient};
use crate::state::AppState;

/// The registration endpoint.
pub struct RegisterEndpoint {
    state: Arc<AppState>,
}

impl RegisterEndpoint {
    /// The endpoint over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    async fn register(&self, req: &mut Request) -> Result<Response, ApiError> {
        if req.method() != Method::POST {
            return Err(ApiError::MethodNotAllowed);
        }
        let state = &self.state;
        let headers = req.headers();
        let presented =
            headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-api-key");
        // Anyone may register on an open server, so a stale credential
        // sent along is no reason to refuse; on an admin-only one it is.
        let caller = if presented {
            match authenticate(
                &state.jwt,
                state.store.as_ref(),
                headers,
                &state.settings.rest_resource(),
            )
            .await
            {
                Ok(principal) => Some(principal),
                Err(e) if state.settings.oauth.registration == ClientRegistration::Admin => {
                    return Err(e);
                }
                Err(_) => None,
            }
        } else {
            None
        };
        let addr = client_addr(req, &state.settings.trusted_proxies);
        clients::admit(state, caller.as_ref(), addr).await?;
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        let invalid = |description: &str| ApiError::OAuth {
            error: OAuthError::InvalidClientMetadata,
            description: description.to_owned(),
        };
        if !is_json {
            return Err(invalid(
                "client metadata is a JSON object (Content-Type: application/json)",
            ));
        }
        let body = read_body(req, state.settings.max_body_bytes).await?;
        let metadata: Value =
            serde_json::from_slice(&body).map_err(|_| invalid("the body is not valid JSON"))?;
        let request = clients::from_metadata(&metadata)?;
        let actor = caller.as_ref().map_or_else(Actor::system, Actor::principal);
        let registered = clients::register(
            state.store.as_ref(),
            actor,
            request,
            ClientSource::Registered,
        )
        .await?;
        Ok(created(&registered))
    }
}

/// RFC 7591 section 3.2.1: the client's id, its secret if it has one, and
/// the metadata as registered.
fn created(registered: &RegisteredClient) -> Response {
    let client = &registered.client;
    let mut body = json!({
        "client_id": client.id,
        "client_id_issued_at": client.created_at.timestamp(),
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": registered.auth.as_str(),
    });
    if let Some(secret) = &registered.secret {
        body["client_secret"] = json!(secret);
        body["client_secret_expires_at"] = json!(0);
    }
    if let Some(scopes) = client.scopes {
        body["scope"] = json!(scopes.to_string());
    }
    if let Some(uri) = &client.client_uri {
        body["client_uri"] = json!(uri);
    }
    Response::builder()
        .status(StatusCode::CREATED)
        .content_type("application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body.to_string())
}

impl Endpoint for RegisterEndpoint {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        Ok(match self.register(&mut req).await {
            Ok(resp) => resp,
            Err(e) => e.oauth_response(),
        })
    }
}
