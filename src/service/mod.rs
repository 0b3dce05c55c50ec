//! The business rules, once: every door (REST, the tools, `/mcp`, the CLI)
//! calls these and only translates its own input and output.

pub mod accounts;
pub mod api_keys;
pub mod audit_reads;
pub mod call_limit;
pub mod items;
pub mod oauth;
pub mod refusals;
pub mod registration;
pub mod session_context;
pub mod sessions;
pub mod tokens;
