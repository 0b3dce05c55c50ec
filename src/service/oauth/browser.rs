//! Browser sessions of the OAuth flow: signing in on the login page (the
//! same credentials, throttling and audit as `/auth/login`) starts one,
//! kept in a cookie whose value the database knows only by its keyed hash.
//! It ends after [`IDLE_MINUTES`] without use, [`MAX_HOURS`] after the
//! password was typed, at sign-out, and when the user's tokens all end (a
//! password change, a logout everywhere, a deactivation).

use std::net::IpAddr;

use chrono::Duration;
use serde_json::json;

use crate::audit::{Actor, Event};
use crate::auth::random;
use crate::domain::credentials::MAX_PASSWORD_BYTES;
use crate::domain::{AuditKind, User, time};
use crate::error::ApiError;
use crate::service::accounts;
use crate::state::AppState;
use crate::store::{BrowserSession, SignedIn};

/// Minutes a browser session lasts without use.
pub const IDLE_MINUTES: i64 = 30;
/// Hours a browser session lasts at most, however often it is used.
pub const MAX_HOURS: i64 = 12;

/// Signs `typed` in with `password`; returns the user and the new
/// session's cookie value.
pub async fn sign_in(
    state: &AppState,
    typed: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<(User, String), ApiError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::invalid("password", "is too long"));
    }
    let user = accounts::check_login(state, typed, password, addr).await?;
    let cookie = random::base62(43);
    let now = time::now();
    let session = BrowserSession {
        id_hash: state.flow.session.tag(cookie.as_bytes()),
        user_id: user.id,
        auth_time: now,
        token_version: user.token_version,
        expires_at: now + Duration::minutes(IDLE_MINUTES),
    };
    state.store.create_browser_session(&session).await?;
    Ok((user, cookie))
}

/// Who the session of `cookie` belongs to, if it is live; using it moves
/// its idle expiry.
pub async fn signed_in(state: &AppState, cookie: &str) -> Result<Option<SignedIn>, ApiError> {
    let now = time::now();
    let hash = state.flow.session.tag(cookie.as_bytes());
    Ok(state
        .store
        .touch_browser_session(
            &hash,
            now,
            now - Duration::hours(MAX_HOURS),
            now + Duration::minutes(IDLE_MINUTES),
        )
        .await?)
}

/// Ends the session of `cookie`, recording who signed out.
pub async fn sign_out(state: &AppState, cookie: &str) -> Result<(), ApiError> {
    if let Some(session) = signed_in(state, cookie).await? {
        let hash = state.flow.session.tag(cookie.as_bytes());
        state.store.end_browser_session(&hash, time::now()).await?;
        let details = json!({"username": session.user.username});
        state
            .audit(Event::new(
                AuditKind::Auth,
                "oauth_signed_out",
                Actor::user(&session.user),
                details,
            ))
            .await?;
    }
    Ok(())
}
