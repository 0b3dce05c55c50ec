//! The `items` table on Postgres. Substring search is `ILIKE`, served by the
//! `pg_trgm` GIN indexes for patterns of three or more characters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::PostgresStore;
use crate::domain::{Item, ItemChanges, Money, NewItem};
use crate::store::{
    CategoryCount, ItemFilter, ItemSort, ItemStore, PriceStats, StoreResult, TimeWindow,
    TrendInterval, TrendPoint,
};

/// A page row with the catalogue's size and version beside it.
#[derive(sqlx::FromRow)]
struct CountedRow {
    #[sqlx(flatten)]
    item: ItemRow,
    total: i64,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: i64,
    name: String,
    description: Option<String>,
    price_cents: i64,
    tax_cents: Option<i64>,
    category: Option<String>,
    owner_id: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ItemRow> for Item {
    fn from(row: ItemRow) -> Self {
        Item {
            id: row.id,
            name: row.name,
            description: row.description,
            price: Money::from_cents(row.price_cents),
            tax: row.tax_cents.map(Money::from_cents),
            category: row.category,
            owner_id: row.owner_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

const COLUMNS: &str =
    "id, name, description, price_cents, tax_cents, category, owner_id, created_at, updated_at";

/// The catalogue's size and version, as extra columns of a page.
const STATS: &str = ", (SELECT n FROM item_stats WHERE id = 1) AS total, \
     (SELECT version FROM item_stats WHERE id = 1) AS version";

/// Appends the filter's conditions. Runtime SQL with bound values only: the
/// set of conditions is the caller's choice, and `($1 IS NULL OR col = $1)`
/// would keep the planner off the indexes.
fn push_filters(qb: &mut QueryBuilder<Postgres>, filter: &ItemFilter) {
    if let Some(text) = &filter.text {
        let pattern = format!("%{}%", escape_like(text));
        qb.push(" AND (name ILIKE ")
            .push_bind(pattern.clone())
            .push(" OR description ILIKE ")
            .push_bind(pattern)
            .push(")");
    }
    if let Some(category) = &filter.category {
        qb.push(" AND category = ").push_bind(category.clone());
    }
    if let Some(min) = filter.min_price_cents {
        qb.push(" AND price_cents >= ").push_bind(min);
    }
    if let Some(max) = filter.max_price_cents {
        qb.push(" AND price_cents <= ").push_bind(max);
    }
}

/// Escapes LIKE wildcards (backslash is Postgres's default escape) so user
/// text matches literally.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The page query of `filter`, after `prefix` (empty, or `EXPLAIN `). Each
/// row carries the catalogue's size and version (`item_stats`, read once per
/// statement), so the total comes in the same round trip.
fn page_query(filter: &ItemFilter, prefix: &str) -> QueryBuilder<Postgres> {
    let mut page = QueryBuilder::<Postgres>::new(format!(
        "{prefix}SELECT {COLUMNS}{STATS} FROM items WHERE TRUE"
    ));
    push_filters(&mut page, filter);
    page.push(order_by(filter.sort))
        .push(" LIMIT ")
        .push_bind(filter.limit)
        .push(" OFFSET ")
        .push_bind(filter.offset);
    page
}

/// Ids grow in creation order, so newest first is primary-key order, with
/// no sort step.
fn order_by(sort: ItemSort) -> &'static str {
    match sort {
        ItemSort::NewestFirst => " ORDER BY id DESC",
        ItemSort::OldestFirst => " ORDER BY id",
        ItemSort::PriceAscending => " ORDER BY price_cents, id",
        ItemSort::PriceDescending => " ORDER BY price_cents DESC, id DESC",
        ItemSort::NameAscending => " ORDER BY name, id",
        ItemSort::NameDescending => " ORDER BY name DESC, id DESC",
    }
}

#[async_trait]
impl ItemStore for PostgresStore {
    async fn import_items(&self, batch: &[NewItem], now: DateTime<Utc>) -> StoreResult<u64> {
        // One array per column, unpacked by UNNEST: a single compile-checked
        // statement whatever the batch size.
        let names: Vec<String> = batch.iter().map(|i| i.name.clone()).collect();
        let descriptions: Vec<Option<String>> =
            batch.iter().map(|i| i.description.clone()).collect();
        let prices: Vec<i64> = batch.iter().map(|i| i.price.cents()).collect();
        let taxes: Vec<Option<i64>> = batch.iter().map(|i| i.tax.map(Money::cents)).collect();
        let categories: Vec<Option<String>> = batch.iter().map(|i| i.category.clone()).collect();
        let owners: Vec<Uuid> = batch.iter().map(|i| i.owner_id).collect();
        Ok(sqlx::query!(
            "INSERT INTO items (name, description, price_cents, tax_cents, category, owner_id, created_at, updated_at)
             SELECT name, description, price_cents, tax_cents, category, owner_id, $7, $7
             FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::uuid[])
                  AS t (name, description, price_cents, tax_cents, category, owner_id)",
            &names,
            &descriptions as &[Option<String>],
            &prices,
            &taxes as &[Option<i64>],
            &categories as &[Option<String>],
            &owners,
            now
        )
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
    async fn item(&self, id: i64) -> StoreResult<Option<Item>> {
        Ok(sqlx::query_as!(
            ItemRow,
            "SELECT id, name, description, price_cents, tax_cents, category, owner_id, created_at, updated_at
             FROM items WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .map(Item::from))
    }

    async fn list_items(&self, filter: &ItemFilter) -> StoreResult<(Vec<Item>, i64)> {
        let rows: Vec<CountedRow> = page_query(filter, "")
            .build_query_as()
            .fetch_all(&self.pool)
            .await?;
        let (size, version) = match rows.first() {
            Some(row) => (row.total, row.version),
            None => {
                let stats = sqlx::query!("SELECT n, version FROM item_stats WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?;
                (stats.n, stats.version)
            }
        };
        let count = async {
            let mut count = QueryBuilder::<Postgres>::new("SELECT count(*) FROM items WHERE TRUE");
            push_filters(&mut count, filter);
            Ok(count.build_query_scalar().fetch_one(&self.pool).await?)
        };
        let total = self.counts.total(filter, size, version, count).await?;
        Ok((
            rows.into_iter().map(|row| Item::from(row.item)).collect(),
            total,
        ))
    }

    async fn explain_item_listing(&self, filter: &ItemFilter) -> StoreResult<Vec<String>> {
        let mut conn = self.pool.acquire().await?;
        Ok(page_query(filter, "EXPLAIN ")
            .build_query_scalar()
            .fetch_all(&mut *conn)
            .await?)
    }

    async fn price_distribution(&self, window: TimeWindow) -> StoreResult<PriceStats> {
        self.price_stats(window).await
    }

    async fn category_breakdown(&self, window: TimeWindow) -> StoreResult<Vec<CategoryCount>> {
        let (from, to) = window.bounds();
        let rows = sqlx::query!(
            r#"SELECT category, count(*) AS "count!", avg(price_cents)::float8 AS "avg_cents!"
               FROM items WHERE created_at >= $1 AND created_at < $2
               GROUP BY category ORDER BY 2 DESC, category LIMIT 1000"#,
            from,
            to
        )
        .fetch_all(&self.pool)
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
        let unit = match interval {
            TrendInterval::Day => "day",
            TrendInterval::Week => "week",
        };
        let rows = sqlx::query!(
            r#"SELECT to_char(date_trunc($3, created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS "period!",
                      count(*) AS "count!", avg(price_cents)::float8 AS "avg_cents!"
               FROM items WHERE created_at >= $1 AND created_at < $2
               GROUP BY 1 ORDER BY 1 LIMIT 5000"#,
            from,
            to,
            unit
        )
        .fetch_all(&self.pool)
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
pub(super) async fn insert(
    conn: &mut PgConnection,
    new: &NewItem,
    now: DateTime<Utc>,
) -> StoreResult<Item> {
    Ok(sqlx::query_as!(
        ItemRow,
        "INSERT INTO items (name, description, price_cents, tax_cents, category, owner_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         RETURNING id, name, description, price_cents, tax_cents, category, owner_id, created_at, updated_at",
        new.name,
        new.description,
        new.price.cents(),
        new.tax.map(Money::cents),
        new.category,
        new.owner_id,
        now
    )
    .fetch_one(conn)
    .await?
    .into())
}

/// Reads and row-locks an item inside a transaction.
pub(super) async fn get_for_update(conn: &mut PgConnection, id: i64) -> StoreResult<Option<Item>> {
    Ok(sqlx::query_as!(
        ItemRow,
        "SELECT id, name, description, price_cents, tax_cents, category, owner_id, created_at, updated_at
         FROM items WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await?
    .map(Item::from))
}

/// Applies changes inside a transaction.
pub(super) async fn update(
    conn: &mut PgConnection,
    id: i64,
    changes: &ItemChanges,
    now: DateTime<Utc>,
) -> StoreResult<Option<Item>> {
    Ok(sqlx::query_as!(
        ItemRow,
        "UPDATE items SET
             name = COALESCE($1, name),
             description = CASE WHEN $2 THEN $3 ELSE description END,
             price_cents = COALESCE($4, price_cents),
             tax_cents = CASE WHEN $5 THEN $6 ELSE tax_cents END,
             category = CASE WHEN $7 THEN $8 ELSE category END,
             updated_at = $9
         WHERE id = $10
         RETURNING id, name, description, price_cents, tax_cents, category, owner_id, created_at, updated_at",
        changes.name,
        changes.description.is_some(),
        changes.description.clone().flatten(),
        changes.price.map(Money::cents),
        changes.tax.is_some(),
        changes.tax.flatten().map(Money::cents),
        changes.category.is_some(),
        changes.category.clone().flatten(),
        now,
        id
    )
    .fetch_optional(conn)
    .await?
    .map(Item::from))
}

/// Deletes an item inside a transaction.
pub(super) async fn delete(conn: &mut PgConnection, id: i64) -> StoreResult<bool> {
    let deleted = sqlx::query!("DELETE FROM items WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected() > 0)
}
