//! Items of the catalogue.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::money::Money;
use crate::domain::validation::FieldError;

/// A stored item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Stable id.
    pub id: i64,
    /// 1 to 100 characters.
    pub name: String,
    /// At most 500 characters.
    pub description: Option<String>,
    /// More than zero.
    pub price: Money,
    /// Zero or more.
    pub tax: Option<Money>,
    /// A free-form category.
    pub category: Option<String>,
    /// Who created it.
    pub owner_id: Uuid,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A validated new item.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Price.
    pub price: Money,
    /// Tax.
    pub tax: Option<Money>,
    /// Category.
    pub category: Option<String>,
    /// Owner.
    pub owner_id: Uuid,
}

/// Validated changes; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ItemChanges {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<Option<String>>,
    /// New price.
    pub price: Option<Money>,
    /// New tax.
    pub tax: Option<Option<Money>>,
    /// New category.
    pub category: Option<Option<String>>,
}

fn invalid(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// A name of 1 to 100 characters (surrounding spaces trimmed).
pub fn parse_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if (1..=100).contains(&name.chars().count()) {
        Ok(name.to_owned())
    } else {
        Err(invalid("name", "must be 1 to 100 characters long"))
    }
}

/// A description of at most 500 characters; empty means none.
pub fn parse_description(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(d) if d.chars().count() > 500 => Err(invalid(
            "description",
            "must be at most 500 characters long",
        )),
        Some(d) => Ok(Some(d.to_owned())),
    }
}

/// A price: more than zero, at most two decimals.
pub fn parse_price(raw: f64) -> Result<Money, FieldError> {
    let price = Money::from_f64(raw).map_err(|e| invalid("price", e.to_string()))?;
    if price.cents() == 0 {
        return Err(invalid("price", "must be greater than 0"));
    }
    Ok(price)
}

/// A tax: zero or more, at most two decimals.
pub fn parse_tax(raw: Option<f64>) -> Result<Option<Money>, FieldError> {
    raw.map(|t| Money::from_f64(t).map_err(|e| invalid("tax", e.to_string())))
        .transpose()
}

/// A category of at most 50 characters; empty means none.
pub fn parse_category(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) if c.chars().count() > 50 => {
            Err(invalid("category", "must be at most 50 characters long"))
        }
        Some(c) => Ok(Some(c.to_owned())),
    }
}
