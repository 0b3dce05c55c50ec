//! Plain types of the business: users, roles and permissions, time.
//! Nothing here knows about HTTP or SQL.

pub mod role;
pub mod time;
pub mod user;

pub use role::{Permission, Role};
pub use user::User;
