//! Export formats: NDJSON (one JSON object per line) and CSV, produced page
//! by page so memory stays flat however many rows there are.

use std::str::FromStr;

use futures_util::Stream;
use serde::Serialize;

use crate::domain::time;
use crate::store::{AuditCursor, AuditFilter, AuditRecord, Store, StoreError};

/// Rows read from the database per page.
const PAGE: i64 = 1000;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Newline-delimited JSON.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
}

impl Format {
    /// The format's name, as `?format=` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ndjson" => Ok(Format::Ndjson),
            "csv" => Ok(Format::Csv),
            other => Err(format!("unknown format {other:?}: use ndjson or csv")),
        }
    }
}

/// One row as exported. `arguments` is the stored canonical JSON text, so an
/// NDJSON export can be re-hashed and checked outside the service.
#[derive(Debug, Serialize)]
pub struct ExportRow<'a> {
    seq: i64,
    occurred_at: String,
    kind: &'static str,
    action: &'a str,
    user_id: Option<String>,
    username: Option<&'a str>,
    auth_method: Option<&'a str>,
    api_key_id: Option<String>,
    session_id: Option<&'a str>,
    surface: &'static str,
    arguments: &'a str,
    outcome: &'static str,
    error: Option<&'a str>,
    duration_ms: i64,
    request_id: Option<&'a str>,
    client_addr: Option<&'a str>,
    approval_id: Option<String>,
    oauth_client_id: Option<&'a str>,
    client_request_id: Option<&'a str>,
    prev_hash: &'a str,
    hash: &'a str,
}

impl<'a> From<&'a AuditRecord> for ExportRow<'a> {
    fn from(r: &'a AuditRecord) -> Self {
        let e = &r.entry;
        Self {
            seq: r.seq,
            occurred_at: time::to_text(e.occurred_at),
            kind: e.kind.as_str(),
            action: &e.action,
            user_id: e.user_id.map(|u| u.to_string()),
            username: e.username.as_deref(),
            auth_method: e.auth_method.as_deref(),
            api_key_id: e.api_key_id.map(|u| u.to_string()),
            session_id: e.session_id.as_deref(),
            surface: e.surface.as_str(),
            arguments: &e.arguments,
            outcome: e.outcome.as_str(),
            error: e.error.as_deref(),
            duration_ms: e.duration_ms,
            request_id: e.request_id.as_deref(),
            client_addr: e.client_addr.as_deref(),
            approval_id: e.approval_id.map(|u| u.to_string()),
            oauth_client_id: e.oauth_client_id.as_deref(),
            client_request_id: e.client_request_id.as_deref(),
            prev_hash: &r.prev_hash,
            hash: &r.hash,
        }
    }
}

impl ExportRow<'_> {
    /// The CSV cells, in [`CSV_HEADER`]'s order, each made safe to open in
    /// a spreadsheet.
    fn csv_cells(&self) -> [String; 21] {
        let text = |v: &str| spreadsheet_safe(v);
        let opt = |v: Option<&str>| v.map(spreadsheet_safe).unwrap_or_default();
        [
            self.seq.to_string(),
            text(&self.occurred_at),
            text(self.kind),
            text(self.action),
            opt(self.user_id.as_deref()),
            opt(self.username),
            opt(self.auth_method),
            opt(self.api_key_id.as_deref()),
            opt(self.session_id),
            text(self.surface),
            text(self.arguments),
            text(self.outcome),
            opt(self.error),
            self.duration_ms.to_string(),
            opt(self.request_id),
            opt(self.client_addr),
            opt(self.approval_id.as_deref()),
            opt(self.oauth_client_id),
            opt(self.client_request_id),
            text(self.prev_hash),
            text(self.hash),
        ]
    }
}

/// A text cell a spreadsheet will not run as a formula: one starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`.
fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// The bytes of one page of rows; with `header`, CSV starts with its header.
pub fn encode(rows: &[AuditRecord], format: Format, header: bool) -> Vec<u8> {
    match format {
        Format::Ndjson => {
            let mut out = Vec::new();
            for row in rows {
                // Serializing plain strings and numbers cannot fail.
                serde_json::to_writer(&mut out, &ExportRow::from(row)).unwrap_or_default();
                out.push(b'\n');
            }
            out
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            if header {
                writer.write_record(CSV_HEADER).unwrap_or_default();
            }
            for row in rows {
                writer
                    .write_record(ExportRow::from(row).csv_cells())
                    .unwrap_or_default();
            }
            writer.into_inner().unwrap_or_default()
        }
    }
}

/// Column names of a CSV export.
const CSV_HEADER: [&str; 21] = [
    "seq",
    "occurred_at",
    "kind",
    "action",
    "user_id",
    "username",
    "auth_method",
    "api_key_id",
    "session_id",
    "surface",
    "arguments",
    "outcome",
    "error",
    "duration_ms",
    "request_id",
    "client_addr",
    "approval_id",
    "oauth_client_id",
    "client_request_id",
    "prev_hash",
    "hash",
];

/// The export as a stream of chunks, oldest row first, one page per chunk.
pub fn stream(
    store: std::sync::Arc<dyn Store>,
    filter: AuditFilter,
    format: Format,
) -> impl Stream<Item = Result<Vec<u8>, StoreError>> + Send + 'static {
    futures_util::stream::try_unfold(Some(0i64), move |after| {
        let store = store.clone();
        let filter = filter.clone();
        async move {
            let Some(after) = after else {
                return Ok(None);
            };
            let page = store
                .audit_entries(&filter, AuditCursor::After(after), PAGE)
                .await?;
            let next = page.more.then(|| page.last_seq().unwrap_or(after));
            let chunk = encode(&page.records, format, after == 0);
            Ok(Some((chunk, next)))
        }
    })
}
