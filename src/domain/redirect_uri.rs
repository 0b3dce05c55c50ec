//! Which redirect URIs an OAuth client may register (OAuth 2.1 section
//! 2.3.1, RFC 8252 for native apps): `https` anywhere, `http` only on a
//! loopback host (a local app listening on a port it picks), and an app's
//! private-use scheme (`cursor://...`). Never a fragment, never a scheme a
//! browser would run or read locally.

use url::{Host, Url};

/// The longest redirect URI accepted.
pub const MAX_REDIRECT_URI: usize = 2000;

/// Schemes that are never a redirect target: a browser would run them,
/// read local data, or they are no app's.
const REFUSED_SCHEMES: [&str; 16] = [
    "javascript",
    "data",
    "file",
    "vbscript",
    "about",
    "blob",
    "ftp",
    "ws",
    "wss",
    "intent",
    "view-source",
    "chrome",
    "chrome-extension",
    "mailto",
    "tel",
    "sms",
];

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{uri:?} {why}")]
pub struct BadRedirectUri {
    /// The URI as given (clipped).
    pub uri: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Whether `host` is this machine.
pub fn is_loopback(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks that `text` may be registered as a redirect URI, returning it
/// as given (matching is exact, so it is stored unchanged).
pub fn check(text: &str) -> Result<String, BadRedirectUri> {
    let bad = |why| BadRedirectUri {
        uri: text.chars().take(100).collect(),
        why,
    };
    if text.len() > MAX_REDIRECT_URI {
        return Err(bad("is longer than 2000 bytes"));
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("holds a control or space character"));
    }
    let url = Url::parse(text).map_err(|_| bad("is not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(bad("has a fragment, which a redirect URI may not have"));
    }
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "https" => return Err(bad("has no host")),
        "http" if is_loopback(url.host()) => {}
        "http" => {
            return Err(bad(
                "uses http on a host other than the loopback (127.0.0.1, [::1], localhost); use https",
            ));
        }
        scheme if REFUSED_SCHEMES.contains(&scheme) => {
            return Err(bad("uses a scheme that is never a redirect target"));
        }
        _ => {}
    }
    Ok(text.to_owned())
}

/// Whether `asked` (a request's `redirect_uri`) is `registered`: the same
/// string, except that a loopback `http` URI matches on any port (RFC 8252
/// section 7.3: a native app listens on whatever port is free).
pub fn matches(registered: &str, asked: &str) -> bool {
    if registered == asked {
        return true;
    }
    let (Ok(registered), Ok(asked)) = (Url::parse(registered), Url::parse(asked)) else {
        return false;
    };
    registered.scheme() == "http"
        && asked.scheme() == "http"
        && is_loopback(registered.host())
        && registered.host() == asked.host()
        && registered.path() == asked.path()
        && registered.query() == asked.query()
        && asked.fragment().is_none()
        && asked.username().is_empty()
        && asked.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_loopback_http_and_app_schemes_may_be_registered() {
        for good in [
            "https://claude.ai/api/mcp/auth_callback",
            "https://chatgpt.com/connector_platform_oauth_redirect",
            "http://127.0.0.1:33418/callback",
            "http://localhost/callback",
            "http://[::1]:8080/",
            "cursor://anysphere.cursor-retrieval/oauth/user-aiapi/callback",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(check(good).as_deref(), Ok(good), "{good}");
        }
    }

    #[test]
    fn what_could_leak_a_code_is_refused() {
        for bad in [
            "http://example.com/callback",
            "http://127.0.0.1.evil.example/cb",
            "https://claude.ai/cb#frag",
            "/relative/callback",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "https://",
            "https://a.example/c\u{7}b",
            "cursor://app/ cb",
            "",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
        assert!(check(&format!("https://a.example/{}", "x".repeat(2000))).is_err());
    }

    #[test]
    fn only_loopback_redirects_match_on_another_port() {
        assert!(matches("https://claude.ai/cb", "https://claude.ai/cb"));
        assert!(!matches("https://claude.ai/cb", "https://claude.ai/cb/"));
        assert!(!matches(
            "https://claude.ai/cb",
            "https://claude.ai:8443/cb"
        ));
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:53211/cb"));
        assert!(matches(
            "http://localhost:3000/cb",
            "http://localhost:4000/cb"
        ));
        assert!(!matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:53211/other"
        ));
        assert!(!matches("http://127.0.0.1/cb", "http://localhost:53211/cb"));
        assert!(!matches(
            "http://127.0.0.1/cb",
            "http://evil@127.0.0.1:1/cb"
        ));
        assert!(!matches("http://127.0.0.1/cb", "https://127.0.0.1:1/cb"));
    }
}
