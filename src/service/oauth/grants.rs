//! The token endpoint's rules: client authentication, the code exchange
//! with its PKCE proof, refresh rotation (the login families' machinery:
//! a spent refresh token presented again revokes the whole grant), and
//! revocation (RFC 7009). Access tokens name this server as `iss`, the
//! resource as `aud`, and carry `scope` and `client_id`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::audit::{Actor, Event};
use crate::auth::jwt::{IssuedToken, OAuthBinding, TokenType};
use crate::domain::digest::sha256_hex;
use crate::domain::{AuditKind, OAuthClient, Outcome, Scopes, User, time};
use crate::error::{ApiError, OAuthError};
use crate::service::tokens;
use crate::state::AppState;
use crate::store::{Grant, Redemption, RefreshRecord, Rotation};

/// Tokens just issued.
pub struct IssuedGrant {
    /// The access token.
    pub access: IssuedToken,
    /// The refresh token that replaces it, once.
    pub refresh: IssuedToken,
    /// The scopes the tokens carry; `None` is the user's whole role.
    pub scopes: Option<Scopes>,
}

fn oauth(error: OAuthError, description: &str) -> ApiError {
    ApiError::OAuth {
        error,
        description: description.to_owned(),
    }
}

/// The client `client_id`, which must be enabled and, if confidential,
/// prove its `secret`.
pub async fn authenticate_client(
    state: &AppState,
    client_id: &str,
    secret: Option<&str>,
) -> Result<OAuthClient, ApiError> {
    let refused = || {
        oauth(
            OAuthError::InvalidClient,
            "unknown or disabled client, or a wrong client secret",
        )
    };
    let client = state
        .store
        .oauth_client(client_id)
        .await?
        .filter(|c| c.disabled_at.is_none())
        .ok_or_else(refused)?;
    match (&client.secret_hash, secret) {
        (None, _) => Ok(client),
        (Some(hash), Some(secret))
            if bool::from(
                sha256_hex(secret.as_bytes())
                    .as_bytes()
                    .ct_eq(hash.as_bytes()),
            ) =>
        {
            Ok(client)
        }
        (Some(_), _) => Err(refused()),
    }
}

/// Whether `verifier` is the PKCE verifier of the S256 `challenge`.
fn pkce_holds(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    well_formed && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

fn issue(
    state: &AppState,
    user: &User,
    grant: &Grant,
    auth_time: DateTime<chrono::Utc>,
) -> IssuedGrant {
    let now = time::now();
    let binding = OAuthBinding {
        issuer: state.settings.public_url.clone(),
        resource: grant.resource.clone(),
        scope: grant.scopes.map(|s| s.to_string()),
        client_id: grant.client_id.clone(),
    };
    let jwt = &state.jwt;
    let issue = |kind| jwt.issue_bound(user, kind, grant.family_id, now, auth_time, Some(&binding));
    IssuedGrant {
        access: issue(TokenType::Access),
        refresh: issue(TokenType::Refresh),
        scopes: grant.scopes,
    }
}

fn refresh_record(token: &IssuedToken) -> RefreshRecord {
    RefreshRecord {
        jti: token.claims.jti,
        user_id: token.claims.sub,
        family_id: token.claims.fam,
        issued_at: time::now(),
        expires_at: token.claims.expires_at(),
    }
}

/// Exchanges a code for tokens: the code must be live and the client's,
/// and `redirect_uri`, the PKCE `verifier` and (if sent) `resource` must
/// match what it was issued for. A code presented twice is refused and
/// revokes what its first exchange issued.
pub async fn exchange_code(
    state: &AppState,
    client: &OAuthClient,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    resource: Option<&str>,
) -> Result<IssuedGrant, ApiError> {
    let invalid = |why: &str| oauth(OAuthError::InvalidGrant, why);
    let verifier = verifier.ok_or_else(|| {
        oauth(
            OAuthError::InvalidRequest,
            "code_verifier is required (PKCE)",
        )
    })?;
    let family = Uuid::new_v4();
    let now = time::now();
    let hash = state.flow.code.tag(code.as_bytes());
    let record = match state.store.redeem_code(&hash, family, now).await? {
        Redemption::Redeemed(record) => record,
        Redemption::Reused { user_id, family } => {
            if let Some(family) = family {
                tokens::revoke_family(state, user_id, family, "oauth_code_reuse").await?;
                state.store.revoke_grant(family, now).await?;
            }
            let event = Event::new(
                AuditKind::Auth,
                "oauth_code_reuse",
                Actor::system(),
                json!({"client_id": client.id, "user_id": user_id, "family": family}),
            )
            .failed(
                Outcome::Denied,
                "an authorization code was presented twice; what it issued is revoked",
            )
            .about_client(&client.id);
            state.audit(event).await?;
            return Err(invalid(
                "the code was already used; what it issued is revoked",
            ));
        }
        Redemption::Invalid => return Err(invalid("the code is unknown or expired")),
    };
    if record.client_id != client.id {
        return Err(invalid("the code was issued to another client"));
    }
    match redirect_uri {
        None => {
            return Err(oauth(
                OAuthError::InvalidRequest,
                "redirect_uri is required, as sent in the authorization request",
            ));
        }
        Some(r) if r != record.redirect_uri => {
            return Err(invalid(
                "redirect_uri differs from the authorization request's",
            ));
        }
        Some(_) => {}
    }
    if !pkce_holds(verifier, &record.code_challenge) {
        return Err(invalid("code_verifier does not match the code_challenge"));
    }
    if resource.is_some_and(|r| r != record.resource) {
        return Err(oauth(
            OAuthError::InvalidTarget,
            "resource differs from the authorization request's",
        ));
    }
    let user = state
        .store
        .user_by_id(record.user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(|| invalid("the user who approved the code is no longer active"))?;
    let grant = Grant {
        family_id: family,
        client_id: client.id.clone(),
        user_id: user.id,
        scopes: record.scopes,
        resource: record.resource,
        created_at: now,
    };
    state.store.create_grant(&grant).await?;
    let issued = issue(state, &user, &grant, record.auth_time);
    state
        .store
        .insert_refresh_token(&refresh_record(&issued.refresh))
        .await?;
    // A second presentation of the code that raced this exchange found no
    // grant to revoke yet, but it blacklisted the family first: look.
    let raced = state
        .store
        .check_access_token(user.id, issued.access.claims.jti, family)
        .await?
        .is_none_or(|check| check.revoked);
    if raced {
        state.store.revoke_grant(family, time::now()).await?;
        return Err(invalid(
            "the code was already used; what it issued is revoked",
        ));
    }
    let details = json!({"client_id": client.id, "family": family,
        "scope": grant.scopes.map(|s| s.to_string()), "resource": grant.resource});
    state
        .audit(
            Event::new(
                AuditKind::Auth,
                "oauth_token_issued",
                Actor::user(&user),
                details,
            )
            .about_client(&client.id),
        )
        .await?;
    Ok(issued)
}

/// Rotates a refresh token of `client`'s: the new pair keeps the grant,
/// and may narrow its scopes (`scope`) but never widen them.
pub async fn refresh(
    state: &AppState,
    client: &OAuthClient,
    refresh_token: &str,
    scope: Option<Scopes>,
) -> Result<IssuedGrant, ApiError> {
    let invalid = || {
        oauth(
            OAuthError::InvalidGrant,
            "the refresh token is invalid, expired, spent or revoked",
        )
    };
    let claims = state
        .jwt
        .verify(refresh_token, TokenType::Refresh)
        .ok()
        .filter(|c| c.client_id.as_deref() == Some(client.id.as_str()))
        .ok_or_else(invalid)?;
    let grant = state
        .store
        .live_grant(claims.fam)
        .await?
        .ok_or_else(invalid)?;
    let user = state
        .store
        .user_by_id(claims.sub)
        .await?
        .filter(|u| u.is_active && u.token_version == claims.ver)
        .ok_or_else(invalid)?;
    let narrowed = match (scope, grant.scopes) {
        (None, scopes) => scopes,
        (Some(asked), Some(granted)) if !asked.beyond(granted).is_empty() => {
            return Err(oauth(
                OAuthError::InvalidScope,
                "a refresh may narrow the scopes, never widen them",
            ));
        }
        (Some(asked), _) => Some(asked),
    };
    let auth_time = DateTime::from_timestamp(claims.auth_time, 0).unwrap_or_default();
    let next = issue(
        state,
        &user,
        &Grant {
            scopes: narrowed,
            ..grant
        },
        auth_time,
    );
    let details = json!({"client_id": client.id, "family": claims.fam});
    match state
        .store
        .rotate_refresh_token(claims.jti, &refresh_record(&next.refresh), time::now())
        .await?
    {
        Rotation::Rotated => {
            state
                .audit(
                    Event::new(
                        AuditKind::Auth,
                        "oauth_token_refreshed",
                        Actor::user(&user),
                        details,
                    )
                    .about_client(&client.id),
                )
                .await?;
            Ok(next)
        }
        Rotation::Refused => {
            tracing::warn!(client_id = %client.id, family = %claims.fam, "OAuth refresh token reuse: revoking its grant");
            tokens::revoke_family(state, user.id, claims.fam, "oauth_refresh_reuse").await?;
            state.store.revoke_grant(claims.fam, time::now()).await?;
            let event = Event::new(
                AuditKind::Auth,
                "oauth_refresh_reuse",
                Actor::user(&user),
                details,
            )
            .failed(
                Outcome::Denied,
                "a spent refresh token was presented; its grant is revoked",
            )
            .about_client(&client.id);
            state.audit(event).await?;
            Err(invalid())
        }
    }
}

/// Revokes `token` (an access or refresh token `client` holds) and the
/// grant it belongs to (RFC 7009). A token that is not the client's, or
/// not a token, changes nothing and is no error.
pub async fn revoke(state: &AppState, client: &OAuthClient, token: &str) -> Result<(), ApiError> {
    let claims = [TokenType::Refresh, TokenType::Access]
        .into_iter()
        .find_map(|kind| state.jwt.verify(token, kind).ok())
        .filter(|c| c.client_id.as_deref() == Some(client.id.as_str()));
    let Some(claims) = claims else {
        return Ok(());
    };
    tokens::revoke_family(state, claims.sub, claims.fam, "oauth_revoked").await?;
    state.store.revoke_grant(claims.fam, time::now()).await?;
    let details = json!({"client_id": client.id, "family": claims.fam});
    let actor = match state.store.user_by_id(claims.sub).await? {
        Some(user) => Actor::user(&user),
        None => Actor::system(),
    };
    state
        .audit(
            Event::new(AuditKind::Auth, "oauth_token_revoked", actor, details)
                .about_client(&client.id),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_holds_only_for_its_verifier() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_holds(verifier, challenge));
        assert!(!pkce_holds(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            challenge
        ));
        assert!(!pkce_holds("short", challenge));
    }
}
