//! The authorization flow's tables on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PostgresStore;
use crate::domain::Scopes;
use crate::store::api_keys::stored_scopes;
use crate::store::oauth_flow::{
    BrowserSession, CodeRecord, ConnectedApp, Grant, OAuthFlowStore, Redemption, SignedIn,
};
use crate::store::{StoreResult, UserStore};

fn scope_text(scopes: Option<Scopes>) -> Option<String> {
    scopes.map(|s| s.to_string())
}

struct CodeRow {
    code_hash: String,
    client_id: String,
    user_id: Uuid,
    redirect_uri: String,
    code_challenge: String,
    resource: String,
    scopes: Option<String>,
    auth_time: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

struct GrantRow {
    family_id: Uuid,
    client_id: String,
    user_id: Uuid,
    scopes: Option<String>,
    resource: String,
    created_at: DateTime<Utc>,
}

#[async_trait]
impl OAuthFlowStore for PostgresStore {
    async fn create_browser_session(&self, session: &BrowserSession) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO browser_sessions
                 (id_hash, user_id, auth_time, token_version, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $3, $5)",
            session.id_hash,
            session.user_id,
            session.auth_time,
            session.token_version as i32,
            session.expires_at
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn touch_browser_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        signed_in_after: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<Option<SignedIn>> {
        let found = sqlx::query!(
            "UPDATE browser_sessions SET last_seen_at = $1, expires_at = $2
             WHERE id_hash = $3 AND ended_at IS NULL AND expires_at > $1 AND auth_time > $4
             RETURNING user_id, auth_time, token_version",
            now,
            expires_at,
            id_hash,
            signed_in_after
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(found) = found else {
            return Ok(None);
        };
        let user = self.user_by_id(found.user_id).await?;
        let version = i64::from(found.token_version);
        Ok(user
            .filter(|u| u.is_active && u.token_version == version)
            .map(|user| SignedIn {
                user,
                auth_time: found.auth_time,
            }))
    }

    async fn end_browser_session(&self, id_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query!(
            "UPDATE browser_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL",
            now,
            id_hash
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn consent(&self, user_id: Uuid, client_id: &str) -> StoreResult<Option<Option<Scopes>>> {
        let row = sqlx::query!(
            "SELECT scopes FROM oauth_consents
             WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
            user_id,
            client_id
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| stored_scopes(r.scopes.as_deref())).transpose()
    }

    async fn grant_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scopes: Option<Scopes>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO oauth_consents (user_id, client_id, scopes, granted_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, client_id)
             DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at,
                           revoked_at = NULL",
            user_id,
            client_id,
            scope_text(scopes),
            now
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_code(&self, code: &CodeRecord) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, code_challenge,
                                      resource, scopes, auth_time, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            code.code_hash,
            code.client_id,
            code.user_id,
            code.redirect_uri,
            code.code_challenge,
            code.resource,
            scope_text(code.scopes),
            code.auth_time,
            code.expires_at
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Redemption> {
        let redeemed = sqlx::query_as!(
            CodeRow,
            "UPDATE oauth_codes SET used_at = $1, family_id = $2
             WHERE code_hash = $3 AND used_at IS NULL AND expires_at > $1
             RETURNING code_hash, client_id, user_id, redirect_uri, code_challenge, resource,
                       scopes, auth_time, expires_at",
            now,
            family,
            code_hash
        )
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = redeemed {
            return Ok(Redemption::Redeemed(CodeRecord {
                scopes: stored_scopes(row.scopes.as_deref())?,
                code_hash: row.code_hash,
                client_id: row.client_id,
                user_id: row.user_id,
                redirect_uri: row.redirect_uri,
                code_challenge: row.code_challenge,
                resource: row.resource,
                auth_time: row.auth_time,
                expires_at: row.expires_at,
            }));
        }
        let spent = sqlx::query!(
            "SELECT user_id, family_id FROM oauth_codes
             WHERE code_hash = $1 AND used_at IS NOT NULL",
            code_hash
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(match spent {
            Some(row) => Redemption::Reused {
                user_id: row.user_id,
                family: row.family_id,
            },
            None => Redemption::Invalid,
        })
    }

    async fn create_grant(&self, grant: &Grant) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO oauth_grants (family_id, client_id, user_id, scopes, resource, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            grant.family_id,
            grant.client_id,
            grant.user_id,
            scope_text(grant.scopes),
            grant.resource,
            grant.created_at
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn live_grant(&self, family: Uuid) -> StoreResult<Option<Grant>> {
        let row = sqlx::query_as!(
            GrantRow,
            "SELECT g.family_id, g.client_id, g.user_id, g.scopes, g.resource, g.created_at
             FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id
             WHERE g.family_id = $1 AND g.revoked_at IS NULL AND c.disabled_at IS NULL",
            family
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Grant {
                scopes: stored_scopes(r.scopes.as_deref())?,
                family_id: r.family_id,
                client_id: r.client_id,
                user_id: r.user_id,
                resource: r.resource,
                created_at: r.created_at,
            })
        })
        .transpose()
    }

    async fn revoke_grant(&self, family: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query!(
            "UPDATE oauth_grants SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
            now,
            family
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn prune_oauth_flow(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let codes = sqlx::query!(
            "DELETE FROM oauth_codes WHERE expires_at < $1",
            now - chrono::Duration::days(1)
        )
        .execute(&self.pool)
        .await?;
        let sessions = sqlx::query!(
            "DELETE FROM browser_sessions WHERE expires_at < $1 OR ended_at IS NOT NULL",
            now
        )
        .execute(&self.pool)
        .await?;
        Ok(codes.rows_affected() + sessions.rows_affected())
    }

    async fn connected_apps(&self, user_id: Uuid) -> StoreResult<Vec<ConnectedApp>> {
        let rows = sqlx::query!(
            "SELECT c.id, c.name, k.scopes, k.granted_at
             FROM oauth_consents k JOIN oauth_clients c ON c.id = k.client_id
             WHERE k.user_id = $1 AND k.revoked_at IS NULL
             ORDER BY k.granted_at DESC, c.id",
            user_id
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ConnectedApp {
                    scopes: stored_scopes(r.scopes.as_deref())?,
                    granted_at: r.granted_at,
                    client_id: r.id,
                    name: r.name,
                })
            })
            .collect()
    }

    async fn disconnect_app(
        &self,
        user_id: Uuid,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query!(
            "UPDATE oauth_consents SET revoked_at = $1
             WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL",
            now,
            user_id,
            client_id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE oauth_grants SET revoked_at = $1
             WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL",
            now,
            user_id,
            client_id
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(revoked.rows_affected() > 0)
    }
}
