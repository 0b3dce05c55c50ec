//! Connected apps: a user sees and revokes the OAuth clients they
//! authorised; an admin sees every client and disables one. Either ends
//! the tokens concerned at once: every request with an OAuth token reads
//! its grant and client (see [`crate::auth::authenticate`]).

use serde_json::json;

use super::clients;
use crate::audit::{Actor, Event};
use crate::auth::Principal;
use crate::domain::{AuditKind, OAuthClient, Permission, time};
use crate::error::ApiError;
use crate::service::refusals;
use crate::state::AppState;
use crate::store::ConnectedApp;

/// The apps `principal` authorised.
pub async fn list(state: &AppState, principal: &Principal) -> Result<Vec<ConnectedApp>, ApiError> {
    principal.require_account_access()?;
    Ok(state.store.connected_apps(principal.user.id).await?)
}

/// Revokes `principal`'s consent for `client_id` and every token the app
/// holds from them; 404 when they had not authorised it.
pub async fn disconnect(
    state: &AppState,
    principal: &Principal,
    client_id: &str,
) -> Result<(), ApiError> {
    principal.require_account_access()?;
    let user = &principal.user;
    if !state
        .store
        .disconnect_app(user.id, client_id, time::now())
        .await?
    {
        return Err(ApiError::NotFound(format!(
            "you have not authorised an app {client_id:?}"
        )));
    }
    tracing::info!(user_id = %user.id, client_id, "connected app revoked");
    let event = Event::new(
        AuditKind::Auth,
        "oauth_consent_revoked",
        Actor::principal(principal),
        json!({"client_id": client_id}),
    )
    .about_client(client_id);
    state.audit(event).await
}

/// Every client, for a holder of `manage:users`.
pub async fn all_clients(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<OAuthClient>, ApiError> {
    principal.require(Permission::ManageUsers)?;
    Ok(state.store.list_oauth_clients().await?)
}

/// Disables a client, for a holder of `manage:users` (anyone else's
/// attempt is recorded as `denied`).
pub async fn disable_client(
    state: &AppState,
    principal: &Principal,
    client_id: &str,
) -> Result<OAuthClient, ApiError> {
    let attempt = || {
        Event::new(
            AuditKind::Admin,
            "oauth_client_disabled",
            Actor::principal(principal),
            json!({"client_id": client_id}),
        )
        .about_client(client_id)
    };
    refusals::require(state, principal, Permission::ManageUsers, attempt).await?;
    clients::disable(state.store.as_ref(), Actor::principal(principal), client_id).await
}
