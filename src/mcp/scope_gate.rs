//! Step-up on `/mcp` (SEP-835): a request the caller's role allows but
//! their credential's scopes do not is answered here, before rmcp, with
//! HTTP 403 and a `WWW-Authenticate: Bearer error="insufficient_scope"`
//! challenge naming the scopes it needs, so that an OAuth client can ask
//! for a token that has them. Once rmcp answers, the status is 200 whatever
//! the outcome, so the gate must come first. A refused tool call is
//! screened by the executor, which counts and audits it like any call.

use serde_json::{Value, json};

use super::server::RESOURCE_PERMISSION;
use crate::auth::Principal;
use crate::domain::{Scopes, Surface};
use crate::error::ApiError;
use crate::request::RequestInfo;
use crate::state::AppState;
use crate::tools::{CallOrigin, registry, screen};

/// The refusal for `message` when only the credential's scopes stand in its
/// way; `None` when the request may go on to rmcp (which refuses what the
/// role does not allow in JSON-RPC, as before).
pub async fn refusal(
    state: &AppState,
    principal: &Principal,
    message: &Value,
    session_id: Option<String>,
    request: Option<RequestInfo>,
) -> Option<ApiError> {
    let params = message.get("params");
    match message.get("method").and_then(Value::as_str)? {
        "tools/call" => {
            let name = params?.get("name")?.as_str()?;
            registry().get(name)?.scope_shortfall(principal)?;
            let arguments = params
                .and_then(|p| p.get("arguments"))
                .cloned()
                .unwrap_or_else(|| json!({}));
            // The door has already found the session open and the caller's.
            let origin = CallOrigin::new(Surface::Mcp, session_id, request, true);
            screen(state, principal, name, &arguments, &origin)
                .await
                .err()
                .map(ApiError::from)
        }
        "resources/list" | "resources/read" => {
            let needed: Scopes = std::iter::once(RESOURCE_PERMISSION).collect();
            let needed = principal.scope_shortfall(needed)?;
            Some(ApiError::InsufficientScope { needed })
        }
        _ => None,
    }
}
