//! `/api/v1/items`: the catalogue over REST.

use std::sync::Arc;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;

use super::ApiTags;
use super::json_body::JsonBody;
use super::security::Auth;
use crate::domain::item::{parse_category, parse_description, parse_name, parse_price, parse_tax};
use crate::domain::validation::FieldErrors;
use crate::domain::{Item, ItemChanges, Money, NewItem, Permission, time};
use crate::error::{ApiError, ApiResult};
use crate::service::items::{self, ItemAction};
use crate::state::AppState;
use crate::store::{ItemFilter, ItemSort};
use crate::views::ItemOut;

/// A new item.
#[derive(Debug, Object)]
struct ItemCreate {
    /// 1 to 100 characters.
    name: String,
    /// At most 500 characters.
    #[oai(nullable)]
    description: Option<String>,
    /// More than 0, at most 2 decimals.
    price: f64,
    /// 0 or more, at most 2 decimals.
    #[oai(nullable)]
    tax: Option<f64>,
    /// At most 50 characters.
    #[oai(nullable)]
    category: Option<String>,
}

/// Changes to an item; omitted fields stay as they are, and an empty
/// description or category clears it.
#[derive(Debug, Object)]
struct ItemUpdate {
    /// 1 to 100 characters.
    #[oai(nullable)]
    name: Option<String>,
    /// At most 500 characters.
    #[oai(nullable)]
    description: Option<String>,
    /// More than 0, at most 2 decimals.
    #[oai(nullable)]
    price: Option<f64>,
    /// 0 or more, at most 2 decimals.
    #[oai(nullable)]
    tax: Option<f64>,
    /// At most 50 characters.
    #[oai(nullable)]
    category: Option<String>,
}

/// A page of items.
#[derive(Debug, Object)]
struct ItemPage {
    /// The items on this page.
    items: Vec<ItemOut>,
    /// How many items match in all.
    total: i64,
    /// This page's number, from 1.
    page: i64,
    /// Items per page.
    page_size: i64,
}

#[derive(ApiResponse)]
enum ItemCreated {
    /// The item was created.
    #[oai(status = 201)]
    Created(Json<ItemOut>),
}

#[derive(ApiResponse)]
enum ItemDeleted {
    /// The item is gone.
    #[oai(status = 204)]
    Deleted,
}

/// The item catalogue.
pub struct ItemsApi {
    state: Arc<AppState>,
}

impl ItemsApi {
    /// The API over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    async fn existing(&self, id: i64) -> ApiResult<Item> {
        self.state
            .store
            .item(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("item {id} not found")))
    }
}

fn parse_sort(raw: Option<&str>) -> Result<ItemSort, &'static str> {
    Ok(match raw.unwrap_or("-created_at") {
        "-created_at" => ItemSort::NewestFirst,
        "created_at" => ItemSort::OldestFirst,
        "price" => ItemSort::PriceAscending,
        "-price" => ItemSort::PriceDescending,
        "name" => ItemSort::NameAscending,
        "-name" => ItemSort::NameDescending,
        _ => return Err("must be one of created_at, -created_at, price, -price, name, -name"),
    })
}

#[OpenApi(prefix_path = "/api/v1/items", tag = "ApiTags::Items")]
impl ItemsApi {
    /// List items, newest first by default: `page` (from 1), `page_size`
    /// (1-100, default 10), `q` (case-insensitive substring of name or
    /// description), `category`, `min_price`, `max_price`, and `sort` (one of
    /// `created_at`, `-created_at`, `price`, `-price`, `name`, `-name`).
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: Auth,
        page: Query<Option<i64>>,
        page_size: Query<Option<i64>>,
        q: Query<Option<String>>,
        category: Query<Option<String>>,
        min_price: Query<Option<f64>>,
        max_price: Query<Option<f64>>,
        sort: Query<Option<String>>,
    ) -> ApiResult<Json<ItemPage>> {
        auth.0.require(Permission::ReadItems)?;
        let page = page.0.unwrap_or(1);
        let page_size = page_size.0.unwrap_or(10);
        let mut errors = FieldErrors::default();
        if !(1..=100_000).contains(&page) {
            errors.push("page", "must be between 1 and 100000");
        }
        if !(1..=100).contains(&page_size) {
            errors.push("page_size", "must be between 1 and 100");
        }
        let text = q.0.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if text.is_some_and(|t| t.chars().count() > 100) {
            errors.push("q", "must be at most 100 characters long");
        }
        let category = errors.check(parse_category(category.0.as_deref()));
        let mut price = |value: Option<f64>, field: &str| {
            value.and_then(|v| match Money::from_f64(v) {
                Ok(m) => Some(m.cents()),
                Err(e) => {
                    errors.push(field, e.to_string());
                    None
                }
            })
        };
        let min_price_cents = price(min_price.0, "min_price");
        let max_price_cents = price(max_price.0, "max_price");
        let sort = match parse_sort(sort.0.as_deref()) {
            Ok(sort) => Some(sort),
            Err(message) => {
                errors.push("sort", message);
                None
            }
        };
        errors.finish(())?;
        let filter = ItemFilter {
            text: text.map(str::to_owned),
            category: category.flatten(),
            min_price_cents,
            max_price_cents,
            sort: sort.unwrap_or_default(),
            limit: page_size,
            offset: (page - 1) * page_size,
        };
        let (items, total) = self.state.store.list_items(&filter).await?;
        Ok(Json(ItemPage {
            items: items.iter().map(ItemOut::from).collect(),
            total,
            page,
            page_size,
        }))
    }

    /// Create an item; the caller owns it.
    #[oai(path = "/", method = "post")]
    async fn create(&self, auth: Auth, body: JsonBody<ItemCreate>) -> ApiResult<ItemCreated> {
        auth.0.require(Permission::WriteItems)?;
        let body = body.0;
        let mut arguments = json!({
            "name": body.name, "description": body.description, "price": body.price,
            "tax": body.tax, "category": body.category,
        });
        let mut errors = FieldErrors::default();
        let name = errors.check(parse_name(&body.name));
        let description = errors.check(parse_description(body.description.as_deref()));
        let price = errors.check(parse_price(body.price));
        let tax = errors.check(parse_tax(body.tax));
        let category = errors.check(parse_category(body.category.as_deref()));
        let (name, description, price, tax, category) =
            errors.finish((name, description, price, tax, category))?;
        let new = NewItem {
            name,
            description,
            price,
            tax,
            category,
            owner_id: auth.0.user.id,
        };
        let mut tx = self.state.store.begin().await?;
        let item = tx.create_item(&new, time::now()).await?;
        arguments["item_id"] = json!(item.id);
        items::record_change(tx.as_mut(), &auth.0, ItemAction::Created, arguments).await?;
        tx.commit().await?;
        Ok(ItemCreated::Created(Json(ItemOut::from(&item))))
    }

    /// One item.
    #[oai(path = "/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> ApiResult<Json<ItemOut>> {
        auth.0.require(Permission::ReadItems)?;
        Ok(Json(ItemOut::from(&self.existing(id.0).await?)))
    }

    /// Change an item (its owner, or an admin).
    #[oai(path = "/:id", method = "put")]
    async fn update(
        &self,
        auth: Auth,
        id: Path<i64>,
        body: JsonBody<ItemUpdate>,
    ) -> ApiResult<Json<ItemOut>> {
        auth.0.require(Permission::WriteItems)?;
        let body = body.0;
        let arguments = json!({
            "item_id": id.0, "name": body.name, "description": body.description,
            "price": body.price, "tax": body.tax, "category": body.category,
        });
        let mut errors = FieldErrors::default();
        let changes = ItemChanges {
            name: body
                .name
                .as_deref()
                .and_then(|n| errors.check(parse_name(n))),
            description: body
                .description
                .as_deref()
                .and_then(|d| errors.check(parse_description(Some(d)))),
            price: body.price.and_then(|p| errors.check(parse_price(p))),
            tax: body.tax.and_then(|t| errors.check(parse_tax(Some(t)))),
            category: body
                .category
                .as_deref()
                .and_then(|c| errors.check(parse_category(Some(c)))),
        };
        errors.finish(())?;
        let mut tx = self.state.store.begin().await?;
        let item = match items::update(tx.as_mut(), &auth.0, id.0, &changes, time::now()).await {
            Ok(item) => item,
            Err(refusal) => {
                drop(tx);
                let action = ItemAction::Updated;
                return Err(
                    items::record_refusal(&self.state, &auth.0, action, id.0, refusal).await,
                );
            }
        };
        items::record_change(tx.as_mut(), &auth.0, ItemAction::Updated, arguments).await?;
        tx.commit().await?;
        Ok(Json(ItemOut::from(&item)))
    }

    /// Delete an item (its owner, or a holder of `delete:items`).
    #[oai(path = "/:id", method = "delete")]
    async fn delete(&self, auth: Auth, id: Path<i64>) -> ApiResult<ItemDeleted> {
        let mut tx = self.state.store.begin().await?;
        let action = ItemAction::Deleted;
        if let Err(refusal) = items::delete(tx.as_mut(), &auth.0, id.0).await {
            drop(tx);
            return Err(items::record_refusal(&self.state, &auth.0, action, id.0, refusal).await);
        }
        items::record_change(tx.as_mut(), &auth.0, action, json!({"item_id": id.0})).await?;
        tx.commit().await?;
        Ok(ItemDeleted::Deleted)
    }
}
