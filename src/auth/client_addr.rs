//! The client's address: the TCP peer, or — only when the peer is a trusted
//! proxy — the last address in `X-Forwarded-For` that is not itself a
//! trusted proxy.

use std::net::IpAddr;

use poem::Request;

use crate::telemetry::EveryAtMost;

/// The warning about an untrusted `X-Forwarded-For`, once a minute.
static UNTRUSTED_WARNING: EveryAtMost = EveryAtMost::secs(60);

/// The address to attribute the request to.
pub fn client_addr(req: &Request, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip())?;
    if !trusted_proxies.contains(&peer) {
        if req.headers().contains_key("x-forwarded-for") {
            warn_untrusted_forwarding(peer);
        }
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted_proxies.contains(ip))
            .unwrap_or(peer),
    )
}

/// Logs, at most once a minute, that a peer sends `X-Forwarded-For` but is
/// not trusted: behind a proxy missing from `AIAPI_TRUSTED_PROXIES`, every
/// client shares the proxy's address, and so its per-address limits.
fn warn_untrusted_forwarding(peer: IpAddr) {
    if UNTRUSTED_WARNING.due() {
        tracing::warn!(
            %peer,
            "requests carry X-Forwarded-For from a peer not in AIAPI_TRUSTED_PROXIES: \
             the header is ignored and every client behind it shares the peer's address \
             for login limits and the audit log"
        );
    }
}
