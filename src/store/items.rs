//! The `items` table: reads and analysis (writes go through [`super::StoreTx`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::domain::price_spread::Spread;
use crate::domain::{Item, NewItem};

/// Orders of an item listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ItemSort {
    /// Newest first (the default).
    #[default]
    NewestFirst,
    /// Oldest first.
    OldestFirst,
    /// Cheapest first.
    PriceAscending,
    /// Dearest first.
    PriceDescending,
    /// By name, A to Z.
    NameAscending,
    /// By name, Z to A.
    NameDescending,
}

/// Which items to list. Every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    /// Case-insensitive substring of the name or description.
    pub text: Option<String>,
    /// Exact category.
    pub category: Option<String>,
    /// Lowest price in cents, inclusive.
    pub min_price_cents: Option<i64>,
    /// Highest price in cents, inclusive.
    pub max_price_cents: Option<i64>,
    /// Order.
    pub sort: ItemSort,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

impl ItemFilter {
    /// Whether the filter has no condition (every item matches).
    pub fn matches_all(&self) -> bool {
        self.text.is_none() && !self.has_column_conditions()
    }

    /// Whether the filter has a category or price condition.
    pub fn has_column_conditions(&self) -> bool {
        self.category.is_some() || self.min_price_cents.is_some() || self.max_price_cents.is_some()
    }
}

/// A creation-time window for analysis; both ends optional, `to` exclusive.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeWindow {
    /// Inclusive start.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive end.
    pub to: Option<DateTime<Utc>>,
}

impl TimeWindow {
    /// The bounds with open ends replaced by years 1 and 9999: outside any
    /// real data, inside both databases' ranges, and (on SQLite) sortable as
    /// text. One static query serves every window.
    pub fn bounds(self) -> (DateTime<Utc>, DateTime<Utc>) {
        let year = |y| {
            chrono::NaiveDate::from_ymd_opt(y, 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
                .expect("a valid date")
        };
        (self.from.unwrap_or(year(1)), self.to.unwrap_or(year(9999)))
    }
}

/// Price statistics in cents: the tutorial's fixed buckets (in whole
/// currency units) and the spread fitted to the data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceStats {
    /// Items counted.
    pub total_items: i64,
    /// Cheapest.
    pub min_cents: Option<i64>,
    /// Dearest.
    pub max_cents: Option<i64>,
    /// Mean, in cents.
    pub avg_cents: Option<f64>,
    /// Under 100,000.
    pub under_100k: i64,
    /// 100,000 to under 500,000.
    pub from_100k_to_500k: i64,
    /// 500,000 to under 1,000,000.
    pub from_500k_to_1m: i64,
    /// 1,000,000 and over.
    pub over_1m: i64,
    /// The deciles and a histogram fitted to `min..=max` (empty when no
    /// item is counted).
    pub spread: Spread,
}

/// Items of one category.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryCount {
    /// The category; `None` for uncategorised items.
    pub category: Option<String>,
    /// How many.
    pub count: i64,
    /// Mean price in cents.
    pub avg_cents: f64,
}

/// The bucket size of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendInterval {
    /// Calendar days (UTC).
    Day,
    /// ISO weeks, starting Monday (UTC).
    Week,
}

/// Items created in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// The period's first day, `YYYY-MM-DD`.
    pub period: String,
    /// How many items were created.
    pub count: i64,
    /// Their mean price in cents.
    pub avg_cents: f64,
}

/// Item reads, all computed in the database.
#[async_trait]
pub trait ItemStore {
    /// One item.
    async fn item(&self, id: i64) -> StoreResult<Option<Item>>;

    /// Inserts a batch of valid items in one transaction and one statement
    /// (bulk loading for `aiapi demo-data`); returns how many.
    async fn import_items(&self, batch: &[NewItem], now: DateTime<Utc>) -> StoreResult<u64>;

    /// A page of items matching `filter`, and how many match in all.
    async fn list_items(&self, filter: &ItemFilter) -> StoreResult<(Vec<Item>, i64)>;

    /// The database's plan for the page query of `filter`, one line per
    /// step (diagnostics: shows which index a listing uses).
    async fn explain_item_listing(&self, filter: &ItemFilter) -> StoreResult<Vec<String>>;

    /// Price statistics of the items created in `window`.
    async fn price_distribution(&self, window: TimeWindow) -> StoreResult<PriceStats>;

    /// Item counts and mean prices per category, largest first.
    async fn category_breakdown(&self, window: TimeWindow) -> StoreResult<Vec<CategoryCount>>;

    /// Items created per day or week, oldest first.
    async fn trend(
        &self,
        window: TimeWindow,
        interval: TrendInterval,
    ) -> StoreResult<Vec<TrendPoint>>;
}
