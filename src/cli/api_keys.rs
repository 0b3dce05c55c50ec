//! `aiapi api-keys`: API keys without a running server.

use chrono::Duration;
use clap::{Args, Subcommand};
use uuid::Uuid;

use super::users::{find, store_err};
use super::{CliError, open_store, quiet_settings};
use serde_json::json;

use crate::audit::{self, Actor, Event};
use crate::auth::api_key;
use crate::domain::{ApiKey, AuditKind, time};
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
        /// Days until it expires; omitted means never.
        #[arg(long)]
        expires_in_days: Option<i64>,
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
        Ok(_) => execute(store.as_ref(), args.command).await,
        Err(e) => Err(e.into()),
    };
    store.close().await;
    result
}

async fn execute(store: &dyn Store, command: ApiKeysCommand) -> Result<(), CliError> {
    match command {
        ApiKeysCommand::Create {
            username,
            name,
            expires_in_days,
        } => {
            let user = find(store, &username).await?;
            if let Some(days) = expires_in_days
                && !(1..=3650).contains(&days)
            {
                return Err(CliError::Other(
                    "--expires-in-days must be between 1 and 3650".into(),
                ));
            }
            let material = api_key::generate();
            let now = time::now();
            let key = ApiKey {
                id: Uuid::new_v4(),
                user_id: user.id,
                name,
                prefix: material.prefix,
                key_hash: material.hash,
                created_at: now,
                last_used_at: None,
                expires_at: expires_in_days.map(|d| now + Duration::days(d)),
                revoked_at: None,
            };
            store.create_api_key(&key).await.map_err(store_err)?;
            let details = json!({"key_id": key.id, "owner_id": user.id, "name": key.name, "prefix": key.prefix});
            audit::record(
                store,
                Event::new(AuditKind::Auth, "api_key_created", Actor::system(), details),
            )
            .await?;
            eprintln!("key {} for {username}; it is shown once, keep it:", key.id);
            println!("{}", material.key);
        }
        ApiKeysCommand::List { username } => {
            let user = find(store, &username).await?;
            let keys = store.list_api_keys(user.id).await.map_err(store_err)?;
            println!("{:<36}  {:<12}  {:<8}  name", "id", "prefix", "state");
            let now = time::now();
            for k in &keys {
                let state = match (k.revoked_at, k.is_usable(now)) {
                    (Some(_), _) => "revoked",
                    (None, false) => "expired",
                    (None, true) => "active",
                };
                println!("{:<36}  {:<12}  {:<8}  {}", k.id, k.prefix, state, k.name);
            }
        }
        ApiKeysCommand::Revoke { id } => {
            let key = store
                .revoke_api_key(id, None, time::now())
                .await
                .map_err(|e| match e {
                    crate::store::StoreError::NotFound => {
                        CliError::Other(format!("no API key {id}"))
                    }
                    other => store_err(other),
                })?;
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
