//! `price_distribution` on Postgres: the aggregate, the deciles by
//! `percentile_disc`, and the histogram grouped in the database, all from
//! one snapshot.

use super::PostgresStore;
use crate::domain::price_spread::{Bins, PERCENTILES, Spread, disc_fraction};
use crate::store::{PriceStats, StoreResult, TimeWindow};

impl PostgresStore {
    /// The price statistics of `window`.
    pub(super) async fn price_stats(&self, window: TimeWindow) -> StoreResult<PriceStats> {
        let (from, to) = window.bounds();
        let mut snapshot = self.pool.begin().await?;
        sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *snapshot)
            .await?;
        let row = sqlx::query!(
            r#"SELECT count(*) AS "total!",
                      min(price_cents) AS min_cents,
                      max(price_cents) AS max_cents,
                      avg(price_cents)::float8 AS avg_cents,
                      count(*) FILTER (WHERE price_cents < 10000000) AS "under_100k!",
                      count(*) FILTER (WHERE price_cents >= 10000000 AND price_cents < 50000000) AS "from_100k!",
                      count(*) FILTER (WHERE price_cents >= 50000000 AND price_cents < 100000000) AS "from_500k!",
                      count(*) FILTER (WHERE price_cents >= 100000000) AS "over_1m!"
               FROM items WHERE created_at >= $1 AND created_at < $2"#,
            from,
            to
        )
        .fetch_one(&mut *snapshot)
        .await?;
        let mut spread = Spread::default();
        if let (Some(min), Some(max), n @ 1..) = (row.min_cents, row.max_cents, row.total) {
            let fractions: Vec<f64> = PERCENTILES.iter().map(|&p| disc_fraction(n, p)).collect();
            spread.percentiles = sqlx::query_scalar!(
                r#"SELECT percentile_disc($3::float8[]) WITHIN GROUP (ORDER BY price_cents) AS "deciles!"
                   FROM items WHERE created_at >= $1 AND created_at < $2"#,
                from,
                to,
                &fractions
            )
            .fetch_one(&mut *snapshot)
            .await?;
            let bins = Bins::fitted(min, max);
            let mut counts = vec![0; bins.count as usize];
            let grouped = sqlx::query!(
                r#"SELECT (price_cents - $3) / $4 AS "bin!", count(*) AS "count!"
                   FROM items WHERE created_at >= $1 AND created_at < $2 GROUP BY 1"#,
                from,
                to,
                bins.start,
                bins.width
            )
            .fetch_all(&mut *snapshot)
            .await?;
            for g in grouped {
                counts[g.bin.clamp(0, bins.count - 1) as usize] += g.count;
            }
            spread.histogram = Some((bins, counts));
        }
        snapshot.commit().await?;
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
}
