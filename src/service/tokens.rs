//! Token pairs: issuing them on login, rotating them on refresh (a spent
//! refresh token presented again revokes its whole family), and revoking
//! them on logout.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{Actor, Event};
use crate::auth::jwt::{IssuedToken, TokenType};
use crate::domain::{AuditKind, Outcome, User, time};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{RefreshRecord, Revocation, Rotation};

/// An access token and the refresh token that can replace it.
pub struct TokenPair {
    /// Authenticates requests.
    pub access: IssuedToken,
    /// Buys the next pair, once.
    pub refresh: IssuedToken,
}

fn refresh_record(token: &IssuedToken, user: &User, now: DateTime<Utc>) -> RefreshRecord {
    RefreshRecord {
        jti: token.claims.jti,
        user_id: user.id,
        family_id: token.claims.fam,
        issued_at: now,
        expires_at: token.claims.expires_at(),
    }
}

fn pair(
    state: &AppState,
    user: &User,
    family: Uuid,
    now: DateTime<Utc>,
    auth_time: DateTime<Utc>,
) -> TokenPair {
    TokenPair {
        access: state
            .jwt
            .issue(user, TokenType::Access, family, now, auth_time),
        refresh: state
            .jwt
            .issue(user, TokenType::Refresh, family, now, auth_time),
    }
}

/// Starts a new family (a login whose password was just checked) and
/// records its refresh token.
pub async fn issue_pair(state: &AppState, user: &User) -> Result<TokenPair, ApiError> {
    let now = time::now();
    let pair = pair(state, user, Uuid::new_v4(), now, now);
    state
        .store
        .insert_refresh_token(&refresh_record(&pair.refresh, user, now))
        .await?;
    Ok(pair)
}

/// Exchanges a refresh token for a new pair in the same family.
pub async fn rotate(state: &AppState, refresh_token: &str) -> Result<(User, TokenPair), ApiError> {
    let invalid = || ApiError::Unauthorized("invalid, expired or revoked refresh token".into());
    // An OAuth client's refresh token is refreshed at /oauth/token only,
    // where the client proves who it is.
    let claims = state
        .jwt
        .verify(refresh_token, TokenType::Refresh)
        .ok()
        .filter(|c| c.client_id.is_none())
        .ok_or_else(invalid)?;
    let now = time::now();
    let user = state
        .store
        .user_by_id(claims.sub)
        .await?
        .filter(|u| u.is_active && u.token_version == claims.ver)
        .ok_or_else(invalid)?;
    // The new pair is of the same login: no fresher than it.
    let auth_time = DateTime::from_timestamp(claims.auth_time, 0).unwrap_or_default();
    let next = pair(state, &user, claims.fam, now, auth_time);
    match state
        .store
        .rotate_refresh_token(claims.jti, &refresh_record(&next.refresh, &user, now), now)
        .await?
    {
        Rotation::Rotated => {
            let details = json!({"family": claims.fam});
            state
                .audit(Event::new(
                    AuditKind::Auth,
                    "token_refreshed",
                    Actor::user(&user),
                    details,
                ))
                .await?;
            Ok((user, next))
        }
        Rotation::Refused => {
            tracing::warn!(user_id = %user.id, family = %claims.fam, "refresh token reuse: revoking its family");
            revoke_family(state, user.id, claims.fam, "refresh_reuse").await?;
            let details = json!({"family": claims.fam, "token_id": claims.jti});
            let event = Event::new(
                AuditKind::Auth,
                "refresh_token_reuse",
                Actor::user(&user),
                details,
            )
            .failed(
                Outcome::Denied,
                "a spent or revoked refresh token was presented; its login is revoked",
            );
            state.audit(event).await?;
            Err(invalid())
        }
    }
}

/// Revokes every refresh and access token of a family.
pub async fn revoke_family(
    state: &AppState,
    user_id: Uuid,
    family: Uuid,
    reason: &'static str,
) -> Result<(), ApiError> {
    let now = time::now();
    // The blacklist row outlives every token of the family: a refresh
    // token issued before now expires within refresh_ttl, so a forgotten
    // successor can never come back to life after the row is pruned.
    let revocation = Revocation {
        jti: family,
        user_id,
        expires_at: now + state.jwt.refresh_ttl + chrono::Duration::minutes(1),
        reason,
    };
    Ok(state.store.revoke_family(&revocation, now).await?)
}

/// Blacklists one access token until it would have expired anyway.
pub async fn revoke_access(
    state: &AppState,
    user_id: Uuid,
    jti: Uuid,
    expires_at: DateTime<Utc>,
    reason: &'static str,
) -> Result<(), ApiError> {
    let revocation = Revocation {
        jti,
        user_id,
        expires_at: expires_at + chrono::Duration::minutes(1),
        reason,
    };
    Ok(state
        .store
        .revoke_access_token(&revocation, time::now())
        .await?)
}
