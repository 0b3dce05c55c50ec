//! Item tools: create, search, get, update, delete.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::registry::{Annotations, ToolCategory, ToolSpec, object, spec};
use super::{
    BoxFuture, Change, ChangeScope, Plan, ToolCall, ToolFailure, ToolFn, ToolResult, parse_args,
};
use crate::domain::item::{parse_category, parse_description, parse_name, parse_price, parse_tax};
use crate::domain::validation::FieldError;
use crate::domain::{Item, ItemChanges, Money, NewItem, Permission, time};
use crate::service::items;
use crate::store::{ItemFilter, StoreTx};
use crate::views::ItemOut;

fn item_json(item: &Item) -> Value {
    serde_json::to_value(ItemOut::from(item)).unwrap_or(Value::Null)
}

fn item_fields() -> Value {
    json!({
        "name": {"type": "string", "minLength": 1, "maxLength": 100, "description": "Item name"},
        "description": {"type": "string", "maxLength": 500, "description": "Item description"},
        "price": {"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000_000_000u64,
                  "description": "Price, more than 0, at most 2 decimals"},
        "tax": {"type": "number", "minimum": 0, "maximum": 1_000_000_000_000u64,
                "description": "Tax, 0 or more, at most 2 decimals"},
        "category": {"type": "string", "maxLength": 50, "description": "Item category"}
    })
}

fn item_id_schema() -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": 9_007_199_254_740_991u64, "description": "Item id"})
}

fn item_output() -> Value {
    json!({
        "type": "object",
        "properties": {
            "action": {"type": "string"},
            "item": {"type": "object"},
            "message": {"type": "string"}
        },
        "required": ["action", "item"]
    })
}

/// `create_item`.
pub(super) fn create_item() -> ToolSpec {
    spec(
        "create_item",
        "Create item",
        "Create a new item in the catalogue. The caller becomes its owner.",
        ToolCategory::DataManagement,
        &[Permission::WriteItems],
        Annotations {
            read_only_hint: false,
            destructive_hint: false,
            idempotent_hint: false,
        },
        object(item_fields(), &["name", "price"]),
        Some(item_output()),
        vec![json!({
            "name": "Notebook",
            "description": "High-performance gaming notebook",
            "price": 1500000,
            "category": "electronics"
        })],
        ToolFn::Write(run_create),
    )
}

#[derive(Deserialize)]
struct CreateArgs {
    name: String,
    description: Option<String>,
    price: f64,
    tax: Option<f64>,
    category: Option<String>,
}

fn run_create<'a>(ctx: &'a ToolCall<'a>, args: Value) -> BoxFuture<'a, Result<Plan, ToolFailure>> {
    Box::pin(async move {
        let args: CreateArgs = parse_args(args)?;
        let new = NewItem {
            name: parse_name(&args.name)?,
            description: parse_description(args.description.as_deref())?,
            price: parse_price(args.price)?,
            tax: parse_tax(args.tax)?,
            category: parse_category(args.category.as_deref())?,
            owner_id: ctx.principal.user.id,
        };
        Ok(Plan::Change(Box::new(CreateItem(new))))
    })
}

/// A new item to insert.
struct CreateItem(NewItem);

#[async_trait]
impl Change for CreateItem {
    async fn apply(self: Box<Self>, _: &ChangeScope<'_>, tx: &mut dyn StoreTx) -> ToolResult {
        let item = tx.create_item(&self.0, time::now()).await?;
        Ok(json!({
            "action": "create_item",
            "item": item_json(&item),
            "message": format!("Item '{}' created successfully", item.name),
        }))
    }
}

/// `search_items`.
pub(super) fn search_items() -> ToolSpec {
    spec(
        "search_items",
        "Search items",
        "Find items whose name or description contains the query (case-insensitive), \
         optionally within a category and a price range. Returns at most `limit` items and \
         the total number found.",
        ToolCategory::Search,
        &[Permission::ReadItems],
        Annotations {
            read_only_hint: true,
            destructive_hint: false,
            idempotent_hint: true,
        },
        object(
            json!({
                "query": {"type": "string", "maxLength": 100, "description": "Text to find; empty matches everything"},
                "category": {"type": "string", "maxLength": 50, "description": "Category filter"},
                "min_price": {"type": "number", "minimum": 0, "description": "Minimum price"},
                "max_price": {"type": "number", "minimum": 0, "description": "Maximum price"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10, "description": "Result count limit"}
            }),
            &["query"],
        ),
        Some(json!({
            "type": "object",
            "properties": {
                "action": {"type": "string"},
                "query": {"type": "string"},
                "total_found": {"type": "integer"},
                "returned_count": {"type": "integer"},
                "items": {"type": "array", "items": {"type": "object"}}
            },
            "required": ["action", "query", "total_found", "returned_count", "items"]
        })),
        vec![
            json!({"query": "Notebook", "category": "electronics", "max_price": 2000000, "limit": 5}),
        ],
        ToolFn::Read(run_search),
    )
}

#[derive(Deserialize)]
struct SearchArgs {
    query: String,
    category: Option<String>,
    min_price: Option<f64>,
    max_price: Option<f64>,
    limit: Option<i64>,
}

fn price_filter(value: Option<f64>, field: &str) -> Result<Option<i64>, ToolFailure> {
    value
        .map(|v| {
            Money::from_f64(v).map(Money::cents).map_err(|e| {
                ToolFailure::Invalid(vec![FieldError {
                    field: field.into(),
                    message: e.to_string(),
                }])
            })
        })
        .transpose()
}

fn run_search<'a>(ctx: &'a ToolCall<'a>, args: Value) -> BoxFuture<'a, ToolResult> {
    Box::pin(async move {
        let args: SearchArgs = parse_args(args)?;
        let query = args.query.trim().to_owned();
        let filter = ItemFilter {
            text: (!query.is_empty()).then(|| query.clone()),
            category: parse_category(args.category.as_deref())?,
            min_price_cents: price_filter(args.min_price, "min_price")?,
            max_price_cents: price_filter(args.max_price, "max_price")?,
            limit: args.limit.unwrap_or(10),
            offset: 0,
            ..ItemFilter::default()
        };
        let (items, total) = ctx.state.store.list_items(&filter).await?;
        Ok(json!({
            "action": "search_items",
            "query": query,
            "total_found": total,
            "returned_count": items.len(),
            "items": items.iter().map(item_json).collect::<Vec<_>>(),
        }))
    })
}

/// `get_item`.
pub(super) fn get_item() -> ToolSpec {
    spec(
        "get_item",
        "Get item",
        "Read one item by id.",
        ToolCategory::Search,
        &[Permission::ReadItems],
        Annotations {
            read_only_hint: true,
            destructive_hint: false,
            idempotent_hint: true,
        },
        object(json!({"id": item_id_schema()}), &["id"]),
        Some(item_output()),
        vec![json!({"id": 1})],
        ToolFn::Read(run_get),
    )
}

#[derive(Deserialize)]
struct IdArgs {
    id: i64,
}

fn run_get<'a>(ctx: &'a ToolCall<'a>, args: Value) -> BoxFuture<'a, ToolResult> {
    Box::pin(async move {
        let args: IdArgs = parse_args(args)?;
        match ctx.state.store.item(args.id).await? {
            Some(item) => Ok(json!({"action": "get_item", "item": item_json(&item)})),
            None => Err(ToolFailure::Business(format!("item {} not found", args.id))),
        }
    })
}

/// `update_item`.
pub(super) fn update_item() -> ToolSpec {
    let mut properties = item_fields();
    properties["id"] = item_id_schema();
    for field in ["description", "tax", "category"] {
        // null clears an optional field.
        let schema = properties[field].clone();
        properties[field] = json!({"anyOf": [schema, {"type": "null"}]});
    }
    let mut input = object(properties, &["id"]);
    input["minProperties"] = json!(2);
    spec(
        "update_item",
        "Update item",
        "Change an item's fields (owner or admin). Send only the fields to change; null clears \
         description, tax or category.",
        ToolCategory::DataManagement,
        &[Permission::WriteItems],
        Annotations {
            read_only_hint: false,
            destructive_hint: false,
            idempotent_hint: true,
        },
        input,
        Some(item_output()),
        vec![json!({"id": 1, "price": 1299.99})],
        ToolFn::Write(run_update),
    )
}

/// Absent fields stay as they are; `null` clears description, tax or category.
#[derive(Deserialize)]
struct UpdateArgs {
    id: i64,
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    price: Option<f64>,
    #[serde(default, deserialize_with = "nullable")]
    tax: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    category: Option<Option<String>>,
}

/// Tells "null" (Some(None)) from "absent" (None, via `default`).
fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn run_update<'a>(_: &'a ToolCall<'a>, args: Value) -> BoxFuture<'a, Result<Plan, ToolFailure>> {
    Box::pin(async move {
        let args: UpdateArgs = parse_args(args)?;
        let changes = ItemChanges {
            name: args.name.as_deref().map(parse_name).transpose()?,
            description: args
                .description
                .map(|d| parse_description(d.as_deref()))
                .transpose()?,
            price: args.price.map(parse_price).transpose()?,
            tax: args.tax.map(parse_tax).transpose()?,
            category: args
                .category
                .map(|c| parse_category(c.as_deref()))
                .transpose()?,
        };
        Ok(Plan::Change(Box::new(UpdateItem {
            id: args.id,
            changes,
        })))
    })
}

/// Changes to one item, by its owner or an admin.
struct UpdateItem {
    id: i64,
    changes: ItemChanges,
}

#[async_trait]
impl Change for UpdateItem {
    async fn apply(self: Box<Self>, scope: &ChangeScope<'_>, tx: &mut dyn StoreTx) -> ToolResult {
        let item = items::update(tx, scope.principal, self.id, &self.changes, time::now()).await?;
        Ok(json!({
            "action": "update_item",
            "item": item_json(&item),
            "message": format!("Item '{}' updated successfully", item.name),
        }))
    }
}

/// `delete_item`.
pub(super) fn delete_item() -> ToolSpec {
    spec(
        "delete_item",
        "Delete item",
        "Delete an item (its owner, or anyone with delete:items).",
        ToolCategory::DataManagement,
        &[Permission::WriteItems],
        Annotations {
            read_only_hint: false,
            destructive_hint: true,
            idempotent_hint: true,
        },
        object(json!({"id": item_id_schema()}), &["id"]),
        Some(json!({
            "type": "object",
            "properties": {"action": {"type": "string"}, "item_id": {"type": "integer"}, "message": {"type": "string"}},
            "required": ["action", "item_id"]
        })),
        vec![json!({"id": 1})],
        ToolFn::Write(run_delete),
    )
}

fn run_delete<'a>(_: &'a ToolCall<'a>, args: Value) -> BoxFuture<'a, Result<Plan, ToolFailure>> {
    Box::pin(async move {
        let args: IdArgs = parse_args(args)?;
        Ok(Plan::Change(Box::new(DeleteItem(args.id))))
    })
}

/// The item to delete, by its owner or a holder of `delete:items`.
struct DeleteItem(i64);

#[async_trait]
impl Change for DeleteItem {
    async fn apply(self: Box<Self>, scope: &ChangeScope<'_>, tx: &mut dyn StoreTx) -> ToolResult {
        let item = items::delete(tx, scope.principal, self.0).await?;
        Ok(json!({
            "action": "delete_item",
            "item_id": self.0,
            "message": format!("Item '{}' deleted", item.name),
        }))
    }
}
