//! Self-registration (`AIAPI_REGISTRATION`, `AIAPI_REGISTRATIONS_PER_ADDR`).

use super::vars::{ConfigError, Vars, choice_var, positive_var};

/// Whether anyone may register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Anyone may register an account with role `user`.
    Open,
    /// Only admins create accounts.
    Off,
}

/// Who may register, and how often from one address.
#[derive(Debug, Clone, Copy)]
pub struct RegistrationPolicy {
    /// Open or off.
    pub mode: Registration,
    /// Registration attempts one address may make an hour.
    pub per_addr: i64,
}

impl RegistrationPolicy {
    /// Reads the policy.
    pub fn from_vars(vars: &dyn Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            mode: choice_var(
                vars,
                "AIAPI_REGISTRATION",
                Registration::Open,
                &[("open", Registration::Open), ("off", Registration::Off)],
            )?,
            per_addr: positive_var(vars, "AIAPI_REGISTRATIONS_PER_ADDR", 20, "a whole number")?,
        })
    }
}
