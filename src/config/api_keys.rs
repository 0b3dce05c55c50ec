//! How long API keys live (`AIAPI_API_KEY_DAYS`,
//! `AIAPI_API_KEY_NEVER_EXPIRE`).

use super::vars::{ConfigError, Vars, choice_var, positive_var};

/// The longest lifetime a key may be given.
pub const MAX_KEY_DAYS: i64 = 3650;

/// The lifetimes new API keys may have.
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyPolicy {
    /// The lifetime of a key made without one, in days.
    pub default_days: i64,
    /// Whether a key may be made that never expires.
    pub never_allowed: bool,
}

impl ApiKeyPolicy {
    /// Reads the policy.
    pub fn from_vars(vars: &dyn Vars) -> Result<Self, ConfigError> {
        let default_days = positive_var(vars, "AIAPI_API_KEY_DAYS", 90, "a whole number of days")?;
        if default_days > MAX_KEY_DAYS {
            return Err(ConfigError::new(
                "AIAPI_API_KEY_DAYS",
                format!("must be at most {MAX_KEY_DAYS}"),
            ));
        }
        Ok(Self {
            default_days,
            never_allowed: choice_var(
                vars,
                "AIAPI_API_KEY_NEVER_EXPIRE",
                false,
                &[("refuse", false), ("allow", true)],
            )?,
        })
    }
}
