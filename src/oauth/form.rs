//! Reading the OAuth endpoints' `application/x-www-form-urlencoded`
//! bodies and the client's credentials (RFC 6749 section 2.3.1).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use poem::Request;
use poem::http::header;

use crate::error::{ApiError, OAuthError};
use crate::request::read_body;
use crate::service::oauth::authorization::parameters;

fn invalid_request(description: impl Into<String>) -> ApiError {
    ApiError::OAuth {
        error: OAuthError::InvalidRequest,
        description: description.into(),
    }
}

/// The form's parameters, each at most once.
pub async fn read_form(
    req: &mut Request,
    limit: usize,
) -> Result<HashMap<String, String>, ApiError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let body = read_body(req, limit).await?;
    let text = std::str::from_utf8(&body).map_err(|_| invalid_request("the body is not UTF-8"))?;
    parameters(text).map_err(invalid_request)
}

/// The client's id and secret: from HTTP Basic when sent, else from the
/// form's `client_id` and `client_secret`. Both at once is refused (RFC
/// 6749 section 2.3).
pub fn client_credentials(
    req: &Request,
    form: &HashMap<String, String>,
) -> Result<(String, Option<String>), ApiError> {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, encoded)| encoded.trim().to_owned());
    if let Some(encoded) = basic {
        if form.contains_key("client_secret") {
            return Err(invalid_request(
                "send the client's credentials one way: HTTP Basic or the form",
            ));
        }
        let invalid_client = || ApiError::OAuth {
            error: OAuthError::InvalidClient,
            description: "malformed HTTP Basic client credentials".into(),
        };
        let decoded = STANDARD.decode(encoded).map_err(|_| invalid_client())?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid_client())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(invalid_client)?;
        let unescape = |part: &str| {
            url::form_urlencoded::parse(format!("x={part}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let (id, secret) = (unescape(id), unescape(secret));
        if id.chars().chain(secret.chars()).any(char::is_control) {
            return Err(invalid_client());
        }
        return Ok((id, Some(secret)));
    }
    let id = form
        .get("client_id")
        .ok_or_else(|| invalid_request("client_id is required"))?;
    Ok((id.clone(), form.get("client_secret").cloned()))
}
