//! The tool registry: each tool's name, title, description, category, JSON
//! Schemas, required permissions, examples and MCP annotations, with its
//! input validator compiled once.

use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{Value, json};

use super::ToolFn;
use crate::auth::Principal;
use crate::domain::{Permission, Scopes};

/// Groups of tools (the tutorial's categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum ToolCategory {
    /// Creating and changing data.
    DataManagement,
    /// Finding data.
    Search,
    /// Aggregates over data.
    Analysis,
    /// Administration.
    Admin,
}

/// MCP tool annotations: hints for clients about a tool's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    /// It changes nothing.
    pub read_only_hint: bool,
    /// It may destroy data.
    pub destructive_hint: bool,
    /// Calling it twice with the same arguments has no further effect.
    pub idempotent_hint: bool,
}

/// Everything known about one tool.
pub struct ToolSpec {
    /// Unique name, e.g. `create_item`.
    pub name: &'static str,
    /// Human-readable title.
    pub title: &'static str,
    /// What it does, for people and models.
    pub description: &'static str,
    /// Its group.
    pub category: ToolCategory,
    /// JSON Schema of its arguments.
    pub input_schema: Value,
    /// JSON Schema of its result, where the result is structured.
    pub output_schema: Option<Value>,
    /// Every permission a caller needs (besides `use:mcp_tools`).
    pub permissions: &'static [Permission],
    /// Example arguments.
    pub examples: Vec<Value>,
    /// MCP hints.
    pub annotations: Annotations,
    pub(super) run: ToolFn,
    pub(super) validator: jsonschema::Validator,
    /// What of the arguments the audit row keeps (secrets are redacted after).
    pub(super) audit_view: fn(&Value) -> Value,
}

/// The audit row keeps all arguments (secrets redacted).
fn all_arguments(arguments: &Value) -> Value {
    arguments.clone()
}

impl ToolSpec {
    /// The same tool, keeping only `view(arguments)` in its audit rows.
    pub(super) fn with_audit_view(mut self, view: fn(&Value) -> Value) -> Self {
        self.audit_view = view;
        self
    }

    /// Whether `principal` may call this tool: their role and their
    /// credential's scopes allow `use:mcp_tools` and the tool's permissions.
    pub fn allowed_for(&self, principal: &Principal) -> bool {
        self.needs().all(|p| principal.has(p))
    }

    /// The scopes a call of this tool needs, when `principal`'s role
    /// allows the call and only their credential's scopes refuse it.
    pub fn scope_shortfall(&self, principal: &Principal) -> Option<Scopes> {
        principal.scope_shortfall(self.needs().collect())
    }

    /// Every permission a call of this tool needs.
    pub fn needs(&self) -> impl Iterator<Item = Permission> + '_ {
        std::iter::once(Permission::UseMcpTools).chain(self.permissions.iter().copied())
    }
}

/// All tools, in a fixed order.
pub struct Registry {
    tools: Vec<ToolSpec>,
}

/// Builds a spec, compiling its input schema (a bad schema is a bug: panic at start).
#[allow(clippy::too_many_arguments)]
pub(super) fn spec(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    category: ToolCategory,
    permissions: &'static [Permission],
    annotations: Annotations,
    input_schema: Value,
    output_schema: Option<Value>,
    examples: Vec<Value>,
    run: ToolFn,
) -> ToolSpec {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&input_schema)
        .unwrap_or_else(|e| panic!("input schema of {name} is invalid: {e}"));
    ToolSpec {
        name,
        title,
        description,
        category,
        input_schema,
        output_schema,
        permissions,
        examples,
        annotations,
        run,
        validator,
        audit_view: all_arguments,
    }
}

impl Registry {
    /// The tool called `name`.
    pub fn get(&self, name: &str) -> Option<&ToolSpec> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// The tools `principal` may use, in registry order.
    pub fn visible_to<'a>(
        &'a self,
        principal: &'a Principal,
    ) -> impl Iterator<Item = &'a ToolSpec> + 'a {
        self.tools.iter().filter(|t| t.allowed_for(principal))
    }

    /// Every tool.
    pub fn all(&self) -> &[ToolSpec] {
        &self.tools
    }
}

/// Every tool this service offers, built (schemas compiled) once on first
/// use: the set is fixed at build time, so no state needs to carry it.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        tools: super::all(),
    })
}

/// An object schema with the given properties and required names, closed to
/// unknown properties so typos are errors rather than silently ignored.
pub(super) fn object(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}
