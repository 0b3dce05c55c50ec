//! Accounts: which admin events a user's creation or change records. REST,
//! the `manage_users` tool on both tool doors, and the CLI all record these
//! same events, so an auditor's filter finds a change whichever door made it.

use serde_json::json;

use crate::audit::{Actor, Event};
use crate::domain::{AuditKind, User};
use crate::store::UserChanges;

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
