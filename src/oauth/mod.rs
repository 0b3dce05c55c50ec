//! The OAuth 2.1 authorization server's own endpoints, which answer in
//! their RFCs' shapes (`{"error", "error_description"}`) rather than the
//! REST API's, through [`crate::error::ApiError::oauth_response`]. The
//! rules they apply are in [`crate::service::oauth`].

mod form;
pub mod register;
pub mod revoke;
pub mod token;
