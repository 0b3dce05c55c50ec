//! OAuth metadata for MCP clients: the protected resources (RFC 9728),
//! `/mcp` and the REST API, and this server as their authorization server
//! (RFC 8414). No OpenID discovery: OIDC requires a `jwks_uri`, and the
//! tokens are HS256.

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use crate::config::ClientRegistration;
use crate::domain::Scopes;
use crate::state::AppState;

/// The protected-resource metadata document.
#[derive(Debug, Object)]
struct ProtectedResource {
    /// The resource's URL.
    resource: String,
    /// Authorization servers that issue tokens for it.
    authorization_servers: Vec<String>,
    /// How tokens are sent.
    bearer_methods_supported: Vec<String>,
    /// Permissions a token may carry.
    scopes_supported: Vec<String>,
    /// A name for people.
    resource_name: String,
    /// Where to read how to authenticate.
    resource_documentation: String,
}

/// The authorization server metadata document (RFC 8414).
#[derive(Debug, Object)]
struct AuthorizationServer {
    /// This server (`AIAPI_PUBLIC_URL`), the `iss` of its tokens and
    /// authorization responses.
    issuer: String,
    /// Where a user approves a client.
    authorization_endpoint: String,
    /// Where a client exchanges a code or a refresh token.
    token_endpoint: String,
    /// Where a client registers itself (RFC 7591); absent when
    /// registration is off.
    #[oai(skip_serializing_if_is_none)]
    registration_endpoint: Option<String>,
    /// Where a client revokes a token (RFC 7009).
    revocation_endpoint: String,
    /// How clients authenticate at the revocation endpoint.
    revocation_endpoint_auth_methods_supported: Vec<String>,
    /// `code` only.
    response_types_supported: Vec<String>,
    /// `authorization_code` and `refresh_token`.
    grant_types_supported: Vec<String>,
    /// `S256` only.
    code_challenge_methods_supported: Vec<String>,
    /// `none` (public clients, PKCE alone) and the secret methods.
    token_endpoint_auth_methods_supported: Vec<String>,
    /// The scope vocabulary.
    scopes_supported: Vec<String>,
    /// Whether a `client_id` may be the https URL of a Client ID Metadata
    /// Document (`AIAPI_OAUTH_CLIENT_DOCUMENTS`).
    client_id_metadata_document_supported: bool,
    /// Authorization responses carry `iss` (RFC 9207).
    authorization_response_iss_parameter_supported: bool,
    /// Where to read how to connect.
    service_documentation: String,
}

/// The `.well-known` documents.
pub struct WellKnownApi {
    state: Arc<AppState>,
}

impl WellKnownApi {
    /// The API over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    fn document(&self, resource: String) -> Json<ProtectedResource> {
        let base = &self.state.settings.public_url;
        Json(ProtectedResource {
            resource,
            authorization_servers: vec![base.clone()],
            bearer_methods_supported: vec!["header".into()],
            scopes_supported: Scopes::all()
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            resource_name: "aiapi MCP server".into(),
            resource_documentation: format!("{base}/docs"),
        })
    }
}

#[OpenApi(tag = "ApiTags::Service")]
impl WellKnownApi {
    /// Protected-resource metadata (RFC 9728).
    #[oai(path = "/.well-known/oauth-protected-resource", method = "get")]
    async fn root(&self) -> Json<ProtectedResource> {
        self.document(self.state.settings.rest_resource())
    }

    /// Protected-resource metadata of `/mcp` (RFC 9728), named in the
    /// `resource_metadata` of its 401 challenges.
    #[oai(path = "/.well-known/oauth-protected-resource/mcp", method = "get")]
    async fn mcp(&self) -> Json<ProtectedResource> {
        self.document(self.state.settings.mcp_resource())
    }

    /// Authorization server metadata (RFC 8414).
    #[oai(path = "/.well-known/oauth-authorization-server", method = "get")]
    async fn authorization_server(&self) -> Json<AuthorizationServer> {
        let settings = &self.state.settings;
        let base = &settings.public_url;
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        let secrets = ["none", "client_secret_basic", "client_secret_post"];
        Json(AuthorizationServer {
            issuer: base.clone(),
            authorization_endpoint: format!("{base}/oauth/authorize"),
            token_endpoint: format!("{base}/oauth/token"),
            registration_endpoint: (settings.oauth.registration != ClientRegistration::Off)
                .then(|| format!("{base}/oauth/register")),
            revocation_endpoint: format!("{base}/oauth/revoke"),
            revocation_endpoint_auth_methods_supported: strings(&secrets),
            response_types_supported: strings(&["code"]),
            grant_types_supported: strings(&["authorization_code", "refresh_token"]),
            code_challenge_methods_supported: strings(&["S256"]),
            token_endpoint_auth_methods_supported: strings(&secrets),
            scopes_supported: Scopes::all()
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            client_id_metadata_document_supported: self.state.client_documents.enabled(),
            authorization_response_iss_parameter_supported: true,
            service_documentation: format!("{base}/docs"),
        })
    }
}
