//! `analyze_items`: price distribution, category breakdown and trends, all
//! computed by the store in aggregates or one streaming pass (never by
//! loading the items).

use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::registry::{Annotations, ToolCategory, ToolSpec, object, spec};
use super::{BoxFuture, ToolCall, ToolFailure, ToolFn, ToolResult, parse_args};
use crate::domain::price_spread::{PERCENTILES, Spread};
use crate::domain::validation::FieldError;
use crate::domain::{Money, Permission};
use crate::store::{TimeWindow, TrendInterval};

/// `analyze_items`.
pub(super) fn analyze_items() -> ToolSpec {
    spec(
        "analyze_items",
        "Analyze items",
        "Aggregate the catalogue: price_distribution (min, max, average, the fixed price bands \
         under 100k, 100k-500k, 500k-1m, over 1m, and, fitted to the data, the deciles p10 to \
         p90 and a histogram of at most 10 equal bins with round edges), category_breakdown (items and average \
         price per category) or trend_analysis (items created and their average price per \
         day or week), optionally limited to items created within date_range (inclusive).",
        ToolCategory::Analysis,
        &[Permission::ReadItems],
        Annotations {
            read_only_hint: true,
            destructive_hint: false,
            idempotent_hint: true,
        },
        object(
            json!({
                "analysis_type": {
                    "type": "string",
                    "enum": ["price_distribution", "category_breakdown", "trend_analysis"],
                    "description": "Analysis type"
                },
                "date_range": {
                    "type": "object",
                    "properties": {
                        "start_date": {"type": "string", "format": "date"},
                        "end_date": {"type": "string", "format": "date"}
                    },
                    "additionalProperties": false,
                    "description": "Analysis period (creation dates, inclusive)"
                },
                "interval": {
                    "type": "string",
                    "enum": ["day", "week"],
                    "default": "day",
                    "description": "Bucket size of trend_analysis"
                }
            }),
            &["analysis_type"],
        ),
        Some(json!({
            "type": "object",
            "properties": {"analysis": {"type": "string"}, "result": {"type": "object"}},
            "required": ["analysis", "result"]
        })),
        vec![json!({
            "analysis_type": "price_distribution",
            "date_range": {"start_date": "2024-01-01", "end_date": "2024-12-31"}
        })],
        ToolFn::Read(run),
    )
}

#[derive(Deserialize)]
struct DateRange {
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
}

#[derive(Deserialize)]
struct Args {
    analysis_type: String,
    date_range: Option<DateRange>,
    interval: Option<String>,
}

fn window(range: Option<&DateRange>) -> Result<TimeWindow, ToolFailure> {
    let Some(range) = range else {
        return Ok(TimeWindow::default());
    };
    if let (Some(start), Some(end)) = (range.start_date, range.end_date)
        && start > end
    {
        return Err(ToolFailure::Invalid(vec![FieldError {
            field: "/date_range".into(),
            message: "start_date is after end_date".into(),
        }]));
    }
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    Ok(TimeWindow {
        from: range.start_date.and_then(midnight),
        to: range
            .end_date
            .and_then(|d| d.checked_add_signed(Duration::days(1)))
            .and_then(midnight),
    })
}

fn amount(cents: Option<i64>) -> Value {
    cents.map_or(Value::Null, |c| json!(Money::from_cents(c).to_f64()))
}

fn average(cents: Option<f64>) -> Value {
    cents.map_or(Value::Null, |c| json!(Money::average_to_f64(c)))
}

/// `{"p10": .., "p90": ..}` in currency units; empty for no items.
fn percentiles(spread: &Spread) -> Value {
    let named = PERCENTILES
        .iter()
        .zip(&spread.percentiles)
        .map(|(p, &cents)| (format!("p{p}"), amount(Some(cents))));
    Value::Object(named.collect())
}

/// Each bin's lower and upper edge (the upper one exclusive) and count.
fn histogram(spread: &Spread) -> Value {
    let Some((bins, counts)) = &spread.histogram else {
        return json!([]);
    };
    let bin = |(i, count): (usize, &i64)| {
        json!({
            "from": amount(Some(bins.lower_edge(i))),
            "to": amount(Some(bins.lower_edge(i + 1))),
            "count": count,
        })
    };
    Value::Array(counts.iter().enumerate().map(bin).collect())
}

fn run<'a>(ctx: &'a ToolCall<'a>, args: Value) -> BoxFuture<'a, ToolResult> {
    Box::pin(async move {
        let args: Args = parse_args(args)?;
        let window = window(args.date_range.as_ref())?;
        let store = &ctx.state.store;
        let result = match args.analysis_type.as_str() {
            "price_distribution" => {
                let s = store.price_distribution(window).await?;
                json!({
                    "total_items": s.total_items,
                    "min_price": amount(s.min_cents),
                    "max_price": amount(s.max_cents),
                    "average_price": average(s.avg_cents),
                    "price_ranges": {
                        "under_100k": s.under_100k,
                        "100k_to_500k": s.from_100k_to_500k,
                        "500k_to_1m": s.from_500k_to_1m,
                        "over_1m": s.over_1m,
                    },
                    "percentiles": percentiles(&s.spread),
                    "histogram": histogram(&s.spread),
                })
            }
            "category_breakdown" => {
                let rows = store.category_breakdown(window).await?;
                let mut counts = Map::new();
                let details: Vec<Value> = rows
                    .iter()
                    .map(|r| {
                        let name = r.category.clone().unwrap_or_else(|| "uncategorized".into());
                        counts.insert(name.clone(), json!(r.count));
                        json!({"category": name, "count": r.count, "average_price": average(Some(r.avg_cents))})
                    })
                    .collect();
                json!({"total_categories": rows.len(), "categories": counts, "details": details})
            }
            "trend_analysis" => {
                let interval = match args.interval.as_deref() {
                    Some("week") => TrendInterval::Week,
                    _ => TrendInterval::Day,
                };
                let points = store.trend(window, interval).await?;
                json!({
                    "interval": if interval == TrendInterval::Week { "week" } else { "day" },
                    "periods": points
                        .iter()
                        .map(|p| json!({"period": p.period, "count": p.count, "average_price": average(Some(p.avg_cents))}))
                        .collect::<Vec<_>>(),
                })
            }
            other => {
                return Err(ToolFailure::Invalid(vec![FieldError {
                    field: "/analysis_type".into(),
                    message: format!("unknown analysis type {other:?}"),
                }]));
            }
        };
        let mut answer = json!({"analysis": args.analysis_type, "result": result});
        if let Some(range) = &args.date_range {
            answer["date_range"] =
                json!({"start_date": range.start_date, "end_date": range.end_date});
        }
        Ok(answer)
    })
}
