//! `/auth/users`: account administration (permission `manage:users`), and
//! the user JSON shape every endpoint returns.

use std::sync::Arc;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use super::api_keys::GeneratedKey;
use super::json_body::JsonBody;
use super::security::Auth;
use serde_json::json;

use crate::audit::{Actor, Event};
use crate::domain::bounded::{self, MAX_LABEL_CHARS};
use crate::domain::credentials::{Email, parse_full_name};
use crate::domain::user::SELF_LOCKOUT;
use crate::domain::validation::FieldErrors;
use crate::domain::{AuditKind, Permission, Role, time};
use crate::error::{ApiError, ApiResult};
use crate::service::api_keys::{self, Lifetime, ScopeRequest};
use crate::service::{accounts, refusals};
use crate::state::AppState;
use crate::store::{NewUser, UserChanges};
use crate::views::UserOut;

/// A new account.
#[derive(Debug, Object)]
pub struct UserCreate {
    /// Email address.
    pub email: String,
    /// Login name: 3-50 letters, digits, `_`, `.`, `-`.
    pub username: String,
    /// At least 8 characters.
    pub password: String,
    /// Display name.
    #[oai(nullable)]
    pub full_name: Option<String>,
    /// Role; only admins may choose one other than `user`.
    #[oai(nullable)]
    pub role: Option<Role>,
}

impl UserCreate {
    /// Validates every field, reporting all bad ones at once, and hashes the password.
    pub async fn parse(&self, state: &AppState, role: Role) -> ApiResult<NewUser> {
        let fields = accounts::AccountFields {
            username: &self.username,
            email: &self.email,
            password: &self.password,
            full_name: self.full_name.as_deref(),
            role,
        };
        accounts::new_user(&state.passwords, fields).await
    }
}

/// Changes an admin may make to an account.
#[derive(Debug, Object)]
struct UserPatch {
    /// New role.
    #[oai(nullable)]
    role: Option<Role>,
    /// Activate or deactivate.
    #[oai(nullable)]
    is_active: Option<bool>,
    /// New display name (empty clears it).
    #[oai(nullable)]
    full_name: Option<String>,
    /// New email address.
    #[oai(nullable)]
    email: Option<String>,
}

#[derive(ApiResponse)]
enum UserList {
    /// A page of users; `X-Total-Count` is the number of all users.
    #[oai(status = 200)]
    Ok(Json<Vec<UserOut>>, #[oai(header = "X-Total-Count")] i64),
}

#[derive(ApiResponse)]
enum UserCreated {
    /// The account was created.
    #[oai(status = 201)]
    Created(Json<UserOut>),
}

/// Account administration.
pub struct UsersApi {
    state: Arc<AppState>,
}

impl UsersApi {
    /// The API over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(prefix_path = "/auth/users", tag = "ApiTags::Users")]
impl UsersApi {
    /// List users (a bare array, as in the tutorial), paginated with
    /// `limit` (1-100, default 50) and `offset`.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> ApiResult<UserList> {
        let attempt = || {
            Event::new(
                AuditKind::Admin,
                "users_listed",
                Actor::principal(&auth.0),
                json!({}),
            )
        };
        refusals::require(&self.state, &auth.0, Permission::ManageUsers, attempt).await?;
        let limit = limit.0.unwrap_or(50);
        let offset = offset.0.unwrap_or(0);
        let mut errors = FieldErrors::default();
        if !(1..=100).contains(&limit) {
            errors.push("limit", "must be between 1 and 100");
        }
        if offset < 0 {
            errors.push("offset", "must not be negative");
        }
        errors.finish(())?;
        let (users, total) = self.state.store.list_users(limit, offset).await?;
        Ok(UserList::Ok(
            Json(users.iter().map(UserOut::from).collect()),
            total,
        ))
    }

    /// Create a user with any role.
    #[oai(path = "/", method = "post")]
    async fn create(&self, auth: Auth, body: JsonBody<UserCreate>) -> ApiResult<UserCreated> {
        let role = body.0.role.unwrap_or(Role::User);
        let attempt = || {
            let details = json!({
                "username": bounded::clip(&body.0.username, MAX_LABEL_CHARS), "role": role,
            });
            Event::new(
                AuditKind::Admin,
                "user_created",
                Actor::principal(&auth.0),
                details,
            )
        };
        refusals::require(&self.state, &auth.0, Permission::ManageUsers, attempt).await?;
        let new = body.0.parse(&self.state, role).await?;
        let user = self.state.store.create_user(&new, time::now()).await?;
        tracing::info!(user_id = %user.id, role = %user.role, "user created by admin");
        self.state
            .audit(accounts::user_created(&user, Actor::principal(&auth.0)))
            .await?;
        Ok(UserCreated::Created(Json(UserOut::from(&user))))
    }

    /// Change a user's role, activation, name or email. Nobody can deactivate
    /// themselves or change their own role (another admin must), and nobody
    /// can deactivate or demote the last active admin.
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        auth: Auth,
        id: Path<Uuid>,
        body: JsonBody<UserPatch>,
    ) -> ApiResult<Json<UserOut>> {
        let attempt = || {
            let details = json!({
                "user_id": id.0, "role": body.0.role, "is_active": body.0.is_active,
            });
            let action = if body.0.role.is_some() {
                "user_role_changed"
            } else {
                "user_updated"
            };
            Event::new(AuditKind::Admin, action, Actor::principal(&auth.0), details)
        };
        refusals::require(&self.state, &auth.0, Permission::ManageUsers, attempt).await?;
        if auth
            .0
            .user
            .is_self_lockout(id.0, body.0.is_active == Some(false), body.0.role)
        {
            return Err(ApiError::Forbidden(SELF_LOCKOUT.into()));
        }
        let mut errors = FieldErrors::default();
        let email = body
            .0
            .email
            .as_deref()
            .map(Email::parse)
            .map(|r| errors.check(r));
        let full_name = body
            .0
            .full_name
            .as_deref()
            .map(|n| errors.check(parse_full_name(Some(n))));
        errors.finish(())?;
        let changes = UserChanges {
            username: None,
            email: email.flatten().map(|e| e.as_str().to_owned()),
            // Outer: was it sent; inner: the parsed name, `None` when blank (clears it).
            full_name: full_name.map(Option::flatten),
            role: body.0.role,
            is_active: body.0.is_active,
        };
        let before = self
            .state
            .store
            .user_by_id(id.0)
            .await?
            .ok_or_else(|| ApiError::NotFound("user not found".into()))?;
        let user = self
            .state
            .store
            .update_user(id.0, &changes, time::now())
            .await?;
        tracing::info!(user_id = %user.id, "user updated by admin");
        for event in accounts::user_changed(&before, &user, &changes, Actor::principal(&auth.0)) {
            self.state.audit(event).await?;
        }
        Ok(Json(UserOut::from(&user)))
    }

    /// Create an API key for a user (the tutorial's endpoint), with the
    /// server's default lifetime. Needs a password login of the last 5
    /// minutes. The key is shown once.
    #[oai(path = "/:user_id/generate-api-key", method = "post")]
    async fn generate_api_key(
        &self,
        auth: Auth,
        user_id: Path<Uuid>,
    ) -> ApiResult<Json<GeneratedKey>> {
        let attempt = || {
            let details = json!({"owner_id": user_id.0});
            Event::new(
                AuditKind::Auth,
                "api_key_created",
                Actor::principal(&auth.0),
                details,
            )
        };
        refusals::require(&self.state, &auth.0, Permission::ManageUsers, attempt).await?;
        let user = self
            .state
            .store
            .user_by_id(user_id.0)
            .await?
            .ok_or_else(|| ApiError::NotFound("user not found".into()))?;
        let state = &self.state;
        let planned = api_keys::plan(
            &state.api_keys,
            "generated by admin",
            Lifetime::default(),
            ScopeRequest::for_role(user.role, None),
            time::now(),
        )?;
        api_keys::require_fresh_login(state, &auth.0, None, None).await?;
        let actor = Actor::principal(&auth.0);
        let minted = api_keys::mint(state.store.as_ref(), actor, &user, planned).await?;
        Ok(Json(GeneratedKey {
            message: "API key generated successfully".into(),
            api_key: minted.secret,
            id: minted.key.id,
            prefix: minted.key.prefix,
        }))
    }
}
