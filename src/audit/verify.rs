//! Walking the hash chain: every row's `prev_hash` must be the previous
//! row's `hash`, and its `hash` must be recomputable from what is stored.

use serde::Serialize;

use crate::domain::audit::GENESIS_HASH;
use crate::store::{AuditCursor, AuditFilter, Store, StoreResult};

/// Rows checked per page.
const PAGE: i64 = 1000;

/// The result of a walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, poem_openapi::Object)]
pub struct Verification {
    /// Whether every row checked out.
    pub ok: bool,
    /// Rows checked (up to the first broken one).
    pub rows: i64,
    /// The hash of the last good row (the chain's head when `ok`).
    pub head_hash: String,
    /// The first row that does not check out.
    #[oai(nullable)]
    pub broken_seq: Option<i64>,
    /// Why it does not.
    #[oai(nullable)]
    pub reason: Option<String>,
}

/// Walks the whole chain, oldest first; `progress` is told the rows checked
/// after each page.
pub async fn verify_chain(
    store: &dyn Store,
    mut progress: impl FnMut(i64),
) -> StoreResult<Verification> {
    let mut prev = GENESIS_HASH.to_owned();
    let mut rows = 0;
    let mut after = 0;
    loop {
        let page = store
            .audit_entries(&AuditFilter::default(), AuditCursor::After(after), PAGE)
            .await?;
        for record in &page.records {
            let broken = if record.prev_hash != prev {
                Some(
                    "prev_hash is not the previous row's hash (a row was removed, inserted or reordered)",
                )
            } else if record.entry.chain_hash(&record.prev_hash) != record.hash {
                Some("hash does not match the row's stored contents (the row was altered)")
            } else {
                None
            };
            if let Some(reason) = broken {
                return Ok(Verification {
                    ok: false,
                    rows,
                    head_hash: prev,
                    broken_seq: Some(record.seq),
                    reason: Some(reason.into()),
                });
            }
            prev.clone_from(&record.hash);
            rows += 1;
            after = record.seq;
        }
        progress(rows);
        if !page.more {
            return Ok(Verification {
                ok: true,
                rows,
                head_hash: prev,
                broken_seq: None,
                reason: None,
            });
        }
    }
}
