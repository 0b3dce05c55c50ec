//! The authorization flow's tables on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{SqliteStore, parse_time, parse_uuid};
use crate::domain::{Scopes, time};
use crate::store::api_keys::stored_scopes;
use crate::store::oauth_flow::{
    BrowserSession, CodeRecord, ConnectedApp, Grant, OAuthFlowStore, Redemption, SignedIn,
};
use crate::store::{StoreResult, UserStore};

fn text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

fn scope_text(scopes: Option<Scopes>) -> Option<String> {
    scopes.map(|s| s.to_string())
}

struct CodeRow {
    code_hash: String,
    client_id: String,
    user_id: String,
    redirect_uri: String,
    code_challenge: String,
    resource: String,
    scopes: Option<String>,
    auth_time: String,
    expires_at: String,
}

impl CodeRow {
    fn record(self) -> StoreResult<CodeRecord> {
        Ok(CodeRecord {
            user_id: parse_uuid(&self.user_id)?,
            scopes: stored_scopes(self.scopes.as_deref())?,
            auth_time: parse_time(&self.auth_time)?,
            expires_at: parse_time(&self.expires_at)?,
            code_hash: self.code_hash,
            client_id: self.client_id,
            redirect_uri: self.redirect_uri,
            code_challenge: self.code_challenge,
            resource: self.resource,
        })
    }
}

struct GrantRow {
    family_id: String,
    client_id: String,
    user_id: String,
    scopes: Option<String>,
    resource: String,
    created_at: String,
}

#[async_trait]
impl OAuthFlowStore for SqliteStore {
    async fn create_browser_session(&self, session: &BrowserSession) -> StoreResult<()> {
        let user_id = text(session.user_id);
        let auth_time = time::to_text(session.auth_time);
        let expires_at = time::to_text(session.expires_at);
        sqlx::query!(
            "INSERT INTO browser_sessions
                 (id_hash, user_id, auth_time, token_version, last_seen_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?3, ?5)",
            session.id_hash,
            user_id,
            auth_time,
            session.token_version,
            expires_at
        )
        .execute(&mut *self.sqlx_writer().await?)
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
        let (now, expires_at) = (time::to_text(now), time::to_text(expires_at));
        let after = time::to_text(signed_in_after);
        let found = sqlx::query!(
            "UPDATE browser_sessions SET last_seen_at = ?1, expires_at = ?2
             WHERE id_hash = ?3 AND ended_at IS NULL AND expires_at > ?1 AND auth_time > ?4
             RETURNING user_id, auth_time, token_version",
            now,
            expires_at,
            id_hash,
            after
        )
        .fetch_optional(&mut *self.sqlx_writer().await?)
        .await?;
        let Some(found) = found else {
            return Ok(None);
        };
        let user = self.user_by_id(parse_uuid(&found.user_id)?).await?;
        Ok(
            match user.filter(|u| u.is_active && u.token_version == found.token_version) {
                Some(user) => Some(SignedIn {
                    user,
                    auth_time: parse_time(&found.auth_time)?,
                }),
                None => None,
            },
        )
    }

    async fn end_browser_session(&self, id_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let now = time::to_text(now);
        sqlx::query!(
            "UPDATE browser_sessions SET ended_at = ?1 WHERE id_hash = ?2 AND ended_at IS NULL",
            now,
            id_hash
        )
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(())
    }

    async fn consent(&self, user_id: Uuid, client_id: &str) -> StoreResult<Option<Option<Scopes>>> {
        let user_id = text(user_id);
        let row = sqlx::query!(
            "SELECT scopes FROM oauth_consents
             WHERE user_id = ?1 AND client_id = ?2 AND revoked_at IS NULL",
            user_id,
            client_id
        )
        .fetch_optional(&self.read)
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
        let user_id = text(user_id);
        let scopes = scope_text(scopes);
        let now = time::to_text(now);
        sqlx::query!(
            "INSERT INTO oauth_consents (user_id, client_id, scopes, granted_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_id, client_id)
             DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at,
                           revoked_at = NULL",
            user_id,
            client_id,
            scopes,
            now
        )
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(())
    }

    async fn insert_code(&self, code: &CodeRecord) -> StoreResult<()> {
        let user_id = text(code.user_id);
        let scopes = scope_text(code.scopes);
        let auth_time = time::to_text(code.auth_time);
        let expires_at = time::to_text(code.expires_at);
        sqlx::query!(
            "INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, code_challenge,
                                      resource, scopes, auth_time, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            code.code_hash,
            code.client_id,
            user_id,
            code.redirect_uri,
            code.code_challenge,
            code.resource,
            scopes,
            auth_time,
            expires_at
        )
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(())
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Redemption> {
        let family = text(family);
        let now = time::to_text(now);
        let mut conn = self.sqlx_writer().await?;
        let redeemed = sqlx::query_as!(
            CodeRow,
            "UPDATE oauth_codes SET used_at = ?1, family_id = ?2
             WHERE code_hash = ?3 AND used_at IS NULL AND expires_at > ?1
             RETURNING code_hash, client_id, user_id, redirect_uri, code_challenge, resource,
                       scopes, auth_time, expires_at",
            now,
            family,
            code_hash
        )
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = redeemed {
            return Ok(Redemption::Redeemed(row.record()?));
        }
        let spent = sqlx::query!(
            "SELECT user_id, family_id FROM oauth_codes
             WHERE code_hash = ?1 AND used_at IS NOT NULL",
            code_hash
        )
        .fetch_optional(&mut *conn)
        .await?;
        Ok(match spent {
            Some(row) => Redemption::Reused {
                user_id: parse_uuid(&row.user_id)?,
                family: row.family_id.as_deref().map(parse_uuid).transpose()?,
            },
            None => Redemption::Invalid,
        })
    }

    async fn create_grant(&self, grant: &Grant) -> StoreResult<()> {
        let family = text(grant.family_id);
        let user_id = text(grant.user_id);
        let scopes = scope_text(grant.scopes);
        let created_at = time::to_text(grant.created_at);
        sqlx::query!(
            "INSERT INTO oauth_grants (family_id, client_id, user_id, scopes, resource, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            family,
            grant.client_id,
            user_id,
            scopes,
            grant.resource,
            created_at
        )
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(())
    }

    async fn live_grant(&self, family: Uuid) -> StoreResult<Option<Grant>> {
        let family = text(family);
        let row = sqlx::query_as!(
            GrantRow,
            "SELECT g.family_id, g.client_id, g.user_id, g.scopes, g.resource, g.created_at
             FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id
             WHERE g.family_id = ?1 AND g.revoked_at IS NULL AND c.disabled_at IS NULL",
            family
        )
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(Grant {
                family_id: parse_uuid(&r.family_id)?,
                user_id: parse_uuid(&r.user_id)?,
                scopes: stored_scopes(r.scopes.as_deref())?,
                created_at: parse_time(&r.created_at)?,
                client_id: r.client_id,
                resource: r.resource,
            })
        })
        .transpose()
    }

    async fn revoke_grant(&self, family: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        let family = text(family);
        let now = time::to_text(now);
        sqlx::query!(
            "UPDATE oauth_grants SET revoked_at = ?1 WHERE family_id = ?2 AND revoked_at IS NULL",
            now,
            family
        )
        .execute(&mut *self.sqlx_writer().await?)
        .await?;
        Ok(())
    }

    async fn prune_oauth_flow(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let codes_before = time::to_text(now - chrono::Duration::days(1));
        let now = time::to_text(now);
        let mut conn = self.sqlx_writer().await?;
        let codes = sqlx::query!(
            "DELETE FROM oauth_codes WHERE expires_at < ?1",
            codes_before
        )
        .execute(&mut *conn)
        .await?;
        let sessions = sqlx::query!(
            "DELETE FROM browser_sessions WHERE expires_at < ?1 OR ended_at IS NOT NULL",
            now
        )
        .execute(&mut *conn)
        .await?;
        Ok(codes.rows_affected() + sessions.rows_affected())
    }

    async fn connected_apps(&self, user_id: Uuid) -> StoreResult<Vec<ConnectedApp>> {
        let user_id = text(user_id);
        let rows = sqlx::query!(
            "SELECT c.id, c.name, k.scopes, k.granted_at
             FROM oauth_consents k JOIN oauth_clients c ON c.id = k.client_id
             WHERE k.user_id = ?1 AND k.revoked_at IS NULL
             ORDER BY k.granted_at DESC, c.id",
            user_id
        )
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ConnectedApp {
                    scopes: stored_scopes(r.scopes.as_deref())?,
                    granted_at: parse_time(&r.granted_at)?,
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
        let user_id = text(user_id);
        let now = time::to_text(now);
        let mut conn = self.sqlx_writer().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let revoked = sqlx::query!(
            "UPDATE oauth_consents SET revoked_at = ?1
             WHERE user_id = ?2 AND client_id = ?3 AND revoked_at IS NULL",
            now,
            user_id,
            client_id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE oauth_grants SET revoked_at = ?1
             WHERE user_id = ?2 AND client_id = ?3 AND revoked_at IS NULL",
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
