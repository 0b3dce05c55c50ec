//! OAuth clients over REST: the apps you connected (`/auth/connected-apps`)
//! and, for admins, every client (`/api/v1/oauth/clients`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use super::security::Auth;
use crate::domain::{OAuthClient, Permission};
use crate::error::ApiResult;
use crate::service::oauth::connections;
use crate::state::AppState;
use crate::store::ConnectedApp;

/// An app you authorised.
#[derive(Debug, Object)]
struct ConnectedAppOut {
    /// Its `client_id`.
    client_id: String,
    /// Its name.
    name: String,
    /// What you allowed; `null` is everything your role allows.
    #[oai(nullable)]
    scopes: Option<Vec<Permission>>,
    /// When you allowed it.
    granted_at: DateTime<Utc>,
}

impl From<ConnectedApp> for ConnectedAppOut {
    fn from(app: ConnectedApp) -> Self {
        Self {
            client_id: app.client_id,
            name: app.name,
            scopes: super::listed(app.scopes),
            granted_at: app.granted_at,
        }
    }
}

/// An OAuth client, as an admin sees it (never its secret).
#[derive(Debug, Object)]
struct OAuthClientOut {
    /// Its `client_id`.
    client_id: String,
    /// Its name.
    name: String,
    /// The redirect URIs it registered.
    redirect_uris: Vec<String>,
    /// `registered` (RFC 7591) or `cli`.
    source: String,
    /// Whether it keeps a secret.
    confidential: bool,
    /// The scopes it registered for; `null` is any.
    #[oai(nullable)]
    scopes: Option<Vec<Permission>>,
    /// When it registered.
    created_at: DateTime<Utc>,
    /// When it was disabled, if it was.
    #[oai(nullable)]
    disabled_at: Option<DateTime<Utc>>,
}

impl From<OAuthClient> for OAuthClientOut {
    fn from(c: OAuthClient) -> Self {
        Self {
            confidential: c.secret_hash.is_some(),
            source: c.source.as_str().to_owned(),
            scopes: super::listed(c.scopes),
            client_id: c.id,
            name: c.name,
            redirect_uris: c.redirect_uris,
            created_at: c.created_at,
            disabled_at: c.disabled_at,
        }
    }
}

#[derive(ApiResponse)]
enum Disconnected {
    /// The app's access is revoked and its tokens no longer work.
    #[oai(status = 204)]
    Done,
}

/// Connected apps and OAuth clients.
pub struct OAuthAppsApi {
    state: Arc<AppState>,
}

impl OAuthAppsApi {
    /// The API over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::OAuth")]
impl OAuthAppsApi {
    /// The apps you authorised through OAuth, newest first.
    #[oai(path = "/auth/connected-apps", method = "get")]
    async fn connected(&self, auth: Auth) -> ApiResult<Json<Vec<ConnectedAppOut>>> {
        let apps = connections::list(&self.state, &auth.0).await?;
        Ok(Json(apps.into_iter().map(ConnectedAppOut::from).collect()))
    }

    /// Revoke an app you authorised: its tokens stop working at once, and
    /// it must ask again.
    #[oai(path = "/auth/connected-apps/:client_id", method = "delete")]
    async fn disconnect(&self, auth: Auth, client_id: Path<String>) -> ApiResult<Disconnected> {
        connections::disconnect(&self.state, &auth.0, &client_id.0).await?;
        Ok(Disconnected::Done)
    }

    /// Every OAuth client, newest first (`manage:users`).
    #[oai(path = "/api/v1/oauth/clients", method = "get")]
    async fn clients(&self, auth: Auth) -> ApiResult<Json<Vec<OAuthClientOut>>> {
        let clients = connections::all_clients(&self.state, &auth.0).await?;
        Ok(Json(
            clients.into_iter().map(OAuthClientOut::from).collect(),
        ))
    }

    /// Disable a client (`manage:users`): every token it holds stops
    /// working at once, on every replica.
    #[oai(path = "/api/v1/oauth/clients/:client_id/disable", method = "post")]
    async fn disable(
        &self,
        auth: Auth,
        client_id: Path<String>,
    ) -> ApiResult<Json<OAuthClientOut>> {
        let client = connections::disable_client(&self.state, &auth.0, &client_id.0).await?;
        Ok(Json(client.into()))
    }
}
