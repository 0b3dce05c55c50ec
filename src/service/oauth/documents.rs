//! Clients known by a Client ID Metadata Document (the MCP authorization
//! spec, draft-ietf-oauth-client-id-metadata-document): a `client_id` that
//! is an https URL names a JSON document of RFC 7591 metadata, which this
//! server fetches, checks and keeps as a client of source `document`, so
//! that consents, grants and an admin's disabling work as for any client.
//! The copy is used until the document's cache headers say it is stale.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use url::Url;

use super::clients::{self, Checked, TokenAuth};
use crate::audit::{Actor, Event};
use crate::config::{Environment, ServeSettings};
use crate::domain::redirect_uri::MAX_REDIRECT_URI;
use crate::domain::{AuditKind, ClientSource, OAuthClient, time};
use crate::fetch::{FetchError, FetchPolicy, Fetcher, Reach};
use crate::state::AppState;
use crate::store::StoreError;

/// Documents whose freshness is remembered; past this, the stale ones are
/// forgotten first, then all (the copies in the database stay).
const MAX_REMEMBERED: usize = 10_000;

/// Why a client cannot be found.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The `client_id` is a document URL that cannot be used, and why.
    #[error("{0}")]
    Document(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The fetcher and when each fetched document goes stale, on this replica.
pub struct ClientDocuments {
    fetcher: Option<Fetcher>,
    fresh_until: Mutex<HashMap<String, Instant>>,
}

impl ClientDocuments {
    /// Documents as `settings` allow: none when they are off; loopback
    /// and plain http to it in development, so tests can serve one.
    pub fn new(settings: &ServeSettings) -> Result<Self, FetchError> {
        let development = settings.environment == Environment::Development;
        let fetcher = settings
            .oauth
            .client_documents
            .then(|| {
                Fetcher::new(FetchPolicy {
                    reach: Reach {
                        loopback: development,
                        private: settings.oauth.document_private_addrs,
                    },
                    http_loopback: development,
                })
            })
            .transpose()?;
        Ok(Self {
            fetcher,
            fresh_until: Mutex::new(HashMap::new()),
        })
    }

    /// Whether `client_id`s may be document URLs here.
    pub fn enabled(&self) -> bool {
        self.fetcher.is_some()
    }

    fn is_fresh(&self, id: &str) -> bool {
        let fresh = self.fresh_until.lock().unwrap_or_else(|e| e.into_inner());
        fresh.get(id).is_some_and(|until| *until > Instant::now())
    }

    fn remember(&self, id: &str, fresh_for: Duration) {
        let now = Instant::now();
        let mut fresh = self.fresh_until.lock().unwrap_or_else(|e| e.into_inner());
        if fresh.len() >= MAX_REMEMBERED {
            fresh.retain(|_, until| *until > now);
            if fresh.len() >= MAX_REMEMBERED {
                fresh.clear();
            }
        }
        fresh.insert(id.to_owned(), now + fresh_for);
    }
}

/// Whether `client_id` is written as a URL, so it can only be a document's.
pub fn is_document_id(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Checks that `client_id` is a URL a document may have: one with a path,
/// without credentials, fragment or dot segments, written in the form it
/// parses to (so that the comparison with the document's own `client_id`
/// is of one spelling).
fn document_url(client_id: &str) -> Result<Url, String> {
    let url = Url::parse(client_id).map_err(|e| format!("the client_id is not a URL: {e}"))?;
    let problem = if client_id.len() > MAX_REDIRECT_URI {
        Some("is too long")
    } else if url.as_str() != client_id {
        Some("is not written in its normal form (dot segments, case, or escapes)")
    } else if !url.username().is_empty() || url.password().is_some() {
        Some("holds credentials")
    } else if url.fragment().is_some() {
        Some("has a fragment")
    } else if url.path() == "/" {
        Some("has no path")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(format!("the client_id URL {problem}")),
        None => Ok(url),
    }
}

/// The client `document` describes, or why it cannot be one.
fn read_document(client_id: &str, document: &Value) -> Result<Checked, String> {
    let said = |e: crate::error::ApiError| e.to_string();
    match document.get("client_id") {
        Some(Value::String(id)) if id == client_id => {}
        Some(Value::String(_)) => {
            return Err("the document's client_id is not the URL it was fetched from".into());
        }
        _ => return Err("the document has no client_id".into()),
    }
    if document.get("client_secret").is_some() || document.get("client_secret_expires_at").is_some()
    {
        return Err("the document holds a client secret, which a public document may not".into());
    }
    // A document is public, so its client cannot keep a shared secret:
    // a missing method means `none` here, not RFC 7591's Basic.
    let mut metadata = document.clone();
    if let Some(object) = metadata.as_object_mut() {
        object
            .entry("token_endpoint_auth_method")
            .or_insert_with(|| json!("none"));
    }
    let request = clients::from_metadata(&metadata).map_err(said)?;
    if request.auth != TokenAuth::None {
        return Err(format!(
            "the document's token_endpoint_auth_method is {:?}; only none is supported here",
            request.auth.as_str()
        ));
    }
    clients::check(&request).map_err(said)
}

/// The client `client_id` names: from the database, and for a document
/// URL, fetched again first when this replica's copy is stale. `None` when
/// there is no such client.
pub async fn find_client(
    state: &AppState,
    client_id: &str,
) -> Result<Option<OAuthClient>, LookupError> {
    let stored = state.store.oauth_client(client_id).await?;
    if !is_document_id(client_id) {
        return Ok(stored);
    }
    let documents = &state.client_documents;
    let Some(fetcher) = &documents.fetcher else {
        return Err(LookupError::Document(
            "this server does not accept client metadata documents \
             (AIAPI_OAUTH_CLIENT_DOCUMENTS=off)"
                .into(),
        ));
    };
    if stored.is_some() && documents.is_fresh(client_id) {
        return Ok(stored);
    }
    let url = document_url(client_id).map_err(LookupError::Document)?;
    let fetched = fetcher
        .json(&url)
        .await
        .map_err(|e| LookupError::Document(format!("its metadata document: {e}")))?;
    let checked = read_document(client_id, &fetched.body).map_err(LookupError::Document)?;
    let client = OAuthClient {
        id: client_id.to_owned(),
        name: checked.name,
        redirect_uris: checked.redirect_uris,
        secret_hash: None,
        source: ClientSource::Document,
        client_uri: fetched.body["client_uri"].as_str().map(str::to_owned),
        scopes: fetched.body["scope"].as_str().and_then(|s| s.parse().ok()),
        created_at: time::now(),
        disabled_at: None,
    };
    let saved = state.store.save_document_client(&client).await?;
    documents.remember(client_id, fetched.fresh_for);
    if stored.is_none() {
        tracing::info!(client_id = %saved.id, "OAuth client known by its metadata document");
        let details = json!({
            "client_id": saved.id, "name": saved.name, "redirect_uris": saved.redirect_uris,
            "source": ClientSource::Document.as_str(), "confidential": false,
            "scope": saved.scopes.map(|s| s.to_string()),
        });
        let event = Event::new(
            AuditKind::Admin,
            "oauth_client_registered",
            Actor::system(),
            details,
        )
        .about_client(&saved.id);
        state
            .audit(event)
            .await
            .map_err(|e| LookupError::Document(e.to_string()))?;
    }
    Ok(Some(saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "https://app.example/oauth/client.json";

    #[test]
    fn a_document_url_has_a_path_and_one_spelling() {
        assert!(document_url(ID).is_ok());
        for refused in [
            "https://app.example",
            "https://app.example/",
            "https://app.example/a/../client.json",
            "https://App.example/client.json",
            "https://user:pw@app.example/client.json",
            "https://app.example/client.json#x",
        ] {
            assert!(document_url(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_document_must_name_itself_and_stay_public() {
        let good = json!({"client_id": ID, "client_name": "App",
            "redirect_uris": ["http://127.0.0.1/callback"]});
        let checked = read_document(ID, &good).unwrap();
        assert_eq!(checked.name, "App");
        for bad in [
            json!({"client_name": "App", "redirect_uris": ["http://127.0.0.1/cb"]}),
            json!({"client_id": "https://other.example/c.json",
                "redirect_uris": ["http://127.0.0.1/cb"]}),
            json!({"client_id": ID}),
            json!({"client_id": ID, "redirect_uris": ["http://127.0.0.1/cb"],
                "client_secret": "s"}),
            json!({"client_id": ID, "redirect_uris": ["http://127.0.0.1/cb"],
                "token_endpoint_auth_method": "client_secret_basic"}),
            json!({"client_id": ID, "redirect_uris": ["http://evil.example/cb"]}),
        ] {
            assert!(read_document(ID, &bad).is_err(), "{bad}");
        }
    }
}
