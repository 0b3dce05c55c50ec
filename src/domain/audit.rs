//! Audit entries and the hash chain that makes the log tamper-evident.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::time;

/// The `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What kind of event a row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// A tool call, on either door.
    Tool,
    /// Login, logout, token and key events.
    Auth,
    /// Account and session administration.
    Admin,
}

/// Which door a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Surface {
    /// The REST API.
    Rest,
    /// The MCP endpoint.
    Mcp,
    /// The command line.
    Cli,
    /// The service itself: housekeeping such as expiring idle sessions.
    System,
    /// The auditors' web console.
    Console,
}

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was asked.
    Success,
    /// It ran and failed (a business failure or an internal error).
    Error,
    /// The caller lacked a permission.
    Denied,
    /// The arguments were invalid.
    Invalid,
    /// The tool, session or target does not exist (for this caller).
    NotFound,
    /// The caller was over a rate limit.
    RateLimited,
    /// The caller cancelled it while it ran.
    Cancelled,
    /// A person asked to confirm it said no.
    Declined,
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }

            /// Parses the stored text.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

text_enum!(AuditKind { Tool => "tool", Auth => "auth", Admin => "admin" });
text_enum!(Surface {
    Rest => "rest",
    Mcp => "mcp",
    Cli => "cli",
    System => "system",
    Console => "console",
});
text_enum!(Outcome {
    Success => "success",
    Error => "error",
    Denied => "denied",
    Invalid => "invalid",
    NotFound => "not_found",
    RateLimited => "rate_limited",
    Cancelled => "cancelled",
    Declined => "declined",
});

/// One audit row before it is chained.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// When it happened (microseconds).
    pub occurred_at: DateTime<Utc>,
    /// Tool, auth or admin.
    pub kind: AuditKind,
    /// The tool name or event name.
    pub action: String,
    /// Who, if known.
    pub user_id: Option<Uuid>,
    /// Their username at the time (or as typed, for failed logins).
    pub username: Option<String>,
    /// `bearer` or `api_key`.
    pub auth_method: Option<String>,
    /// The API key used, if one was.
    pub api_key_id: Option<Uuid>,
    /// The session, if any.
    pub session_id: Option<String>,
    /// Which door.
    pub surface: Surface,
    /// Canonical JSON text of the redacted arguments.
    pub arguments: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
    /// The request's id.
    pub request_id: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
    /// The approval a person gave for this call, if one was needed.
    pub approval_id: Option<Uuid>,
    /// The OAuth client whose token made the call, if one did.
    pub oauth_client_id: Option<String>,
    /// The request id the client sent, kept beside our own.
    pub client_request_id: Option<String>,
}

impl AuditEntry {
    /// The row's hash given the previous row's: SHA-256 over the previous
    /// hash and every stored field, each length-prefixed so no two rows can
    /// share an encoding. Timestamps use the stored text form. The fields
    /// added after the first release (migration V11) come last and only
    /// when set, each behind its name, so rows written before them hash as
    /// they always did.
    pub fn chain_hash(&self, prev_hash: &str) -> String {
        let mut hasher = Sha256::new();
        let mut field = |value: Option<&str>| match value {
            None => hasher.update(b"-"),
            Some(v) => {
                hasher.update((v.len() as u64).to_be_bytes());
                hasher.update(v.as_bytes());
            }
        };
        field(Some(prev_hash));
        field(Some(&time::to_text(self.occurred_at)));
        field(Some(self.kind.as_str()));
        field(Some(&self.action));
        field(self.user_id.map(|u| u.hyphenated().to_string()).as_deref());
        field(self.username.as_deref());
        field(self.auth_method.as_deref());
        field(
            self.api_key_id
                .map(|u| u.hyphenated().to_string())
                .as_deref(),
        );
        field(self.session_id.as_deref());
        field(Some(self.surface.as_str()));
        field(Some(&self.arguments));
        field(Some(self.outcome.as_str()));
        field(self.error.as_deref());
        field(Some(&self.duration_ms.to_string()));
        field(self.request_id.as_deref());
        field(self.client_addr.as_deref());
        let approval_id = self.approval_id.map(|u| u.hyphenated().to_string());
        for (name, value) in [
            ("approval_id", approval_id.as_deref()),
            ("oauth_client_id", self.oauth_client_id.as_deref()),
            ("client_request_id", self.client_request_id.as_deref()),
        ] {
            if let Some(value) = value {
                field(Some(name));
                field(Some(value));
            }
        }
        super::digest::hex(&hasher.finalize())
    }
}

/// Field names whose values never reach the audit log, compared without
/// case, `_` or `-` (so `pass_word` and `Api-Key` count).
fn is_secret_key(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    matches!(key.as_str(), "pass" | "pwd" | "pin" | "otp")
        || [
            "password",
            "passwd",
            "passphrase",
            "secret",
            "token",
            "apikey",
            "authorization",
            "credential",
            "privatekey",
            "cookie",
        ]
        .iter()
        .any(|s| key.contains(s))
}

/// Whether `text` holds one of our own secrets, whatever its key: an API
/// key (`aiapi_` and 40 base62 characters) or a JWT (three base64url
/// segments, the first a JSON object).
fn looks_secret(text: &str) -> bool {
    let token_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let api_key = text.match_indices("aiapi_").any(|(at, prefix)| {
        text[at + prefix.len()..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .count()
            >= 40
    });
    let jwt = text.match_indices("eyJ").any(|(at, _)| {
        let candidate: String = text[at..]
            .chars()
            .take_while(|c| token_char(*c) || *c == '.')
            .collect();
        let parts: Vec<&str> = candidate.split('.').collect();
        parts.len() >= 3 && parts[..3].iter().all(|p| p.len() >= 4)
    });
    api_key || jwt
}

/// `value` with secrets replaced by `"***"`, as canonical JSON text (object
/// keys sorted, no whitespace) so the stored bytes are stable.
pub fn redacted_canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    if is_secret_key(key) {
                        out.push_str("\"***\"");
                    } else {
                        write(&map[key], out);
                    }
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            Value::String(text) if looks_secret(text) => out.push_str("\"***\""),
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_are_canonical_and_redacted() {
        let args = json!({"b": 1, "a": {"password": "hunter2", "z": [1, {"api_key": "k", "y": null}]}, "access_token": "t"});
        assert_eq!(
            redacted_canonical_json(&args),
            r#"{"a":{"password":"***","z":[1,{"api_key":"***","y":null}]},"access_token":"***","b":1}"#
        );
    }

    #[test]
    fn secrets_are_found_by_wider_names_and_by_their_shape() {
        let key = format!("aiapi_{}", "A1b2C3d4E5".repeat(4));
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2ln";
        let args = json!({
            "pwd": "a", "pass_word": "b", "Api-Key": "c", "note": format!("use {key} now"),
            "header": format!("Bearer {jwt}"), "q": "aiapi_short", "name": "eyJ alone"
        });
        assert_eq!(
            redacted_canonical_json(&args),
            r#"{"Api-Key":"***","header":"***","name":"eyJ alone","note":"***","pass_word":"***","pwd":"***","q":"aiapi_short"}"#
        );
    }

    #[test]
    fn the_hash_covers_every_field_and_the_previous_hash() {
        let entry = AuditEntry {
            occurred_at: time::now(),
            kind: AuditKind::Tool,
            action: "create_item".into(),
            user_id: Some(Uuid::new_v4()),
            username: Some("alice".into()),
            auth_method: Some("bearer".into()),
            api_key_id: None,
            session_id: None,
            surface: Surface::Rest,
            arguments: "{}".into(),
            outcome: Outcome::Success,
            error: None,
            duration_ms: 3,
            request_id: Some("r".into()),
            client_addr: None,
            approval_id: None,
            oauth_client_id: None,
            client_request_id: None,
        };
        let h = entry.chain_hash(GENESIS_HASH);
        assert_eq!(h.len(), 64);
        assert_ne!(h, entry.chain_hash(&h));
        let mut changed = entry.clone();
        changed.duration_ms = 4;
        assert_ne!(h, changed.chain_hash(GENESIS_HASH));
        let mut moved = entry.clone();
        moved.username = None;
        moved.auth_method = Some("alicebearer".into());
        assert_ne!(h, moved.chain_hash(GENESIS_HASH));
    }

    /// A row without the V11 fields hashes exactly as rows did before them
    /// (the encoding the README documents, written out here on its own), so
    /// every chain written before the migration still verifies.
    #[test]
    fn rows_without_the_new_fields_hash_as_before() {
        let id = Uuid::parse_str("6f1c2a40-1d2b-4c3d-8e9f-0a1b2c3d4e5f").unwrap();
        let entry = AuditEntry {
            occurred_at: time::from_text("2026-11-30T12:00:00.123456Z").unwrap(),
            kind: AuditKind::Tool,
            action: "create_item".into(),
            user_id: Some(id),
            username: Some("alice".into()),
            auth_method: Some("bearer".into()),
            api_key_id: None,
            session_id: Some("s-1".into()),
            surface: Surface::Mcp,
            arguments: r#"{"name":"lamp"}"#.into(),
            outcome: Outcome::Success,
            error: None,
            duration_ms: 7,
            request_id: Some("r-1".into()),
            client_addr: None,
            approval_id: None,
            oauth_client_id: None,
            client_request_id: None,
        };
        let mut expected = Sha256::new();
        for field in [
            Some(GENESIS_HASH),
            Some("2026-11-30T12:00:00.123456Z"),
            Some("tool"),
            Some("create_item"),
            Some("6f1c2a40-1d2b-4c3d-8e9f-0a1b2c3d4e5f"),
            Some("alice"),
            Some("bearer"),
            None,
            Some("s-1"),
            Some("mcp"),
            Some(r#"{"name":"lamp"}"#),
            Some("success"),
            None,
            Some("7"),
            Some("r-1"),
            None,
        ] {
            match field {
                None => expected.update(b"-"),
                Some(v) => {
                    expected.update((v.len() as u64).to_be_bytes());
                    expected.update(v.as_bytes());
                }
            }
        }
        let expected: String = expected
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(entry.chain_hash(GENESIS_HASH), expected);
    }

    #[test]
    fn new_fields_count_only_when_set_and_by_name() {
        let entry = AuditEntry {
            occurred_at: time::now(),
            kind: AuditKind::Auth,
            action: "login".into(),
            user_id: None,
            username: None,
            auth_method: None,
            api_key_id: None,
            session_id: None,
            surface: Surface::System,
            arguments: "{}".into(),
            outcome: Outcome::Success,
            error: None,
            duration_ms: 0,
            request_id: None,
            client_addr: None,
            approval_id: None,
            oauth_client_id: None,
            client_request_id: None,
        };
        let plain = entry.chain_hash(GENESIS_HASH);
        let with_client = AuditEntry {
            oauth_client_id: Some("x".into()),
            ..entry.clone()
        };
        let with_request = AuditEntry {
            client_request_id: Some("x".into()),
            ..entry.clone()
        };
        let a = with_client.chain_hash(GENESIS_HASH);
        let b = with_request.chain_hash(GENESIS_HASH);
        assert_ne!(plain, a);
        assert_ne!(plain, b);
        assert_ne!(a, b, "the same value in another new field hashes apart");
    }
}
