//! The REST API: one file per resource, assembled into one OpenAPI service.

mod health;

use std::sync::Arc;

use poem_openapi::OpenApiService;

use crate::state::AppState;

/// Every REST resource, as one documented service.
pub type Api = health::HealthApi;

/// Builds the OpenAPI service; `/docs` and `/openapi.json` are derived from it.
pub fn service(state: Arc<AppState>) -> OpenApiService<Api, ()> {
    OpenApiService::new(
        health::HealthApi::new(state.clone()),
        "aiapi",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Item catalogue and user service for people and AI models: a REST API and an MCP \
         server at /mcp, with JWT and API-key auth and an audit log of every tool call.",
    )
    .server(state.settings.public_url.clone())
}
