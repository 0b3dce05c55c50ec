//! The `oauth_clients` table on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{SqliteStore, parse_time};
use crate::domain::{OAuthClient, time};
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
    created_at: String,
    disabled_at: Option<String>,
}

impl TryFrom<ClientRow> for OAuthClient {
    type Error = StoreError;

    fn try_from(row: ClientRow) -> Result<Self, Self::Error> {
        let created_at = parse_time(&row.created_at)?;
        let disabled_at = row.disabled_at.as_deref().map(parse_time).transpose()?;
        ClientColumns {
            id: row.id,
            name: row.name,
            redirect_uris: row.redirect_uris,
            secret_hash: row.secret_hash,
            source: row.source,
            client_uri: row.client_uri,
            scopes: row.scopes,
        }
        .into_client(created_at, disabled_at)
    }
}

#[async_trait]
impl OAuthClientStore for SqliteStore {
    async fn create_oauth_client(&self, client: &OAuthClient) -> StoreResult<()> {
        let redirect_uris = stored_redirect_uris(client);
        let source = client.source.as_str();
        let scopes = client.scopes.map(|s| s.to_string());
        let created_at = time::to_text(client.created_at);
        sqlx::query!(
            "INSERT INTO oauth_clients
                 (id, name, redirect_uris, secret_hash, source, client_uri, scopes, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            client.id,
            client.name,
            redirect_uris,
            client.secret_hash,
            source,
            client.client_uri,
            scopes,
            created_at
        )
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(())
    }

    async fn save_document_client(&self, client: &OAuthClient) -> StoreResult<OAuthClient> {
        let redirect_uris = stored_redirect_uris(client);
        let scopes = client.scopes.map(|s| s.to_string());
        let created_at = time::to_text(client.created_at);
        let mut conn = self.sqlx_writer().await?;
        sqlx::query_as!(
            ClientRow,
            "INSERT INTO oauth_clients
                 (id, name, redirect_uris, source, client_uri, scopes, created_at)
             VALUES (?1, ?2, ?3, 'document', ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                 redirect_uris = excluded.redirect_uris, client_uri = excluded.client_uri,
                 scopes = excluded.scopes
             WHERE oauth_clients.source = 'document'
             RETURNING id, name, redirect_uris, secret_hash, source, client_uri, scopes,
                       created_at, disabled_at",
            client.id,
            client.name,
            redirect_uris,
            client.client_uri,
            scopes,
            created_at
        )
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn oauth_client(&self, id: &str) -> StoreResult<Option<OAuthClient>> {
        sqlx::query_as!(
            ClientRow,
            "SELECT id, name, redirect_uris, secret_hash, source, client_uri, scopes, created_at,
                    disabled_at
             FROM oauth_clients WHERE id = ?1",
            id
        )
        .fetch_optional(&self.read)
        .await?
        .map(OAuthClient::try_from)
        .transpose()
    }

    async fn list_oauth_clients(&self) -> StoreResult<Vec<OAuthClient>> {
        sqlx::query_as!(
            ClientRow,
            "SELECT id, name, redirect_uris, secret_hash, source, client_uri, scopes, created_at,
                    disabled_at
             FROM oauth_clients ORDER BY created_at DESC, id"
        )
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(OAuthClient::try_from)
        .collect()
    }

    async fn disable_oauth_client(&self, id: &str, now: DateTime<Utc>) -> StoreResult<OAuthClient> {
        let at = time::to_text(now);
        let mut conn = self.sqlx_writer().await?;
        sqlx::query_as!(
            ClientRow,
            "UPDATE oauth_clients SET disabled_at = COALESCE(disabled_at, ?1) WHERE id = ?2
             RETURNING id, name, redirect_uris, secret_hash, source, client_uri, scopes,
                       created_at, disabled_at",
            at,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }
}
