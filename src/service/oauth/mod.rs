//! The OAuth 2.1 authorization server's rules (the MCP authorization
//! spec): its clients, the authorization request and consent, browser
//! sessions, and the grants the token endpoint issues. The doors in
//! [`crate::oauth`] and [`crate::web`] translate.

pub mod authorization;
pub mod browser;
pub mod clients;
pub mod connections;
pub mod documents;
pub mod grants;
