//! Listing and searching the `items` table on SQLite. The filters are the
//! caller's choice, so the statement is built at run time with bound values
//! (the one place the store's SQL is not checked at build time; the tests
//! below prepare every shape the builder produces against the migrated
//! schema). Substring search runs on the `items_search` chunk index.

use futures_util::future::try_join_all;
use rusqlite::Connection;
use rusqlite::types::Value;

use super::SqliteStore;
use super::checked::{self, sqlite_row};
use super::item_search::{escape_like, search_phrase};
use super::items::ItemRow;
use crate::domain::Item;
use crate::store::{ItemFilter, ItemSort, StoreResult};

sqlite_row! {
    /// A page row: an item and the catalogue's size, version and highest
    /// id (read once per statement), so the total comes in the same round
    /// trip.
    struct PageRow {
        id: i64,
        name: String,
        description: Option<String>,
        price_cents: i64,
        tax_cents: Option<i64>,
        category: Option<String>,
        owner_id: String,
        created_at: String,
        updated_at: String,
        total: i64,
        version: i64,
        last_id: i64,
    }
}

impl PageRow {
    fn split(self) -> (ItemRow, Stats) {
        let item = ItemRow {
            id: self.id,
            name: self.name,
            description: self.description,
            price_cents: self.price_cents,
            tax_cents: self.tax_cents,
            category: self.category,
            owner_id: self.owner_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        };
        (item, (self.total, self.version, self.last_id))
    }
}

sqlite_row! {
    /// The catalogue's [`Stats`] alone, for an empty page.
    struct StatsRow {
        total: i64,
        version: i64,
        last_id: i64,
    }
}

sqlite_row! {
    /// A count of matching items.
    struct CountRow {
        n: i64,
    }
}

sqlite_row! {
    /// One step of a query plan.
    struct PlanStep {
        detail: String,
    }
}

/// The `items` columns of a page, then the catalogue's [`Stats`].
macro_rules! page_columns {
    () => {
        "items.id AS id, items.name AS name, items.description AS description, \
         items.price_cents AS price_cents, items.tax_cents AS tax_cents, \
         items.category AS category, items.owner_id AS owner_id, \
         items.created_at AS created_at, items.updated_at AS updated_at, \
         (SELECT n FROM item_stats WHERE id = 1) AS total, \
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

/// The page query of `filter` (whose [`search_phrase`] is `phrase`), after
/// `prefix` (empty, or `EXPLAIN QUERY PLAN `). Each row carries the
/// catalogue's [`Stats`] (read once per statement), so the total comes in
/// the same round trip.
fn page_query(filter: &ItemFilter, phrase: Option<&str>, prefix: &str) -> Sql {
    let mut page = Sql::new(format!("{prefix}SELECT {}", page_columns!()));
    push_from(&mut page, filter, phrase);
    // Limit and offset are written into the text, not bound: SQLite's
    // planner reads a bound LIMIT, which marks the statement to be parsed
    // again on every execution with new bindings. They are integers.
    // Measured through rusqlite on 100k items: a page asked again costs a
    // third of the bound form's time; a hundred different pages cost the
    // same either way (BENCHMARKS.md, "Measurements behind design choices").
    page.push(order_by(filter.sort, phrase.is_some()))
        .push(&format!(" LIMIT {} OFFSET {}", filter.limit, filter.offset));
    page
}

/// How many items match `filter` (whose [`search_phrase`] is `phrase`)
/// among the ids in `ids`. Only a text condition: counted in the FTS5 index
/// alone, without touching the table. The ids bound only a search: a scan
/// is not split.
fn count_query(filter: &ItemFilter, phrase: Option<&str>, (from, to): IdRange) -> Sql {
    let mut count = Sql::new("SELECT count(*) AS n");
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
    Ok(
        checked::runtime_rows::<PageRow>(conn, &page.text, &page.values)?
            .into_iter()
            .map(PageRow::split)
            .collect(),
    )
}

/// The catalogue's [`Stats`].
fn read_stats(conn: &Connection) -> rusqlite::Result<Stats> {
    let stats = checked::row!(
        conn,
        StatsRow,
        r#"SELECT (SELECT n FROM item_stats WHERE id = 1) AS "total!: i64",
                  (SELECT version FROM item_stats WHERE id = 1) AS "version!: i64",
                  (SELECT coalesce(max(id), 0) FROM items) AS "last_id!: i64""#
    )?;
    Ok((stats.total, stats.version, stats.last_id))
}

impl SqliteStore {
    /// How many items match `filter`. A text search is split into id ranges
    /// counted at once on as many connections as there are cores: the count
    /// is the slow half of a broad search, and it is CPU-bound work on one
    /// thread otherwise.
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
            self.inline.blocking(move |conn| {
                checked::runtime_row::<CountRow>(conn, &count.text, &count.values).map(|c| c.n)
            })
        });
        Ok(try_join_all(counts).await?.into_iter().sum())
    }

    /// A page of `filter` and the total of its matches.
    pub(super) async fn list_page(&self, filter: &ItemFilter) -> StoreResult<(Vec<Item>, i64)> {
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

    /// The query plan of `filter`'s page.
    pub(super) async fn explain_listing(&self, filter: &ItemFilter) -> StoreResult<Vec<String>> {
        let plan = page_query(
            filter,
            search_phrase(filter).as_deref(),
            "EXPLAIN QUERY PLAN ",
        );
        self.inline
            .blocking(move |conn| {
                checked::runtime_rows::<PlanStep>(conn, &plan.text, &plan.values)
                    .map(|steps| steps.into_iter().map(|s| s.detail).collect())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The `items` shapes the builder can produce, each prepared against the
    /// migrated schema: parameters bound one for one, the columns the
    /// readers look for, and every statement runs.
    #[test]
    fn every_listing_shape_prepares_against_the_schema() {
        use crate::store::sqlite::checked::{ReadRow, shape};

        let conn = Connection::open_in_memory().unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        let mut migrations: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                let version = name[1..name.find("__").unwrap()].parse().unwrap();
                (version, p)
            })
            .collect();
        migrations.sort();
        for (_, path) in &migrations {
            conn.execute_batch(&std::fs::read_to_string(path).unwrap())
                .unwrap();
        }

        let sorts = [
            ItemSort::NewestFirst,
            ItemSort::OldestFirst,
            ItemSort::PriceAscending,
            ItemSort::PriceDescending,
            ItemSort::NameAscending,
            ItemSort::NameDescending,
        ];
        let texts = [None, Some("ab"), Some("lamp"), Some("a \"quoted\" 50%_x")];
        let ranges = [
            (None, None),
            (Some(3), None),
            (None, Some(9)),
            (Some(3), Some(9)),
        ];
        let mut shapes = 0;
        for text in texts {
            for category in [None, Some("tools")] {
                for min in [None, Some(100)] {
                    for max in [None, Some(900)] {
                        for sort in sorts {
                            let filter = ItemFilter {
                                text: text.map(str::to_owned),
                                category: category.map(str::to_owned),
                                min_price_cents: min,
                                max_price_cents: max,
                                sort,
                                limit: 10,
                                offset: 20,
                            };
                            let phrase = search_phrase(&filter);
                            let page = page_query(&filter, phrase.as_deref(), "");
                            let (params, columns) = shape(&conn, &page.text).unwrap();
                            assert_eq!(params, page.values.len(), "{}", page.text);
                            assert_eq!(columns, PageRow::FIELDS, "{}", page.text);
                            read_page(&conn, &page).unwrap();
                            let plan =
                                page_query(&filter, phrase.as_deref(), "EXPLAIN QUERY PLAN ");
                            let (params, columns) = shape(&conn, &plan.text).unwrap();
                            assert_eq!(params, plan.values.len(), "{}", plan.text);
                            assert!(columns.iter().any(|c| c == PlanStep::FIELDS[0]));
                            checked::runtime_rows::<PlanStep>(&conn, &plan.text, &plan.values)
                                .unwrap();
                            for ids in ranges {
                                let count = count_query(&filter, phrase.as_deref(), ids);
                                let (params, columns) = shape(&conn, &count.text).unwrap();
                                assert_eq!(params, count.values.len(), "{}", count.text);
                                assert_eq!(columns, CountRow::FIELDS, "{}", count.text);
                                checked::runtime_row::<CountRow>(&conn, &count.text, &count.values)
                                    .unwrap();
                                shapes += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(shapes, 4 * 2 * 2 * 2 * 6 * 4);
        assert_eq!(read_stats(&conn).unwrap(), (0, 0, 0));
    }
}
