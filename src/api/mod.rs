//! The REST API: one file per resource, assembled into one OpenAPI service.

mod api_keys;
mod audit;
mod auth;
mod health;
mod items;
mod json_body;
mod mcp;
mod oauth_apps;
mod rendered;
mod schema_check;
mod security;
mod session_context;
mod users;
mod well_known;

use std::sync::Arc;

use poem_openapi::{Object, OpenApiService, Tags};

use crate::state::AppState;

/// A credential's scopes as JSON lists them; `None` (the whole role) stays null.
fn listed(scopes: Option<crate::domain::Scopes>) -> Option<Vec<crate::domain::Permission>> {
    scopes.map(|s| s.iter().collect())
}

/// A plain confirmation.
#[derive(Debug, Object)]
pub struct Message {
    /// What happened.
    pub message: String,
}

/// Groups of operations in the documentation.
#[derive(Tags)]
pub enum ApiTags {
    /// Service information and liveness.
    Service,
    /// Registration, login, tokens and your own account.
    Authentication,
    /// Account administration (`manage:users`).
    Users,
    /// Your API keys.
    ApiKeys,
    /// The item catalogue.
    Items,
    /// The tutorial's REST door to the MCP tools.
    Mcp,
    /// The audit log (`read:audit`).
    Audit,
    /// The apps you connected through OAuth, and every OAuth client.
    OAuth,
}

/// Every REST resource, as one documented service.
pub type Api = (
    health::HealthApi,
    auth::AuthApi,
    users::UsersApi,
    api_keys::ApiKeysApi,
    items::ItemsApi,
    mcp::McpRestApi,
    audit::AuditApi,
    well_known::WellKnownApi,
    session_context::SessionContextApi,
    oauth_apps::OAuthAppsApi,
);

/// Builds the OpenAPI service; `/docs` and `/openapi.json` are derived from it.
pub fn service(state: Arc<AppState>) -> OpenApiService<Api, ()> {
    OpenApiService::new(
        (
            health::HealthApi::new(state.clone()),
            auth::AuthApi::new(state.clone()),
            users::UsersApi::new(state.clone()),
            api_keys::ApiKeysApi::new(state.clone()),
            items::ItemsApi::new(state.clone()),
            mcp::McpRestApi::new(state.clone()),
            audit::AuditApi::new(state.clone()),
            well_known::WellKnownApi::new(state.clone()),
            session_context::SessionContextApi::new(state.clone()),
            oauth_apps::OAuthAppsApi::new(state.clone()),
        ),
        "aiapi",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Item catalogue and user service for people and AI models: a REST API and an MCP \
         server at /mcp, with JWT and API-key auth and an audit log of every tool call.",
    )
    .server(state.settings.public_url.clone())
}
