//! `/auth`: registration, login, token refresh and logout, and the caller's
//! own account.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiRequest, ApiResponse, Object, OpenApi};
use serde_json::json;

use super::json_body::JsonBody;
use super::security::Auth;
use super::users::UserCreate;
use super::{ApiTags, Message};
use crate::audit::{Actor, Event};
use crate::auth::authenticate;
use crate::auth::client_addr::client_addr;
use crate::domain::credentials::{Email, MAX_PASSWORD_BYTES, Password, Username, parse_full_name};
use crate::domain::validation::FieldErrors;
use crate::domain::{AuditKind, Role, User, time};
use crate::error::{ApiError, ApiResult};
use crate::service::tokens::{self, TokenPair};
use crate::service::{accounts, api_keys, refusals, registration};
use crate::state::AppState;
use crate::store::UserChanges;
use crate::views::UserOut;

/// Username and password.
#[derive(Debug, Object, serde::Deserialize)]
struct Credentials {
    /// Login name.
    username: String,
    /// Password.
    password: String,
}

/// A login, as an OAuth2 password-flow form or as JSON.
#[derive(Debug, ApiRequest)]
enum LoginRequest {
    /// `application/x-www-form-urlencoded` (OAuth2 password flow).
    Form(Form<Credentials>),
    /// `application/json`.
    Json(JsonBody<Credentials>),
}

/// A token pair and the user it belongs to.
#[derive(Debug, Object)]
struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    access_token: String,
    /// Exchange at `/auth/refresh` for a new pair; works once.
    refresh_token: String,
    /// Always `bearer`.
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// The user.
    user: UserOut,
}

impl TokenResponse {
    fn new(state: &AppState, pair: TokenPair, user: &User) -> Self {
        Self {
            access_token: pair.access.token,
            refresh_token: pair.refresh.token,
            token_type: "bearer".into(),
            expires_in: state.jwt.access_ttl.num_seconds(),
            user: UserOut::from(user),
        }
    }
}

/// A refresh token to exchange.
#[derive(Debug, Object)]
struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    refresh_token: String,
}

/// Optionally, the refresh token to end along with the access token.
#[derive(Debug, Object)]
struct LogoutRequest {
    /// The refresh token of this login; it and its family are revoked.
    #[oai(nullable)]
    refresh_token: Option<String>,
}

/// Changes to your own account. `role` and `is_active` cannot be changed
/// here: sending a different value is refused with 403.
#[derive(Debug, Object)]
struct MeUpdate {
    /// New email address.
    #[oai(nullable)]
    email: Option<String>,
    /// New login name.
    #[oai(nullable)]
    username: Option<String>,
    /// New display name (empty clears it).
    #[oai(nullable)]
    full_name: Option<String>,
    /// Refused unless it is your current role.
    #[oai(nullable)]
    role: Option<Role>,
    /// Refused unless it is your current state.
    #[oai(nullable)]
    is_active: Option<bool>,
}

/// A password change.
#[derive(Debug, Object)]
struct PasswordChange {
    /// Your current password.
    current_password: String,
    /// The new one: at least 8 characters.
    new_password: String,
    /// Also revoke every API key of yours (they survive a password change
    /// otherwise).
    #[oai(default)]
    revoke_api_keys: bool,
}

#[derive(ApiResponse)]
enum Registered {
    /// The account was created.
    #[oai(status = 201)]
    Created(Json<UserOut>),
}

/// Registration, tokens and the caller's account.
pub struct AuthApi {
    state: Arc<AppState>,
}

impl AuthApi {
    /// The API over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(prefix_path = "/auth", tag = "ApiTags::Authentication")]
impl AuthApi {
    /// Register an account with role `user`. Asking for another role needs an
    /// admin's credentials (403 otherwise). Attempts are limited per client
    /// address; with `AIAPI_REGISTRATION=off` only admins create accounts.
    #[oai(path = "/register", method = "post")]
    async fn register(&self, req: &Request, body: JsonBody<UserCreate>) -> ApiResult<Registered> {
        let state = &self.state;
        let role = body.0.role.unwrap_or(Role::User);
        // Credentials are optional here: only an admin's change anything.
        let caller = authenticate(
            &state.jwt,
            state.store.as_ref(),
            req.headers(),
            &state.settings.rest_resource(),
        )
        .await
        .ok();
        let addr = client_addr(req, &state.settings.trusted_proxies);
        registration::admit(
            state,
            caller.as_ref(),
            &body.0.username,
            role,
            addr,
            time::now(),
        )
        .await?;
        let new = body.0.parse(state, role).await?;
        let user = state.store.create_user(&new, time::now()).await?;
        registration::registered(state, &user).await?;
        Ok(Registered::Created(Json(UserOut::from(&user))))
    }

    /// Log in with username and password (form or JSON) for a token pair.
    /// Repeated failures for a username or from an address answer 429.
    #[oai(path = "/login", method = "post")]
    async fn login(&self, req: &Request, body: LoginRequest) -> ApiResult<Json<TokenResponse>> {
        let credentials = match body {
            LoginRequest::Form(Form(c)) | LoginRequest::Json(JsonBody(c)) => c,
        };
        if credentials.password.len() > MAX_PASSWORD_BYTES {
            return Err(ApiError::invalid("password", "is too long"));
        }
        let addr = client_addr(req, &self.state.settings.trusted_proxies);
        let (user, pair) = accounts::log_in(
            &self.state,
            &credentials.username,
            &credentials.password,
            addr,
        )
        .await?;
        Ok(Json(TokenResponse::new(&self.state, pair, &user)))
    }

    /// Exchange a refresh token for a new pair. Each refresh token works
    /// once; presenting a spent one revokes every token of its login.
    #[oai(path = "/refresh", method = "post")]
    async fn refresh(&self, body: JsonBody<RefreshRequest>) -> ApiResult<Json<TokenResponse>> {
        let (user, pair) = tokens::rotate(&self.state, &body.0.refresh_token).await?;
        Ok(Json(TokenResponse::new(&self.state, pair, &user)))
    }

    /// Log out: revokes the presented access token and, if given, the
    /// refresh token's whole login. `?all=true` ends every token of the user;
    /// `&revoke_api_keys=true` also revokes every API key (keys survive
    /// logouts otherwise).
    #[oai(path = "/logout", method = "post")]
    async fn logout(
        &self,
        auth: Auth,
        all: Query<Option<bool>>,
        revoke_api_keys: Query<Option<bool>>,
        body: JsonBody<Option<LogoutRequest>>,
    ) -> ApiResult<Json<Message>> {
        let state = &self.state;
        let user = &auth.0.user;
        if all.0.unwrap_or(false) || revoke_api_keys.0.unwrap_or(false) {
            auth.0.require_account_access()?;
        }
        let all = all.0.unwrap_or(false);
        if revoke_api_keys.0.unwrap_or(false) && !all {
            return Err(ApiError::invalid(
                "revoke_api_keys",
                "needs all=true: a logout of one login leaves the keys alone",
            ));
        }
        if all {
            state.store.bump_token_version(user.id, time::now()).await?;
        }
        if revoke_api_keys.0.unwrap_or(false) {
            let actor = Actor::principal(&auth.0);
            api_keys::revoke_all(state.store.as_ref(), actor, user, "logout_all").await?;
        }
        if let Some((jti, family, expires_at)) = auth.0.method.token() {
            tokens::revoke_access(state, user.id, jti, expires_at, "logout").await?;
            tokens::revoke_family(state, user.id, family, "logout").await?;
        }
        if let Some(refresh) = body.0.and_then(|b| b.refresh_token) {
            // Only the caller's own, valid refresh token can be revoked this way.
            if let Ok(claims) = state
                .jwt
                .verify(&refresh, crate::auth::jwt::TokenType::Refresh)
                && claims.sub == user.id
            {
                tokens::revoke_family(state, user.id, claims.fam, "logout").await?;
            }
        }
        tracing::info!(user_id = %user.id, all, "logout");
        let details = json!({"all": all, "revoke_api_keys": revoke_api_keys.0.unwrap_or(false)});
        state
            .audit(Event::new(
                AuditKind::Auth,
                "logout",
                Actor::principal(&auth.0),
                details,
            ))
            .await?;
        Ok(Json(Message {
            message: "Successfully logged out".into(),
        }))
    }

    /// Your account. `permissions` are what this credential may do: your
    /// role's, narrowed by the scopes of the API key or token you sent.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, auth: Auth) -> ApiResult<Json<UserOut>> {
        let mut me = UserOut::from(&auth.0.user);
        me.permissions.retain(|p| auth.0.has(*p));
        Ok(Json(me))
    }

    /// Change your email, username or display name.
    #[oai(path = "/me", method = "put")]
    async fn update_me(&self, auth: Auth, body: JsonBody<MeUpdate>) -> ApiResult<Json<UserOut>> {
        auth.0.require_account_access()?;
        let me = &auth.0.user;
        let refusal = if body.0.role.is_some_and(|r| r != me.role) {
            Some("you cannot change your own role; an admin can (PATCH /auth/users/{id})")
        } else if body.0.is_active.is_some_and(|a| a != me.is_active) {
            Some("users cannot deactivate themselves")
        } else {
            None
        };
        if let Some(refusal) = refusal {
            let details = json!({"role": body.0.role, "is_active": body.0.is_active});
            let attempt = Event::new(
                AuditKind::Auth,
                "profile_updated",
                Actor::principal(&auth.0),
                details,
            );
            let refusal = ApiError::Forbidden(refusal.into());
            return Err(refusals::denied(&self.state, &auth.0, attempt, refusal).await);
        }
        let mut errors = FieldErrors::default();
        let username = body
            .0
            .username
            .as_deref()
            .map(|u| errors.check(Username::parse(u)));
        let email = body
            .0
            .email
            .as_deref()
            .map(|e| errors.check(Email::parse(e)));
        let full_name = body
            .0
            .full_name
            .as_deref()
            .map(|n| errors.check(parse_full_name(Some(n))));
        errors.finish(())?;
        let changes = UserChanges {
            username: username.flatten().map(|u| u.as_str().to_owned()),
            email: email.flatten().map(|e| e.as_str().to_owned()),
            full_name: full_name.map(Option::flatten),
            role: None,
            is_active: None,
        };
        let user = self
            .state
            .store
            .update_user(me.id, &changes, time::now())
            .await?;
        let details = json!({
            "username": changes.username,
            "email": changes.email,
            "full_name": changes.full_name,
        });
        self.state
            .audit(Event::new(
                AuditKind::Auth,
                "profile_updated",
                Actor::principal(&auth.0),
                details,
            ))
            .await?;
        Ok(Json(UserOut::from(&user)))
    }

    /// Change your password. Every other token of yours stops working; the
    /// response carries a fresh pair.
    #[oai(path = "/me/password", method = "post")]
    async fn change_password(
        &self,
        req: &Request,
        auth: Auth,
        body: JsonBody<PasswordChange>,
    ) -> ApiResult<Json<TokenResponse>> {
        auth.0.require_account_access()?;
        let state = &self.state;
        let me = &auth.0.user;
        let addr = client_addr(req, &state.settings.trusted_proxies);
        accounts::check_current_password(state, &auth.0, &body.0.current_password, addr).await?;
        let new = Password::parse(&body.0.new_password, "new_password")
            .map_err(|e| ApiError::Validation(vec![e]))?;
        let hash = state.passwords.hash(new.expose()).await?;
        let user = state.store.set_password(me.id, &hash, time::now()).await?;
        if body.0.revoke_api_keys {
            let actor = Actor::principal(&auth.0);
            api_keys::revoke_all(state.store.as_ref(), actor, &user, "password_changed").await?;
        }
        let pair = tokens::issue_pair(state, &user).await?;
        tracing::info!(user_id = %user.id, "password changed");
        state
            .audit(Event::new(
                AuditKind::Auth,
                "password_changed",
                Actor::principal(&auth.0),
                json!({"revoke_api_keys": body.0.revoke_api_keys}),
            ))
            .await?;
        Ok(Json(TokenResponse::new(state, pair, &user)))
    }
}
