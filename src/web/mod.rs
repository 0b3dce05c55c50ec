//! Server-rendered pages: the OAuth flow's sign-in and consent so far.
//! Templates in `templates/` share one layout and the one stylesheet in
//! `static/`, all compiled into the binary. Every page works without
//! JavaScript, and none may be framed (see [`page`]).

mod csrf;
pub mod flow;
mod page;
mod templates;

use poem::http::header;
use poem::{Endpoint, Request, Response};

/// `GET /static/style.css`: the pages' stylesheet.
pub struct Stylesheet;

impl Endpoint for Stylesheet {
    type Output = Response;

    async fn call(&self, _req: Request) -> poem::Result<Response> {
        Ok(Response::builder()
            .content_type("text/css; charset=utf-8")
            .header(header::CACHE_CONTROL, "public, max-age=3600")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .body(include_str!("static/style.css")))
    }
}
