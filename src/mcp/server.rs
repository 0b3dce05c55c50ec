//! The MCP server: an `rmcp::ServerHandler` over the one tool registry and
//! executor, plus items as resources and two prompts. The caller and the
//! request's id and address are put into the request by the `/mcp` door
//! (see [`super::http`]) and read back from rmcp's request context.

use std::borrow::Cow;
use std::sync::Arc;

use poem::http::request::Parts;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorCode,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    Prompt, PromptArgument, PromptMessage, ProtocolVersion, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
    Role as MessageRole, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Value, json};

use super::revision;
use crate::auth::Principal;
use crate::domain::{Permission, Surface};
use crate::error::ApiError;
use crate::request::RequestInfo;
use crate::state::AppState;
use crate::store::{ItemFilter, ItemSort};
use crate::tools::{CallOrigin, ToolError, ToolSpec, execute, registry};
use crate::views::ItemOut;

/// Tools per `tools/list` page.
const PAGE: usize = 50;
/// Item resources per `resources/list` page.
const RESOURCE_PAGE: usize = 500;
/// `resources/list` names the newest this many items and stops: a client
/// that lists every resource (the Inspector gives up after 64 pages) cannot
/// walk a catalogue of millions. The `aiapi://items/{id}` template, and the
/// search tool, reach every item.
const LISTED_ITEMS: usize = 1000;
/// The URI scheme of item resources: `aiapi://items/{id}`.
const ITEM_URI: &str = "aiapi://items/";

/// The MCP protocol revisions served.
pub const SUPPORTED_VERSIONS: [ProtocolVersion; 4] = [
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

/// One MCP server instance (rmcp makes one per session or request).
#[derive(Clone)]
pub struct McpServer {
    state: Arc<AppState>,
}

impl McpServer {
    /// A server over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

fn parts(ctx: &RequestContext<RoleServer>) -> Option<&Parts> {
    ctx.extensions.get::<Parts>()
}

/// An internal failure as the client may see it: named, with the request
/// it happened in; its cause goes to the log, never to the client.
fn internal(ctx: &RequestContext<RoleServer>, e: impl Into<ApiError>) -> McpError {
    let e = e.into();
    let request_id = parts(ctx)
        .and_then(|p| p.extensions.get::<RequestInfo>())
        .map(|info| info.request_id.clone());
    e.log_cause(request_id.as_deref());
    McpError::internal_error(e.public_message(request_id.as_deref()), None)
}

/// The authenticated caller the `/mcp` door attached to the request.
fn principal(ctx: &RequestContext<RoleServer>) -> Result<Principal, McpError> {
    parts(ctx)
        .and_then(|p| p.extensions.get::<Principal>())
        .cloned()
        .ok_or_else(|| {
            McpError::internal_error("request reached the MCP handler unauthenticated", None)
        })
}

/// What listing and reading item resources needs.
pub(super) const RESOURCE_PERMISSION: Permission = Permission::ReadItems;

fn require(principal: &Principal, permission: Permission) -> Result<(), McpError> {
    if principal.has(permission) {
        Ok(())
    } else {
        Err(McpError::invalid_request(
            format!("missing permission {permission}"),
            None,
        ))
    }
}

/// An opaque cursor: the offset of the next page, in hex.
fn offset_of(params: Option<&PaginatedRequestParams>) -> Result<usize, McpError> {
    match params.and_then(|p| p.cursor.as_deref()) {
        None => Ok(0),
        Some(cursor) => usize::from_str_radix(cursor, 16)
            .map_err(|_| McpError::invalid_params("invalid cursor", None)),
    }
}

fn cursor_after(offset: usize, taken: usize, total: usize) -> Option<String> {
    (offset + taken < total).then(|| format!("{:x}", offset + taken))
}

fn to_object(value: &Value) -> Arc<serde_json::Map<String, Value>> {
    Arc::new(value.as_object().cloned().unwrap_or_default())
}

fn tool_of(spec: &ToolSpec) -> Tool {
    let mut annotations = ToolAnnotations::new();
    annotations.title = Some(spec.title.into());
    annotations.read_only_hint = Some(spec.annotations.read_only_hint);
    annotations.destructive_hint = Some(spec.annotations.destructive_hint);
    annotations.idempotent_hint = Some(spec.annotations.idempotent_hint);
    annotations.open_world_hint = Some(false);
    let mut tool = Tool::new_with_raw(
        spec.name,
        Some(Cow::Borrowed(spec.description)),
        to_object(&spec.input_schema),
    )
    .with_title(spec.title)
    .with_annotations(annotations);
    if let Some(output) = &spec.output_schema {
        tool = tool.with_raw_output_schema(to_object(output));
    }
    tool
}

/// Whether the request speaks `first` or a later revision: its own `_meta`
/// version (2026-07-28), else its session's.
fn speaks_at_least(ctx: &RequestContext<RoleServer>, first: &str) -> bool {
    ctx.protocol_version()
        .is_none_or(|v| revision::at_least(&v.to_string(), first))
}

/// Whether the peer negotiated a revision that reports invalid arguments as
/// tool results (2025-11-25 and later) rather than JSON-RPC errors.
fn validation_is_a_result(ctx: &RequestContext<RoleServer>) -> bool {
    speaks_at_least(ctx, revision::PRIMED)
}

impl ServerHandler for McpServer {
    // No `logging` capability: the server sends no log notifications (its
    // log is its own, with request ids), and 2026-07-28 removed logging.
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_protocol_version(ProtocolVersion::V_2025_11_25)
        .with_server_info(
            Implementation::new("aiapi", env!("CARGO_PKG_VERSION"))
                .with_title("aiapi item catalogue"),
        )
        .with_instructions(
            "Tools to create, search, analyse and manage the item catalogue and its users. \
             Items are also readable as resources (aiapi://items/{id}).",
        )
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(&SUPPORTED_VERSIONS)
    }

    // Accepted from clients of the handshake revisions that set it anyway;
    // there is nothing to send at any level. 2026-07-28 removed the method.
    #[allow(deprecated)]
    async fn set_level(
        &self,
        _request: rmcp::model::SetLevelRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        if speaks_at_least(&ctx, revision::STATELESS) {
            return Err(McpError::new(
                ErrorCode::METHOD_NOT_FOUND,
                "logging/setLevel is not part of revision 2026-07-28",
                None,
            ));
        }
        principal(&ctx).map(drop)
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let principal = principal(&ctx)?;
        let visible: Vec<&ToolSpec> = registry().visible_to(&principal).collect();
        let offset = offset_of(request.as_ref())?;
        let page: Vec<Tool> = visible
            .iter()
            .skip(offset)
            .take(PAGE)
            .map(|t| tool_of(t))
            .collect();
        let mut result = ListToolsResult::with_all_items(Vec::new());
        result.next_cursor = cursor_after(offset, page.len(), visible.len());
        result.tools = page;
        // A caching hint of 2026-07-28; earlier revisions do not define it.
        if speaks_at_least(&ctx, revision::STATELESS) {
            result = result.with_ttl_ms(60_000);
        }
        Ok(result)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let principal = principal(&ctx)?;
        let info = parts(&ctx)
            .and_then(|p| p.extensions.get::<RequestInfo>())
            .cloned();
        let session_id = parts(&ctx)
            .and_then(|p| p.headers.get("mcp-session-id"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // The door found the session header's session open and the
        // caller's before the request reached rmcp.
        let call = CallOrigin::new(Surface::Mcp, session_id, info, true);
        let arguments = request
            .arguments
            .map(Value::Object)
            .unwrap_or_else(|| json!({}));
        let outcome = execute(&self.state, &principal, &request.name, arguments, &call).await;
        let result = match outcome {
            Ok(outcome) => match outcome.result {
                Ok(value) => {
                    let mut result =
                        CallToolResult::success(vec![ContentBlock::text(value.to_string())]);
                    result.structured_content = Some(value);
                    result
                }
                Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
            },
            Err(ToolError::UnknownTool(name)) => {
                return Err(McpError::invalid_params(
                    format!("unknown tool {name:?}"),
                    None,
                ));
            }
            Err(ToolError::Invalid(errors)) if !validation_is_a_result(&ctx) => {
                return Err(McpError::invalid_params(
                    "invalid arguments",
                    Some(
                        json!({ "errors": errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect::<Vec<_>>() }),
                    ),
                ));
            }
            Err(ToolError::Internal(e)) => return Err(internal(&ctx, e)),
            Err(refused) => CallToolResult::error(vec![ContentBlock::text(refused.to_string())]),
        };
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let principal = principal(&ctx)?;
        require(&principal, RESOURCE_PERMISSION)?;
        let offset = offset_of(request.as_ref())?.min(LISTED_ITEMS);
        let filter = ItemFilter {
            sort: ItemSort::NewestFirst,
            limit: RESOURCE_PAGE.min(LISTED_ITEMS - offset) as i64,
            offset: offset as i64,
            ..ItemFilter::default()
        };
        let (items, total) = self
            .state
            .store
            .list_items(&filter)
            .await
            .map_err(|e| internal(&ctx, e))?;
        let resources = items
            .iter()
            .map(|item| {
                Resource::new(format!("{ITEM_URI}{}", item.id), item.name.clone())
                    .with_description(
                        item.description
                            .clone()
                            .unwrap_or_else(|| format!("item {}", item.id)),
                    )
                    .with_mime_type("application/json")
            })
            .collect::<Vec<_>>();
        let mut result = ListResourcesResult::with_all_items(Vec::new());
        let listed = (total as usize).min(LISTED_ITEMS);
        result.next_cursor = cursor_after(offset, resources.len(), listed);
        result.resources = resources;
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(format!("{ITEM_URI}{{id}}"), "item")
                .with_title("An item of the catalogue")
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let principal = principal(&ctx)?;
        require(&principal, RESOURCE_PERMISSION)?;
        let not_found = || {
            McpError::resource_not_found(
                format!("no resource {}", request.uri),
                Some(json!({ "uri": request.uri })),
            )
        };
        let id: i64 = request
            .uri
            .strip_prefix(ITEM_URI)
            .and_then(|id| id.parse().ok())
            .ok_or_else(not_found)?;
        let item = self
            .state
            .store
            .item(id)
            .await
            .map_err(|e| internal(&ctx, e))?
            .ok_or_else(not_found)?;
        let text = serde_json::to_string(&ItemOut::from(&item)).unwrap_or_default();
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, request.uri.clone()).with_mime_type("application/json"),
        ])
        .into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(vec![
            Prompt::new(
                "analyze_catalogue",
                Some("Summarise the catalogue: price bands, categories and recent trends."),
                Some(vec![
                    PromptArgument::new("focus")
                        .with_description("What to pay attention to, e.g. a category")
                        .with_required(false),
                ]),
            ),
            Prompt::new(
                "find_item",
                Some("Find items matching a description, and explain the best match."),
                Some(vec![
                    PromptArgument::new("description")
                        .with_description("What the item should be like")
                        .with_required(true),
                ]),
            ),
        ]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let argument = |name: &str| {
            request
                .arguments
                .as_ref()
                .and_then(|a| a.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let text = match request.name.as_str() {
            "analyze_catalogue" => {
                let focus = argument("focus")
                    .map(|f| format!(" Pay particular attention to: {f}."))
                    .unwrap_or_default();
                format!(
                    "Use the analyze_items tool three times (price_distribution, category_breakdown, \
                     and trend_analysis by week) and summarise what the catalogue holds, how it is \
                     priced and how it is growing.{focus}"
                )
            }
            "find_item" => {
                let description = argument("description").ok_or_else(|| {
                    McpError::invalid_params("the description argument is required", None)
                })?;
                format!(
                    "Find items matching this description: {description}. Use search_items with short \
                     keywords (and category or price filters where the description implies them), \
                     then explain which result fits best and why."
                )
            }
            other => {
                return Err(McpError::invalid_params(
                    format!("unknown prompt {other:?}"),
                    None,
                ));
            }
        };
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(MessageRole::User, text)]).into())
    }
}
