//! `GET /` and `GET /health`, in the tutorial's shapes plus our fields.

use std::sync::Arc;

use poem::Request;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::auth::authenticate;
use crate::domain::Permission;
use crate::error::ApiResult;
use crate::state::AppState;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where things are.
#[derive(Debug, Object)]
struct Endpoints {
    /// Login, tokens, accounts and API keys.
    authentication: String,
    /// The item catalogue.
    items: String,
    /// The tutorial's REST facade over MCP tools.
    mcp: String,
    /// Interactive API documentation.
    docs: String,
    /// The OpenAPI document.
    openapi: String,
    /// Liveness and database check.
    health: String,
}

/// The service's front page.
#[derive(Debug, Object)]
struct Root {
    /// What this service is.
    message: String,
    /// Its version.
    version: String,
    /// Where things are.
    endpoints: Endpoints,
}

/// Status of each component, as words (the tutorial's shape).
#[derive(Debug, Object)]
struct Services {
    /// Authentication.
    auth: String,
    /// MCP tools.
    mcp: String,
    /// The database: `operational` or `unavailable`.
    database: String,
}

/// The database check.
#[derive(Debug, Object)]
struct DatabaseHealth {
    /// `sqlite` or `postgres`.
    backend: String,
    /// Whether the database answered.
    ok: bool,
}

/// The health report.
#[derive(Debug, Object)]
struct Health {
    /// `healthy` or `unhealthy`.
    status: String,
    /// The service version.
    version: String,
    /// Status per component.
    services: Services,
    /// The database check in detail.
    database: DatabaseHealth,
}

#[derive(ApiResponse)]
enum HealthResponse {
    /// Everything works.
    #[oai(status = 200)]
    Healthy(Json<Health>),
    /// The database cannot be reached.
    #[oai(status = 503)]
    Unhealthy(Json<Health>),
}

#[derive(ApiResponse)]
enum MetricsResponse {
    /// Prometheus text exposition format.
    #[oai(status = 200, content_type = "text/plain; version=0.0.4")]
    Ok(PlainText<String>),
}

/// Front page and health check.
pub struct HealthApi {
    state: Arc<AppState>,
}

impl HealthApi {
    /// The API over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Service")]
impl HealthApi {
    /// Service information and links.
    #[oai(path = "/", method = "get")]
    async fn root(&self) -> Json<Root> {
        Json(Root {
            message: "AI Integrated API with MCP Support".into(),
            version: VERSION.into(),
            endpoints: Endpoints {
                authentication: "/auth".into(),
                items: "/api/v1/items".into(),
                mcp: "/api/v1/mcp".into(),
                docs: "/docs".into(),
                openapi: "/openapi.json".into(),
                health: "/health".into(),
            },
        })
    }

    /// Prometheus metrics: requests by route, method and status with latency
    /// histograms, tool calls by tool and outcome, database pool use. Open to
    /// anyone with `AIAPI_METRICS=1`; otherwise needs `read:audit`.
    #[oai(path = "/metrics", method = "get")]
    async fn metrics(&self, req: &Request) -> ApiResult<MetricsResponse> {
        if !self.state.settings.metrics_open {
            authenticate(
                &self.state.jwt,
                self.state.store.as_ref(),
                req.headers(),
                &self.state.settings.rest_resource(),
            )
            .await?
            .require(Permission::ReadAudit)?;
        }
        let (in_use, idle) = self.state.store.pool_connections();
        Ok(MetricsResponse::Ok(PlainText(
            self.state.metrics.render(in_use, idle),
        )))
    }

    /// Liveness and database check: 503 when the database does not answer.
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> HealthResponse {
        let store = &self.state.store;
        let ok = match store.ping().await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "health check: database unavailable");
                false
            }
        };
        let health = Health {
            status: if ok { "healthy" } else { "unhealthy" }.into(),
            version: VERSION.into(),
            services: Services {
                auth: "operational".into(),
                mcp: "operational".into(),
                database: if ok { "operational" } else { "unavailable" }.into(),
            },
            database: DatabaseHealth {
                backend: store.backend().as_str().into(),
                ok,
            },
        };
        if ok {
            HealthResponse::Healthy(Json(health))
        } else {
            HealthResponse::Unhealthy(Json(health))
        }
    }
}
