//! Plain types of the business: users, roles and permissions, items and
//! money, sessions, audit entries, time.
//! Nothing here knows about HTTP or SQL.

pub mod api_key;
pub mod audit;
pub mod bounded;
pub mod context;
pub mod credentials;
pub mod digest;
pub mod events;
pub mod item;
pub mod money;
pub mod oauth_client;
pub mod price_spread;
pub mod redirect_uri;
pub mod role;
pub mod scope;
pub mod seed;
pub mod session;
pub mod time;
pub mod user;
pub mod validation;

pub use api_key::ApiKey;
pub use audit::{AuditEntry, AuditKind, Outcome, Surface};
pub use item::{Item, ItemChanges, NewItem};
pub use money::Money;
pub use oauth_client::{ClientSource, OAuthClient};
pub use role::{Permission, Role};
pub use scope::Scopes;
pub use session::Session;
pub use user::User;
