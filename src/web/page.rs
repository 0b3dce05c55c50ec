//! What every page answers with: HTML that no other site may frame, that
//! runs no script, whose forms post only to this server (and, through
//! its redirects, to the client the flow returns to), never cached; and
//! the cookies the flow keeps.

use poem::Response;
use poem::http::{HeaderMap, StatusCode, header};

use crate::config::Environment;
use crate::state::AppState;

/// A page with the security headers; `redirect_target` is where a form's
/// redirect may lead besides this server (a client's redirect URI).
pub fn html(status: StatusCode, body: String, redirect_target: Option<&str>) -> Response {
    let form_action = match redirect_target.and_then(form_source) {
        Some(source) => format!("'self' {source}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header(header::CONTENT_SECURITY_POLICY, csp)
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body)
}

/// The CSP source a redirect to `uri` needs: its origin for http(s), its
/// scheme for an app's own.
fn form_source(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    match url.scheme() {
        "http" | "https" => Some(url.origin().ascii_serialization()),
        scheme => Some(format!("{scheme}:")),
    }
}

/// A redirect (`303 See Other` after a form, `302 Found` otherwise).
pub fn redirect(status: StatusCode, location: &str) -> Response {
    Response::builder()
        .status(status)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::REFERRER_POLICY, "no-referrer")
        .finish()
}

/// The value of cookie `name` in the request, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// The name of cookie `name` on this server: outside development, with
/// the `__Host-` prefix, which a browser accepts only from this host,
/// `Secure` and on path `/`, so a sibling subdomain cannot plant it.
pub fn cookie_name(state: &AppState, name: &str) -> String {
    if state.settings.environment == Environment::Development {
        name.to_owned()
    } else {
        format!("__Host-{name}")
    }
}

/// A `Set-Cookie` value for the flow's pages: `HttpOnly`, `SameSite=Lax`,
/// and `Secure` with the `__Host-` prefix outside development; `None`
/// clears it.
pub fn set_cookie(state: &AppState, name: &str, value: Option<&str>) -> String {
    let secure = if state.settings.environment == Environment::Development {
        ""
    } else {
        "; Secure"
    };
    let name = cookie_name(state, name);
    match value {
        Some(value) => format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}"),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}
