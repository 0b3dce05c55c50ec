//! Refuses NUL characters in a request's path, query and body.
//!
//! Postgres cannot store U+0000 in `text` or `jsonb`, and SQLite's FTS5
//! query parser ends a string at it, so a NUL reaching the store would be a
//! 500 on one backend and silently different on the other. Refusing it at the
//! door gives every route on both backends the same 400 answer.

use poem::http::header;
use poem::{Endpoint, IntoResponse, Request, Response};
use serde_json::Value;

use crate::error::{ApiError, OAuthError};
use crate::request::read_body;

const REFUSED: &str = "NUL characters (U+0000) are not accepted";

/// Middleware: 400 when the URI, a JSON body or a form body holds a NUL.
/// Bodies under `mcp_path` are left to the MCP endpoint, which answers in
/// JSON-RPC (see [`value_has_nul`]); the OAuth endpoints get the answer in
/// their RFCs' shape.
pub async fn reject_nul<E: Endpoint>(
    ep: E,
    mut req: Request,
    limit: usize,
    mcp_path: &str,
) -> poem::Result<Response> {
    let refused = if req.uri().path().starts_with("/oauth/") {
        ApiError::OAuth {
            error: OAuthError::InvalidRequest,
            description: REFUSED.into(),
        }
    } else {
        ApiError::BadRequest(REFUSED.into())
    };
    if uri_has_nul(req.uri().path_and_query().map_or("", |pq| pq.as_str())) {
        return Err(refused.into());
    }
    if req.uri().path().starts_with(mcp_path) {
        return Ok(ep.call(req).await?.into_response());
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let json = content_type.contains("json");
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    if json || form {
        let body = read_body(&mut req, limit).await.map_err(ApiError::from)?;
        let has_nul = if json {
            json_text_has_nul(&body)
        } else {
            uri_has_nul(&String::from_utf8_lossy(&body))
        };
        if has_nul {
            return Err(refused.into());
        }
        req.set_body(body);
    }
    Ok(ep.call(req).await?.into_response())
}

/// Whether percent-encoded text (a URI or a form body) encodes a NUL; a raw
/// NUL byte cannot appear in a URI at all.
fn uri_has_nul(text: &str) -> bool {
    text.contains("%00") || text.contains('\0')
}

/// Whether JSON text holds a `\u0000` escape (or a raw NUL byte). Escapes
/// are followed pairwise, so an escaped backslash before `u0000` is not one.
fn json_text_has_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0 => return true,
            b'\\' => {
                if bytes.get(i + 1) == Some(&b'u') && bytes.get(i + 2..i + 6) == Some(b"0000") {
                    return true;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// Whether any string or key in a parsed JSON value holds a NUL.
pub fn value_has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(value_has_nul),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains('\0') || value_has_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_escaped_and_raw_nuls_in_json_text() {
        assert!(json_text_has_nul(br#"{"q":"a\u0000b"}"#));
        assert!(json_text_has_nul(b"{\"q\":\"a\0\"}"));
        assert!(!json_text_has_nul(br#"{"q":"a\\u0000b"}"#));
        assert!(json_text_has_nul(br#"{"q":"a\\\u0000"}"#));
        assert!(json_text_has_nul(br#"{"q":"\u00001"}"#));
        assert!(!json_text_has_nul(br#"{"q":"\u0001 \n"}"#));
    }

    #[test]
    fn finds_nuls_in_values_and_uris() {
        assert!(value_has_nul(&serde_json::json!({"a": [1, {"b\u{0}": 2}]})));
        assert!(!value_has_nul(&serde_json::json!({"a": ["\\u0000"]})));
        assert!(uri_has_nul("/api/v1/items?q=a%00b"));
        assert!(!uri_has_nul("/api/v1/items?q=a%2500b"));
    }
}
