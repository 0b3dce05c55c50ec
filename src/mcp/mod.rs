//! Tools for AI models: one registry (schemas, permissions, annotations) and
//! one executor (validate, authorize, run, audit) shared by both doors: the
//! REST facade at `/api/v1/mcp` and the MCP endpoint at `/mcp`.

pub mod context;
pub mod executor;
pub mod http;
pub mod registry;
pub mod server;
mod session_store;
mod tools;

pub use executor::{CallContext, ToolError, ToolOutcome, execute};
pub use registry::{Annotations, Registry, ToolCategory, ToolSpec};
