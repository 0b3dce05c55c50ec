//! API keys: minting them (after a fresh password login only, with a
//! bounded lifetime) and revoking them all. A key authenticates without a
//! password and outlives logouts, so who may make one, and for how long, is
//! the rule that bounds what a stolen credential can do.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{accounts, refusals};
use crate::audit::{Actor, Event};
use crate::auth::api_key;
use crate::auth::{AuthMethod, Principal};
use crate::config::{ApiKeyPolicy, MAX_KEY_DAYS};
use crate::domain::validation::FieldErrors;
use crate::domain::{ApiKey, AuditKind, Permission, Role, Scopes, User, time};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Store, StoreError};

/// How recent a password login must be to make a key without typing the
/// password again.
pub const FRESH_LOGIN_MINUTES: i64 = 5;

/// The lifetime asked for a new key.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lifetime {
    /// Days until it expires; `None` takes the server's default.
    pub days: Option<i64>,
    /// Never expires (only where the operator allows it).
    pub never: bool,
}

/// A key just made: `secret` is shown once and stored nowhere.
pub struct MintedKey {
    /// The stored key (its hash and prefix).
    pub key: ApiKey,
    /// The key itself.
    pub secret: String,
}

/// A key that may be made: its label, when it expires and its scopes.
#[derive(Debug)]
pub struct KeyPlan {
    name: String,
    expires_at: Option<DateTime<Utc>>,
    scopes: Option<Scopes>,
}

/// The scopes asked for a new key, and the most it may carry.
#[derive(Debug, Clone, Copy)]
pub struct ScopeRequest {
    /// The scopes asked; `None` is the owner's whole role.
    pub asked: Option<Scopes>,
    /// What whoever makes the key may pass on: the owner's role, narrowed
    /// by the scopes of the credential making it.
    pub allowed: Scopes,
}

impl ScopeRequest {
    /// A key for an owner of `role`, with `asked` scopes or the whole role.
    pub fn for_role(role: Role, asked: Option<Scopes>) -> Self {
        Self {
            asked,
            allowed: Scopes::granted_by(role),
        }
    }

    /// A key made by `principal` for themselves: their credential's scopes
    /// unless they ask for fewer.
    pub fn by(principal: &Principal, asked: Option<Scopes>) -> Self {
        Self {
            asked: asked.or(principal.scopes),
            allowed: Permission::ALL
                .into_iter()
                .filter(|p| principal.has(*p))
                .collect(),
        }
    }
}

/// Checks a key's label (1-100 characters), the `lifetime` asked under
/// `policy` and its scopes, reporting every bad field.
pub fn plan(
    policy: &ApiKeyPolicy,
    name: &str,
    lifetime: Lifetime,
    scopes: ScopeRequest,
    now: DateTime<Utc>,
) -> Result<KeyPlan, ApiError> {
    let mut errors = FieldErrors::default();
    let name = name.trim();
    if !(1..=100).contains(&name.chars().count()) {
        errors.push("name", "must be 1 to 100 characters long");
    }
    if let Some(asked) = scopes.asked {
        let beyond = asked.beyond(scopes.allowed);
        if asked.is_empty() {
            errors.push(
                "scopes",
                "must name at least one scope; leave it out for the whole role",
            );
        } else if !beyond.is_empty() {
            errors.push(
                "scopes",
                format!(
                    "{beyond} cannot be granted: this key may carry at most {}",
                    scopes.allowed
                ),
            );
        }
    }
    if lifetime.never {
        if lifetime.days.is_some() {
            errors.push("expires_in_days", "cannot be given with never_expires");
        } else if !policy.never_allowed {
            errors.push(
                "never_expires",
                "this server does not allow keys that never expire (AIAPI_API_KEY_NEVER_EXPIRE)",
            );
        }
    }
    if let Some(days) = lifetime.days
        && !(1..=MAX_KEY_DAYS).contains(&days)
    {
        errors.push(
            "expires_in_days",
            format!("must be between 1 and {MAX_KEY_DAYS}"),
        );
    }
    errors.finish(())?;
    Ok(KeyPlan {
        name: name.to_owned(),
        expires_at: (!lifetime.never)
            .then(|| now + Duration::days(lifetime.days.unwrap_or(policy.default_days))),
        scopes: scopes.asked,
    })
}

/// Refuses to make a key for a caller who has not proved their password
/// recently: a login within [`FRESH_LOGIN_MINUTES`], or `current_password`
/// now (throttled like a login). An API key never counts, so a key cannot
/// mint keys.
pub async fn require_fresh_login(
    state: &AppState,
    principal: &Principal,
    current_password: Option<&str>,
    addr: Option<IpAddr>,
) -> Result<(), ApiError> {
    if !matches!(principal.method, AuthMethod::Bearer { .. }) {
        return Err(ApiError::Forbidden(
            "an API key or an OAuth app's token cannot create API keys; log in with your password"
                .into(),
        ));
    }
    if principal.logged_in_within(Duration::minutes(FRESH_LOGIN_MINUTES), time::now()) {
        return Ok(());
    }
    match current_password {
        Some(current) => accounts::check_current_password(state, principal, current, addr).await,
        None => Err(ApiError::Forbidden(format!(
            "creating an API key needs a login within the last {FRESH_LOGIN_MINUTES} minutes, \
             or current_password"
        ))),
    }
}

/// Makes and stores the `planned` key for `user`, recorded as made by
/// `actor` (the owner, an admin, or the CLI).
pub async fn mint(
    store: &dyn Store,
    actor: Actor,
    user: &User,
    planned: KeyPlan,
) -> Result<MintedKey, ApiError> {
    let material = api_key::generate();
    let key = ApiKey {
        id: Uuid::new_v4(),
        user_id: user.id,
        name: planned.name,
        prefix: material.prefix,
        key_hash: material.hash,
        created_at: time::now(),
        last_used_at: None,
        expires_at: planned.expires_at,
        revoked_at: None,
        scopes: planned.scopes,
    };
    store.create_api_key(&key).await?;
    tracing::info!(user_id = %user.id, key_id = %key.id, "API key created");
    let details = json!({
        "key_id": key.id, "owner_id": user.id, "name": key.name, "prefix": key.prefix,
        "expires_at": key.expires_at, "scopes": key.scopes.map(|s| s.to_string()),
    });
    crate::audit::record(
        store,
        Event::new(AuditKind::Auth, "api_key_created", actor, details),
    )
    .await?;
    Ok(MintedKey {
        key,
        secret: material.key,
    })
}

/// Revokes key `id` for `principal`: their own, or anyone's with
/// `manage:users`; records `api_key_revoked`. Someone else's key answers
/// 404, like a key that does not exist, and the attempt is recorded as
/// `denied`.
pub async fn revoke(state: &AppState, principal: &Principal, id: Uuid) -> Result<ApiKey, ApiError> {
    let owner = (!principal.has(Permission::ManageUsers)).then_some(principal.user.id);
    let key = match state.store.revoke_api_key(id, owner, time::now()).await {
        Ok(key) => key,
        Err(StoreError::NotFound) => {
            let refusal = ApiError::NotFound("API key not found".into());
            return Err(match state.store.api_key_owner(id).await? {
                Some(owner_id) => {
                    let details = json!({"key_id": id, "owner_id": owner_id});
                    let attempt = Event::new(
                        AuditKind::Auth,
                        "api_key_revoked",
                        Actor::principal(principal),
                        details,
                    );
                    refusals::denied(state, principal, attempt, refusal).await
                }
                None => refusal,
            });
        }
        Err(other) => return Err(other.into()),
    };
    tracing::info!(key_id = %key.id, user_id = %key.user_id, "API key revoked");
    let details = json!({"key_id": key.id, "owner_id": key.user_id, "prefix": key.prefix});
    state
        .audit(Event::new(
            AuditKind::Auth,
            "api_key_revoked",
            Actor::principal(principal),
            details,
        ))
        .await?;
    Ok(key)
}

/// Revokes every key of `user`, recording `api_keys_revoked` with the count
/// and the reason (`logout_all`, `password_changed`).
pub async fn revoke_all(
    store: &dyn Store,
    actor: Actor,
    user: &User,
    reason: &'static str,
) -> Result<u64, ApiError> {
    let revoked = store.revoke_all_api_keys(user.id, time::now()).await?;
    tracing::info!(user_id = %user.id, revoked, reason, "API keys revoked");
    let details = json!({"owner_id": user.id, "revoked": revoked, "reason": reason});
    crate::audit::record(
        store,
        Event::new(AuditKind::Auth, "api_keys_revoked", actor, details),
    )
    .await?;
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ApiKeyPolicy = ApiKeyPolicy {
        default_days: 90,
        never_allowed: false,
    };

    fn whole_role() -> ScopeRequest {
        ScopeRequest::for_role(Role::User, None)
    }

    #[test]
    fn keys_expire_by_default_and_never_only_where_allowed() {
        let now = time::now();
        let expiry = |policy: &ApiKeyPolicy, lifetime| {
            plan(policy, "laptop", lifetime, whole_role(), now).map(|p| p.expires_at)
        };
        let default = expiry(&POLICY, Lifetime::default()).unwrap();
        assert_eq!(default, Some(now + Duration::days(90)));
        let never = Lifetime {
            days: None,
            never: true,
        };
        assert!(expiry(&POLICY, never).is_err());
        let allowing = ApiKeyPolicy {
            never_allowed: true,
            ..POLICY
        };
        assert_eq!(expiry(&allowing, never).unwrap(), None);
        let too_long = Lifetime {
            days: Some(MAX_KEY_DAYS + 1),
            never: false,
        };
        assert!(expiry(&allowing, too_long).is_err());
        assert!(plan(&POLICY, " ", Lifetime::default(), whole_role(), now).is_err());
    }

    #[test]
    fn a_key_carries_no_scope_its_maker_may_not_pass_on() {
        let now = time::now();
        let asking = |asked: &str| {
            let scopes = ScopeRequest {
                asked: Some(asked.parse().unwrap()),
                ..whole_role()
            };
            plan(&POLICY, "agent", Lifetime::default(), scopes, now).map(|p| p.scopes)
        };
        assert_eq!(
            asking("read:items").unwrap(),
            Some("read:items".parse().unwrap())
        );
        assert!(asking("").is_err(), "no scopes at all");
        assert!(
            asking("read:items manage:users").is_err(),
            "beyond the role"
        );
    }
}
