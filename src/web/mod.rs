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

/// `GET /static/{style.css,icon.svg}`: the pages' stylesheet and the
/// service's icon.
pub struct Static;

impl Endpoint for Static {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let (content_type, body) = match req.uri().path() {
            "/static/style.css" => ("text/css; charset=utf-8", include_str!("static/style.css")),
            _ => ("image/svg+xml", include_str!("static/icon.svg")),
        };
        Ok(Response::builder()
            .content_type(content_type)
            .header(header::CACHE_CONTROL, "public, max-age=3600")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .body(body))
    }
}
