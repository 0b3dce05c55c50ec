//! The `/mcp` door: the Streamable HTTP transport (rmcp's service behind our
//! authentication, session and error handling), the MCP handler over the
//! tool system of [`crate::tools`], and the session store that lets any
//! replica serve a session.

pub mod http;
mod priming;
mod revision;
mod scope_gate;
pub mod server;
mod session_store;
