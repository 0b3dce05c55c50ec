//! The OAuth 2.1 authorization server's rules (the MCP authorization
//! spec): its clients so far; the doors in [`crate::oauth`] translate.

pub mod clients;
