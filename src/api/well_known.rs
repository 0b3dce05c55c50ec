//! OAuth 2.0 protected-resource metadata (RFC 9728) for MCP clients: where
//! the resource is and which authorization server vouches for its tokens.
//! Until the service runs its own OAuth 2.1 authorization server, it lists
//! itself: clients send a bearer token or API key obtained from `/auth`.

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
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

/// The `.well-known` documents.
pub struct WellKnownApi {
    state: Arc<AppState>,
}

impl WellKnownApi {
    /// The API over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    fn document(&self) -> Json<ProtectedResource> {
        let base = &self.state.settings.public_url;
        Json(ProtectedResource {
            resource: format!("{base}/mcp"),
            authorization_servers: vec![base.clone()],
            bearer_methods_supported: vec!["header".into()],
            scopes_supported: crate::domain::Scopes::all()
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
        self.document()
    }

    /// Protected-resource metadata of `/mcp` (RFC 9728), named in the
    /// `resource_metadata` of its 401 challenges.
    #[oai(path = "/.well-known/oauth-protected-resource/mcp", method = "get")]
    async fn mcp(&self) -> Json<ProtectedResource> {
        self.document()
    }
}
