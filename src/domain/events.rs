//! The names of the audit log's events besides tool calls: the vocabulary
//! auditors filter on, listed once so the README's list can be checked
//! against it and no event is written under a name nobody documented.

/// Every event name besides tool names, grouped as the README lists them.
pub const EVENT_NAMES: [&str; 43] = [
    // Accounts and credentials.
    "register",
    "login",
    "login_locked",
    "token_refreshed",
    "refresh_token_reuse",
    "logout",
    "password_changed",
    "password_set",
    "profile_updated",
    "api_key_created",
    "api_key_revoked",
    "api_keys_revoked",
    // OAuth clients.
    "oauth_client_registered",
    "oauth_client_disabled",
    "oauth_consent_granted",
    "oauth_consent_denied",
    "oauth_consent_revoked",
    "oauth_code_issued",
    "oauth_code_reuse",
    "oauth_token_issued",
    "oauth_token_refreshed",
    "oauth_refresh_reuse",
    "oauth_token_revoked",
    "oauth_signed_out",
    // User administration.
    "user_created",
    "user_role_changed",
    "user_activated",
    "user_deactivated",
    "user_updated",
    "users_listed",
    // Sessions and their context.
    "session_opened",
    "session_closed",
    "session_expired",
    "session_used",
    "session_context_read",
    "session_context_replaced",
    "session_context_patched",
    // Items changed over REST.
    "item_created",
    "item_updated",
    "item_deleted",
    // Reads of the audit log itself.
    "audit_read",
    "audit_exported",
    "audit_verified",
];

/// Whether `name` is one of [`EVENT_NAMES`].
pub fn is_event_name(name: &str) -> bool {
    EVENT_NAMES.contains(&name)
}
