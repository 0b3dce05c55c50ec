//! The `items` table on SQLite: one item, its writes, the bulk import and
//! the analysis. Listing and search are in [`super::item_listing`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use sqlx::Connection as _;

use super::checked::{self, sqlite_row};
use super::{SqliteStore, parse_time, parse_uuid};
use crate::domain::{Item, ItemChanges, Money, NewItem, time};
use crate::store::{
    CategoryCount, ItemFilter, ItemStore, PriceStats, StoreError, StoreResult, TimeWindow,
    TrendInterval, TrendPoint,
};

sqlite_row! {
    /// An `items` row as SQLite returns it.
    pub(super) struct ItemRow {
        pub(super) id: i64,
        pub(super) name: String,
        pub(super) description: Option<String>,
        pub(super) price_cents: i64,
        pub(super) tax_cents: Option<i64>,
        pub(super) category: Option<String>,
        pub(super) owner_id: String,
        pub(super) created_at: String,
        pub(super) updated_at: String,
    }
}

impl TryFrom<ItemRow> for Item {
    type Error = StoreError;

    fn try_from(row: ItemRow) -> Result<Self, Self::Error> {
        Ok(Item {
            id: row.id,
            name: row.name,
            description: row.description,
            price: Money::from_cents(row.price_cents),
            tax: row.tax_cents.map(Money::from_cents),
            category: row.category,
            owner_id: parse_uuid(&row.owner_id)?,
            created_at: parse_time(&row.created_at)?,
            updated_at: parse_time(&row.updated_at)?,
        })
    }
}

/// One item by id.
pub(super) fn read_item(conn: &Connection, id: i64) -> rusqlite::Result<Option<ItemRow>> {
    checked::row!(
        conn,
        ItemRow,
        "SELECT id, name, description, price_cents, tax_cents, category, owner_id, created_at,
                updated_at
         FROM items WHERE id = ?1",
        id
    )
    .optional()
}

#[async_trait]
impl ItemStore for SqliteStore {
    async fn import_items(&self, batch: &[NewItem], now: DateTime<Utc>) -> StoreResult<u64> {
        // One bound JSON array of rows, unpacked by json_each: a single
        // compile-checked statement whatever the batch size.
        let rows = serde_json::Value::Array(
            batch
                .iter()
                .map(|item| {
                    serde_json::json!([
                        item.name,
                        item.description,
                        item.price.cents(),
                        item.tax.map(Money::cents),
                        item.category,
                        item.owner_id.hyphenated().to_string(),
                    ])
                })
                .collect(),
        )
        .to_string();
        let at = time::to_text(now);
        let mut writer = self.sqlx_writer().await?;
        let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
        let inserted = sqlx::query!(
            "INSERT INTO items (name, description, price_cents, tax_cents, category, owner_id, created_at, updated_at)
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
                    json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), ?1, ?1
             FROM json_each(?2)",
            at,
            rows
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(inserted)
    }

    async fn item(&self, id: i64) -> StoreResult<Option<Item>> {
        self.inline
            .now(|conn| read_item(conn, id))?
            .map(Item::try_from)
            .transpose()
    }

    async fn list_items(&self, filter: &ItemFilter) -> StoreResult<(Vec<Item>, i64)> {
        self.list_page(filter).await
    }

    async fn explain_item_listing(&self, filter: &ItemFilter) -> StoreResult<Vec<String>> {
        self.explain_listing(filter).await
    }

    async fn price_distribution(&self, window: TimeWindow) -> StoreResult<PriceStats> {
        self.price_stats(window).await
    }

    async fn category_breakdown(&self, window: TimeWindow) -> StoreResult<Vec<CategoryCount>> {
        let (from, to) = window.bounds();
        let (from, to) = (time::to_text(from), time::to_text(to));
        let rows = sqlx::query!(
            r#"SELECT category, count(*) AS "count!: i64", avg(price_cents) AS "avg_cents!: f64"
               FROM items WHERE created_at >= ?1 AND created_at < ?2
               GROUP BY category ORDER BY 2 DESC, category LIMIT 1000"#,
            from,
            to
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| CategoryCount {
                category: r.category,
                count: r.count,
                avg_cents: r.avg_cents,
            })
            .collect())
    }

    async fn trend(
        &self,
        window: TimeWindow,
        interval: TrendInterval,
    ) -> StoreResult<Vec<TrendPoint>> {
        let (from, to) = window.bounds();
        let (from, to) = (time::to_text(from), time::to_text(to));
        let week = interval == TrendInterval::Week;
        // A week is named by its Monday: back six days, then on to the next Monday.
        let rows = sqlx::query!(
            r#"SELECT CASE WHEN ?3 THEN date(created_at, '-6 days', 'weekday 1')
                           ELSE substr(created_at, 1, 10) END AS "period!: String",
                      count(*) AS "count!: i64", avg(price_cents) AS "avg_cents!: f64"
               FROM items WHERE created_at >= ?1 AND created_at < ?2
               GROUP BY 1 ORDER BY 1 LIMIT 5000"#,
            from,
            to,
            week
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| TrendPoint {
                period: r.period,
                count: r.count,
                avg_cents: r.avg_cents,
            })
            .collect())
    }
}

/// Inserts an item inside a transaction.
pub(super) fn insert(conn: &Connection, new: &NewItem, now: DateTime<Utc>) -> StoreResult<Item> {
    let id: i64 = checked::scalar!(
        conn,
        r#"INSERT INTO items (name, description, price_cents, tax_cents, category, owner_id, created_at, updated_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING id AS "id!: i64""#,
        new.name,
        new.description,
        new.price.cents(),
        new.tax.map(Money::cents),
        new.category,
        new.owner_id.hyphenated().to_string(),
        time::to_text(now),
    )?;
    Ok(Item {
        id,
        name: new.name.clone(),
        description: new.description.clone(),
        price: new.price,
        tax: new.tax,
        category: new.category.clone(),
        owner_id: new.owner_id,
        created_at: now,
        updated_at: now,
    })
}

/// Reads an item inside a write transaction (SQLite's write lock, taken by
/// `BEGIN IMMEDIATE`, already excludes other writers).
pub(super) fn get_in(conn: &Connection, id: i64) -> StoreResult<Option<Item>> {
    read_item(conn, id)?.map(Item::try_from).transpose()
}

/// Applies changes inside a transaction.
pub(super) fn update(
    conn: &Connection,
    id: i64,
    changes: &ItemChanges,
    now: DateTime<Utc>,
) -> StoreResult<Option<Item>> {
    let updated = checked::execute!(
        conn,
        "UPDATE items SET
             name = COALESCE(?1, name),
             description = CASE WHEN ?2 THEN ?3 ELSE description END,
             price_cents = COALESCE(?4, price_cents),
             tax_cents = CASE WHEN ?5 THEN ?6 ELSE tax_cents END,
             category = CASE WHEN ?7 THEN ?8 ELSE category END,
             updated_at = ?9
         WHERE id = ?10",
        changes.name,
        changes.description.is_some(),
        changes.description.clone().flatten(),
        changes.price.map(Money::cents),
        changes.tax.is_some(),
        changes.tax.flatten().map(Money::cents),
        changes.category.is_some(),
        changes.category.clone().flatten(),
        time::to_text(now),
        id,
    )?;
    if updated == 0 {
        return Ok(None);
    }
    get_in(conn, id)
}

/// Deletes an item inside a transaction.
pub(super) fn delete(conn: &Connection, id: i64) -> StoreResult<bool> {
    let deleted = checked::execute!(conn, "DELETE FROM items WHERE id = ?1", id)?;
    Ok(deleted > 0)
}
