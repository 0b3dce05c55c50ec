//! `/api/v1/mcp/session/{id}/context`: the state an agent keeps in its
//! session. `GET` reads it, `PUT` replaces it, `PATCH` merges into it (JSON
//! merge patch, RFC 7396). Each answer carries `ETag: "<version>"`; a write
//! with `If-Match` and a stale version is refused with 412.

use std::sync::Arc;

use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::{ApiRequest, ApiResponse, OpenApi};
use serde_json::Value;

use super::ApiTags;
use super::json_body::JsonBody;
use super::security::Auth;
use crate::domain::Permission;
use crate::domain::context::ContextChange;
use crate::error::{ApiError, ApiResult};
use crate::service::session_context::{self as context, ContextView};
use crate::service::sessions;
use crate::state::AppState;

#[derive(ApiResponse)]
enum ContextResponse {
    /// The context object; `ETag` is its version.
    #[oai(status = 200)]
    Ok(Json<Value>, #[oai(header = "ETag")] String),
}

impl From<ContextView> for ContextResponse {
    fn from(view: ContextView) -> Self {
        ContextResponse::Ok(Json(view.context), format!("\"{}\"", view.version))
    }
}

/// A merge patch, sent as `application/merge-patch+json` or `application/json`.
#[derive(ApiRequest)]
enum MergePatch {
    /// RFC 7396.
    #[oai(content_type = "application/merge-patch+json")]
    MergePatch(JsonBody<Value>),
    /// The same, as plain JSON.
    Json(JsonBody<Value>),
}

/// The version an `If-Match` header names: `None` for none or `*`.
fn expected_version(if_match: Option<&str>) -> ApiResult<Option<i64>> {
    match if_match.map(str::trim) {
        None | Some("*") => Ok(None),
        Some(tag) => tag
            .trim_start_matches("W/")
            .trim_matches('"')
            .parse()
            .map(Some)
            .map_err(|_| {
                ApiError::PreconditionFailed(format!("If-Match {tag:?} names no version"))
            }),
    }
}

/// Session context over REST.
pub struct SessionContextApi {
    state: Arc<AppState>,
}

impl SessionContextApi {
    /// The API over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    async fn write(
        &self,
        auth: &Auth,
        id: &str,
        change: ContextChange,
        if_match: Option<&str>,
        action: &'static str,
    ) -> ApiResult<ContextResponse> {
        auth.0.require(Permission::UseMcpTools)?;
        let expected = expected_version(if_match)?;
        let mut tx = self.state.store.begin().await?;
        let written = context::write(
            self.state.settings.session_context_max_bytes,
            tx.as_mut(),
            &auth.0,
            id,
            change,
            expected,
        )
        .await;
        let (view, session) = match written {
            Ok(written) => written,
            Err(ApiError::NotFound(_)) => {
                // The writer is free again before the refusal is recorded.
                drop(tx);
                return Err(sessions::not_found(&self.state, &auth.0, id, action).await);
            }
            Err(other) => return Err(other),
        };
        if view.foreign {
            context::append_admin_event(tx.as_mut(), view.admin_event(&auth.0, action, &session))
                .await?;
        }
        tx.commit().await?;
        Ok(view.into())
    }
}

#[OpenApi(prefix_path = "/api/v1/mcp/session", tag = "ApiTags::Mcp")]
impl SessionContextApi {
    /// The session's context object (its owner, or `admin:mcp`). Closed,
    /// expired, unknown and other users' sessions answer 404.
    #[oai(path = "/:session_id/context", method = "get")]
    async fn get(&self, auth: Auth, session_id: Path<String>) -> ApiResult<ContextResponse> {
        auth.0.require(Permission::UseMcpTools)?;
        let (view, session) = match context::read(&self.state, &auth.0, &session_id.0).await {
            Ok(read) => read,
            Err(ApiError::NotFound(_)) => {
                let action = "session_context_read";
                return Err(sessions::not_found(&self.state, &auth.0, &session_id.0, action).await);
            }
            Err(other) => return Err(other),
        };
        if view.foreign {
            self.state
                .audit(view.admin_event(&auth.0, "session_context_read", &session))
                .await?;
        }
        Ok(view.into())
    }

    /// Replace the context with a JSON object (at most
    /// `AIAPI_SESSION_CONTEXT_MAX_BYTES`, else 413). `If-Match: "<version>"`
    /// refuses a stale write with 412.
    #[oai(path = "/:session_id/context", method = "put")]
    async fn put(
        &self,
        auth: Auth,
        session_id: Path<String>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: JsonBody<Value>,
    ) -> ApiResult<ContextResponse> {
        let change = ContextChange::Replace(body.0);
        self.write(
            &auth,
            &session_id.0,
            change,
            if_match.0.as_deref(),
            "session_context_replaced",
        )
        .await
    }

    /// Merge a JSON merge patch into the context (`null` removes a key).
    /// Concurrent patches are applied one after another, never lost.
    #[oai(path = "/:session_id/context", method = "patch")]
    async fn patch(
        &self,
        auth: Auth,
        session_id: Path<String>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: MergePatch,
    ) -> ApiResult<ContextResponse> {
        let patch = match body {
            MergePatch::MergePatch(JsonBody(p)) | MergePatch::Json(JsonBody(p)) => p,
        };
        self.write(
            &auth,
            &session_id.0,
            ContextChange::Merge(patch),
            if_match.0.as_deref(),
            "session_context_patched",
        )
        .await
    }
}
