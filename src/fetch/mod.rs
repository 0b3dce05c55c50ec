//! The one place this server makes outbound HTTP requests: fetching a JSON
//! document a client names by URL (an OAuth client metadata document).
//! Every fetch is bounded: https only (plain http to loopback in
//! development), no redirects, no proxy, a time limit, a size limit, and a
//! resolver that refuses private and loopback addresses unless allowed.

mod address;
mod freshness;

use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use serde_json::Value;
use url::{Host, Url};

use address::GuardedResolver;
pub use address::Reach;
pub use freshness::MAX_FRESH;

/// The largest document fetched.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// How long one fetch may take, connection included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where fetches may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Non-public addresses a fetch may reach.
    pub reach: Reach,
    /// Whether `http://` is allowed to loopback hosts (development only).
    pub http_loopback: bool,
}

/// A fetched JSON document and how long it may be used without fetching
/// it again (from its `Cache-Control`).
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The parsed body.
    pub body: Value,
    /// How long it stays fresh.
    pub fresh_for: Duration,
}

/// Why a fetch failed, in words fit for the person waiting on a page.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not one this server fetches.
    #[error("{0}")]
    Refused(String),
    /// The host did not answer as it should.
    #[error("{0}")]
    Failed(String),
}

/// Fetches documents within a [`FetchPolicy`].
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: FetchPolicy,
}

fn is_loopback_host(host: Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

impl Fetcher {
    /// A fetcher that keeps to `policy`.
    pub fn new(policy: FetchPolicy) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .dns_resolver(GuardedResolver(policy.reach))
            .user_agent(concat!("aiapi/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Failed(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { client, policy })
    }

    /// Refuses a URL this policy does not fetch, before any connection.
    fn admit(&self, url: &Url) -> Result<(), FetchError> {
        let host = url
            .host()
            .ok_or_else(|| FetchError::Refused("the address names no host".into()))?;
        match url.scheme() {
            "https" => {}
            "http" if self.policy.http_loopback && is_loopback_host(host.clone()) => {}
            _ => return Err(FetchError::Refused("the address is not https".into())),
        }
        // The resolver never sees an address written as one.
        let literal = match host {
            Host::Ipv4(ip) => Some(ip.into()),
            Host::Ipv6(ip) => Some(ip.into()),
            Host::Domain(_) => None,
        };
        if literal.is_some_and(|ip| !self.policy.reach.allows(ip)) {
            return Err(FetchError::Refused(
                "the address is not a public one".into(),
            ));
        }
        Ok(())
    }

    /// Fetches `url` as JSON.
    pub async fn json(&self, url: &Url) -> Result<Fetched, FetchError> {
        self.admit(url)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let failed = |what: String| FetchError::Failed(format!("{host}: {what}"));
        let mut response = self
            .client
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| failed(describe(&e)))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(failed(format!(
                "answered {status}, a redirect, which is not followed"
            )));
        }
        if !status.is_success() {
            return Err(failed(format!("answered {status}")));
        }
        let json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let essence = v.split(';').next().unwrap_or_default().trim();
                essence.eq_ignore_ascii_case("application/json")
                    || essence.to_ascii_lowercase().ends_with("+json")
            });
        if !json {
            return Err(failed("did not answer with application/json".into()));
        }
        let fresh_for = freshness::from_cache_control(
            response
                .headers()
                .get_all(CACHE_CONTROL)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| failed(describe(&e)))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(failed(format!(
                    "the document is larger than {MAX_DOCUMENT_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let body = serde_json::from_slice(&body)
            .map_err(|e| failed(format!("the document is not JSON: {e}")))?;
        Ok(Fetched { body, fresh_for })
    }
}

/// reqwest's error, said without its chain of internals.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("no answer within {} s", FETCH_TIMEOUT.as_secs())
    } else if error.is_connect() {
        // The resolver's refusal is the useful part of the chain.
        let mut source: Option<&dyn std::error::Error> = Some(error);
        let mut last = String::from("cannot connect");
        while let Some(e) = source {
            last = e.to_string();
            source = e.source();
        }
        format!("cannot connect ({last})")
    } else {
        "the request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetcher(http_loopback: bool) -> Fetcher {
        Fetcher::new(FetchPolicy {
            reach: Reach {
                loopback: http_loopback,
                private: false,
            },
            http_loopback,
        })
        .unwrap()
    }

    fn refusal(fetcher: &Fetcher, url: &str) -> Option<String> {
        fetcher
            .admit(&Url::parse(url).unwrap())
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn production_fetches_only_https_to_public_hosts() {
        let production = fetcher(false);
        assert_eq!(
            refusal(&production, "https://app.example/client.json"),
            None
        );
        for refused in [
            "http://app.example/client.json",
            "http://127.0.0.1:9/c.json",
            "https://127.0.0.1/c.json",
            "https://[::1]/c.json",
            "https://169.254.169.254/latest",
            "https://10.0.0.1/c.json",
            "ftp://app.example/c.json",
        ] {
            assert!(refusal(&production, refused).is_some(), "{refused}");
        }
    }

    #[test]
    fn development_also_fetches_plain_http_from_loopback() {
        let development = fetcher(true);
        assert_eq!(refusal(&development, "http://127.0.0.1:9/c.json"), None);
        assert_eq!(refusal(&development, "http://localhost:9/c.json"), None);
        assert!(refusal(&development, "http://app.example/c.json").is_some());
        assert!(refusal(&development, "https://10.0.0.1/c.json").is_some());
    }
}
