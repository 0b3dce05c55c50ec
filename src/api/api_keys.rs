//! `/auth/api-keys`: self-service API keys. A key is shown once, when made;
//! listings show its prefix only.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use super::json_body::JsonBody;
use super::security::Auth;
use crate::audit::Actor;
use crate::auth::client_addr::client_addr;
use crate::domain::{ApiKey, Permission, time};
use crate::error::ApiResult;
use crate::service::api_keys::{self, Lifetime, MintedKey, ScopeRequest};
use crate::state::AppState;

/// A key as listings show it: never the key itself.
#[derive(Debug, Object)]
struct ApiKeyOut {
    /// Stable id (use it to revoke the key).
    id: Uuid,
    /// The label given at creation.
    name: String,
    /// The first characters of the key.
    prefix: String,
    /// When it was made.
    created_at: DateTime<Utc>,
    /// When it last authenticated a request (to the minute).
    #[oai(nullable)]
    last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    #[oai(nullable)]
    expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    #[oai(nullable)]
    revoked_at: Option<DateTime<Utc>>,
    /// The permissions it may use, within its owner's role; `null` is the
    /// whole role.
    #[oai(nullable)]
    scopes: Option<Vec<Permission>>,
}

impl From<&ApiKey> for ApiKeyOut {
    fn from(key: &ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            expires_at: key.expires_at,
            revoked_at: key.revoked_at,
            scopes: super::listed(key.scopes),
        }
    }
}

/// A new key's label and lifetime.
#[derive(Debug, Object)]
struct ApiKeyCreate {
    /// A label, 1-100 characters.
    name: String,
    /// Days until the key expires (1-3650); omitted means the server's
    /// default (`AIAPI_API_KEY_DAYS`, 90 unless configured).
    #[oai(nullable)]
    expires_in_days: Option<i64>,
    /// A key that never expires: refused unless the operator allows them
    /// (`AIAPI_API_KEY_NEVER_EXPIRE=allow`).
    #[oai(default)]
    never_expires: bool,
    /// Your password, needed when your login is older than 5 minutes.
    #[oai(nullable)]
    current_password: Option<String>,
    /// The permissions the key may use, at least one and none your role
    /// lacks (`read:items`, `write:items`, ...); omitted or `null` is your
    /// whole role, as it is at each request.
    #[oai(nullable)]
    scopes: Option<Vec<Permission>>,
}

/// A key just made: `api_key` is shown this once and stored nowhere.
#[derive(Debug, Object)]
pub struct CreatedKey {
    /// Stable id.
    pub id: Uuid,
    /// The label.
    pub name: String,
    /// The first characters of the key.
    pub prefix: String,
    /// The key. Keep it: it cannot be shown again.
    pub api_key: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it expires, if ever.
    #[oai(nullable)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The permissions it may use; `null` is the owner's whole role.
    #[oai(nullable)]
    pub scopes: Option<Vec<Permission>>,
}

/// The tutorial's answer to `generate-api-key`, plus the key's id and prefix.
#[derive(Debug, Object)]
pub struct GeneratedKey {
    /// The key. Keep it: it cannot be shown again.
    pub api_key: String,
    /// What happened.
    pub message: String,
    /// Stable id.
    pub id: Uuid,
    /// The first characters of the key.
    pub prefix: String,
}

impl From<MintedKey> for CreatedKey {
    fn from(minted: MintedKey) -> Self {
        Self {
            id: minted.key.id,
            name: minted.key.name,
            prefix: minted.key.prefix,
            api_key: minted.secret,
            created_at: minted.key.created_at,
            expires_at: minted.key.expires_at,
            scopes: super::listed(minted.key.scopes),
        }
    }
}

#[derive(ApiResponse)]
enum KeyCreated {
    /// The key was made; this is the only time it is shown.
    #[oai(status = 201)]
    Created(Json<CreatedKey>),
}

#[derive(ApiResponse)]
enum KeyRevoked {
    /// The key no longer works.
    #[oai(status = 204)]
    Revoked,
}

/// Self-service API keys.
pub struct ApiKeysApi {
    state: Arc<AppState>,
}

impl ApiKeysApi {
    /// The API over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(prefix_path = "/auth/api-keys", tag = "ApiTags::ApiKeys")]
impl ApiKeysApi {
    /// Your keys, newest first (prefixes only, never the keys).
    #[oai(path = "/", method = "get")]
    async fn list(&self, auth: Auth) -> ApiResult<Json<Vec<ApiKeyOut>>> {
        auth.0.require_account_access()?;
        let keys = self.state.store.list_api_keys(auth.0.user.id).await?;
        Ok(Json(keys.iter().map(ApiKeyOut::from).collect()))
    }

    /// Make a key. It needs a password login of the last 5 minutes, or
    /// `current_password`; an API key cannot make keys. The response is the
    /// only time the key is shown.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        req: &Request,
        auth: Auth,
        body: JsonBody<ApiKeyCreate>,
    ) -> ApiResult<KeyCreated> {
        let state = &self.state;
        let lifetime = Lifetime {
            days: body.0.expires_in_days,
            never: body.0.never_expires,
        };
        let asked = body.0.scopes.as_ref().map(|s| s.iter().copied().collect());
        let scopes = ScopeRequest::by(&auth.0, asked);
        let planned = api_keys::plan(&state.api_keys, &body.0.name, lifetime, scopes, time::now())?;
        let addr = client_addr(req, &state.settings.trusted_proxies);
        api_keys::require_fresh_login(state, &auth.0, body.0.current_password.as_deref(), addr)
            .await?;
        let actor = Actor::principal(&auth.0);
        let minted = api_keys::mint(state.store.as_ref(), actor, &auth.0.user, planned).await?;
        Ok(KeyCreated::Created(Json(minted.into())))
    }

    /// Revoke one of your keys (admins with `manage:users`: anyone's).
    #[oai(path = "/:id", method = "delete")]
    async fn revoke(&self, auth: Auth, id: Path<Uuid>) -> ApiResult<KeyRevoked> {
        auth.0.require_account_access()?;
        api_keys::revoke(&self.state, &auth.0, id.0).await?;
        Ok(KeyRevoked::Revoked)
    }
}
