//! The listings whose filters are chosen at run time (items, audit log) are
//! built so the planner can use the indexes: shown with EXPLAIN on a table
//! large enough, with fresh statistics, for the choice to matter.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use aiapi::store::{AuditFilter, ItemFilter, ItemSort};
use common::{Backend, TestDb};

const ADMIN: &str = "00000000-0000-4000-8000-000000000001";

async fn seed(db: &TestDb) {
    let (rows, now, analyze) = match db.backend {
        Backend::Sqlite => (
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 20000)",
            "'2026-01-01T00:00:00.000000Z'",
            "ANALYZE;",
        ),
        Backend::Postgres => (
            // Postgres prefers a sequential scan below some 100k rows: seed enough
            // that the trigram indexes are the cheaper plan, as in production.
            "WITH g(n) AS (SELECT generate_series(1, 200000))",
            "now()",
            "ANALYZE items; ANALYZE audit_log;",
        ),
    };
    db.execute(&format!(
        "{rows} INSERT INTO items (name, description, price_cents, category, owner_id, created_at, updated_at)
         SELECT CASE WHEN n % 5000 = 0 THEN 'zyxwvut lamp ' ELSE 'item ' END || n, 'description ' || n, n, CASE WHEN n % 5000 = 0 THEN 'rare' ELSE 'common' || (n % 20) END,
                '{ADMIN}', {now}, {now} FROM g"
    ))
    .await;
    db.execute(&format!(
        "{rows} INSERT INTO audit_log (occurred_at, kind, action, username, surface, arguments, outcome,
                                      duration_ms, prev_hash, hash)
         SELECT {now}, 'tool', CASE WHEN n % 5000 = 0 THEN 'rare_action' ELSE 'search_items' END,
                'u' || (n % 50), 'rest', '{{}}', 'success', 1, 'x', 'y' FROM g"
    ))
    .await;
    db.execute(analyze).await;
}

fn uses(plan: &[String], index: &str) -> bool {
    plan.iter().any(|line| line.contains(index))
}

async fn runtime_filtered_listings_use_their_indexes(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    seed(&db).await;
    let store = db.store().await;
    let page = |filter: ItemFilter| ItemFilter {
        limit: 10,
        ..filter
    };

    let plan = store
        .explain_item_listing(&page(ItemFilter {
            category: Some("rare".into()),
            sort: ItemSort::PriceAscending,
            ..ItemFilter::default()
        }))
        .await
        .unwrap();
    assert!(uses(&plan, "items_category_idx"), "{plan:#?}");

    let plan = store
        .explain_item_listing(&page(ItemFilter {
            text: Some("zyxwvut".into()),
            ..ItemFilter::default()
        }))
        .await
        .unwrap();
    let text_index = match backend {
        Backend::Sqlite => "items_search",
        Backend::Postgres => "trgm_idx",
    };
    assert!(uses(&plan, text_index), "{plan:#?}");

    let plan = store
        .explain_audit_listing(&AuditFilter {
            action: Some("rare_action".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(uses(&plan, "audit_log_action_idx"), "{plan:#?}");

    let plan = store
        .explain_audit_listing(&AuditFilter {
            oauth_client_id: Some("cl_someone".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(uses(&plan, "audit_log_oauth_client_idx"), "{plan:#?}");
    store.close().await;
}

on_both_backends!(runtime_filtered_listings_use_their_indexes);
