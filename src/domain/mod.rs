//! Plain types of the business: users, roles and permissions, time.
//! Nothing here knows about HTTP or SQL.

pub mod api_key;
pub mod credentials;
pub mod role;
pub mod seed;
pub mod time;
pub mod user;

pub use api_key::ApiKey;
pub use role::{Permission, Role};
pub use user::User;
