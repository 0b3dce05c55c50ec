//! Authentication: who is calling, and may they. Passwords, tokens and API
//! keys are checked here; permissions always come from the current database
//! row, never from token claims.

pub mod api_key;
pub mod client_addr;
pub mod derived;
pub mod jwt;
pub mod password;
mod principal;
pub mod random;
pub mod secret;
pub mod throttle;

pub use principal::{AuthMethod, Principal, authenticate};
