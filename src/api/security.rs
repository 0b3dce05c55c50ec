//! The [`Auth`] extractor for REST handlers, and the security schemes it
//! documents in `/openapi.json`: Bearer (JWT or API key), `X-API-Key`, and
//! the OAuth2 password flow at `/auth/login` (so `/docs` "Authorize" works).

use std::sync::Arc;

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaOAuthFlow, MetaOAuthFlows, MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use crate::auth::{Principal, authenticate};
use crate::error::ApiError;
use crate::state::AppState;

const BEARER: &str = "bearer";
const API_KEY: &str = "api_key";
const OAUTH2: &str = "oauth2_password";

/// The authenticated caller of a REST operation. Failing authentication is
/// a 401 JSON error with `WWW-Authenticate: Bearer`.
pub struct Auth(pub Principal);

impl<'a> ApiExtractor<'a> for Auth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            BEARER,
            MetaSecurityScheme {
                ty: "http",
                description: Some("An access token from /auth/login, or an API key (aiapi_...)."),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: Some("JWT"),
                flows: None,
                openid_connect_url: None,
            },
        );
        registry.create_security_scheme(
            API_KEY,
            MetaSecurityScheme {
                ty: "apiKey",
                description: Some("An API key from /auth/api-keys."),
                name: Some("X-API-Key"),
                key_in: Some("header"),
                scheme: None,
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
        registry.create_security_scheme(
            OAUTH2,
            MetaSecurityScheme {
                ty: "oauth2",
                description: Some("Log in with username and password."),
                name: None,
                key_in: None,
                scheme: None,
                bearer_format: None,
                flows: Some(MetaOAuthFlows {
                    implicit: None,
                    password: Some(MetaOAuthFlow {
                        authorization_url: None,
                        token_url: Some("/auth/login"),
                        refresh_url: Some("/auth/refresh"),
                        scopes: vec![],
                    }),
                    client_credentials: None,
                    authorization_code: None,
                }),
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![BEARER, API_KEY, OAUTH2]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let state = req
            .data::<Arc<AppState>>()
            .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
        Ok(Auth(
            authenticate(
                &state.jwt,
                state.store.as_ref(),
                req.headers(),
                &state.settings.rest_resource(),
            )
            .await?,
        ))
    }
}
