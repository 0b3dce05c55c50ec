//! The clients of the OAuth authorization server, as stored.

use chrono::{DateTime, Utc};

use super::Scopes;

/// How a client came to be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSource {
    /// Dynamic Client Registration (RFC 7591).
    Registered,
    /// `aiapi oauth-clients create`.
    Cli,
    /// A Client ID Metadata Document: the `client_id` is its URL.
    Document,
}

impl ClientSource {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientSource::Registered => "registered",
            ClientSource::Cli => "cli",
            ClientSource::Document => "document",
        }
    }

    /// The source stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        [
            ClientSource::Registered,
            ClientSource::Cli,
            ClientSource::Document,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A client of the authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// The `client_id`.
    pub id: String,
    /// The name shown on the consent page.
    pub name: String,
    /// The redirect URIs registered, exactly as registered.
    pub redirect_uris: Vec<String>,
    /// SHA-256 of a confidential client's secret, hex; `None` for a public
    /// client (PKCE alone).
    pub secret_hash: Option<String>,
    /// How it was registered.
    pub source: ClientSource,
    /// Its home page, if it named one.
    pub client_uri: Option<String>,
    /// The scopes it registered for; `None` is any.
    pub scopes: Option<Scopes>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When an admin disabled it, if one did: its tokens stop working.
    pub disabled_at: Option<DateTime<Utc>>,
}
