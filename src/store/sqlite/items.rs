//! The `items` table on SQLite. Substring search uses the FTS5 trigram
//! index for queries of three or more characters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use sqlx::Connection as _;

use super::{SqliteStore, parse_time, parse_uuid};
use crate::domain::{Item, ItemChanges, Money, NewItem, time};
use crate::store::{
    CategoryCount, ItemFilter, ItemSort, ItemStore, PriceStats, StoreError, StoreResult,
    TimeWindow, TrendInterval, TrendPoint,
};

struct ItemRow {
    id: i64,
    name: String,
    description: Option<String>,
    price_cents: i64,
    tax_cents: Option<i64>,
    category: Option<String>,
    owner_id: String,
    created_at: String,
    updated_at: String,
}

impl ItemRow {
    /// Reads the [`columns`] at the start of a rusqlite row.
    fn read(row: &rusqlite::Row) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            name: row.get(1)?,
            description: row.get(2)?,
            price_cents: row.get(3)?,
            tax_cents: row.get(4)?,
            category: row.get(5)?,
            owner_id: row.get(6)?,
            created_at: row.get(7)?,
            updated_at: row.get(8)?,
        })
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

/// The `items` columns that [`ItemRow::read`] expects, in order.
macro_rules! columns {
    () => {
        "items.id, items.name, items.description, items.price_cents, items.tax_cents, \
         items.category, items.owner_id, items.created_at, items.updated_at"
    };
}

/// The catalogue's size, version and highest id ([`Stats`]), as columns:
/// after [`columns`] in a page, alone when a page is empty.
macro_rules! stats {
    () => {
        "(SELECT n FROM item_stats WHERE id = 1) AS total, \
         (SELECT version FROM item_stats WHERE id = 1) AS version, \
         (SELECT coalesce(max(id), 0) FROM items) AS last_id"
    };
}

/// The deepest page (offset plus limit) of an unfiltered listing in id
/// order that is read on the async worker: the primary key bounds it to
/// that many rows.
const INLINE_ROWS: i64 = 200;

/// Runtime SQL with its bound values, in order, for rusqlite.
struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            values: Vec::new(),
        }
    }

    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        self.text.push('?');
        self
    }

    /// Runs the statement for its one row, read with `read`.
    fn row<T>(
        &self,
        conn: &Connection,
        read: impl FnOnce(&rusqlite::Row) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        conn.prepare_cached(&self.text)?
            .query_row(params_from_iter(&self.values), read)
    }

    /// Runs the statement, reading each row with `read`.
    fn rows<T>(
        &self,
        conn: &Connection,
        read: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Vec<T>> {
        conn.prepare_cached(&self.text)?
            .query_map(params_from_iter(&self.values), read)?
            .collect()
    }
}

/// The FTS5 query of a text filter of three or more characters in the
/// `items_search` index (migration V10): one phrase of the text's chunks of
/// 3 characters (odd length) or 4 (even length), starting at every second
/// character. Within one of the index's streams consecutive chunks start two
/// characters apart, so the phrase matches exactly where the text occurs.
/// The tokenizer folds the case of both sides alike.
fn search_phrase(filter: &ItemFilter) -> Option<String> {
    let chars: Vec<char> = filter.text.as_deref()?.chars().collect();
    if chars.len() < 3 {
        return None;
    }
    let size = if chars.len() % 2 == 1 { 3 } else { 4 };
    let chunks: Vec<String> = (0..=chars.len() - size)
        .step_by(2)
        .map(|start| search_chunk(&chars[start..start + size]))
        .collect();
    Some(format!("\"{}\"", chunks.join(" ").replace('"', "\"\"")))
}

/// A chunk as the index writes it: `_` as `_u` and a space (the tokenizer's
/// only separator) as `_s`.
fn search_chunk(chars: &[char]) -> String {
    chars
        .iter()
        .collect::<String>()
        .replace('_', "_u")
        .replace(' ', "_s")
}

/// Appends `FROM ... WHERE` and the filter's conditions. Bound values only:
/// the set of conditions is the caller's choice, and `(? IS NULL OR col = ?)`
/// would keep the planner off the indexes. A text filter drives the query
/// from the FTS5 index, which yields matches in rowid (creation) order, so a
/// newest-first page stops after `limit` rows instead of collecting every
/// match; `phrase` is the filter's [`search_phrase`], and a text without
/// one (under three characters) is a `LIKE` scan.
fn push_from(sql: &mut Sql, filter: &ItemFilter, phrase: Option<&str>) {
    match phrase {
        Some(phrase) => sql
            .push(
                " FROM items_search JOIN items ON items.id = items_search.rowid \
                 WHERE items_search MATCH ",
            )
            .bind(phrase.to_owned()),
        None => sql.push(" FROM items WHERE 1 = 1"),
    };
    if phrase.is_none()
        && let Some(text) = &filter.text
    {
        let pattern = format!("%{}%", escape_like(text));
        sql.push(" AND (items.name LIKE ")
            .bind(pattern.clone())
            .push(" ESCAPE '\\' OR items.description LIKE ")
            .bind(pattern)
            .push(" ESCAPE '\\')");
    }
    if let Some(category) = &filter.category {
        sql.push(" AND items.category = ").bind(category.clone());
    }
    if let Some(min) = filter.min_price_cents {
        sql.push(" AND items.price_cents >= ").bind(min);
    }
    if let Some(max) = filter.max_price_cents {
        sql.push(" AND items.price_cents <= ").bind(max);
    }
}

/// Escapes LIKE wildcards so user text matches literally.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The page query of `filter` (whose [`search_phrase`] is `phrase`), after
/// `prefix` (empty, or `EXPLAIN QUERY PLAN `). Each row carries the
/// catalogue's [`Stats`] (read once per statement), so the total comes in
/// the same round trip.
fn page_query(filter: &ItemFilter, phrase: Option<&str>, prefix: &str) -> Sql {
    let mut page = Sql::new(format!("{prefix}SELECT {}, {}", columns!(), stats!()));
    push_from(&mut page, filter, phrase);
    // Limit and offset are written into the text, not bound: SQLite's
    // planner reads a bound LIMIT, which marks the statement to be parsed
    // again on every execution with new bindings. They are integers.
    page.push(order_by(filter.sort, phrase.is_some()))
        .push(&format!(" LIMIT {} OFFSET {}", filter.limit, filter.offset));
    page
}

/// How many items match `filter` (whose [`search_phrase`] is `phrase`)
/// among the ids in `ids`. Only a text condition: counted in the FTS5 index
/// alone, without touching the table. The ids bound only a search: a scan
/// is not split.
fn count_query(filter: &ItemFilter, phrase: Option<&str>, (from, to): IdRange) -> Sql {
    let mut count = Sql::new("SELECT count(*)");
    match phrase {
        Some(phrase) if !filter.has_column_conditions() => {
            count
                .push(" FROM items_search WHERE items_search MATCH ")
                .bind(phrase.to_owned());
        }
        _ => push_from(&mut count, filter, phrase),
    }
    // SQLite checks the bounds again on every row FTS5 yields, so an open
    // end is left out rather than written as a bound nothing passes.
    if phrase.is_some() {
        if let Some(from) = from {
            count.push(" AND items_search.rowid >= ").bind(from);
        }
        if let Some(to) = to {
            count.push(" AND items_search.rowid < ").bind(to);
        }
    }
    count
}

/// A half-open range of ids; `None` is an open end.
type IdRange = (Option<i64>, Option<i64>);

/// `parts` id ranges that together cover every id once, splitting
/// `1..=last_id` evenly; the first and last are open-ended.
fn id_ranges(last_id: i64, parts: usize) -> Vec<IdRange> {
    let parts = parts.max(1) as i64;
    let width = last_id.max(0) / parts + 1;
    (0..parts)
        .map(|k| {
            let from = (k > 0).then_some(1 + k * width);
            let to = (k < parts - 1).then_some(1 + (k + 1) * width);
            (from, to)
        })
        .collect()
}

/// Ids grow in creation order, so newest first is id order (the primary
/// key, or the FTS5 rowid when searching), with no sort step.
fn order_by(sort: ItemSort, fts: bool) -> &'static str {
    match sort {
        ItemSort::NewestFirst if fts => " ORDER BY items_search.rowid DESC",
        ItemSort::OldestFirst if fts => " ORDER BY items_search.rowid",
        ItemSort::NewestFirst => " ORDER BY items.id DESC",
        ItemSort::OldestFirst => " ORDER BY items.id",
        ItemSort::PriceAscending => " ORDER BY items.price_cents, items.id",
        ItemSort::PriceDescending => " ORDER BY items.price_cents DESC, items.id DESC",
        ItemSort::NameAscending => " ORDER BY items.name, items.id",
        ItemSort::NameDescending => " ORDER BY items.name DESC, items.id DESC",
    }
}

/// Whether the primary key alone bounds `filter`'s page to a few rows.
fn index_bounded(filter: &ItemFilter) -> bool {
    filter.matches_all()
        && matches!(filter.sort, ItemSort::NewestFirst | ItemSort::OldestFirst)
        && filter.offset.saturating_add(filter.limit) <= INLINE_ROWS
}

/// The catalogue's size, version and highest id.
type Stats = (i64, i64, i64);

/// A page of rows, each with the catalogue's [`Stats`].
type CountedRows = Vec<(ItemRow, Stats)>;

fn read_page(conn: &Connection, page: &Sql) -> rusqlite::Result<CountedRows> {
    page.rows(conn, |row| {
        Ok((
            ItemRow::read(row)?,
            (row.get(9)?, row.get(10)?, row.get(11)?),
        ))
    })
}

/// One item by id.
fn read_item(conn: &Connection, id: i64) -> rusqlite::Result<Option<ItemRow>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        columns!(),
        " FROM items WHERE items.id = ?1"
    ))?
    .query_row([id], ItemRow::read)
    .optional()
}

/// The catalogue's [`Stats`].
fn read_stats(conn: &Connection) -> rusqlite::Result<Stats> {
    conn.prepare_cached(concat!("SELECT ", stats!()))?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
}

impl SqliteStore {
    /// How many items match `filter`. A text search is split into id ranges
    /// counted at once on as many connections as there are cores: the count
    /// is the slow half of a broad search (6% of a million items), and it
    /// is CPU-bound work on one thread otherwise.
    async fn count_items(
        &self,
        filter: &ItemFilter,
        phrase: Option<&str>,
        last_id: i64,
    ) -> StoreResult<i64> {
        let parts = if phrase.is_some() {
            self.count_parts
        } else {
            1
        };
        let counts = id_ranges(last_id, parts).into_iter().map(|ids| {
            let count = count_query(filter, phrase, ids);
            self.inline
                .blocking(move |conn| count.row(conn, |row| row.get::<_, i64>(0)))
        });
        Ok(try_join_all(counts).await?.into_iter().sum())
    }
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
        let phrase = search_phrase(filter);
        let page = page_query(filter, phrase.as_deref(), "");
        let rows = if index_bounded(filter) {
            self.inline.now(|conn| read_page(conn, &page))?
        } else {
            self.inline
                .blocking(move |conn| read_page(conn, &page))
                .await?
        };
        let (size, version, last_id) = match rows.first() {
            Some((_, stats)) => *stats,
            None => self.inline.now(read_stats)?,
        };
        let count = self.count_items(filter, phrase.as_deref(), last_id);
        let total = self.counts.total(filter, size, version, count).await?;
        let items = rows
            .into_iter()
            .map(|(row, _)| Item::try_from(row))
            .collect::<Result<_, _>>()?;
        Ok((items, total))
    }

    async fn explain_item_listing(&self, filter: &ItemFilter) -> StoreResult<Vec<String>> {
        let plan = page_query(
            filter,
            search_phrase(filter).as_deref(),
            "EXPLAIN QUERY PLAN ",
        );
        self.inline
            .blocking(move |conn| plan.rows(conn, |row| row.get::<_, String>(3)))
            .await
    }

    async fn price_distribution(&self, window: TimeWindow) -> StoreResult<PriceStats> {
        let (from, to) = window.bounds();
        let (from, to) = (time::to_text(from), time::to_text(to));
        let row = sqlx::query!(
            r#"SELECT count(*) AS "total!: i64",
                      min(price_cents) AS "min_cents: i64",
                      max(price_cents) AS "max_cents: i64",
                      avg(price_cents) AS "avg_cents: f64",
                      count(*) FILTER (WHERE price_cents < 10000000) AS "under_100k!: i64",
                      count(*) FILTER (WHERE price_cents >= 10000000 AND price_cents < 50000000) AS "from_100k!: i64",
                      count(*) FILTER (WHERE price_cents >= 50000000 AND price_cents < 100000000) AS "from_500k!: i64",
                      count(*) FILTER (WHERE price_cents >= 100000000) AS "over_1m!: i64"
               FROM items WHERE created_at >= ?1 AND created_at < ?2"#,
            from,
            to
        )
        .fetch_one(&self.read)
        .await?;
        Ok(PriceStats {
            total_items: row.total,
            min_cents: row.min_cents,
            max_cents: row.max_cents,
            avg_cents: row.avg_cents,
            under_100k: row.under_100k,
            from_100k_to_500k: row.from_100k,
            from_500k_to_1m: row.from_500k,
            over_1m: row.over_1m,
        })
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
    let id = conn
        .prepare_cached(
            "INSERT INTO items (name, description, price_cents, tax_cents, category, owner_id, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING id",
        )?
        .query_row(
            params![
                new.name,
                new.description,
                new.price.cents(),
                new.tax.map(Money::cents),
                new.category,
                new.owner_id.hyphenated().to_string(),
                time::to_text(now),
            ],
            |row| row.get(0),
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
    let updated = conn
        .prepare_cached(
            "UPDATE items SET
                 name = COALESCE(?1, name),
                 description = CASE WHEN ?2 THEN ?3 ELSE description END,
                 price_cents = COALESCE(?4, price_cents),
                 tax_cents = CASE WHEN ?5 THEN ?6 ELSE tax_cents END,
                 category = CASE WHEN ?7 THEN ?8 ELSE category END,
                 updated_at = ?9
             WHERE id = ?10",
        )?
        .execute(params![
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
        ])?;
    if updated == 0 {
        return Ok(None);
    }
    get_in(conn, id)
}

/// Deletes an item inside a transaction.
pub(super) fn delete(conn: &Connection, id: i64) -> StoreResult<bool> {
    let deleted = conn
        .prepare_cached("DELETE FROM items WHERE id = ?1")?
        .execute([id])?;
    Ok(deleted > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(text: &str) -> Option<String> {
        search_phrase(&ItemFilter {
            text: Some(text.into()),
            ..ItemFilter::default()
        })
    }

    #[test]
    fn a_text_is_the_phrase_of_its_chunks_two_characters_apart() {
        assert_eq!(phrase("ab"), None, "short texts are matched with LIKE");
        assert_eq!(phrase("abc").as_deref(), Some(r#""abc""#));
        assert_eq!(phrase("lamp").as_deref(), Some(r#""lamp""#));
        assert_eq!(phrase("notebook").as_deref(), Some(r#""note tebo book""#));
        assert_eq!(
            phrase("Note book").as_deref(),
            Some(r#""Not te_s _sbo ook""#)
        );
        assert_eq!(phrase("a_b c").as_deref(), Some(r#""a_ub b_sc""#));
        assert_eq!(
            phrase(r#"say "hi""#).as_deref(),
            Some(r#""say_s y_s""h ""hi""""#)
        );
        assert_eq!(
            phrase("héllo").as_deref(),
            Some(r#""hél llo""#),
            "characters, not bytes"
        );
    }

    #[test]
    fn id_ranges_cover_every_id_once() {
        assert_eq!(id_ranges(1000, 1), vec![(None, None)]);
        assert_eq!(
            id_ranges(1000, 2),
            vec![(None, Some(502)), (Some(502), None)]
        );
        for (parts, last) in [(3, 0), (3, 7), (4, 1_000_003)] {
            let ranges = id_ranges(last, parts);
            assert_eq!(ranges.len(), parts);
            assert_eq!(ranges[0].0, None);
            assert_eq!(ranges[parts - 1].1, None);
            assert!(
                ranges
                    .windows(2)
                    .all(|w| w[0].1.is_some() && w[0].1 == w[1].0)
            );
            assert!(ranges.iter().all(|(from, to)| match (from, to) {
                (Some(from), Some(to)) => from < to,
                _ => true,
            }));
        }
    }

    #[test]
    fn a_split_count_bounds_only_its_inner_ends() {
        let filter = ItemFilter {
            text: Some("lamp".into()),
            ..ItemFilter::default()
        };
        let lamp = search_phrase(&filter);
        let first = count_query(&filter, lamp.as_deref(), (None, Some(10)));
        assert!(
            first.text.ends_with("MATCH ? AND items_search.rowid < ?"),
            "{}",
            first.text
        );
        let whole = count_query(&filter, lamp.as_deref(), (None, None));
        assert!(whole.text.ends_with("MATCH ?"), "{}", whole.text);
        let short = ItemFilter {
            text: Some("la".into()),
            ..ItemFilter::default()
        };
        let scan = count_query(&short, search_phrase(&short).as_deref(), (Some(5), None));
        assert!(
            !scan.text.contains("rowid"),
            "a LIKE scan is not split: {}",
            scan.text
        );
    }
}
