//! The authorization server's clients: what a client may register (RFC
//! 7591 metadata, checked once for dynamic registration and the CLI alike),
//! who may register one and how often, and disabling one.

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::audit::{Actor, Event};
use crate::auth::{Principal, random};
use crate::config::ClientRegistration;
use crate::domain::digest::sha256_hex;
use crate::domain::redirect_uri::{self, MAX_REDIRECT_URI};
use crate::domain::{AuditKind, ClientSource, OAuthClient, Permission, Scopes, time};
use crate::error::{ApiError, OAuthError};
use crate::service::registration::{HourlyLimit, count_attempt};
use crate::state::AppState;
use crate::store::{Store, StoreError};

/// The most redirect URIs one client may register.
pub const MAX_REDIRECT_URIS: usize = 10;
/// The longest client name.
pub const MAX_CLIENT_NAME: usize = 100;

/// How a client authenticates at the token endpoint (RFC 7591
/// `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuth {
    /// A public client: PKCE alone, no secret.
    None,
    /// A secret in HTTP Basic.
    SecretBasic,
    /// A secret in the form body.
    SecretPost,
}

impl TokenAuth {
    /// The name RFC 7591 gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenAuth::None => "none",
            TokenAuth::SecretBasic => "client_secret_basic",
            TokenAuth::SecretPost => "client_secret_post",
        }
    }
}

/// A client to register, its metadata already read.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    /// The name the consent page shows.
    pub name: Option<String>,
    /// The redirect URIs, exactly as the client will send them.
    pub redirect_uris: Vec<String>,
    /// How it will authenticate at the token endpoint.
    pub auth: TokenAuth,
    /// Its home page.
    pub client_uri: Option<String>,
    /// The scopes it will ask for; `None` is any.
    pub scopes: Option<Scopes>,
}

/// A client just registered: `secret` (a confidential client's) is shown
/// this once and stored only as a hash.
pub struct RegisteredClient {
    /// The stored client.
    pub client: OAuthClient,
    /// The secret, for a confidential client.
    pub secret: Option<String>,
    /// How it authenticates at the token endpoint.
    pub auth: TokenAuth,
}

fn metadata_error(description: impl Into<String>) -> ApiError {
    ApiError::OAuth {
        error: OAuthError::InvalidClientMetadata,
        description: description.into(),
    }
}

fn redirect_error(description: impl Into<String>) -> ApiError {
    ApiError::OAuth {
        error: OAuthError::InvalidRedirectUri,
        description: description.into(),
    }
}

/// An optional string member of the metadata.
fn text<'a>(metadata: &'a Value, name: &str) -> Result<Option<&'a str>, ApiError> {
    match metadata.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(metadata_error(format!("{name} must be a string"))),
    }
}

/// An optional array-of-strings member of the metadata.
fn texts<'a>(metadata: &'a Value, name: &str) -> Result<Option<Vec<&'a str>>, ApiError> {
    match metadata.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| metadata_error(format!("{name} must be an array of strings")))
            })
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(metadata_error(format!(
            "{name} must be an array of strings"
        ))),
    }
}

/// Reads RFC 7591 client metadata. Members this server does not use are
/// ignored, as the RFC asks; members it uses must hold what it supports.
pub fn from_metadata(metadata: &Value) -> Result<ClientRequest, ApiError> {
    if !metadata.is_object() {
        return Err(metadata_error("the body must be a JSON object"));
    }
    let redirect_uris = match metadata.get("redirect_uris") {
        None | Some(Value::Null) => {
            return Err(redirect_error(
                "redirect_uris is required: this server issues authorization codes only",
            ));
        }
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| redirect_error("redirect_uris must be an array of strings"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(redirect_error("redirect_uris must be an array of strings")),
    };
    if let Some(grants) = texts(metadata, "grant_types")? {
        if let Some(other) = grants
            .iter()
            .find(|g| !["authorization_code", "refresh_token"].contains(g))
        {
            return Err(metadata_error(format!(
                "grant type {other:?} is not supported: only authorization_code and refresh_token"
            )));
        }
        if !grants.contains(&"authorization_code") {
            return Err(metadata_error(
                "grant_types must include authorization_code",
            ));
        }
    }
    if let Some(types) = texts(metadata, "response_types")?
        && types != ["code"]
    {
        return Err(metadata_error("response_types must be [\"code\"]"));
    }
    // RFC 7591 section 2: a client that names no method uses Basic.
    let auth = match text(metadata, "token_endpoint_auth_method")? {
        None | Some("client_secret_basic") => TokenAuth::SecretBasic,
        Some("client_secret_post") => TokenAuth::SecretPost,
        Some("none") => TokenAuth::None,
        Some(other) => {
            return Err(metadata_error(format!(
                "token_endpoint_auth_method {other:?} is not supported: none, \
                 client_secret_basic or client_secret_post"
            )));
        }
    };
    let scopes = text(metadata, "scope")?
        .map(|s| s.parse::<Scopes>())
        .transpose()
        .map_err(|e| metadata_error(format!("scope: {e}")))?;
    Ok(ClientRequest {
        name: text(metadata, "client_name")?.map(str::to_owned),
        redirect_uris,
        auth,
        client_uri: text(metadata, "client_uri")?.map(str::to_owned),
        scopes,
    })
}

/// What a client request says, checked: however a client comes to be
/// known, these are the rules its name, URIs and scopes keep.
pub(super) struct Checked {
    /// The name the consent page shows.
    pub name: String,
    /// The redirect URIs, each checked.
    pub redirect_uris: Vec<String>,
}

/// Checks what `request` says of the client.
pub(super) fn check(request: &ClientRequest) -> Result<Checked, ApiError> {
    if request.redirect_uris.is_empty() {
        return Err(redirect_error("redirect_uris must name at least one URI"));
    }
    if request.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(redirect_error(format!(
            "at most {MAX_REDIRECT_URIS} redirect URIs may be registered"
        )));
    }
    let redirect_uris = request
        .redirect_uris
        .iter()
        .map(|uri| redirect_uri::check(uri).map_err(|e| redirect_error(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let name = match request.name.as_deref().map(str::trim) {
        None | Some("") => "unnamed client".to_owned(),
        Some(name) if name.chars().count() > MAX_CLIENT_NAME => {
            return Err(metadata_error(format!(
                "client_name is longer than {MAX_CLIENT_NAME} characters"
            )));
        }
        Some(name) if name.chars().any(char::is_control) => {
            return Err(metadata_error("client_name has control characters"));
        }
        Some(name) => name.to_owned(),
    };
    if let Some(uri) = &request.client_uri {
        let web = url::Url::parse(uri)
            .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
        if !web || uri.len() > MAX_REDIRECT_URI {
            return Err(metadata_error("client_uri must be an http(s) URL"));
        }
    }
    if request.scopes.is_some_and(Scopes::is_empty) {
        return Err(metadata_error("scope names no scope; leave it out for any"));
    }
    Ok(Checked {
        name,
        redirect_uris,
    })
}

/// Checks `request` and makes the client it describes, with a new id and,
/// for a confidential client, a new secret.
fn plan(request: ClientRequest, source: ClientSource) -> Result<RegisteredClient, ApiError> {
    let Checked {
        name,
        redirect_uris,
    } = check(&request)?;
    let secret = (request.auth != TokenAuth::None).then(|| format!("cs_{}", random::base62(40)));
    let client = OAuthClient {
        id: format!("cl_{}", random::base62(24)),
        name,
        redirect_uris,
        secret_hash: secret.as_deref().map(|s| sha256_hex(s.as_bytes())),
        source,
        client_uri: request.client_uri,
        scopes: request.scopes,
        created_at: time::now(),
        disabled_at: None,
    };
    Ok(RegisteredClient {
        client,
        secret,
        auth: request.auth,
    })
}

/// Refuses a dynamic registration the server's policy does not allow:
/// none when it is off (404: there is no such endpoint then), only holders
/// of `manage:users` when it is `admin`; and from one address only so
/// many an hour, unless an admin asks.
pub async fn admit(
    state: &AppState,
    caller: Option<&Principal>,
    addr: Option<IpAddr>,
) -> Result<(), ApiError> {
    let admin = caller.is_some_and(|p| p.has(Permission::ManageUsers));
    match state.settings.oauth.registration {
        ClientRegistration::Off => {
            return Err(ApiError::NotFound(
                "dynamic client registration is off on this server (AIAPI_OAUTH_REGISTRATION)"
                    .into(),
            ));
        }
        ClientRegistration::Admin if caller.is_none() => {
            return Err(ApiError::Unauthorized(
                "registering a client needs an admin's bearer token or API key here \
                 (AIAPI_OAUTH_REGISTRATION=admin)"
                    .into(),
            ));
        }
        ClientRegistration::Admin if !admin => {
            return Err(ApiError::Forbidden(
                "registering a client needs manage:users here (AIAPI_OAUTH_REGISTRATION=admin)"
                    .into(),
            ));
        }
        _ => {}
    }
    if admin {
        return Ok(());
    }
    let limit = HourlyLimit {
        label: "oauth_register",
        per_hour: state.settings.oauth.registrations_per_addr,
        what: "client registrations",
        setting: "AIAPI_OAUTH_REGISTRATIONS_PER_ADDR",
    };
    count_attempt(state, &limit, addr, time::now()).await
}

/// Registers the client `request` describes, recorded as done by `actor`.
pub async fn register(
    store: &dyn Store,
    actor: Actor,
    request: ClientRequest,
    source: ClientSource,
) -> Result<RegisteredClient, ApiError> {
    let registered = plan(request, source)?;
    let client = &registered.client;
    store.create_oauth_client(client).await?;
    tracing::info!(client_id = %client.id, source = source.as_str(), "OAuth client registered");
    let details = json!({
        "client_id": client.id, "name": client.name, "redirect_uris": client.redirect_uris,
        "source": source.as_str(), "confidential": client.secret_hash.is_some(),
        "scope": client.scopes.map(|s| s.to_string()),
    });
    let event = Event::new(AuditKind::Admin, "oauth_client_registered", actor, details)
        .about_client(&client.id);
    crate::audit::record(store, event).await?;
    Ok(registered)
}

/// Disables client `id`: its tokens stop working at once.
pub async fn disable(store: &dyn Store, actor: Actor, id: &str) -> Result<OAuthClient, ApiError> {
    let client = store
        .disable_oauth_client(id, time::now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound(format!("no OAuth client {id:?}")),
            other => other.into(),
        })?;
    tracing::info!(client_id = %client.id, "OAuth client disabled");
    let details = json!({"client_id": client.id, "name": client.name});
    let event =
        Event::new(AuditKind::Admin, "oauth_client_disabled", actor, details).about_client(id);
    crate::audit::record(store, event).await?;
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(metadata: Value) -> &'static str {
        let planned = from_metadata(&metadata).and_then(|r| plan(r, ClientSource::Registered));
        match planned {
            Err(ApiError::OAuth { error, .. }) => error.as_str(),
            Err(other) => panic!("not an OAuth error: {other}"),
            Ok(_) => "ok",
        }
    }

    #[test]
    fn metadata_is_read_as_rfc_7591_defines_it() {
        let public = json!({"redirect_uris": ["http://127.0.0.1:9/cb"],
            "token_endpoint_auth_method": "none", "client_name": "Claude", "unknown": [1]});
        let registered = plan(from_metadata(&public).unwrap(), ClientSource::Registered).unwrap();
        assert!(registered.secret.is_none() && registered.client.secret_hash.is_none());
        assert_eq!(registered.client.name, "Claude");
        let confidential = json!({"redirect_uris": ["https://chatgpt.com/cb"]});
        let registered = plan(
            from_metadata(&confidential).unwrap(),
            ClientSource::Registered,
        )
        .unwrap();
        let secret = registered.secret.unwrap();
        assert_eq!(
            registered.client.secret_hash,
            Some(sha256_hex(secret.as_bytes()))
        );
        assert_eq!(registered.auth, TokenAuth::SecretBasic, "the RFC's default");
    }

    #[test]
    fn bad_metadata_gets_the_rfc_error() {
        for (metadata, error) in [
            (json!({}), "invalid_redirect_uri"),
            (json!({"redirect_uris": []}), "invalid_redirect_uri"),
            (
                json!({"redirect_uris": "https://a.example/cb"}),
                "invalid_redirect_uri",
            ),
            (
                json!({"redirect_uris": ["http://a.example/cb"]}),
                "invalid_redirect_uri",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"],
                "token_endpoint_auth_method": "private_key_jwt"}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "scope": "root"}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "client_name": 5}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "client_uri": "javascript:x"}),
                "invalid_client_metadata",
            ),
            (json!([1]), "invalid_client_metadata"),
        ] {
            assert_eq!(error_of(metadata.clone()), error, "{metadata}");
        }
    }
}
