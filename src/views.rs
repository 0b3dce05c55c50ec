//! The views of items and users that every door shows: the REST API's
//! response bodies, and the JSON the tools and `/mcp` resources return.
//! They sit below both doors so neither imports the other.

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::{Item, Money, Permission, Role, User};

/// An item as the API shows it. Money is a number with at most 2 decimals.
#[derive(Debug, Object, Serialize)]
pub struct ItemOut {
    /// Stable id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    #[oai(nullable)]
    pub description: Option<String>,
    /// Price.
    pub price: f64,
    /// Tax.
    #[oai(nullable)]
    pub tax: Option<f64>,
    /// Category.
    #[oai(nullable)]
    pub category: Option<String>,
    /// Who created it.
    pub owner_id: Uuid,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&Item> for ItemOut {
    fn from(item: &Item) -> Self {
        Self {
            id: item.id,
            name: item.name.clone(),
            description: item.description.clone(),
            price: item.price.to_f64(),
            tax: item.tax.map(Money::to_f64),
            category: item.category.clone(),
            owner_id: item.owner_id,
            created_at: item.created_at,
            updated_at: item.updated_at,
        }
    }
}

/// A user as the API shows it (the tutorial's shape; never a password or key).
#[derive(Debug, Object, Serialize)]
pub struct UserOut {
    /// Stable id.
    pub id: Uuid,
    /// Email address (lower-case).
    pub email: String,
    /// Login name.
    pub username: String,
    /// Display name.
    #[oai(nullable)]
    pub full_name: Option<String>,
    /// Role.
    pub role: Role,
    /// What the role allows.
    pub permissions: Vec<Permission>,
    /// Inactive users cannot log in.
    pub is_active: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Last successful login.
    #[oai(nullable)]
    pub last_login: Option<DateTime<Utc>>,
}

impl From<&User> for UserOut {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            username: user.username.clone(),
            full_name: user.full_name.clone(),
            role: user.role,
            permissions: user.role.permissions().to_vec(),
            is_active: user.is_active,
            created_at: user.created_at,
            updated_at: user.updated_at,
            last_login: user.last_login_at,
        }
    }
}
