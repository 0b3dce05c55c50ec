//! `aiapi serve`: migrate, then serve until SIGINT/SIGTERM.

use crate::service::oauth::documents::ClientDocuments;
use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;

use super::{CliError, common_settings, open_or_create_store};
use crate::auth::derived::FlowKeys;
use crate::auth::jwt::JwtKeys;
use crate::auth::password::Passwords;
use crate::auth::throttle::LoginThrottle;
use crate::config::{ProcessEnv, ServeSettings, Vars};
use crate::state::AppState;
use crate::store::MigrationState;
use crate::{app, maintenance, startup};

/// Options of `aiapi serve`.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides AIAPI_BIND; port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// Do not apply pending migrations before serving.
    #[arg(long)]
    no_migrate: bool,
}

/// Runs the server.
pub async fn run(args: ServeArgs) -> Result<(), CliError> {
    let common = common_settings()?;
    let mut settings = ServeSettings::from_vars(&ProcessEnv, args.bind)?;
    let store = open_or_create_store(&common).await?;
    // A database without even the first migration was just made (SQLite)
    // or is empty: worth a line, since a wrong path would serve it silently.
    let new = store
        .migration_status()
        .await?
        .first()
        .is_some_and(|m| m.state == MigrationState::Pending);
    tracing::info!(
        database = %common.database_url.redacted(),
        backend = store.backend().as_str(),
        new,
        "{}",
        if new { "new, empty database opened" } else { "database opened" }
    );
    if args.no_migrate {
        let pending: Vec<String> = store
            .migration_status()
            .await?
            .into_iter()
            .filter(|m| m.state == MigrationState::Pending)
            .map(|m| format!("V{}__{}", m.version, m.name))
            .collect();
        if !pending.is_empty() {
            return Err(CliError::Other(format!(
                "the database has pending migrations ({}): run `aiapi migrate`, or serve without --no-migrate",
                pending.join(", ")
            )));
        }
    } else {
        for m in store.migrate().await? {
            tracing::info!(version = m.version, name = %m.name, "migration applied");
        }
    }
    let secret = startup::jwt_secret(&settings, &common.data_dir)?;
    startup::check_default_passwords(store.as_ref(), settings.environment).await?;
    let bound = app::bind(settings.bind)
        .await
        .map_err(|e| CliError::Other(format!("cannot listen on {}: {e}", settings.bind)))?;
    // Without AIAPI_PUBLIC_URL, links name the address actually bound (port 0 picks one).
    if ProcessEnv.get("AIAPI_PUBLIC_URL").is_none() {
        settings.public_url = format!("http://{}", bound.local_addr);
    }
    // The one line on stdout: scripts and tests read the bound address from it.
    println!("listening on http://{}", bound.local_addr);
    tracing::info!(addr = %bound.local_addr, "listening");
    if settings.trusted_proxies.is_empty() && !bound.local_addr.ip().is_loopback() {
        tracing::warn!(
            "AIAPI_TRUSTED_PROXIES is empty: X-Forwarded-For is ignored, so behind a proxy \
             every client shares the proxy's address for login limits, connection caps and \
             the audit log"
        );
    }
    let client_documents = ClientDocuments::new(&settings)
        .map_err(|e| CliError::Other(format!("client metadata documents: {e}")))?;
    let state = Arc::new(AppState {
        api_keys: common.api_keys,
        client_documents,
        jwt: JwtKeys::new(
            &secret,
            &settings.jwt_previous_secrets,
            chrono::Duration::from_std(settings.access_token_ttl).unwrap_or(chrono::Duration::MAX),
            chrono::Duration::from_std(settings.refresh_token_ttl).unwrap_or(chrono::Duration::MAX),
        )
        .accepting_oauth(
            &settings.public_url,
            &[settings.mcp_resource(), settings.rest_resource()],
        ),
        flow: FlowKeys::new(&secret),
        passwords: Passwords::for_this_machine(),
        login_throttle: LoginThrottle {
            max_failures_per_user: settings.login_max_failures,
            max_failures_per_addr: settings.login_max_failures_per_addr,
            window: chrono::Duration::from_std(settings.login_lockout)
                .unwrap_or(chrono::Duration::MAX),
        },
        metrics: crate::metrics::Metrics::new(),
        store,
        settings,
    });
    maintenance::spawn(state.clone());
    app::serve(bound, state)
        .await
        .map_err(|e| CliError::Other(format!("server failed: {e}")))
}
