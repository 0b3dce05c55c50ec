//! Timeouts and caps on client connections (`AIAPI_HEADER_READ_SECS` and
//! the rest).

use std::net::IpAddr;
use std::time::Duration;

use super::vars::{ConfigError, Vars, positive_var};

/// The smallest read buffer hyper accepts, so the smallest header cap.
const MIN_HEADER_BYTES: usize = 8 * 1024;

/// How long a client may take, and how many connections it may hold.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// From a request's first byte to the end of its head.
    pub header_read_timeout: Duration,
    /// From a request's head to the end of its body.
    pub body_read_timeout: Duration,
    /// A kept-alive connection with no request in flight is closed after
    /// this; streamed responses (SSE) are in flight and never idle.
    pub idle_timeout: Duration,
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections from one client address.
    pub max_connections_per_addr: usize,
    /// Largest request head (request line and headers).
    pub max_header_bytes: usize,
    /// Addresses the per-address cap does not apply to: trusted proxies,
    /// which carry many clients.
    pub uncapped_addrs: Vec<IpAddr>,
}

impl ConnectionLimits {
    /// Reads the limits; `trusted_proxies` are exempt from the per-address
    /// cap.
    pub fn from_vars(vars: &dyn Vars, trusted_proxies: &[IpAddr]) -> Result<Self, ConfigError> {
        let secs = |name, default| -> Result<Duration, ConfigError> {
            positive_var(vars, name, default, "a whole number of seconds").map(Duration::from_secs)
        };
        let max_header_bytes = positive_var(
            vars,
            "AIAPI_MAX_HEADER_BYTES",
            64 * 1024,
            "a whole number of bytes",
        )?;
        if max_header_bytes < MIN_HEADER_BYTES {
            return Err(ConfigError::new(
                "AIAPI_MAX_HEADER_BYTES",
                format!("must be at least {MIN_HEADER_BYTES}"),
            ));
        }
        Ok(Self {
            header_read_timeout: secs("AIAPI_HEADER_READ_SECS", 10)?,
            body_read_timeout: secs("AIAPI_BODY_READ_SECS", 30)?,
            idle_timeout: secs("AIAPI_KEEP_ALIVE_SECS", 60)?,
            max_connections: positive_var(vars, "AIAPI_MAX_CONNECTIONS", 1024, "a whole number")?,
            max_connections_per_addr: positive_var(
                vars,
                "AIAPI_MAX_CONNECTIONS_PER_ADDR",
                64,
                "a whole number",
            )?,
            max_header_bytes,
            uncapped_addrs: trusted_proxies.to_vec(),
        })
    }
}
