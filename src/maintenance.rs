//! Periodic housekeeping in the background of `serve`. Every replica runs
//! it; the work is idempotent, so running it twice costs only a query.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::audit::{Actor, Event};
use crate::domain::{AuditKind, Surface, time};
use crate::state::AppState;

/// How often the housekeeping runs.
const PERIOD: Duration = Duration::from_secs(60);

/// Starts the housekeeping loop; it ends with the process.
pub fn spawn(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PERIOD);
        loop {
            tick.tick().await;
            run_once(&state).await;
        }
    })
}

/// One round: deletes revocations, refresh tokens, OAuth codes and browser
/// sessions that can no longer matter, and closes sessions idle past their
/// expiry.
pub async fn run_once(state: &AppState) {
    let now = time::now();
    match state.store.prune_expired_tokens(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "pruned expired tokens"),
        Err(e) => tracing::warn!(error = %e, "pruning expired tokens failed"),
    }
    match state.store.prune_oauth_flow(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "pruned spent OAuth codes and browser sessions"),
        Err(e) => tracing::warn!(error = %e, "pruning the OAuth flow's rows failed"),
    }
    match state.store.expire_sessions(now).await {
        Ok(ids) if ids.is_empty() => {}
        Ok(ids) => {
            tracing::info!(sessions = ids.len(), "closed idle sessions");
            for id in ids {
                let event = Event::new(
                    AuditKind::Admin,
                    "session_expired",
                    Actor::system(),
                    json!({}),
                )
                .in_session(&id)
                .outside_requests_on(Surface::System);
                if let Err(e) = state.audit(event).await {
                    tracing::warn!(error = %e, "recording a session expiry failed");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "closing idle sessions failed"),
    }
}
