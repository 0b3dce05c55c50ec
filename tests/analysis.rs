//! `analyze_items price_distribution` fitted to the data: the deciles and a
//! round-edged histogram beside the tutorial's fixed bands, on both
//! backends and (on SQLite) both ways of walking the prices.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::{Backend, TestDb, TestServer};
use serde_json::{Value, json};

async fn price_distribution(server: &TestServer, token: &str) -> Value {
    let (status, body) = server
        .execute(
            token,
            "analyze_items",
            json!({"analysis_type": "price_distribution"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["result"]["result"].clone()
}

fn bins(edges_and_counts: &[(f64, f64, i64)]) -> Value {
    edges_and_counts
        .iter()
        .map(|&(from, to, count)| json!({"from": from, "to": to, "count": count}))
        .collect()
}

async fn deciles_and_histogram_fit_small_prices(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    let agent = server.token("ai_agent", "ai123").await;

    let empty = price_distribution(&server, &agent).await;
    assert_eq!(empty["percentiles"], json!({}), "{empty}");
    assert_eq!(empty["histogram"], json!([]));

    // 0.99, then 62.50 to 2,500.00 in steps of 62.50: 41 items, all of
    // them in the tutorial's `under_100k`.
    let prices = std::iter::once(0.99).chain((1..=40).map(|i| f64::from(i) * 62.5));
    for (i, price) in prices.enumerate() {
        server
            .create_item(
                &agent,
                json!({"name": format!("thing {i}"), "price": price}),
            )
            .await;
    }
    let r = price_distribution(&server, &agent).await;
    assert_eq!(r["price_ranges"]["under_100k"], 41, "{r}");
    // Nearest rank of 41: p10 is the 5th price, p50 the 21st, p90 the 37th.
    assert_eq!(
        r["percentiles"],
        json!({"p10": 250.0, "p20": 500.0, "p30": 750.0, "p40": 1000.0, "p50": 1250.0,
               "p60": 1500.0, "p70": 1750.0, "p80": 2000.0, "p90": 2250.0}),
        "{r}"
    );
    assert_eq!(
        r["histogram"],
        bins(&[
            (0.0, 500.0, 8),
            (500.0, 1000.0, 8),
            (1000.0, 1500.0, 8),
            (1500.0, 2000.0, 8),
            (2000.0, 2500.0, 8),
            (2500.0, 3000.0, 1),
        ])
    );

    // Eight items left of 41 ids: SQLite now sorts the window instead of
    // walking the whole price index; the answer must not change shape.
    db.execute("DELETE FROM items WHERE price_cents < 206250")
        .await;
    let r = price_distribution(&server, &agent).await;
    assert_eq!(r["total_items"], 8, "{r}");
    assert_eq!(r["percentiles"]["p10"], json!(2062.5), "{r}");
    assert_eq!(r["percentiles"]["p50"], json!(2250.0));
    assert_eq!(r["percentiles"]["p90"], json!(2500.0));
    let counts: Vec<i64> = r["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, vec![1, 1, 1, 0, 1, 1, 1, 1, 0, 1], "{r}");
    assert_eq!(r["histogram"][0]["from"], json!(2050.0));
    assert_eq!(r["histogram"][9]["to"], json!(2550.0));
}

on_both_backends!(deciles_and_histogram_fit_small_prices);
