//! Lower-case hex SHA-256, the one digest form the service stores and shows
//! (audit chain hashes, API key hashes, throttle keys, truncated values).

use sha2::{Digest, Sha256};

/// `digest` as lower-case hex.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
