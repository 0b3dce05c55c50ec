//! How the OAuth authorization server learns of clients: registration
//! (`AIAPI_OAUTH_REGISTRATION`, `AIAPI_OAUTH_REGISTRATIONS_PER_ADDR`) and
//! client metadata documents (`AIAPI_OAUTH_CLIENT_DOCUMENTS`,
//! `AIAPI_OAUTH_DOCUMENT_PRIVATE_ADDRS`).

use super::vars::{ConfigError, Vars, choice_var, positive_var};

/// Who may register OAuth clients dynamically (RFC 7591).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRegistration {
    /// Anyone: what the AI apps that connect to `/mcp` need.
    Open,
    /// Only callers with `manage:users` (a bearer token or API key).
    Admin,
    /// Nobody: the endpoint is not served or advertised.
    Off,
}

/// How OAuth clients may register, and how often from one address.
#[derive(Debug, Clone, Copy)]
pub struct OAuthPolicy {
    /// Open, admin or off.
    pub registration: ClientRegistration,
    /// Client registrations one address may make an hour.
    pub registrations_per_addr: i64,
    /// Whether a `client_id` may be the https URL of a Client ID Metadata
    /// Document, which the server fetches.
    pub client_documents: bool,
    /// Whether those documents may be fetched from private addresses
    /// (an internal network's), not only public ones.
    pub document_private_addrs: bool,
}

impl OAuthPolicy {
    /// Reads the policy.
    pub fn from_vars(vars: &dyn Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            registration: choice_var(
                vars,
                "AIAPI_OAUTH_REGISTRATION",
                ClientRegistration::Open,
                &[
                    ("open", ClientRegistration::Open),
                    ("admin", ClientRegistration::Admin),
                    ("off", ClientRegistration::Off),
                ],
            )?,
            registrations_per_addr: positive_var(
                vars,
                "AIAPI_OAUTH_REGISTRATIONS_PER_ADDR",
                10,
                "a whole number",
            )?,
            client_documents: choice_var(
                vars,
                "AIAPI_OAUTH_CLIENT_DOCUMENTS",
                true,
                &[("on", true), ("off", false)],
            )?,
            document_private_addrs: choice_var(
                vars,
                "AIAPI_OAUTH_DOCUMENT_PRIVATE_ADDRS",
                false,
                &[("refuse", false), ("allow", true)],
            )?,
        })
    }
}
