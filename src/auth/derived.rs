//! Keys derived from `AIAPI_JWT_SECRET`, one per purpose, so that a value
//! made for one (a CSRF token, a stored code hash, a session cookie's
//! hash) is never valid as another: HMAC-SHA256 keyed by the secret over
//! a label of its own.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// A key for one purpose.
#[derive(Clone)]
pub struct DerivedKey([u8; 32]);

impl DerivedKey {
    /// The key for `label`, from `secret`.
    pub fn derive(secret: &Secret, label: &str) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(b"aiapi derived key: ");
        mac.update(label.as_bytes());
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length")
    }

    /// The tag of `data`, base64url.
    pub fn tag(&self, data: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(data);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `tag` is the tag of `data`, compared in constant time.
    pub fn verify(&self, data: &[u8], tag: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(data);
        mac.verify_slice(&tag).is_ok()
    }
}

/// The keys of the OAuth flow.
#[derive(Clone)]
pub struct FlowKeys {
    /// Hashes authorization codes for storage.
    pub code: DerivedKey,
    /// Binds a form's CSRF token to the browser's CSRF cookie.
    pub csrf: DerivedKey,
    /// Hashes browser-session cookies for storage.
    pub session: DerivedKey,
}

impl FlowKeys {
    /// The flow's keys from the signing secret.
    pub fn new(secret: &Secret) -> Self {
        Self {
            code: DerivedKey::derive(secret, "oauth code"),
            csrf: DerivedKey::derive(secret, "csrf"),
            session: DerivedKey::derive(secret, "browser session"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_has_its_own_key() {
        let keys = FlowKeys::new(&Secret::new("a-secret-that-is-at-least-32-bytes!!"));
        let tag = keys.csrf.tag(b"cookie");
        assert!(keys.csrf.verify(b"cookie", &tag));
        assert!(!keys.csrf.verify(b"cookie2", &tag));
        assert!(!keys.session.verify(b"cookie", &tag));
        assert!(!keys.csrf.verify(b"cookie", "not base64 !"));
        assert_ne!(keys.code.tag(b"x"), keys.session.tag(b"x"));
    }
}
