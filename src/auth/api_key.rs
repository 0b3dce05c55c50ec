//! API key material: `aiapi_` followed by 40 random base62 characters. Only
//! its SHA-256 is stored; the key is shown once, when it is made.

/// Every key starts with this, so a bearer token can be told apart from a JWT.
pub const KEY_PREFIX: &str = "aiapi_";
const RANDOM_CHARS: usize = 40;
/// How much of the key listings show.
const DISPLAY_CHARS: usize = KEY_PREFIX.len() + 6;

/// A newly generated key, before it is stored.
pub struct NewKey {
    /// The key itself: give it to the caller once, store it nowhere.
    pub key: String,
    /// The part shown in listings.
    pub prefix: String,
    /// What is stored.
    pub hash: String,
}

/// Makes a new random key.
pub fn generate() -> NewKey {
    let key = format!("{KEY_PREFIX}{}", super::random::base62(RANDOM_CHARS));
    NewKey {
        prefix: key[..DISPLAY_CHARS].to_owned(),
        hash: hash(&key),
        key,
    }
}

/// The stored form of a key: lower-case hex SHA-256.
pub fn hash(key: &str) -> String {
    crate::domain::digest::sha256_hex(key.as_bytes())
}

/// Whether a presented credential looks like one of our keys.
pub fn looks_like_key(credential: &str) -> bool {
    credential.starts_with(KEY_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hashed() {
        let a = generate();
        let b = generate();
        assert_ne!(a.key, b.key);
        assert!(a.key.starts_with("aiapi_") && a.key.len() == 46);
        assert!(a.key.starts_with(&a.prefix));
        assert_eq!(a.hash, hash(&a.key));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.key[6..]));
    }
}
