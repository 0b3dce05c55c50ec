//! The authorization endpoint's rules (OAuth 2.1 section 4.1, RFC 8707,
//! RFC 9207): which requests are valid, what a refusal may tell the client
//! (an unknown client or redirect URI never redirects: that would be an
//! open redirect), consent, and the single-use code a consent yields.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::documents::{self, LookupError};
use crate::audit::{Actor, Event};
use crate::auth::random;
use crate::domain::redirect_uri;
use crate::domain::{AuditKind, OAuthClient, Outcome, Scopes, User, time};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::CodeRecord;

/// Seconds a code lives.
pub const CODE_SECONDS: i64 = 60;
/// The longest `state` accepted.
const MAX_STATE: usize = 1000;

/// A valid authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// The client asking.
    pub client: OAuthClient,
    /// Where the answer goes, as the client sent it.
    pub redirect_uri: String,
    /// The client's `state`, returned unchanged.
    pub state: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The resource the tokens will be for.
    pub resource: String,
    /// The scopes asked; `None` is the user's whole role.
    pub scopes: Option<Scopes>,
}

/// Why a request is refused.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// The client or its redirect URI cannot be trusted: shown to the user,
    /// never sent anywhere.
    Page(String),
    /// The database cannot be reached.
    Unavailable,
    /// Sent back to the client's redirect URI (RFC 6749 section 4.1.2.1).
    Redirect {
        /// The validated redirect URI.
        redirect_uri: String,
        /// The RFC's error code.
        error: &'static str,
        /// What is wrong.
        description: String,
        /// The client's `state`.
        state: Option<String>,
    },
}

/// The request's parameters, each at most once (RFC 6749 section 3.1),
/// none holding a control character.
pub fn parameters(query: &str) -> Result<HashMap<String, String>, String> {
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name.chars().chain(value.chars()).any(char::is_control) {
            return Err(format!("the parameter {name:?} holds a control character"));
        }
        if params
            .insert(name.to_string(), value.into_owned())
            .is_some()
        {
            return Err(format!("the parameter {name} is given more than once"));
        }
    }
    Ok(params)
}

/// `params` as a query string again, encoded afresh.
pub fn query_string(params: &HashMap<String, String>) -> String {
    let mut names: Vec<&String> = params.keys().collect();
    names.sort();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for name in names {
        query.append_pair(name, &params[name]);
    }
    query.finish()
}

/// Checks an authorization request: first the client and redirect URI
/// (refused with a page), then the rest (refused to the redirect URI).
pub async fn read_request(
    state: &AppState,
    params: &HashMap<String, String>,
) -> Result<AuthorizeRequest, Refusal> {
    let param = |name: &str| params.get(name).map(String::as_str);
    let client_id = param("client_id")
        .ok_or_else(|| Refusal::Page("the request names no client (client_id)".into()))?;
    let client = documents::find_client(state, client_id)
        .await
        .map_err(|e| match e {
            LookupError::Document(why) => {
                Refusal::Page(format!("this app cannot be identified: {why}"))
            }
            LookupError::Store(_) => Refusal::Unavailable,
        })?
        .filter(|c| c.disabled_at.is_none())
        .ok_or_else(|| {
            Refusal::Page("this app is not registered with this server, or it was disabled".into())
        })?;
    let redirect_uri = match param("redirect_uri") {
        Some(asked)
            if client
                .redirect_uris
                .iter()
                .any(|r| redirect_uri::matches(r, asked)) =>
        {
            asked.to_owned()
        }
        Some(_) => {
            return Err(Refusal::Page(
                "the app asked to send you to an address it did not register".into(),
            ));
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => {
            return Err(Refusal::Page(
                "the request names no redirect_uri, and the app registered several".into(),
            ));
        }
    };
    let client_state = param("state").map(str::to_owned);
    let refuse = |error: &'static str, description: &str| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description: description.to_owned(),
        state: client_state.clone(),
    };
    if client_state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
        return Err(refuse("invalid_request", "state is longer than 1000 bytes"));
    }
    match param("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
        None => return Err(refuse("invalid_request", "response_type is required")),
    }
    let code_challenge = match (param("code_challenge"), param("code_challenge_method")) {
        (None, _) => {
            return Err(refuse(
                "invalid_request",
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            ));
        }
        (Some(_), method) if method != Some("S256") => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not accepted)",
            ));
        }
        (Some(challenge), _) if !is_s256_challenge(challenge) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge must be 43 base64url characters (the SHA-256 of the verifier)",
            ));
        }
        (Some(challenge), _) => challenge.to_owned(),
    };
    let ours = [
        state.settings.mcp_resource(),
        state.settings.rest_resource(),
    ];
    let resource = match param("resource") {
        // Clients of the 2025-03-26 revision do not send one: /mcp is what
        // they connect to.
        None => ours[0].clone(),
        Some(asked) if ours.iter().any(|r| r == asked) => asked.to_owned(),
        Some(_) => {
            return Err(refuse(
                "invalid_target",
                &format!("resource must be {} or {}", ours[0], ours[1]),
            ));
        }
    };
    let asked = match param("scope") {
        None => None,
        Some(text) => Some(
            text.parse::<Scopes>()
                .map_err(|e| refuse("invalid_scope", &e.to_string()))?,
        )
        .filter(|s: &Scopes| !s.is_empty()),
    };
    let scopes = match (asked, client.scopes) {
        (Some(asked), Some(allowed)) if !asked.beyond(allowed).is_empty() => {
            return Err(refuse(
                "invalid_scope",
                &format!(
                    "{} is beyond what this app registered for",
                    asked.beyond(allowed)
                ),
            ));
        }
        (asked, allowed) => asked.or(allowed),
    };
    Ok(AuthorizeRequest {
        client,
        redirect_uri,
        state: client_state,
        code_challenge,
        resource,
        scopes,
    })
}

/// Whether `challenge` can be a base64url SHA-256 (PKCE S256).
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What `user` would grant: the scopes asked that their role has (all of
/// the role's when none were asked).
pub fn granted_scopes(request: &AuthorizeRequest, user: &User) -> Scopes {
    let role = Scopes::granted_by(user.role);
    match request.scopes {
        Some(asked) => asked.iter().filter(|p| role.contains(*p)).collect(),
        None => role,
    }
}

/// Whether `user` approved this client for what it would be granted now,
/// and did not revoke it.
pub async fn consented(
    state: &AppState,
    request: &AuthorizeRequest,
    user: &User,
) -> Result<bool, ApiError> {
    let granted = granted_scopes(request, user);
    Ok(
        match state.store.consent(user.id, &request.client.id).await? {
            Some(Some(approved)) => granted.beyond(approved).is_empty(),
            Some(None) | None => false,
        },
    )
}

/// Records `user`'s answer to the consent page: an approval is remembered
/// for (user, client, the scopes granted).
pub async fn answer_consent(
    state: &AppState,
    request: &AuthorizeRequest,
    user: &User,
    approved: bool,
) -> Result<(), ApiError> {
    let granted = granted_scopes(request, user);
    let details = json!({
        "client_id": request.client.id, "scope": granted.to_string(),
        "resource": request.resource,
    });
    let event = if approved {
        state
            .store
            .grant_consent(user.id, &request.client.id, Some(granted), time::now())
            .await?;
        Event::new(
            AuditKind::Auth,
            "oauth_consent_granted",
            Actor::user(user),
            details,
        )
    } else {
        Event::new(
            AuditKind::Auth,
            "oauth_consent_denied",
            Actor::user(user),
            details,
        )
        .failed(Outcome::Denied, "the user denied the app access")
    };
    state.audit(event.about_client(&request.client.id)).await
}

/// Issues a code for `request`, approved by `user` who typed their
/// password at `auth_time`, for the scopes granted (those asked that the
/// role has, so that a later promotion widens nothing); returns the code,
/// which is stored only as a keyed hash.
pub async fn issue_code(
    state: &AppState,
    request: &AuthorizeRequest,
    user: &User,
    auth_time: DateTime<Utc>,
) -> Result<String, ApiError> {
    let code = random::base62(43);
    let now = time::now();
    let scopes = Some(granted_scopes(request, user));
    let record = CodeRecord {
        code_hash: state.flow.code.tag(code.as_bytes()),
        client_id: request.client.id.clone(),
        user_id: user.id,
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        resource: request.resource.clone(),
        scopes,
        auth_time,
        expires_at: now + Duration::seconds(CODE_SECONDS),
    };
    state.store.insert_code(&record).await?;
    let details = json!({
        "client_id": request.client.id, "scope": scopes.map(|s| s.to_string()),
        "resource": request.resource,
    });
    state
        .audit(
            Event::new(
                AuditKind::Auth,
                "oauth_code_issued",
                Actor::user(user),
                details,
            )
            .about_client(&request.client.id),
        )
        .await?;
    Ok(code)
}

/// `redirect_uri` with `params`, the client's `state` and this server's
/// `iss` (RFC 9207) added to its query.
pub fn redirect_to(
    redirect_uri: &str,
    params: &[(&str, &str)],
    client_state: Option<&str>,
    issuer: &str,
) -> String {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return redirect_uri.to_owned();
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        if let Some(client_state) = client_state {
            query.append_pair("state", client_state);
        }
        query.append_pair("iss", issuer);
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_may_not_repeat_nor_hold_control_characters() {
        let params = parameters("a=1&b=x%20y").unwrap();
        assert_eq!(params["b"], "x y");
        assert_eq!(query_string(&params), "a=1&b=x+y");
        assert!(parameters("a=1&a=2").is_err());
        assert!(parameters("client_id=%00").is_err());
        assert!(parameters("state=a%0D%0ALocation:%20x").is_err());
    }

    #[test]
    fn answers_keep_the_redirect_uri_and_add_state_and_iss() {
        let to = redirect_to(
            "cursor://app/cb?x=1",
            &[("code", "abc")],
            Some("s p"),
            "https://api.example",
        );
        assert_eq!(
            to,
            "cursor://app/cb?x=1&code=abc&state=s+p&iss=https%3A%2F%2Fapi.example"
        );
        assert!(is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!is_s256_challenge("short"));
    }
}
