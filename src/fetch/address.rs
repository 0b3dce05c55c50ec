//! Which addresses an outbound fetch may reach, and a DNS resolver that
//! keeps to them: a URL a stranger names (a client metadata document) must
//! not make this server read its own admin ports or the cloud metadata
//! endpoint (SSRF).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What a fetch may reach besides the public internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// Loopback addresses (development, so tests can serve a document).
    pub loopback: bool,
    /// Private, link-local and other non-public ranges (an operator's
    /// choice, for clients hosted on an internal network).
    pub private: bool,
}

/// The class of an address, as far as outbound fetches care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Public,
    Loopback,
    Private,
}

fn class_v4(ip: Ipv4Addr) -> Class {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        // 100.64/10 (carrier-grade NAT), 192.0.0/24 (IETF protocol
        // assignments), 198.18/15 (benchmarking), 240/4 (reserved), 0/8.
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240
        || a == 0
    {
        Class::Private
    } else {
        Class::Public
    }
}

fn class_v6(ip: Ipv6Addr) -> Class {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return class_v4(v4);
    }
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7 unique local, fe80::/10 link-local, 2001:db8::/32
        // documentation, 64:ff9b::/96 NAT64 (it reaches IPv4 ranges this
        // check cannot see), ::/96 IPv4-compatible.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0xdb8)
        || (first == 0x64 && ip.segments()[1] == 0xff9b)
        || ip.segments()[..6].iter().all(|s| *s == 0)
    {
        Class::Private
    } else {
        Class::Public
    }
}

impl Reach {
    /// Whether a fetch may connect to `ip`.
    pub fn allows(self, ip: IpAddr) -> bool {
        let class = match ip {
            IpAddr::V4(v4) => class_v4(v4),
            IpAddr::V6(v6) => class_v6(v6),
        };
        match class {
            Class::Public => true,
            Class::Loopback => self.loopback || self.private,
            Class::Private => self.private,
        }
    }
}

/// Resolves with the system resolver and drops every address `reach`
/// refuses; a name with none left fails to resolve. Checking here, on the
/// addresses the connection will use, leaves no gap between a check and a
/// second lookup (DNS rebinding).
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver(pub Reach);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                found.into_iter().filter(|a| reach.allows(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC_ONLY: Reach = Reach {
        loopback: false,
        private: false,
    };

    #[test]
    fn only_public_addresses_pass_by_default() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::7f00:1",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert!(!PUBLIC_ONLY.allows(ip), "{refused} was allowed");
        }
        for allowed in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            let ip: IpAddr = allowed.parse().unwrap();
            assert!(PUBLIC_ONLY.allows(ip), "{allowed} was refused");
        }
    }

    #[test]
    fn loopback_and_private_ranges_open_only_when_asked() {
        let loopback = Reach {
            loopback: true,
            private: false,
        };
        assert!(loopback.allows("127.0.0.1".parse().unwrap()));
        assert!(loopback.allows("::1".parse().unwrap()));
        assert!(!loopback.allows("10.0.0.1".parse().unwrap()));
        let private = Reach {
            loopback: false,
            private: true,
        };
        assert!(private.allows("10.0.0.1".parse().unwrap()));
    }
}
