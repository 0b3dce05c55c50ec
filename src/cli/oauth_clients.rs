//! `aiapi oauth-clients`: pre-registered OAuth clients, for apps that do
//! not register themselves.

use clap::{Args, Subcommand};

use super::{CliError, open_store, quiet_settings};
use crate::audit::Actor;
use crate::domain::{ClientSource, Permission, Scopes};
use crate::error::ApiError;
use crate::service::oauth::clients::{self, ClientRequest, TokenAuth};
use crate::store::Store;

/// Options of `aiapi oauth-clients`.
#[derive(Debug, Args)]
pub struct OAuthClientsArgs {
    #[command(subcommand)]
    command: OAuthClientsCommand,
}

#[derive(Debug, Subcommand)]
enum OAuthClientsCommand {
    /// Register a client and print its client_id (and, for a confidential
    /// client, its secret: the only time it is shown).
    Create {
        /// The name the consent page shows.
        name: String,
        /// A redirect URI, exactly as the client sends it: https, http on a
        /// loopback host (any port matches), or an app's own scheme.
        /// Repeat for more.
        #[arg(long = "redirect-uri", value_name = "URI", required = true)]
        redirect_uris: Vec<String>,
        /// The client keeps a secret (a server-side app); without it, the
        /// client is public and proves itself with PKCE alone.
        #[arg(long)]
        confidential: bool,
        /// A scope the client may ask for (repeat for more)
        /// [default: any]
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<Permission>,
    },
    /// List every client, newest first.
    List,
    /// Disable a client: its tokens stop working at once.
    Disable {
        /// The client_id, as `list` shows it.
        id: String,
    },
}

/// Runs an `oauth-clients` subcommand.
pub async fn run(args: OAuthClientsArgs) -> Result<(), CliError> {
    let common = quiet_settings()?;
    let store = open_store(&common).await?;
    let result = match store.migrate().await {
        Ok(_) => execute(store.as_ref(), args.command).await,
        Err(e) => Err(e.into()),
    };
    store.close().await;
    result
}

/// The CLI's words for what the service refused.
fn refused(e: ApiError) -> CliError {
    CliError::Other(e.to_string())
}

async fn execute(store: &dyn Store, command: OAuthClientsCommand) -> Result<(), CliError> {
    match command {
        OAuthClientsCommand::Create {
            name,
            redirect_uris,
            confidential,
            scopes,
        } => {
            let request = ClientRequest {
                name: Some(name),
                redirect_uris,
                auth: if confidential {
                    TokenAuth::SecretBasic
                } else {
                    TokenAuth::None
                },
                client_uri: None,
                scopes: (!scopes.is_empty()).then(|| scopes.into_iter().collect::<Scopes>()),
            };
            let registered = clients::register(store, Actor::system(), request, ClientSource::Cli)
                .await
                .map_err(refused)?;
            println!("client_id: {}", registered.client.id);
            if let Some(secret) = registered.secret {
                eprintln!("the secret is shown once, keep it:");
                println!("client_secret: {secret}");
            }
        }
        OAuthClientsCommand::List => {
            let listed = store.list_oauth_clients().await?;
            println!(
                "{:<27}  {:<8}  {:<12}  {:<10}  {:<24}  name",
                "client_id", "state", "kind", "source", "redirect URIs"
            );
            for c in &listed {
                let state = if c.disabled_at.is_some() {
                    "disabled"
                } else {
                    "active"
                };
                let kind = if c.secret_hash.is_some() {
                    "confidential"
                } else {
                    "public"
                };
                println!(
                    "{:<27}  {:<8}  {:<12}  {:<10}  {:<24}  {}",
                    c.id,
                    state,
                    kind,
                    c.source.as_str(),
                    c.redirect_uris.join(" "),
                    c.name
                );
            }
        }
        OAuthClientsCommand::Disable { id } => {
            let client = clients::disable(store, Actor::system(), &id)
                .await
                .map_err(refused)?;
            println!("disabled {} ({})", client.id, client.name);
        }
    }
    Ok(())
}
