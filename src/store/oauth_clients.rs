//! The `oauth_clients` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::api_keys::stored_scopes;
use super::{StoreError, StoreResult};
use crate::domain::{ClientSource, OAuthClient};

/// Reads and writes the authorization server's clients.
#[async_trait]
pub trait OAuthClientStore {
    /// Stores a new client.
    async fn create_oauth_client(&self, client: &OAuthClient) -> StoreResult<()>;

    /// Stores what a client metadata document says (a client of source
    /// `document`), keeping when it was first seen and whether it was
    /// disabled; the stored client is returned.
    async fn save_document_client(&self, client: &OAuthClient) -> StoreResult<OAuthClient>;

    /// The client with this `client_id`, disabled or not.
    async fn oauth_client(&self, id: &str) -> StoreResult<Option<OAuthClient>>;

    /// Every client, newest first.
    async fn list_oauth_clients(&self) -> StoreResult<Vec<OAuthClient>>;

    /// Disables a client; `NotFound` when there is none. Disabling twice
    /// keeps the first time.
    async fn disable_oauth_client(&self, id: &str, now: DateTime<Utc>) -> StoreResult<OAuthClient>;
}

/// The columns of a stored client besides its timestamps, as both
/// backends read them.
pub(crate) struct ClientColumns {
    pub id: String,
    pub name: String,
    pub redirect_uris: String,
    pub secret_hash: Option<String>,
    pub source: String,
    pub client_uri: Option<String>,
    pub scopes: Option<String>,
}

impl ClientColumns {
    /// The client these columns and timestamps describe.
    pub(crate) fn into_client(
        self,
        created_at: DateTime<Utc>,
        disabled_at: Option<DateTime<Utc>>,
    ) -> StoreResult<OAuthClient> {
        let bad = |what: &str| StoreError::Other(format!("oauth_clients row {}: {what}", self.id));
        let redirect_uris: Vec<String> =
            serde_json::from_str(&self.redirect_uris).map_err(|_| bad("bad redirect_uris"))?;
        let source = ClientSource::parse(&self.source).ok_or_else(|| bad("bad source"))?;
        Ok(OAuthClient {
            scopes: stored_scopes(self.scopes.as_deref())?,
            id: self.id,
            name: self.name,
            redirect_uris,
            secret_hash: self.secret_hash,
            source,
            client_uri: self.client_uri,
            created_at,
            disabled_at,
        })
    }
}

/// A client's redirect URIs as the `redirect_uris` column stores them.
pub(crate) fn stored_redirect_uris(client: &OAuthClient) -> String {
    serde_json::Value::from(client.redirect_uris.clone()).to_string()
}
