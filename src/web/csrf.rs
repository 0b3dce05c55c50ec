//! CSRF protection of the pages' forms: a random cookie, and in each form
//! its tag under the CSRF key. Another site can make a browser post a
//! form but can neither read nor set this cookie, so it cannot produce a
//! matching token.

use poem::http::HeaderMap;

use super::page::{cookie, cookie_name};
use crate::auth::random;
use crate::state::AppState;

/// The CSRF cookie's name.
pub const COOKIE: &str = "aiapi_csrf";

/// The browser's CSRF cookie, and whether it is new (to be set).
pub fn browser_secret(state: &AppState, headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, &cookie_name(state, COOKIE)).filter(|v| v.len() == 32) {
        Some(existing) => (existing.to_owned(), false),
        None => (random::base62(32), true),
    }
}

/// The token a form carries for the browser holding `secret`.
pub fn token(state: &AppState, secret: &str) -> String {
    state.flow.csrf.tag(secret.as_bytes())
}

/// Whether `submitted` is the token of the browser's CSRF cookie.
pub fn holds(state: &AppState, headers: &HeaderMap, submitted: Option<&str>) -> bool {
    match (cookie(headers, &cookie_name(state, COOKIE)), submitted) {
        (Some(secret), Some(submitted)) => state.flow.csrf.verify(secret.as_bytes(), submitted),
        _ => false,
    }
}
