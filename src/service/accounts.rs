//! Accounts: the login flow, and which admin events a user's creation or
//! change records. REST, the `manage_users` tool on both tool doors, and
//! the CLI all record these same events, so an auditor's filter finds a
//! change whichever door made it.

use std::net::IpAddr;

use serde_json::json;

use crate::audit::{Actor, Event};
use crate::auth::password::Passwords;
use crate::domain::credentials::{Email, Password, Username, parse_full_name};
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

/// The login flow: throttled per username and client address, the
/// password verified off the runtime (unknown usernames against a dummy
/// hash), deactivated accounts refused, every attempt recorded. Returns
/// the user as of this login and a fresh token pair. The REST login and,
/// later, the browser sign-in call this.
pub async fn log_in(
    state: &AppState,
    typed: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<(User, TokenPair), ApiError> {
    let store = state.store.as_ref();
    let now = time::now();
    let attempt = || {
        Event::new(
            AuditKind::Auth,
            "login",
            Actor::typed(typed),
            json!({"username": typed}),
        )
    };
    if let Err(refused) = state.login_throttle.check(store, typed, addr, now).await {
        state
            .audit(attempt().failed(Outcome::RateLimited, refused.to_string()))
            .await?;
        return Err(refused);
    }
    let user = store.user_by_username(typed).await?;
    let verified = state
        .passwords
        .verify(user.as_ref().map(|u| u.password_hash.as_str()), password)
        .await?;
    let Some(user) = user.filter(|_| verified) else {
        let refused = "incorrect username or password";
        state
            .audit(attempt().failed(Outcome::Denied, refused))
            .await?;
        if let Some(until) = state
            .login_throttle
            .record_failure(store, typed, addr, now)
            .await?
        {
            tracing::warn!(username = %typed, client = ?addr, "login locked after repeated failures");
            let details = json!({"username": typed, "client_addr": addr, "locked_until": until});
            let locked = Event::new(
                AuditKind::Auth,
                "login_locked",
                Actor::typed(typed),
                details,
            )
            .failed(Outcome::RateLimited, "too many failed logins");
            state.audit(locked).await?;
        }
        return Err(ApiError::Unauthorized(refused.into()));
    };
    if !user.is_active {
        let refused = "this account is deactivated";
        state
            .audit(attempt().failed(Outcome::Denied, refused))
            .await?;
        return Err(ApiError::Forbidden(refused.into()));
    }
    state
        .login_throttle
        .record_success(store, &user.username)
        .await?;
    store.record_login(user.id, now).await?;
    let pair = tokens::issue_pair(state, &user).await?;
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
    Ok((user, pair))
}
