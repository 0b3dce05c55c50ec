//! Totals of filtered item listings, remembered per catalogue version.
//!
//! Counting a filter's matches is the expensive half of a listing: a broad
//! text search takes some twenty-five times longer to count than to page
//! (BENCHMARKS.md, "Measurements behind design choices"). The catalogue's version, bumped by
//! triggers on every insert, update and delete (`item_stats`), says when a
//! total counted before is still exact; it is read in the page query itself,
//! so a remembered total is as current as the page it comes with.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use super::{ItemFilter, StoreResult};

/// At most this many filters are remembered; when full, all are forgotten
/// (a listing only pays its count again).
const CAPACITY: usize = 4096;

/// The conditions of a filter (sort and paging do not change its total).
type Conditions = (Option<String>, Option<String>, Option<i64>, Option<i64>);

/// Remembered totals by filter conditions, each with the version it was
/// counted at.
#[derive(Debug, Default)]
pub struct CountCache(Mutex<HashMap<Conditions, (i64, i64)>>);

fn conditions(filter: &ItemFilter) -> Conditions {
    (
        filter.text.clone(),
        filter.category.clone(),
        filter.min_price_cents,
        filter.max_price_cents,
    )
}

impl CountCache {
    /// The total of a listing by `filter` in a catalogue of `size` items at
    /// `version`: `size` when the filter has no condition, else the total
    /// remembered for that version, else what `count` finds (remembered).
    pub async fn total(
        &self,
        filter: &ItemFilter,
        size: i64,
        version: i64,
        count: impl Future<Output = StoreResult<i64>>,
    ) -> StoreResult<i64> {
        if filter.matches_all() {
            return Ok(size);
        }
        if let Some(total) = self.get(filter, version) {
            return Ok(total);
        }
        let total = count.await?;
        self.put(filter, version, total);
        Ok(total)
    }

    /// The total of `filter` if it was counted at catalogue `version`.
    fn get(&self, filter: &ItemFilter, version: i64) -> Option<i64> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&conditions(filter))
            .filter(|(counted_at, _)| *counted_at == version)
            .map(|(_, total)| *total)
    }

    /// Remembers `total` as `filter`'s count at catalogue `version`.
    fn put(&self, filter: &ItemFilter, version: i64, total: i64) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let key = conditions(filter);
        if map.len() >= CAPACITY && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, (version, total));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_total_holds_for_its_version_only() {
        let cache = CountCache::default();
        let filter = ItemFilter {
            text: Some("notebook".into()),
            ..ItemFilter::default()
        };
        assert_eq!(cache.get(&filter, 7), None);
        cache.put(&filter, 7, 42);
        assert_eq!(cache.get(&filter, 7), Some(42));
        assert_eq!(cache.get(&filter, 8), None, "the catalogue changed");
        let other = ItemFilter {
            offset: 10,
            ..filter.clone()
        };
        assert_eq!(cache.get(&other, 7), Some(42), "paging keeps the total");
        let narrower = ItemFilter {
            category: Some("office".into()),
            ..filter
        };
        assert_eq!(cache.get(&narrower, 7), None);
    }
}
