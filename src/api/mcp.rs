//! `/api/v1/mcp`: the tutorial's REST facade over the tools: sessions,
//! tool listing, execution and statistics. Every endpoint needs
//! `use:mcp_tools`.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::ToJSON;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;
use uuid::Uuid;

use super::json_body::JsonBody;
use super::rendered::RenderedJson;
use super::security::Auth;
use super::{ApiTags, Message};
use crate::domain::{Permission, Session, Surface, time};
use crate::error::{ApiError, ApiResult};
use crate::request::current_request;
use crate::service::sessions::{self, Opening, may_manage};
use crate::state::AppState;
use crate::tools::{self, CallOrigin, ToolCategory, ToolSpec};

/// A new session.
#[derive(Debug, Object)]
struct SessionCreated {
    /// Pass it as `session_id` to `/execute`.
    session_id: String,
    /// A confirmation.
    message: String,
    /// When it expires unless used.
    expires_at: DateTime<Utc>,
}

/// A session in a listing.
#[derive(Debug, Object)]
struct SessionOut {
    /// Its id.
    session_id: String,
    /// Its owner.
    user_id: Uuid,
    /// `rest` or `mcp`.
    surface: String,
    /// When it was opened.
    created_at: DateTime<Utc>,
    /// Its last call.
    last_activity: DateTime<Utc>,
    /// Calls made in it.
    tool_usage_count: i64,
    /// When it expires unless used.
    expires_at: DateTime<Utc>,
    /// Bytes of its context object.
    context_size: i64,
    /// Version of its context object.
    context_version: i64,
}

impl From<&Session> for SessionOut {
    fn from(s: &Session) -> Self {
        Self {
            session_id: s.id.clone(),
            user_id: s.user_id,
            surface: s.surface.as_str().into(),
            created_at: s.created_at,
            last_activity: s.last_activity_at,
            tool_usage_count: s.tool_usage_count,
            expires_at: s.expires_at,
            context_size: s.context_size,
            context_version: s.context_version,
        }
    }
}

/// Open sessions.
#[derive(Debug, Object)]
struct SessionList {
    /// The caller's username.
    user: String,
    /// How many open sessions there are (the caller's; everyone's for `admin:mcp`).
    active_sessions: i64,
    /// The newest 100 of them.
    sessions: Vec<SessionOut>,
}

/// A tool as the REST facade lists it (the tutorial's shape, plus ours).
#[derive(Debug, Object)]
struct ToolOut {
    /// Name to execute.
    name: String,
    /// Human-readable title.
    title: String,
    /// What it does.
    description: String,
    /// Its group.
    category: ToolCategory,
    /// JSON Schema of its parameters.
    parameters: Value,
    /// Permissions it needs.
    required_permissions: Vec<Permission>,
    /// Example parameters.
    examples: Vec<Value>,
    /// MCP hints: readOnlyHint, destructiveHint, idempotentHint.
    annotations: Value,
}

impl From<&ToolSpec> for ToolOut {
    fn from(t: &ToolSpec) -> Self {
        Self {
            name: t.name.into(),
            title: t.title.into(),
            description: t.description.into(),
            category: t.category,
            parameters: t.input_schema.clone(),
            required_permissions: t.permissions.to_vec(),
            examples: t.examples.clone(),
            annotations: serde_json::to_value(t.annotations).unwrap_or_default(),
        }
    }
}

/// The tools a caller may use.
#[derive(Debug, Object)]
struct ToolList {
    /// The caller's username.
    user: String,
    /// How many tools are listed.
    total_tools: i64,
    /// The tools.
    tools: Vec<ToolOut>,
}

/// A tool call.
#[derive(Debug, Object)]
struct ExecuteRequest {
    /// The tool's name.
    tool_name: String,
    /// Its arguments, checked against its JSON Schema.
    #[oai(default)]
    parameters: Value,
    /// A session of yours to count the call in.
    #[oai(nullable)]
    session_id: Option<String>,
}

/// A tool call's answer (the tutorial's shape). A tool that ran but could
/// not do what was asked answers `success: false` with `error`.
#[derive(Debug, Object)]
struct ExecuteResponse {
    /// Whether the tool did what was asked.
    success: bool,
    /// The tool's name.
    tool: String,
    /// The tool's result, when it succeeded.
    #[oai(skip_serializing_if_is_none)]
    result: Option<Value>,
    /// Why it failed, when it did.
    #[oai(skip_serializing_if_is_none)]
    error: Option<String>,
    /// When it finished.
    timestamp: DateTime<Utc>,
}

/// Calls of one tool.
#[derive(Debug, Object)]
struct ToolCalls {
    /// All calls.
    calls: i64,
    /// Successful calls.
    successes: i64,
}

/// Call statistics.
#[derive(Debug, Object)]
struct CallStats {
    /// All tool calls.
    total_calls: i64,
    /// Successful ones.
    successful_calls: i64,
    /// successful / total (0 when there were none).
    success_rate: f64,
    /// Per tool.
    by_tool: BTreeMap<String, ToolCalls>,
}

/// The caller's statistics.
#[derive(Debug, Object)]
struct UserStats {
    /// The caller's username.
    username: String,
    /// The caller's open sessions.
    active_sessions: i64,
    /// The caller's permissions.
    permissions: Vec<Permission>,
    /// The caller's tool calls.
    tool_calls: CallStats,
}

/// Server-wide statistics; the totals only for `admin:mcp`.
#[derive(Debug, Object)]
struct ServerStats {
    /// Open sessions of everyone (`admin:mcp` only).
    #[oai(nullable)]
    total_active_sessions: Option<i64>,
    /// Tools the caller may use.
    available_tools: i64,
    /// Everyone's tool calls (`admin:mcp` only).
    #[oai(nullable)]
    tool_calls: Option<CallStats>,
}

/// MCP usage statistics.
#[derive(Debug, Object)]
struct Stats {
    /// The caller's.
    user_stats: UserStats,
    /// The server's.
    server_stats: ServerStats,
}

/// The tutorial's REST door to the tools.
pub struct McpRestApi {
    state: Arc<AppState>,
    /// Each tool and its `ToolOut` as JSON: the registry is fixed at
    /// startup, so each is rendered once and only filtered per request.
    rendered_tools: Vec<(&'static ToolSpec, String)>,
}

impl McpRestApi {
    /// The API over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        let rendered_tools = tools::registry()
            .all()
            .iter()
            .map(|t| (t, ToolOut::from(t).to_json_string()))
            .collect();
        Self {
            state,
            rendered_tools,
        }
    }

    async fn call_stats(&self, user_id: Option<Uuid>) -> ApiResult<CallStats> {
        let usage = self.state.store.tool_usage(user_id).await?;
        let total: i64 = usage.iter().map(|u| u.calls).sum();
        let successes: i64 = usage.iter().map(|u| u.successes).sum();
        Ok(CallStats {
            total_calls: total,
            successful_calls: successes,
            success_rate: if total == 0 {
                0.0
            } else {
                successes as f64 / total as f64
            },
            by_tool: usage
                .into_iter()
                .map(|u| {
                    (
                        u.tool,
                        ToolCalls {
                            calls: u.calls,
                            successes: u.successes,
                        },
                    )
                })
                .collect(),
        })
    }
}

#[OpenApi(prefix_path = "/api/v1/mcp", tag = "ApiTags::Mcp")]
impl McpRestApi {
    /// Open a session to group tool calls (it expires after the idle TTL).
    #[oai(path = "/session", method = "post")]
    async fn create_session(&self, auth: Auth) -> ApiResult<Json<SessionCreated>> {
        auth.0.require(Permission::UseMcpTools)?;
        let opening = Opening {
            id: Uuid::new_v4().to_string(),
            surface: Surface::Rest,
            protocol_version: None,
            client_info: None,
        };
        let session = sessions::open(&self.state, &auth.0, opening).await?;
        Ok(Json(SessionCreated {
            message: format!("MCP session created (User: {})", auth.0.user.username),
            session_id: session.id,
            expires_at: session.expires_at,
        }))
    }

    /// End a session (its owner, or `admin:mcp`). Unknown, closed and other
    /// users' sessions all answer 404.
    #[oai(path = "/session/:session_id", method = "delete")]
    async fn close_session(
        &self,
        auth: Auth,
        session_id: Path<String>,
    ) -> ApiResult<Json<Message>> {
        auth.0.require(Permission::UseMcpTools)?;
        let not_found =
            || sessions::not_found(&self.state, &auth.0, &session_id.0, "session_closed");
        let Some(session) = self
            .state
            .store
            .session(&session_id.0)
            .await?
            .filter(|s| may_manage(&auth.0, s))
        else {
            return Err(not_found().await);
        };
        if !sessions::close(&self.state, &auth.0, &session).await? {
            return Err(ApiError::NotFound("session not found".into()));
        }
        Ok(Json(Message {
            message: "Session closed successfully".into(),
        }))
    }

    /// Your open sessions (everyone's with `admin:mcp`), newest first.
    #[oai(path = "/sessions", method = "get")]
    async fn list_sessions(&self, auth: Auth) -> ApiResult<Json<SessionList>> {
        auth.0.require(Permission::UseMcpTools)?;
        let whose = (!auth.0.has(Permission::AdminMcp)).then_some(auth.0.user.id);
        let (sessions, total) = self
            .state
            .store
            .list_open_sessions(whose, time::now(), 100)
            .await?;
        Ok(Json(SessionList {
            user: auth.0.user.username.clone(),
            active_sessions: total,
            sessions: sessions.iter().map(SessionOut::from).collect(),
        }))
    }

    /// The tools you may use, optionally of one category.
    #[oai(path = "/tools", method = "get")]
    async fn list_tools(
        &self,
        auth: Auth,
        category: Query<Option<ToolCategory>>,
    ) -> ApiResult<RenderedJson<ToolList>> {
        auth.0.require(Permission::UseMcpTools)?;
        let tools: Vec<&str> = self
            .rendered_tools
            .iter()
            .filter(|(t, _)| t.allowed_for(&auth.0))
            .filter(|(t, _)| category.0.is_none_or(|wanted| t.category == wanted))
            .map(|(_, json)| json.as_str())
            .collect();
        let user = Value::from(auth.0.user.username.as_str());
        Ok(RenderedJson::new(format!(
            r#"{{"user":{user},"total_tools":{},"tools":[{}]}}"#,
            tools.len(),
            tools.join(",")
        )))
    }

    /// Run a tool. Bad arguments answer 422 naming each field and rule; an
    /// unknown tool or session 404; a missing permission 403. Every call,
    /// refused or not, is in the audit log.
    #[oai(path = "/execute", method = "post")]
    async fn execute(
        &self,
        auth: Auth,
        body: JsonBody<ExecuteRequest>,
    ) -> ApiResult<Json<ExecuteResponse>> {
        let body = body.0;
        let call = CallOrigin::new(
            Surface::Rest,
            body.session_id.filter(|s| !s.is_empty()),
            current_request(),
            false,
        );
        let outcome = tools::execute(
            &self.state,
            &auth.0,
            &body.tool_name,
            body.parameters,
            &call,
        )
        .await?;
        let (result, error) = match outcome.result {
            Ok(value) => (Some(value), None),
            Err(message) => (None, Some(message)),
        };
        Ok(Json(ExecuteResponse {
            success: error.is_none(),
            tool: outcome.tool,
            result,
            error,
            timestamp: outcome.timestamp,
        }))
    }

    /// Usage statistics from the database: your sessions and calls, and with
    /// `admin:mcp` the server's.
    #[oai(path = "/stats", method = "get")]
    async fn stats(&self, auth: Auth) -> ApiResult<Json<Stats>> {
        let principal = &auth.0;
        principal.require(Permission::UseMcpTools)?;
        let now = time::now();
        let store = &self.state.store;
        let (_, mine) = store
            .list_open_sessions(Some(principal.user.id), now, 1)
            .await?;
        let admin = principal.has(Permission::AdminMcp);
        let total_active_sessions = if admin {
            Some(store.list_open_sessions(None, now, 1).await?.1)
        } else {
            None
        };
        let server_calls = if admin {
            Some(self.call_stats(None).await?)
        } else {
            None
        };
        Ok(Json(Stats {
            user_stats: UserStats {
                username: principal.user.username.clone(),
                active_sessions: mine,
                permissions: principal.user.role.permissions().to_vec(),
                tool_calls: self.call_stats(Some(principal.user.id)).await?,
            },
            server_stats: ServerStats {
                total_active_sessions,
                available_tools: tools::registry().visible_to(principal).count() as i64,
                tool_calls: server_calls,
            },
        }))
    }
}
