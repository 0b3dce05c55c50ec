//! Accounts: the login flow, and which admin events a user's creation or
//! change records. REST, the `manage_users` tool on both tool doors, and
//! the CLI all record these same events, so an auditor's filter finds a
//! change whichever door made it.

use std::net::IpAddr;

use serde_json::json;

use crate::audit::{Actor, Event};
use crate::auth::Principal;
use crate::auth::password::Passwords;
use crate::domain::bounded::{self, MAX_LABEL_CHARS};
use crate::domain::credentials::{Email, MAX_PASSWORD_BYTES, Password, Username, parse_full_name};
use crate::domain::validation::FieldErrors;
use crate::domain::{AuditKind, Outcome, Role, User, time};
use crate::error::ApiError;
use crate::service::tokens::{self, TokenPair};
use crate::state::AppState;
use crate::store::{NewUser, UserChanges};

/// The fields of a new account, as the caller typed them.
pub struct AccountFields<'a> {
    /// Login name.
    pub username: &'a str,
    /// Email address.
    pub email: &'a str,
    /// Password.
    pub password: &'a str,
    /// Display name.
    pub full_name: Option<&'a str>,
    /// Role (who may choose which is the door's rule).
    pub role: Role,
}

/// Parses every field of a new account, reporting each bad one, and hashes
/// the password: call it before any transaction begins.
pub async fn new_user(
    passwords: &Passwords,
    fields: AccountFields<'_>,
) -> Result<NewUser, ApiError> {
    let mut errors = FieldErrors::default();
    let username = errors.check(Username::parse(fields.username));
    let email = errors.check(Email::parse(fields.email));
    let password = errors.check(Password::parse(fields.password, "password"));
    let full_name = errors.check(parse_full_name(fields.full_name));
    let (username, email, password, full_name) =
        errors.finish((username, email, password, full_name))?;
    Ok(NewUser {
        username: username.as_str().to_owned(),
        email: email.as_str().to_owned(),
        full_name,
        role: fields.role,
        password_hash: passwords.hash(password.expose()).await?,
    })
}

/// The event of `user` created by `actor` (an admin, or the CLI).
pub fn user_created(user: &User, actor: Actor) -> Event {
    let details = json!({"user_id": user.id, "username": user.username, "role": user.role});
    Event::new(AuditKind::Admin, "user_created", actor, details)
}

/// The events `actor` made by changing `before` into `after` with
/// `changes`: a role change, an activation or deactivation, and a change
/// of the other fields, each an event of its own.
pub fn user_changed(
    before: &User,
    after: &User,
    changes: &UserChanges,
    actor: Actor,
) -> Vec<Event> {
    let mut events = Vec::new();
    let subject = json!({"user_id": after.id, "username": after.username});
    if before.role != after.role {
        let mut details = subject.clone();
        details["from"] = json!(before.role);
        details["to"] = json!(after.role);
        events.push(Event::new(
            AuditKind::Admin,
            "user_role_changed",
            actor.clone(),
            details,
        ));
    }
    if before.is_active != after.is_active {
        let action = if after.is_active {
            "user_activated"
        } else {
            "user_deactivated"
        };
        events.push(Event::new(
            AuditKind::Admin,
            action,
            actor.clone(),
            subject.clone(),
        ));
    }
    if changes.email.is_some() || changes.full_name.is_some() || changes.username.is_some() {
        let mut details = subject;
        details["email"] = json!(changes.email);
        details["full_name"] = json!(changes.full_name);
        events.push(Event::new(AuditKind::Admin, "user_updated", actor, details));
    }
    events
}

/// The login flow: throttled per username, address and both (see
/// [`crate::auth::throttle`]), the password verified off the runtime
/// (unknown usernames against a dummy hash; a typed name that cannot be a
/// username costs no hash at all), deactivated accounts answered exactly
/// as a wrong password, every attempt recorded except those the throttle
/// refuses (their lock is recorded once), so an anonymous flood writes a
/// bounded number of rows. Returns the user as of this login and a fresh
/// token pair.
pub async fn log_in(
    state: &AppState,
    typed: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<(User, TokenPair), ApiError> {
    let user = check_login(state, typed, password, addr).await?;
    let pair = tokens::issue_pair(state, &user).await?;
    Ok((user, pair))
}

/// The login flow of [`log_in`] without the tokens: the browser sign-in of
/// the OAuth flow starts a browser session instead.
pub async fn check_login(
    state: &AppState,
    typed: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<User, ApiError> {
    let store = state.store.as_ref();
    let now = time::now();
    let attempt = || {
        Event::new(
            AuditKind::Auth,
            "login",
            Actor::typed(typed),
            json!({"username": bounded::clip(typed, MAX_LABEL_CHARS)}),
        )
    };
    state.login_throttle.check(store, typed, addr, now).await?;
    let user = match Username::parse(typed) {
        Ok(name) => store.user_by_username(name.as_str()).await?,
        Err(_) => None,
    };
    let verified = match &user {
        Some(user) => {
            state
                .passwords
                .verify(Some(&user.password_hash), password)
                .await?
        }
        None if typed.len() <= MAX_LABEL_CHARS => state.passwords.verify(None, password).await?,
        None => false,
    };
    let refused = "incorrect username or password";
    let user = match user.filter(|_| verified) {
        Some(user) if user.is_active => user,
        found => {
            let why = if found.is_some() {
                "the account is deactivated"
            } else {
                refused
            };
            state.audit(attempt().failed(Outcome::Denied, why)).await?;
            count_failure(state, typed, addr, now).await?;
            return Err(ApiError::Unauthorized(refused.into()));
        }
    };
    state
        .login_throttle
        .record_success(store, &user.username, addr)
        .await?;
    store.record_login(user.id, now).await?;
    let user = User {
        last_login_at: Some(now),
        ..user
    };
    let details = json!({"username": user.username});
    state
        .audit(Event::new(
            AuditKind::Auth,
            "login",
            Actor::user(&user),
            details,
        ))
        .await?;
    tracing::info!(user_id = %user.id, "login");
    Ok(user)
}

/// Checks `principal`'s current password before a change, throttled as a
/// login of their username from `addr` is, so a stolen token cannot guess it.
pub async fn check_current_password(
    state: &AppState,
    principal: &Principal,
    current: &str,
    addr: Option<IpAddr>,
) -> Result<(), ApiError> {
    let me = &principal.user;
    let now = time::now();
    state
        .login_throttle
        .check(state.store.as_ref(), &me.username, addr, now)
        .await?;
    if current.len() <= MAX_PASSWORD_BYTES
        && state
            .passwords
            .verify(Some(&me.password_hash), current)
            .await?
    {
        return Ok(());
    }
    let refused = "the current password is wrong";
    let event = Event::new(
        AuditKind::Auth,
        "password_changed",
        Actor::principal(principal),
        json!({}),
    )
    .failed(Outcome::Denied, refused);
    state.audit(event).await?;
    count_failure(state, &me.username, addr, now).await?;
    Err(ApiError::Forbidden(refused.into()))
}

/// Counts a failed password check of `typed` from `addr` (a login, or the
/// current password when changing it), recording `login_locked` when the
/// failure locks the attempt's counters.
pub async fn count_failure(
    state: &AppState,
    typed: &str,
    addr: Option<IpAddr>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let Some(until) = state
        .login_throttle
        .record_failure(state.store.as_ref(), typed, addr, now)
        .await?
    else {
        return Ok(());
    };
    tracing::warn!(username = ?bounded::clip(typed, MAX_LABEL_CHARS), client = ?addr, "login locked after repeated failures");
    let details = json!({
        "username": bounded::clip(typed, MAX_LABEL_CHARS), "client_addr": addr, "locked_until": until,
    });
    let locked = Event::new(
        AuditKind::Auth,
        "login_locked",
        Actor::typed(typed),
        details,
    )
    .failed(Outcome::RateLimited, "too many failed attempts");
    state.audit(locked).await
}
