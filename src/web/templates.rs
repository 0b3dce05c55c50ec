//! The pages' templates (in `templates/`, compiled into the binary by
//! askama, escaped for HTML).

use askama::Template;

/// The sign-in form.
#[derive(Template)]
#[template(path = "login.html")]
pub struct Login<'a> {
    /// The app asking.
    pub client_name: &'a str,
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// The authorization request, to carry through the form.
    pub request: &'a str,
    /// The username typed last time.
    pub username: &'a str,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// One scope as the consent page lists it.
pub struct ScopeLine {
    /// Its name.
    pub name: &'static str,
    /// What it allows.
    pub words: &'static str,
}

/// The consent page.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct Consent<'a> {
    /// The app asking.
    pub client_name: &'a str,
    /// Who is signed in.
    pub username: &'a str,
    /// The host the answer goes to.
    pub redirect_host: &'a str,
    /// Who vouches for the app's name, in words.
    pub identity: String,
    /// What the app will be able to do.
    pub scopes: Vec<ScopeLine>,
    /// What it asked for beyond the user's role.
    pub withheld: Vec<ScopeLine>,
    /// The forms' CSRF token.
    pub csrf: &'a str,
    /// The authorization request, to carry through the form.
    pub request: &'a str,
}

/// A page that only says something: an error, or that you signed out.
#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    /// Its heading.
    pub title: &'a str,
    /// What it says.
    pub message: &'a str,
    /// Whether it reports a failure.
    pub is_error: bool,
    /// A link back to the client, carrying the error.
    pub back: Option<&'a str>,
}
