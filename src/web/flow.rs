//! The pages of the authorization flow: `GET /oauth/authorize` (sign in,
//! then consent, then back to the client with a code) and the forms it
//! posts, `/oauth/login`, `/oauth/consent` and `/oauth/signout`. The rules
//! are in [`crate::service::oauth`]; this translates them into pages,
//! cookies and redirects.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use poem::http::{HeaderMap, Method, StatusCode, header};
use poem::{Endpoint, Request, Response};

use super::csrf;
use super::page::{cookie, cookie_name, html, redirect, set_cookie};
use super::templates::{Consent, Login, Message, ScopeLine};
use crate::auth::client_addr::client_addr;
use crate::domain::{ClientSource, OAuthClient, Permission, User};
use crate::error::ApiError;
use crate::request::read_body;
use crate::service::oauth::authorization::{
    self, AuthorizeRequest, Refusal, parameters, query_string, redirect_to,
};
use crate::service::oauth::browser;
use crate::state::AppState;

/// The browser session's cookie.
const SESSION_COOKIE: &str = "aiapi_session";

/// The flow's pages, told apart by path.
pub struct FlowPages {
    state: Arc<AppState>,
}

impl FlowPages {
    /// The pages over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

fn message(status: StatusCode, title: &str, text: &str, is_error: bool) -> Response {
    let page = Message {
        title,
        message: text,
        is_error,
        back: None,
    };
    html(status, page.render().unwrap_or_default(), None)
}

fn error_page(status: StatusCode, text: &str) -> Response {
    message(status, "This app cannot be authorized", text, true)
}

impl FlowPages {
    /// The answer to a refused authorization request. One that may go
    /// back to the client is a page with a link there, not a redirect:
    /// since anyone may register a client, an automatic redirect would let
    /// any link to this server lead anywhere (RFC 9700 section 4.11.2).
    fn refused(&self, refusal: Refusal) -> Response {
        match refusal {
            Refusal::Page(why) => error_page(StatusCode::BAD_REQUEST, &why),
            Refusal::Unavailable => error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is unavailable; try again in a moment.",
            ),
            Refusal::Redirect {
                redirect_uri,
                error,
                description,
                state,
            } => {
                let to = redirect_to(
                    &redirect_uri,
                    &[("error", error), ("error_description", &description)],
                    state.as_deref(),
                    &self.state.settings.public_url,
                );
                let page = Message {
                    title: "This app cannot be authorized",
                    message: &format!("The app's request is not valid: {description}"),
                    is_error: true,
                    back: Some(&to),
                };
                html(
                    StatusCode::BAD_REQUEST,
                    page.render().unwrap_or_default(),
                    None,
                )
            }
        }
    }

    /// The request `query` carries, and the query encoded afresh (what
    /// the forms carry on and redirects repeat); or the answer refusing it.
    async fn request_of(&self, query: &str) -> Result<(AuthorizeRequest, String), Response> {
        let params = parameters(query).map_err(|why| error_page(StatusCode::BAD_REQUEST, &why))?;
        let request = authorization::read_request(&self.state, &params)
            .await
            .map_err(|r| self.refused(r))?;
        Ok((request, query_string(&params)))
    }

    /// The user signed in with this browser, if any.
    async fn signed_in(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<(User, chrono::DateTime<chrono::Utc>)>, ApiError> {
        let Some(value) = cookie(headers, &cookie_name(&self.state, SESSION_COOKIE)) else {
            return Ok(None);
        };
        Ok(browser::signed_in(&self.state, value)
            .await?
            .map(|s| (s.user, s.auth_time)))
    }

    /// Back to the client with a code for `request`.
    async fn approve(
        &self,
        request: &AuthorizeRequest,
        user: &User,
        auth_time: chrono::DateTime<chrono::Utc>,
        status: StatusCode,
    ) -> Result<Response, ApiError> {
        let code = authorization::issue_code(&self.state, request, user, auth_time).await?;
        let to = redirect_to(
            &request.redirect_uri,
            &[("code", &code)],
            request.state.as_deref(),
            &self.state.settings.public_url,
        );
        Ok(redirect(status, &to))
    }

    fn login_page(
        &self,
        request: &AuthorizeRequest,
        query: &str,
        csrf_token: &str,
        username: &str,
        error: Option<String>,
        status: StatusCode,
    ) -> Response {
        let page = Login {
            client_name: &request.client.name,
            csrf: csrf_token,
            request: query,
            username,
            error,
        };
        html(
            status,
            page.render().unwrap_or_default(),
            Some(&request.redirect_uri),
        )
    }

    fn consent_page(
        &self,
        request: &AuthorizeRequest,
        user: &User,
        query: &str,
        csrf_token: &str,
    ) -> Response {
        let granted = authorization::granted_scopes(request, user);
        let line = |p: Permission| ScopeLine {
            name: p.as_str(),
            words: p.plain_words(),
        };
        let withheld = request
            .scopes
            .map(|asked| asked.beyond(granted).iter().map(line).collect())
            .unwrap_or_default();
        let redirect_host = url::Url::parse(&request.redirect_uri)
            .ok()
            .map(|u| {
                u.host_str()
                    .map_or_else(|| u.scheme().to_owned(), str::to_owned)
            })
            .unwrap_or_default();
        let page = Consent {
            client_name: &request.client.name,
            username: &user.username,
            redirect_host: &redirect_host,
            identity: identity(&request.client),
            scopes: granted.iter().map(line).collect(),
            withheld,
            csrf: csrf_token,
            request: query,
        };
        html(
            StatusCode::OK,
            page.render().unwrap_or_default(),
            Some(&request.redirect_uri),
        )
    }

    /// `GET /oauth/authorize`.
    async fn authorize(&self, req: &Request, csrf_token: &str) -> Result<Response, ApiError> {
        let (request, query) = match self.request_of(req.uri().query().unwrap_or_default()).await {
            Ok(read) => read,
            Err(refused) => return Ok(refused),
        };
        let query = query.as_str();
        match self.signed_in(req.headers()).await? {
            None => Ok(self.login_page(&request, query, csrf_token, "", None, StatusCode::OK)),
            Some((user, _)) if authorization::granted_scopes(&request, &user).is_empty() => {
                Ok(error_page(
                    StatusCode::FORBIDDEN,
                    &format!(
                        "Your account's role ({}) allows none of what {} asks for.",
                        user.role, request.client.name
                    ),
                ))
            }
            Some((user, auth_time)) => {
                if authorization::consented(&self.state, &request, &user).await? {
                    self.approve(&request, &user, auth_time, StatusCode::FOUND)
                        .await
                } else {
                    Ok(self.consent_page(&request, &user, query, csrf_token))
                }
            }
        }
    }

    /// `POST /oauth/login`.
    async fn login(
        &self,
        req: &Request,
        form: &HashMap<String, String>,
        csrf_token: &str,
    ) -> Result<Response, ApiError> {
        let (request, query) = match self
            .request_of(form.get("request").map_or("", String::as_str))
            .await
        {
            Ok(read) => read,
            Err(refused) => return Ok(refused),
        };
        let query = query.as_str();
        let username = form.get("username").map_or("", String::as_str);
        let password = form.get("password").map_or("", String::as_str);
        let addr = client_addr(req, &self.state.settings.trusted_proxies);
        let again = |error: String, status| {
            self.login_page(&request, query, csrf_token, username, Some(error), status)
        };
        match browser::sign_in(&self.state, username, password, addr).await {
            Ok((_, session)) => {
                let mut resp =
                    redirect(StatusCode::SEE_OTHER, &format!("/oauth/authorize?{query}"));
                resp.headers_mut().append(
                    header::SET_COOKIE,
                    set_cookie(&self.state, SESSION_COOKIE, Some(&session))
                        .parse()
                        .map_err(|_| ApiError::Internal("session cookie".into()))?,
                );
                Ok(resp)
            }
            Err(ApiError::Unauthorized(why)) => Ok(again(why, StatusCode::UNAUTHORIZED)),
            Err(refused @ ApiError::TooManyRequests { .. }) => {
                Ok(again(refused.to_string(), StatusCode::TOO_MANY_REQUESTS))
            }
            Err(refused @ ApiError::Validation(_)) => {
                Ok(again(refused.to_string(), StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(other) => Err(other),
        }
    }

    /// `POST /oauth/consent`.
    async fn consent(
        &self,
        req: &Request,
        form: &HashMap<String, String>,
    ) -> Result<Response, ApiError> {
        let (request, query) = match self
            .request_of(form.get("request").map_or("", String::as_str))
            .await
        {
            Ok(read) => read,
            Err(refused) => return Ok(refused),
        };
        let query = query.as_str();
        let Some((user, auth_time)) = self.signed_in(req.headers()).await? else {
            // Signed out (or expired) since the page was shown: start again.
            return Ok(redirect(
                StatusCode::SEE_OTHER,
                &format!("/oauth/authorize?{query}"),
            ));
        };
        let approved = match form.get("decision").map(String::as_str) {
            Some("approve") => true,
            Some("deny") => false,
            _ => {
                return Ok(error_page(
                    StatusCode::BAD_REQUEST,
                    "the form's answer is missing",
                ));
            }
        };
        authorization::answer_consent(&self.state, &request, &user, approved).await?;
        if approved {
            return self
                .approve(&request, &user, auth_time, StatusCode::SEE_OTHER)
                .await;
        }
        let to = redirect_to(
            &request.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "the user denied the request"),
            ],
            request.state.as_deref(),
            &self.state.settings.public_url,
        );
        Ok(redirect(StatusCode::SEE_OTHER, &to))
    }

    /// `POST /oauth/signout`.
    async fn sign_out(&self, req: &Request) -> Result<Response, ApiError> {
        if let Some(value) = cookie(req.headers(), &cookie_name(&self.state, SESSION_COOKIE)) {
            browser::sign_out(&self.state, value).await?;
        }
        let mut resp = message(
            StatusCode::OK,
            "Signed out",
            "You are signed out. You can close this page.",
            false,
        );
        resp.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(&self.state, SESSION_COOKIE, None)
                .parse()
                .map_err(|_| ApiError::Internal("session cookie".into()))?,
        );
        Ok(resp)
    }

    async fn serve(&self, mut req: Request) -> Result<Response, ApiError> {
        let (secret, fresh) = csrf::browser_secret(&self.state, req.headers());
        let csrf_token = csrf::token(&self.state, &secret);
        let path = req.uri().path().to_owned();
        let mut answer = match (req.method().clone(), path.as_str()) {
            (Method::GET, "/oauth/authorize") => self.authorize(&req, &csrf_token).await?,
            (Method::POST, "/oauth/login" | "/oauth/consent" | "/oauth/signout") => {
                let body = read_body(&mut req, self.state.settings.max_body_bytes).await?;
                let form = std::str::from_utf8(&body)
                    .ok()
                    .and_then(|text| parameters(text).ok())
                    .unwrap_or_default();
                if !csrf::holds(
                    &self.state,
                    req.headers(),
                    form.get("csrf").map(String::as_str),
                ) {
                    error_page(
                        StatusCode::FORBIDDEN,
                        "This form has expired or did not come from this site. Go back to the app and start again.",
                    )
                } else {
                    match path.as_str() {
                        "/oauth/login" => self.login(&req, &form, &csrf_token).await?,
                        "/oauth/consent" => self.consent(&req, &form).await?,
                        _ => self.sign_out(&req).await?,
                    }
                }
            }
            _ => return Err(ApiError::MethodNotAllowed),
        };
        if fresh {
            answer.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&self.state, csrf::COOKIE, Some(&secret))
                    .parse()
                    .map_err(|_| ApiError::Internal("CSRF cookie".into()))?,
            );
        }
        Ok(answer)
    }
}

impl Endpoint for FlowPages {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        Ok(match self.serve(req).await {
            Ok(answer) => answer,
            Err(ApiError::MethodNotAllowed) => message(
                StatusCode::METHOD_NOT_ALLOWED,
                "Not here",
                "This page does not answer that method.",
                true,
            ),
            Err(e) => {
                let request = crate::request::current_request();
                let id = request.as_ref().map(|r| r.request_id.as_str());
                e.log_cause(id);
                let status = e.status();
                error_page(status, &e.public_message(id))
            }
        })
    }
}

/// Who vouches for `client`'s name, for the consent page: a person needs
/// to know that a self-registered name is only a claim, and which host
/// publishes a metadata document.
fn identity(client: &OAuthClient) -> String {
    match client.source {
        ClientSource::Document => {
            let host = url::Url::parse(&client.id)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            format!("This app is described by its publisher at {host}.")
        }
        ClientSource::Registered => {
            "This app registered itself with this server: its name is its own claim.".into()
        }
        ClientSource::Cli => "An administrator of this server registered this app.".into(),
    }
}
