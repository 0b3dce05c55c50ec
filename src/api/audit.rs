//! `/api/v1/audit`: the audit log for auditors (permission `read:audit`):
//! filtered listing with a stable cursor, summaries, streamed exports and
//! chain verification.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Body;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use super::security::Auth;
use crate::audit::export::{self, Format};
use crate::audit::{Verification, verify_chain};
use crate::domain::validation::FieldErrors;
use crate::domain::{AuditKind, Outcome, Surface};
use crate::error::{ApiError, ApiResult};
use crate::service::audit_reads;
use crate::state::AppState;
use crate::store::{AuditCursor, AuditFilter, AuditGroup, AuditRecord, TimeWindow};

/// One audit row.
#[derive(Debug, Object)]
struct AuditEntryOut {
    /// Position in the chain; later rows have larger numbers.
    seq: i64,
    /// When it happened.
    occurred_at: DateTime<Utc>,
    /// `tool`, `auth` or `admin`.
    kind: String,
    /// The tool or event name.
    action: String,
    /// Who.
    #[oai(nullable)]
    user_id: Option<Uuid>,
    /// Their username at the time (as typed, for failed logins).
    #[oai(nullable)]
    username: Option<String>,
    /// `bearer` or `api_key`.
    #[oai(nullable)]
    auth_method: Option<String>,
    /// The API key used.
    #[oai(nullable)]
    api_key_id: Option<Uuid>,
    /// The session.
    #[oai(nullable)]
    session_id: Option<String>,
    /// `rest`, `mcp` or `cli`.
    surface: String,
    /// The arguments as canonical JSON text, secrets replaced by `***`.
    arguments: String,
    /// `success`, `error`, `denied`, `invalid`, `not_found` or `rate_limited`.
    outcome: String,
    /// Why it failed.
    #[oai(nullable)]
    error: Option<String>,
    /// How long it took.
    duration_ms: i64,
    /// Our id of the request (the `x-request-id` we answered with).
    #[oai(nullable)]
    request_id: Option<String>,
    /// The `x-request-id` the client sent, if it sent one.
    #[oai(nullable)]
    client_request_id: Option<String>,
    /// The client's address.
    #[oai(nullable)]
    client_addr: Option<String>,
    /// The OAuth client the event concerns, or that the caller came through.
    #[oai(nullable)]
    oauth_client_id: Option<String>,
    /// The previous row's hash.
    prev_hash: String,
    /// SHA-256 over `prev_hash` and this row's fields.
    hash: String,
}

impl From<AuditRecord> for AuditEntryOut {
    fn from(r: AuditRecord) -> Self {
        let e = r.entry;
        Self {
            seq: r.seq,
            occurred_at: e.occurred_at,
            kind: e.kind.as_str().into(),
            action: e.action,
            user_id: e.user_id,
            username: e.username,
            auth_method: e.auth_method,
            api_key_id: e.api_key_id,
            session_id: e.session_id,
            surface: e.surface.as_str().into(),
            arguments: e.arguments,
            outcome: e.outcome.as_str().into(),
            error: e.error,
            duration_ms: e.duration_ms,
            request_id: e.request_id,
            client_request_id: e.client_request_id,
            client_addr: e.client_addr,
            oauth_client_id: e.oauth_client_id,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// A page of rows, newest first.
#[derive(Debug, Object)]
struct AuditPage {
    /// The rows.
    entries: Vec<AuditEntryOut>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[oai(nullable)]
    next_cursor: Option<i64>,
}

/// One group of a summary.
#[derive(Debug, Object)]
struct SummaryGroup {
    /// The action, username, outcome or day.
    key: String,
    /// Rows.
    count: i64,
    /// Share of rows with outcome `error`.
    error_rate: f64,
    /// Share of rows with outcome `denied`.
    denial_rate: f64,
    /// Median duration.
    p50_ms: i64,
    /// 95th percentile duration.
    p95_ms: i64,
}

/// Counts and rates per group.
#[derive(Debug, Object)]
struct Summary {
    /// How rows were grouped.
    group_by: String,
    /// Start of the window, if given.
    #[oai(nullable)]
    from: Option<DateTime<Utc>>,
    /// End of the window, if given.
    #[oai(nullable)]
    to: Option<DateTime<Utc>>,
    /// Rows in the window.
    total: i64,
    /// The groups, largest first (at most 1000).
    groups: Vec<SummaryGroup>,
}

#[derive(ApiResponse)]
enum ExportResponse {
    /// One JSON object per line, oldest first.
    #[oai(status = 200, content_type = "application/x-ndjson")]
    Ndjson(Binary<Body>),
    /// CSV with a header row, oldest first.
    #[oai(status = 200, content_type = "text/csv")]
    Csv(Binary<Body>),
}

/// The audit log.
pub struct AuditApi {
    state: Arc<AppState>,
}

impl AuditApi {
    /// The API over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// The shared filter parameters, parsed; unknown values are 422s.
#[allow(clippy::too_many_arguments)]
fn parse_filter(
    errors: &mut FieldErrors,
    user_id: Option<Uuid>,
    username: Option<String>,
    kind: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    surface: Option<String>,
    session_id: Option<String>,
    api_key_id: Option<Uuid>,
    oauth_client_id: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AuditFilter {
    fn parse<T>(
        errors: &mut FieldErrors,
        field: &str,
        raw: Option<String>,
        parse: fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Option<T> {
        let raw = raw?;
        let parsed = parse(&raw);
        if parsed.is_none() {
            errors.push(field, format!("must be one of {allowed}"));
        }
        parsed
    }
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        errors.push("from", "must not be after to");
    }
    AuditFilter {
        user_id,
        username,
        kind: parse(errors, "kind", kind, AuditKind::parse, "tool, auth, admin"),
        action,
        outcome: parse(
            errors,
            "outcome",
            outcome,
            Outcome::parse,
            "success, error, denied, invalid, not_found, rate_limited",
        ),
        surface: parse(
            errors,
            "surface",
            surface,
            Surface::parse,
            "rest, mcp, cli, system, console",
        ),
        session_id,
        api_key_id,
        oauth_client_id,
        from,
        to,
    }
}

#[OpenApi(prefix_path = "/api/v1/audit", tag = "ApiTags::Audit")]
impl AuditApi {
    /// Audit rows, newest first, filtered by any of `user_id`, `username`,
    /// `kind`, `action`, `outcome`, `surface`, `session_id`, `api_key_id`,
    /// `oauth_client_id`,
    /// `from` (inclusive) and `to` (exclusive). Pages hold `limit` rows
    /// (1-1000, default 100); pass `next_cursor` as `cursor` for the next
    /// page, which stays correct while rows are being added.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: Auth,
        user_id: Query<Option<Uuid>>,
        username: Query<Option<String>>,
        kind: Query<Option<String>>,
        action: Query<Option<String>>,
        outcome: Query<Option<String>>,
        surface: Query<Option<String>>,
        session_id: Query<Option<String>>,
        api_key_id: Query<Option<Uuid>>,
        oauth_client_id: Query<Option<String>>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        cursor: Query<Option<i64>>,
        limit: Query<Option<i64>>,
    ) -> ApiResult<Json<AuditPage>> {
        audit_reads::require_reader(&self.state, &auth.0, "audit_read").await?;
        let mut errors = FieldErrors::default();
        let filter = parse_filter(
            &mut errors,
            user_id.0,
            username.0,
            kind.0,
            action.0,
            outcome.0,
            surface.0,
            session_id.0,
            api_key_id.0,
            oauth_client_id.0,
            from.0,
            to.0,
        );
        let limit = limit.0.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            errors.push("limit", "must be between 1 and 1000");
        }
        if cursor.0.is_some_and(|c| c < 1) {
            errors.push("cursor", "must be a positive row number");
        }
        errors.finish(())?;
        let page = self
            .state
            .store
            .audit_entries(&filter, AuditCursor::Before(cursor.0), limit)
            .await?;
        let mut details = audit_reads::filter_details(&filter);
        details["cursor"] = serde_json::json!(cursor.0);
        details["limit"] = serde_json::json!(limit);
        details["rows"] = serde_json::json!(page.records.len());
        audit_reads::record(&self.state, &auth.0, "audit_read", details).await?;
        let next_cursor = page.more.then(|| page.last_seq()).flatten();
        Ok(Json(AuditPage {
            entries: page.records.into_iter().map(AuditEntryOut::from).collect(),
            next_cursor,
        }))
    }

    /// Counts, error and denial rates and p50/p95 durations per `group_by`
    /// (`action`, `user`, `outcome` or `day`), over `[from, to)`, computed in
    /// the database.
    #[oai(path = "/summary", method = "get")]
    async fn summary(
        &self,
        auth: Auth,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        group_by: Query<Option<String>>,
    ) -> ApiResult<Json<Summary>> {
        audit_reads::require_reader(&self.state, &auth.0, "audit_read").await?;
        let group = match group_by.0.as_deref().unwrap_or("action") {
            "action" => AuditGroup::Action,
            "user" => AuditGroup::User,
            "outcome" => AuditGroup::Outcome,
            "day" => AuditGroup::Day,
            _ => {
                return Err(ApiError::invalid(
                    "group_by",
                    "must be one of action, user, outcome, day",
                ));
            }
        };
        let (start, end) = TimeWindow {
            from: from.0,
            to: to.0,
        }
        .bounds();
        let rows = self.state.store.audit_summary(start, end, group).await?;
        // Recorded after the count, which it would otherwise join.
        let details = serde_json::json!({"summary": group.as_str(), "from": from.0, "to": to.0});
        audit_reads::record(&self.state, &auth.0, "audit_read", details).await?;
        let rate = |part: i64, all: i64| {
            if all == 0 {
                0.0
            } else {
                part as f64 / all as f64
            }
        };
        Ok(Json(Summary {
            group_by: group.as_str().into(),
            from: from.0,
            to: to.0,
            total: rows.iter().map(|r| r.count).sum(),
            groups: rows
                .into_iter()
                .map(|r| SummaryGroup {
                    error_rate: rate(r.errors, r.count),
                    denial_rate: rate(r.denials, r.count),
                    key: r.key,
                    count: r.count,
                    p50_ms: r.p50_ms,
                    p95_ms: r.p95_ms,
                })
                .collect(),
        }))
    }

    /// Every matching row, oldest first, streamed as `ndjson` (default) or
    /// `csv`; takes the same filters as the listing.
    #[oai(path = "/export", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn export(
        &self,
        auth: Auth,
        format: Query<Option<String>>,
        user_id: Query<Option<Uuid>>,
        username: Query<Option<String>>,
        kind: Query<Option<String>>,
        action: Query<Option<String>>,
        outcome: Query<Option<String>>,
        surface: Query<Option<String>>,
        session_id: Query<Option<String>>,
        api_key_id: Query<Option<Uuid>>,
        oauth_client_id: Query<Option<String>>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
    ) -> ApiResult<ExportResponse> {
        audit_reads::require_reader(&self.state, &auth.0, "audit_exported").await?;
        let mut errors = FieldErrors::default();
        let format = match format.0.as_deref().unwrap_or("ndjson").parse::<Format>() {
            Ok(format) => Some(format),
            Err(message) => {
                errors.push("format", message);
                None
            }
        };
        let filter = parse_filter(
            &mut errors,
            user_id.0,
            username.0,
            kind.0,
            action.0,
            outcome.0,
            surface.0,
            session_id.0,
            api_key_id.0,
            oauth_client_id.0,
            from.0,
            to.0,
        );
        errors.finish(())?;
        let format = format.unwrap_or(Format::Ndjson);
        let mut details = audit_reads::filter_details(&filter);
        details["format"] = serde_json::json!(format.as_str());
        audit_reads::record(&self.state, &auth.0, "audit_exported", details).await?;
        let chunks = export::stream(self.state.store.clone(), filter, format);
        let body = Body::from_bytes_stream(futures_util::TryStreamExt::map_err(chunks, |e| {
            tracing::error!(error = %e, "audit export failed mid-stream");
            std::io::Error::other(e.to_string())
        }));
        Ok(match format {
            Format::Ndjson => ExportResponse::Ndjson(Binary(body)),
            Format::Csv => ExportResponse::Csv(Binary(body)),
        })
    }

    /// Walks the hash chain: `{ok, rows, head_hash}`, or the first broken
    /// `seq` and why.
    #[oai(path = "/verify", method = "get")]
    async fn verify(&self, auth: Auth) -> ApiResult<Json<Verification>> {
        audit_reads::require_reader(&self.state, &auth.0, "audit_verified").await?;
        let verification = verify_chain(self.state.store.as_ref(), |_| {}).await?;
        let details = serde_json::json!({"ok": verification.ok});
        audit_reads::record(&self.state, &auth.0, "audit_verified", details).await?;
        Ok(Json(verification))
    }

    /// One row.
    #[oai(path = "/:seq", method = "get")]
    async fn get(&self, auth: Auth, seq: Path<i64>) -> ApiResult<Json<AuditEntryOut>> {
        audit_reads::require_reader(&self.state, &auth.0, "audit_read").await?;
        let details = serde_json::json!({"seq": seq.0});
        audit_reads::record(&self.state, &auth.0, "audit_read", details).await?;
        let record = self
            .state
            .store
            .audit_entry(seq.0)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("audit row {} not found", seq.0)))?;
        Ok(Json(record.into()))
    }
}
