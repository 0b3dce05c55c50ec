//! The JWT settings: the signing secret, the secrets it replaced, and the
//! token lifetimes.

use std::time::Duration;

use super::secret::Secret;
use super::vars::{ConfigError, Vars, list_var, positive_var};

const MIN_SECRET_BYTES: usize = 32;

fn long_enough(name: &'static str, secret: &Secret) -> Result<(), ConfigError> {
    if secret.expose().len() < MIN_SECRET_BYTES {
        return Err(ConfigError::new(
            name,
            format!("must be at least {MIN_SECRET_BYTES} bytes long"),
        ));
    }
    Ok(())
}

/// `AIAPI_JWT_SECRET`, which must be long enough to resist guessing.
pub(super) fn secret(vars: &dyn Vars) -> Result<Option<Secret>, ConfigError> {
    let secret = vars.get("AIAPI_JWT_SECRET").map(Secret::new);
    if let Some(secret) = &secret {
        long_enough("AIAPI_JWT_SECRET", secret)?;
    }
    Ok(secret)
}

/// `AIAPI_JWT_PREVIOUS_SECRETS`: comma-separated secrets that signed
/// tokens still in circulation. They verify, and never sign.
pub(super) fn previous_secrets(vars: &dyn Vars) -> Result<Vec<Secret>, ConfigError> {
    let secrets: Vec<Secret> = list_var(vars, "AIAPI_JWT_PREVIOUS_SECRETS")
        .into_iter()
        .map(Secret::new)
        .collect();
    for secret in &secrets {
        long_enough("AIAPI_JWT_PREVIOUS_SECRETS", secret)?;
    }
    Ok(secrets)
}

/// The lifetimes of access and refresh tokens.
pub(super) fn token_lifetimes(vars: &dyn Vars) -> Result<(Duration, Duration), ConfigError> {
    let access_minutes: u64 = positive_var(
        vars,
        "AIAPI_ACCESS_TOKEN_MINUTES",
        30,
        "a whole number of minutes",
    )?;
    let refresh_days: u64 = positive_var(
        vars,
        "AIAPI_REFRESH_TOKEN_DAYS",
        7,
        "a whole number of days",
    )?;
    Ok((
        Duration::from_secs(access_minutes * 60),
        Duration::from_secs(refresh_days * 86_400),
    ))
}
