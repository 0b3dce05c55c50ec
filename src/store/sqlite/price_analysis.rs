//! `price_distribution` on SQLite: the aggregate, then one walk over the
//! window's prices in ascending order for the deciles and the histogram.
//!
//! SQLite has no percentile function, and its window functions sort a
//! million rows in seconds. Walking an index that is already in price
//! order takes a fifth of a second per million rows and keeps nothing
//! (BENCHMARKS.md). Both statements read one snapshot, on a reader thread.

use rusqlite::Connection;

use super::SqliteStore;
use super::checked::{self, sqlite_row};
use crate::domain::price_spread::{SortedWalk, Spread};
use crate::domain::time;
use crate::store::{PriceStats, StoreResult, TimeWindow};

/// A window holding at least this share of the table (1 in N rows) is
/// walked along the price index; a smaller one is read by its dates and
/// sorted, which costs more per row but touches fewer.
const WALK_THE_PRICE_INDEX_FROM: i64 = 4;

sqlite_row! {
    /// The aggregate row.
    struct StatsRow {
        total: i64,
        min_cents: Option<i64>,
        max_cents: Option<i64>,
        avg_cents: Option<f64>,
        under_100k: i64,
        from_100k: i64,
        from_500k: i64,
        over_1m: i64,
    }
}

impl SqliteStore {
    /// The price statistics of `window`, read on a reader thread.
    pub(super) async fn price_stats(&self, window: TimeWindow) -> StoreResult<PriceStats> {
        let (from, to) = window.bounds();
        let (from, to) = (time::to_text(from), time::to_text(to));
        self.inline
            .blocking(move |conn| read_stats(conn, &from, &to))
            .await
    }
}

fn read_stats(conn: &Connection, from: &str, to: &str) -> rusqlite::Result<PriceStats> {
    let snapshot = conn.unchecked_transaction()?;
    let row = checked::row!(
        &snapshot,
        StatsRow,
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
    )?;
    let spread = match (row.min_cents, row.max_cents) {
        (Some(min), Some(max)) if row.total > 0 => walk(&snapshot, row.total, min, max, from, to)?,
        _ => Spread::default(),
    };
    snapshot.finish()?;
    Ok(PriceStats {
        total_items: row.total,
        min_cents: row.min_cents,
        max_cents: row.max_cents,
        avg_cents: row.avg_cents,
        under_100k: row.under_100k,
        from_100k_to_500k: row.from_100k,
        from_500k_to_1m: row.from_500k,
        over_1m: row.over_1m,
        spread,
    })
}

/// The spread of the window's `n` prices, from one ascending pass.
fn walk(
    conn: &Connection,
    n: i64,
    min: i64,
    max: i64,
    from: &str,
    to: &str,
) -> rusqlite::Result<Spread> {
    let mut sorted = SortedWalk::new(n, min, max);
    let push = |cents: i64| sorted.push(cents);
    // The largest id bounds the table's size without counting it.
    let table_rows: Option<i64> = checked::scalar!(conn, "SELECT max(id) FROM items")?;
    if n.saturating_mul(WALK_THE_PRICE_INDEX_FROM) >= table_rows.unwrap_or(0) {
        checked::for_each!(
            conn,
            push,
            "SELECT price_cents FROM items INDEXED BY items_price_id_created_idx
             WHERE created_at >= ?1 AND created_at < ?2 ORDER BY price_cents",
            from,
            to
        )?;
    } else {
        checked::for_each!(
            conn,
            push,
            "SELECT price_cents FROM items
             WHERE created_at >= ?1 AND created_at < ?2 ORDER BY price_cents",
            from,
            to
        )?;
    }
    Ok(sorted.finish())
}
