//! Bounds on what a client can make us store. Every client-supplied value
//! that lands in a table (audit arguments and errors, `clientInfo`, the
//! protocol revision a client names) passes through here first, so no
//! caller can grow a row, an index entry or a page of reads without limit.

use serde_json::{Value, json};

use super::audit::redacted_canonical_json;

/// Largest stored `arguments` of an audit row, in bytes of canonical JSON.
pub const MAX_AUDIT_ARGUMENTS: usize = 8 * 1024;

/// Largest stored `clientInfo` of a session, in bytes of canonical JSON.
pub const MAX_CLIENT_INFO: usize = 2 * 1024;

/// Largest `initialize` parameters `/mcp` accepts, in bytes of JSON: the
/// transport keeps them with the session (to restore it on any replica).
pub const MAX_INITIALIZE_PARAMS: usize = 16 * 1024;

/// Largest stored error text of an audit row, in characters.
pub const MAX_ERROR_CHARS: usize = 1024;

/// Largest stored short label (a tool name as called, a protocol
/// revision, a client's request id), in characters.
pub const MAX_LABEL_CHARS: usize = 128;

/// `value` redacted, as canonical JSON, if that is at most `max` bytes;
/// otherwise the canonical JSON of `{"truncated": true, "bytes": N,
/// "sha256": "<hex of the full redacted text>"}`, which still says how
/// large the original was and lets a holder of it prove which it was.
pub fn stored_json(value: &Value, max: usize) -> String {
    let full = redacted_canonical_json(value);
    if full.len() <= max {
        return full;
    }
    redacted_canonical_json(&truncation_of(&full))
}

/// Like [`stored_json`], as a JSON value.
pub fn bounded_value(value: &Value, max: usize) -> Value {
    let full = redacted_canonical_json(value);
    if full.len() <= max {
        return value.clone();
    }
    truncation_of(&full)
}

fn truncation_of(full: &str) -> Value {
    let digest = super::digest::sha256_hex(full.as_bytes());
    json!({"truncated": true, "bytes": full.len(), "sha256": digest})
}

/// `text` cut to at most `max` characters, an ellipsis marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => {
            let mut cut = text[..end].to_owned();
            cut.push('…');
            cut
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_values_become_a_digest_of_themselves() {
        let small = json!({"q": "abc"});
        assert_eq!(stored_json(&small, 64), r#"{"q":"abc"}"#);
        let big = json!({"q": "x".repeat(100)});
        let stored: Value = serde_json::from_str(&stored_json(&big, 64)).unwrap();
        assert_eq!(stored["truncated"], true);
        assert_eq!(stored["bytes"], 108);
        assert_eq!(stored["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(bounded_value(&big, 64), stored);
        assert_eq!(bounded_value(&small, 64), small);
    }

    #[test]
    fn clipping_counts_characters_not_bytes() {
        assert_eq!(clip("héllo", 10), "héllo");
        assert_eq!(clip("héllo", 2), "hé…");
    }
}
