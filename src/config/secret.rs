//! Values that must never be printed: secrets, and database URLs whose
//! password is redacted wherever they are shown.

use std::fmt;

use super::vars::ConfigError;

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// The database to use, with its password kept out of `Debug` output.
#[derive(Clone)]
pub struct DatabaseUrl(Secret);

impl DatabaseUrl {
    /// Parses and checks the scheme.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let scheme = raw.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" | "postgres" | "postgresql" => Ok(Self(Secret::new(raw))),
            _ => Err(ConfigError::new(
                "DATABASE_URL",
                format!(
                    "unsupported scheme {scheme:?}: use sqlite:<path> or postgres://user@host/db"
                ),
            )),
        }
    }

    /// Whether this is a SQLite URL (otherwise Postgres).
    pub fn is_sqlite(&self) -> bool {
        self.0.expose().starts_with("sqlite:")
    }

    /// The full URL, password included, for the connection code only.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The URL with any password replaced by `***`, safe to log: the one in
    /// the user part and a `password` or `sslpassword` query parameter.
    pub fn redacted(&self) -> String {
        let url = self.0.expose();
        let Some((scheme, rest)) = url.split_once("://") else {
            return url.to_owned();
        };
        // The user part ends at the last `@`: a password written without
        // percent-encoding may hold `@`, `?` or `/`. When a query holds an
        // `@` too, more is hidden than needed, never less.
        let (user, rest) = match rest.rsplit_once('@') {
            Some((userinfo, after)) => match userinfo.split_once(':') {
                Some((user, _)) => (format!("{user}:***@"), after),
                None => (format!("{userinfo}@"), after),
            },
            None => (String::new(), rest),
        };
        let (host, query) = match rest.split_once('?') {
            Some((host, query)) => (host, Some(query)),
            None => (rest, None),
        };
        let address = format!("{user}{host}");
        let Some(query) = query else {
            return format!("{scheme}://{address}");
        };
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if matches!(key, "password" | "sslpassword") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        format!("{scheme}://{address}?{}", query.join("&"))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}
