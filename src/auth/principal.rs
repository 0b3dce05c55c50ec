//! Turning request headers into a [`Principal`]: one indexed lookup per
//! request (user and revocation together, or key and user together).

use chrono::{DateTime, Utc};
use poem::http::HeaderMap;
use poem::http::header::AUTHORIZATION;
use uuid::Uuid;

use super::api_key;
use super::jwt::JwtKeys;
use super::jwt::{TokenError, TokenType};
use crate::domain::{Permission, Scopes, User, time};
use crate::error::ApiError;
use crate::store::Store;

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// An access JWT.
    Bearer {
        /// The token's id.
        jti: Uuid,
        /// The login it descends from.
        family: Uuid,
        /// When it expires.
        expires_at: DateTime<Utc>,
        /// When the login it descends from checked the password.
        auth_time: DateTime<Utc>,
    },
    /// An API key (in `X-API-Key` or as a bearer token).
    ApiKey {
        /// The key's id.
        id: Uuid,
    },
    /// An access token the authorization server issued to an OAuth client.
    OAuth {
        /// The token's id.
        jti: Uuid,
        /// The grant it descends from.
        family: Uuid,
        /// When it expires.
        expires_at: DateTime<Utc>,
        /// The client it was issued to.
        client_id: String,
    },
}

impl AuthMethod {
    /// `bearer` or `api_key`, as the audit log records it.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthMethod::Bearer { .. } => "bearer",
            AuthMethod::ApiKey { .. } => "api_key",
            AuthMethod::OAuth { .. } => "oauth",
        }
    }

    /// The access token the caller sent, if it was one: its id, family and
    /// expiry.
    pub fn token(&self) -> Option<(Uuid, Uuid, DateTime<Utc>)> {
        match self {
            AuthMethod::Bearer {
                jti,
                family,
                expires_at,
                ..
            }
            | AuthMethod::OAuth {
                jti,
                family,
                expires_at,
                ..
            } => Some((*jti, *family, *expires_at)),
            AuthMethod::ApiKey { .. } => None,
        }
    }

    /// The API key the caller used, if any.
    pub fn api_key(&self) -> Option<Uuid> {
        match self {
            AuthMethod::ApiKey { id } => Some(*id),
            _ => None,
        }
    }

    /// The OAuth client the caller came through, if any.
    pub fn oauth_client(&self) -> Option<&str> {
        match self {
            AuthMethod::OAuth { client_id, .. } => Some(client_id),
            _ => None,
        }
    }
}

/// An authenticated caller, as the database has them right now.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user.
    pub user: User,
    /// How they authenticated.
    pub method: AuthMethod,
    /// The scopes the credential carries; `None` is the whole role.
    pub scopes: Option<Scopes>,
}

impl Principal {
    /// Whether the caller may use `permission`: their current role grants
    /// it and their credential's scopes include it.
    pub fn has(&self, permission: Permission) -> bool {
        self.user.role.grants(permission) && self.scope_allows(permission)
    }

    /// Whether the credential's scopes include `permission` (whatever the
    /// role says).
    pub fn scope_allows(&self, permission: Permission) -> bool {
        self.scopes.is_none_or(|scopes| scopes.contains(permission))
    }

    /// `Some(needed)` when the role grants every one of `needed` but the
    /// credential's scopes lack one: a credential with those scopes would
    /// be let in. `None` when nothing is missing, or when the role itself
    /// refuses one, since no credential can help then.
    pub fn scope_shortfall(&self, needed: Scopes) -> Option<Scopes> {
        let role_grants = needed.iter().all(|p| self.user.role.grants(p));
        let scopes_lack = needed.iter().any(|p| !self.scope_allows(p));
        (role_grants && scopes_lack).then_some(needed)
    }

    /// Whether the caller typed their password within `within` of `now`:
    /// only a password login's token counts, never an API key or an OAuth
    /// client's token.
    pub fn logged_in_within(&self, within: chrono::Duration, now: DateTime<Utc>) -> bool {
        match self.method {
            AuthMethod::Bearer { auth_time, .. } => now - auth_time <= within,
            AuthMethod::ApiKey { .. } | AuthMethod::OAuth { .. } => false,
        }
    }

    /// 403 unless the credential may manage the account itself (its
    /// profile, password, keys, logins and connected apps): a password
    /// login's token or an API key without scopes may; a credential with
    /// scopes, an OAuth app's token among them, may not.
    pub fn require_account_access(&self) -> Result<(), ApiError> {
        if self.scopes.is_some() {
            return Err(ApiError::Forbidden(
                "a token or key with scopes cannot manage the account; sign in with your password"
                    .into(),
            ));
        }
        Ok(())
    }

    /// 403 naming the permission unless the caller has it: `forbidden`
    /// when the role lacks it, `insufficient_scope` when only the
    /// credential's scopes do.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if let Some(needed) = self.scope_shortfall(std::iter::once(permission).collect()) {
            Err(ApiError::InsufficientScope { needed })
        } else if !self.has(permission) {
            Err(ApiError::Forbidden(format!(
                "missing permission {permission}"
            )))
        } else {
            Ok(())
        }
    }
}

/// The credential a request presents.
enum Credential<'a> {
    Jwt(&'a str),
    ApiKey(&'a str),
}

fn credential(headers: &HeaderMap) -> Result<Credential<'_>, ApiError> {
    if let Some(key) = headers.get("x-api-key") {
        let key = key
            .to_str()
            .map_err(|_| ApiError::Unauthorized("malformed X-API-Key header".into()))?;
        return Ok(Credential::ApiKey(key.trim()));
    }
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(ApiError::Unauthorized("not authenticated".into()));
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => {
            return Err(ApiError::Unauthorized(
                "the Authorization header must be 'Bearer <token>'".into(),
            ));
        }
    };
    if api_key::looks_like_key(token) {
        Ok(Credential::ApiKey(token))
    } else {
        Ok(Credential::Jwt(token))
    }
}

/// Authenticates the request's credentials for `resource` (the REST API's
/// or `/mcp`'s, see [`crate::config::ServeSettings::mcp_resource`]): a
/// bearer access JWT (a login's, or an OAuth client's issued for that
/// resource), an `X-API-Key`, or an API key sent as a bearer token.
pub async fn authenticate(
    jwt: &JwtKeys,
    store: &dyn Store,
    headers: &HeaderMap,
    resource: &str,
) -> Result<Principal, ApiError> {
    let invalid = |what: &str| ApiError::InvalidToken(format!("the {what} is invalid"));
    let revoked = |what: &str| {
        ApiError::InvalidToken(format!(
            "the {what} has been revoked (a logout, a password change, a revoked key or a \
             deactivated account)"
        ))
    };
    let now = time::now();
    match credential(headers)? {
        Credential::Jwt(token) => {
            let claims = jwt.verify(token, TokenType::Access).map_err(|e| match e {
                TokenError::Expired => ApiError::InvalidToken(
                    "the access token has expired; get a new pair with your refresh token \
                     (POST /auth/refresh) or log in again"
                        .into(),
                ),
                TokenError::Invalid | TokenError::WrongType => invalid("access token"),
            })?;
            if !claims.accepted_at(resource) {
                return Err(ApiError::InvalidToken(format!(
                    "the access token was issued for another resource, not {resource}"
                )));
            }
            let check = store
                .check_access_token(claims.sub, claims.jti, claims.fam)
                .await?
                .ok_or_else(|| revoked("access token"))?;
            let user = check.user;
            if check.revoked || !user.is_active || user.token_version != claims.ver {
                return Err(revoked("access token"));
            }
            let expires_at = claims.expires_at();
            if let Some(client_id) = claims.client_id {
                // A revoked grant or a disabled client ends its tokens at once.
                store
                    .live_grant(claims.fam)
                    .await?
                    .filter(|g| g.client_id == client_id && g.user_id == user.id)
                    .ok_or_else(|| revoked("access token"))?;
                let scopes = claims
                    .scope
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(|_| invalid("access token"))?;
                return Ok(Principal {
                    method: AuthMethod::OAuth {
                        jti: claims.jti,
                        family: claims.fam,
                        expires_at,
                        client_id,
                    },
                    user,
                    scopes,
                });
            }
            Ok(Principal {
                method: AuthMethod::Bearer {
                    jti: claims.jti,
                    family: claims.fam,
                    expires_at: claims.expires_at(),
                    auth_time: DateTime::from_timestamp(claims.auth_time, 0).unwrap_or_default(),
                },
                user,
                scopes: None,
            })
        }
        Credential::ApiKey(key) => {
            let (user, key) = store
                .principal_by_api_key(&api_key::hash(key))
                .await?
                .ok_or_else(|| invalid("API key"))?;
            if key.revoked_at.is_some() || !user.is_active {
                return Err(revoked("API key"));
            }
            if !key.is_usable(now) {
                return Err(ApiError::InvalidToken(
                    "the API key has expired; make a new one".into(),
                ));
            }
            // Written at most once a minute, so most requests stay read-only.
            if key
                .last_used_at
                .is_none_or(|at| now - at >= chrono::Duration::minutes(1))
                && let Err(e) = store.touch_api_key(key.id, now).await
            {
                tracing::warn!(error = %e, "could not record API key use");
            }
            Ok(Principal {
                user,
                method: AuthMethod::ApiKey { id: key.id },
                scopes: key.scopes,
            })
        }
    }
}
