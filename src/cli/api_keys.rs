//! `aiapi api-keys`: API keys without a running server.

use clap::{Args, Subcommand};
use uuid::Uuid;

use super::users::{find, store_err};
use super::{CliError, open_store, quiet_settings};
use serde_json::json;

use crate::audit::{self, Actor, Event};
use crate::config::ApiKeyPolicy;
use crate::domain::{AuditKind, Permission, time};
use crate::error::ApiError;
use crate::service::api_keys::{self, Lifetime, ScopeRequest};
use crate::store::Store;

/// Options of `aiapi api-keys`.
#[derive(Debug, Args)]
pub struct ApiKeysArgs {
    #[command(subcommand)]
    command: ApiKeysCommand,
}

#[derive(Debug, Subcommand)]
enum ApiKeysCommand {
    /// Make a key for a user and print it (the only time it is shown).
    Create {
        /// The owner's login name.
        username: String,
        /// A label for the key.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until it expires [default: AIAPI_API_KEY_DAYS, 90]
        #[arg(long, conflicts_with = "never_expires")]
        expires_in_days: Option<i64>,
        /// A key that never expires; refused unless
        /// AIAPI_API_KEY_NEVER_EXPIRE=allow
        #[arg(long)]
        never_expires: bool,
        /// A permission the key may use (repeat for more: read:items,
        /// write:items, delete:items, manage:users, use:mcp_tools,
        /// admin:mcp, read:audit), none beyond the owner's role
        /// [default: the owner's whole role]
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<Permission>,
    },
    /// List a user's keys (prefixes only).
    List {
        /// The owner's login name.
        username: String,
    },
    /// Revoke a key by id.
    Revoke {
        /// The key's id, as `list` shows it.
        id: Uuid,
    },
}

/// Runs an `api-keys` subcommand.
pub async fn run(args: ApiKeysArgs) -> Result<(), CliError> {
    let common = quiet_settings()?;
    let store = open_store(&common).await?;
    // Operators may run this before the first `serve`: bring the schema up first.
    let result = match store.migrate().await {
        Ok(_) => execute(store.as_ref(), &common.api_keys, args.command).await,
        Err(e) => Err(e.into()),
    };
    store.close().await;
    result
}

/// The CLI's words for what the service refused.
fn refused(e: ApiError) -> CliError {
    CliError::Other(e.to_string())
}

async fn execute(
    store: &dyn Store,
    policy: &ApiKeyPolicy,
    command: ApiKeysCommand,
) -> Result<(), CliError> {
    match command {
        ApiKeysCommand::Create {
            username,
            name,
            expires_in_days,
            never_expires,
            scopes,
        } => {
            let user = find(store, &username).await?;
            let lifetime = Lifetime {
                days: expires_in_days,
                never: never_expires,
            };
            let asked = (!scopes.is_empty()).then(|| scopes.into_iter().collect());
            let scopes = ScopeRequest::for_role(user.role, asked);
            let planned =
                api_keys::plan(policy, &name, lifetime, scopes, time::now()).map_err(refused)?;
            let minted = api_keys::mint(store, Actor::system(), &user, planned)
                .await
                .map_err(refused)?;
            let key = minted.key;
            eprintln!("key {} for {username}; it is shown once, keep it:", key.id);
            println!("{}", minted.secret);
        }
        ApiKeysCommand::List { username } => {
            let user = find(store, &username).await?;
            let keys = store.list_api_keys(user.id).await.map_err(store_err)?;
            println!(
                "{:<36}  {:<12}  {:<8}  {:<10}  {:<24}  name",
                "id", "prefix", "state", "expires", "scopes"
            );
            let now = time::now();
            for k in &keys {
                let state = match (k.revoked_at, k.is_usable(now)) {
                    (Some(_), _) => "revoked",
                    (None, false) => "expired",
                    (None, true) => "active",
                };
                let expires = k.expires_at.map_or_else(
                    || "never".to_owned(),
                    |at| at.format("%Y-%m-%d").to_string(),
                );
                let scopes = k
                    .scopes
                    .map_or_else(|| "(whole role)".to_owned(), |s| s.to_string());
                println!(
                    "{:<36}  {:<12}  {:<8}  {:<10}  {:<24}  {}",
                    k.id, k.prefix, state, expires, scopes, k.name
                );
            }
        }
        ApiKeysCommand::Revoke { id } => {
            let now = time::now();
            let key = store
                .revoke_api_key(id, None, now)
                .await
                .map_err(|e| match e {
                    crate::store::StoreError::NotFound => {
                        CliError::Other(format!("no API key {id}"))
                    }
                    other => store_err(other),
                })?;
            if let Some(at) = key.revoked_at.filter(|at| *at < now) {
                println!(
                    "{} ({}) was already revoked on {}; nothing changed",
                    key.id,
                    key.prefix,
                    at.to_rfc3339()
                );
                return Ok(());
            }
            let details = json!({"key_id": key.id, "owner_id": key.user_id, "prefix": key.prefix});
            audit::record(
                store,
                Event::new(AuditKind::Auth, "api_key_revoked", Actor::system(), details),
            )
            .await?;
            println!("revoked {} ({})", key.id, key.prefix);
        }
    }
    Ok(())
}
