//! How prices spread: the deciles and a histogram fitted to the data's own
//! range, so `analyze_items` says something about a catalogue of 0.99 to
//! 2,500 as well as about the tutorial's (whose fixed bands put every such
//! item in `under_100k`).
//!
//! Both stores use the one definition here: a decile is the nearest-rank
//! value (the first price whose position reaches the fraction, as
//! PostgreSQL's `percentile_disc`), and the histogram's edges are round
//! numbers in cents.

/// The percentiles reported: p10 to p90.
pub const PERCENTILES: [u32; 9] = [10, 20, 30, 40, 50, 60, 70, 80, 90];

/// At most this many histogram bins.
pub const MAX_BINS: i64 = 10;

/// The 1-based position, among `n` prices in ascending order, of the
/// `percent`th percentile's nearest-rank value (`n` > 0).
pub fn rank(n: i64, percent: u32) -> i64 {
    ((n * i64::from(percent) + 99) / 100).max(1)
}

/// The fraction to give PostgreSQL's `percentile_disc` so that it picks
/// exactly [`rank`]: halfway between the rank and the one before, because
/// `ceil(p * n)` on a float such as `0.3 * 10` can land one past.
pub fn disc_fraction(n: i64, percent: u32) -> f64 {
    (rank(n, percent) as f64 - 0.5) / n as f64
}

/// Histogram bins of equal, round width (1, 2 or 5 times a power of ten
/// cents) covering `min..=max`, starting at a multiple of the width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bins {
    /// The first bin's lower edge, in cents.
    pub start: i64,
    /// Each bin's width, in cents.
    pub width: i64,
    /// How many bins.
    pub count: i64,
}

impl Bins {
    /// The narrowest round bins that cover `min..=max` in at most
    /// [`MAX_BINS`].
    pub fn fitted(min: i64, max: i64) -> Bins {
        let mut scale: i64 = 1;
        loop {
            for step in [1, 2, 5] {
                let width = step * scale;
                let start = min.div_euclid(width) * width;
                let count = (max - start).div_euclid(width) + 1;
                if count <= MAX_BINS {
                    return Bins {
                        start,
                        width,
                        count,
                    };
                }
            }
            scale = scale.saturating_mul(10);
        }
    }

    /// The bin `cents` falls in (clamped to the outer bins).
    pub fn index(&self, cents: i64) -> usize {
        (cents - self.start)
            .div_euclid(self.width)
            .clamp(0, self.count - 1) as usize
    }

    /// Bin `i`'s lower edge, in cents (its upper edge is bin `i + 1`'s).
    pub fn lower_edge(&self, i: usize) -> i64 {
        self.start + i as i64 * self.width
    }
}

/// The deciles and histogram of a set of prices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spread {
    /// The [`PERCENTILES`]' values in cents, in that order.
    pub percentiles: Vec<i64>,
    /// The bins, and how many prices fall in each.
    pub histogram: Option<(Bins, Vec<i64>)>,
}

/// Builds a [`Spread`] from `n` prices seen once each in ascending order,
/// keeping nothing but the counts (the database streams them from an
/// index, so a million prices take no memory).
pub struct SortedWalk {
    ranks: Vec<i64>,
    bins: Bins,
    seen: i64,
    percentiles: Vec<i64>,
    counts: Vec<i64>,
}

impl SortedWalk {
    /// A walk over `n` prices from `min` to `max`.
    pub fn new(n: i64, min: i64, max: i64) -> Self {
        let bins = Bins::fitted(min, max);
        SortedWalk {
            ranks: PERCENTILES.iter().map(|&p| rank(n, p)).collect(),
            bins,
            seen: 0,
            percentiles: Vec::with_capacity(PERCENTILES.len()),
            counts: vec![0; bins.count as usize],
        }
    }

    /// The next price, no lower than the one before.
    pub fn push(&mut self, cents: i64) {
        self.seen += 1;
        while self.ranks.get(self.percentiles.len()) == Some(&self.seen) {
            self.percentiles.push(cents);
        }
        self.counts[self.bins.index(cents)] += 1;
    }

    /// The spread of the prices pushed.
    pub fn finish(self) -> Spread {
        Spread {
            percentiles: self.percentiles,
            histogram: Some((self.bins, self.counts)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_are_nearest_rank() {
        assert_eq!(rank(10, 10), 1);
        assert_eq!(rank(10, 30), 3);
        assert_eq!(rank(10, 90), 9);
        assert_eq!(rank(1, 10), 1);
        assert_eq!(rank(1, 90), 1);
        assert_eq!(rank(11, 50), 6);
        for n in [1, 3, 10, 7919, 1_000_000] {
            for p in PERCENTILES {
                let f = disc_fraction(n, p);
                assert_eq!((f * n as f64).ceil() as i64, rank(n, p), "n {n} p {p}");
            }
        }
    }

    #[test]
    fn bins_are_round_and_cover_the_range() {
        // 0.99 to 2,500.00: bins of 500.00 from 0.
        assert_eq!(
            Bins::fitted(99, 250_000),
            Bins {
                start: 0,
                width: 50_000,
                count: 6
            }
        );
        // One price: one bin of one cent.
        assert_eq!(
            Bins::fitted(1234, 1234),
            Bins {
                start: 1234,
                width: 1,
                count: 1
            }
        );
        for (min, max) in [(0, 9), (5, 100_000_000), (99, 99_999), (-500, 500)] {
            let b = Bins::fitted(min, max);
            assert!(b.count <= MAX_BINS && b.start <= min);
            assert!(b.lower_edge(b.count as usize) > max, "{b:?} covers {max}");
            assert_eq!(b.index(min), 0);
            assert_eq!(b.index(max), b.count as usize - 1);
        }
    }

    #[test]
    fn a_walk_counts_and_picks() {
        let prices: Vec<i64> = (1..=10).map(|p| p * 100).collect();
        let mut walk = SortedWalk::new(10, 100, 1000);
        prices.iter().for_each(|&p| walk.push(p));
        let spread = walk.finish();
        assert_eq!(
            spread.percentiles,
            vec![100, 200, 300, 400, 500, 600, 700, 800, 900]
        );
        let (bins, counts) = spread.histogram.expect("a histogram");
        assert_eq!(bins.width, 100);
        assert_eq!(counts.iter().sum::<i64>(), 10);
        assert_eq!(counts, vec![1; 10]);
    }
}
