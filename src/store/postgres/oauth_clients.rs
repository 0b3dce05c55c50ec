//! The `oauth_clients` table on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PostgresStore;
use crate::domain::OAuthClient;
use crate::store::oauth_clients::{ClientColumns, stored_redirect_uris};
use crate::store::{OAuthClientStore, StoreError, StoreResult};

struct ClientRow {
    id: String,
    name: String,
    redirect_uris: String,
    secret_hash: Option<String>,
    source: String,
    client_uri: Option<String>,
    scopes: Option<String>,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
}

impl TryFrom<ClientRow> for OAuthClient {
    type Error = StoreError;

    fn try_from(row: ClientRow) -> Result<Self, Self::Error> {
        ClientColumns {
            id: row.id,
            name: row.name,
            redirect_uris: row.redirect_uris,
            secret_hash: row.secret_hash,
            source: row.source,
            client_uri: row.client_uri,
            scopes: row.scopes,
        }
        .into_client(row.created_at, row.disabled_at)
    }
}

#[async_trait]
impl OAuthClientStore for PostgresStore {
    async fn create_oauth_client(&self, client: &OAuthClient) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO oauth_clients
                 (id, name, redirect_uris, secret_hash, source, client_uri, scopes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            client.id,
            client.name,
            stored_redirect_uris(client),
            client.secret_hash,
            client.source.as_str(),
            client.client_uri,
            client.scopes.map(|s| s.to_string()),
            client.created_at
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn save_document_client(&self, client: &OAuthClient) -> StoreResult<OAuthClient> {
        sqlx::query_as!(
            ClientRow,
            "INSERT INTO oauth_clients
                 (id, name, redirect_uris, source, client_uri, scopes, created_at)
             VALUES ($1, $2, $3, 'document', $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                 redirect_uris = excluded.redirect_uris, client_uri = excluded.client_uri,
                 scopes = excluded.scopes
             WHERE oauth_clients.source = 'document'
             RETURNING id, name, redirect_uris, secret_hash, source, client_uri, scopes,
                       created_at, disabled_at",
            client.id,
            client.name,
            stored_redirect_uris(client),
            client.client_uri,
            client.scopes.map(|s| s.to_string()),
            client.created_at
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn oauth_client(&self, id: &str) -> StoreResult<Option<OAuthClient>> {
        sqlx::query_as!(
            ClientRow,
            "SELECT id, name, redirect_uris, secret_hash, source, client_uri, scopes, created_at,
                    disabled_at
             FROM oauth_clients WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .map(OAuthClient::try_from)
        .transpose()
    }

    async fn list_oauth_clients(&self) -> StoreResult<Vec<OAuthClient>> {
        // Differs in text from the SQLite twin so their offline data files don't collide.
        sqlx::query_as!(
            ClientRow,
            "SELECT id, name, redirect_uris, secret_hash, source, client_uri, scopes, created_at,
                    disabled_at
             FROM oauth_clients AS c ORDER BY created_at DESC, id"
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(OAuthClient::try_from)
        .collect()
    }

    async fn disable_oauth_client(&self, id: &str, now: DateTime<Utc>) -> StoreResult<OAuthClient> {
        sqlx::query_as!(
            ClientRow,
            "UPDATE oauth_clients SET disabled_at = COALESCE(disabled_at, $1) WHERE id = $2
             RETURNING id, name, redirect_uris, secret_hash, source, client_uri, scopes,
                       created_at, disabled_at",
            now,
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }
}
