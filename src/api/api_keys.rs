//! `/auth/api-keys`: self-service API keys. A key is shown once, when made;
//! listings show its prefix only.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;
use uuid::Uuid;

use super::ApiTags;
use super::security::Auth;
use crate::audit::{Actor, Event};
use crate::auth::api_key;
use crate::domain::validation::FieldErrors;
use crate::domain::{ApiKey, AuditKind, Permission, User, time};
use crate::error::ApiResult;
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
        }
    }
}

/// A new key's label and lifetime.
#[derive(Debug, Object)]
struct ApiKeyCreate {
    /// A label, 1-100 characters.
    name: String,
    /// Days until the key expires (1-3650); omitted means never.
    #[oai(nullable)]
    expires_in_days: Option<i64>,
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

/// Makes and stores a key for `user`; returns it with the key shown once.
/// `actor` is who asked (the owner, or an admin).
pub async fn create_key(
    state: &AppState,
    actor: Actor,
    user: &User,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> ApiResult<CreatedKey> {
    let material = api_key::generate();
    let key = ApiKey {
        id: Uuid::new_v4(),
        user_id: user.id,
        name: name.to_owned(),
        prefix: material.prefix,
        key_hash: material.hash,
        created_at: time::now(),
        last_used_at: None,
        expires_at,
        revoked_at: None,
    };
    state.store.create_api_key(&key).await?;
    tracing::info!(user_id = %user.id, key_id = %key.id, "API key created");
    let details =
        json!({"key_id": key.id, "owner_id": user.id, "name": key.name, "prefix": key.prefix});
    state
        .audit(Event::new(
            AuditKind::Auth,
            "api_key_created",
            actor,
            details,
        ))
        .await?;
    Ok(CreatedKey {
        id: key.id,
        name: key.name,
        prefix: key.prefix,
        api_key: material.key,
        created_at: key.created_at,
        expires_at: key.expires_at,
    })
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
        let keys = self.state.store.list_api_keys(auth.0.user.id).await?;
        Ok(Json(keys.iter().map(ApiKeyOut::from).collect()))
    }

    /// Make a key. The response is the only time the key is shown.
    #[oai(path = "/", method = "post")]
    async fn create(&self, auth: Auth, body: Json<ApiKeyCreate>) -> ApiResult<KeyCreated> {
        let name = body.0.name.trim();
        let mut errors = FieldErrors::default();
        if !(1..=100).contains(&name.chars().count()) {
            errors.push("name", "must be 1 to 100 characters long");
        }
        if let Some(days) = body.0.expires_in_days
            && !(1..=3650).contains(&days)
        {
            errors.push("expires_in_days", "must be between 1 and 3650");
        }
        errors.finish(())?;
        let expires_at = body
            .0
            .expires_in_days
            .map(|d| time::now() + Duration::days(d));
        let actor = Actor::principal(&auth.0);
        let created = create_key(&self.state, actor, &auth.0.user, name, expires_at).await?;
        Ok(KeyCreated::Created(Json(created)))
    }

    /// Revoke one of your keys (admins with `manage:users`: anyone's).
    #[oai(path = "/:id", method = "delete")]
    async fn revoke(&self, auth: Auth, id: Path<Uuid>) -> ApiResult<KeyRevoked> {
        let owner = (!auth.0.has(Permission::ManageUsers)).then_some(auth.0.user.id);
        let key = self
            .state
            .store
            .revoke_api_key(id.0, owner, time::now())
            .await?;
        tracing::info!(key_id = %key.id, user_id = %key.user_id, "API key revoked");
        let details = json!({"key_id": key.id, "owner_id": key.user_id, "prefix": key.prefix});
        self.state
            .audit(Event::new(
                AuditKind::Auth,
                "api_key_revoked",
                Actor::principal(&auth.0),
                details,
            ))
            .await?;
        Ok(KeyRevoked::Revoked)
    }
}
