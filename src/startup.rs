//! What `serve` checks before it accepts a request: the JWT secret, and the
//! seeded accounts' default passwords.

use std::path::Path;

use crate::auth::secret;
use crate::config::{Environment, Secret, ServeSettings};
use crate::domain::seed::SEEDED_ACCOUNTS;
use crate::store::{Store, StoreError};

/// Why the server refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Production needs an explicit secret.
    #[error("AIAPI_JWT_SECRET must be set when AIAPI_ENV=production")]
    MissingJwtSecret,
    /// The development secret file cannot be read or written.
    #[error("cannot use the JWT secret file in {dir}: {source}")]
    SecretFile {
        /// The data directory.
        dir: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Seeded accounts still have their published passwords.
    #[error(
        "refusing to start in production: the seeded account(s) {0} still have their default \
         passwords; change them with `aiapi users set-password <username>`"
    )]
    DefaultPasswords(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The JWT secret: configured, or (development only) the generated one.
pub fn jwt_secret(settings: &ServeSettings, data_dir: &Path) -> Result<Secret, StartupError> {
    match (&settings.jwt_secret, settings.environment) {
        (Some(secret), _) => Ok(secret.clone()),
        (None, Environment::Production) => Err(StartupError::MissingJwtSecret),
        (None, Environment::Development) => {
            tracing::warn!(
                "AIAPI_JWT_SECRET is not set: using the generated secret in {}/jwt-secret",
                data_dir.display()
            );
            secret::load_or_create(data_dir).map_err(|source| StartupError::SecretFile {
                dir: data_dir.display().to_string(),
                source,
            })
        }
    }
}

/// Seeded accounts whose stored hash is still the seeded one (compared as
/// strings: nothing is hashed at start-up).
pub async fn accounts_with_default_passwords(
    store: &dyn Store,
) -> Result<Vec<&'static str>, StoreError> {
    let mut unchanged = Vec::new();
    for (username, seeded_hash) in SEEDED_ACCOUNTS {
        if let Some(user) = store.user_by_username(username).await?
            && user.password_hash == seeded_hash
        {
            unchanged.push(username);
        }
    }
    Ok(unchanged)
}

/// Warns about default passwords, or refuses to start in production.
pub async fn check_default_passwords(
    store: &dyn Store,
    environment: Environment,
) -> Result<(), StartupError> {
    let unchanged = accounts_with_default_passwords(store).await?;
    if unchanged.is_empty() {
        return Ok(());
    }
    let names = unchanged.join(", ");
    match environment {
        Environment::Production => Err(StartupError::DefaultPasswords(names)),
        Environment::Development => {
            tracing::warn!(
                accounts = %names,
                "seeded accounts still have their default passwords; change them with `aiapi users set-password <username>`"
            );
            Ok(())
        }
    }
}
