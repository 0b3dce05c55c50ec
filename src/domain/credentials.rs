//! Account fields parsed at the edge: a value of these types is valid by
//! construction, so deeper code never re-checks a `String`.

use std::fmt;

use super::validation::FieldError;

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

/// A login name: 3 to 50 characters of letters, digits, `_`, `.` or `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Validates `raw` (surrounding whitespace is an error, not trimmed away).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        if !(3..=50).contains(&len) {
            return Err(field_error("username", "must be 3 to 50 characters long"));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(field_error(
                "username",
                "may contain only letters, digits, '_', '.' and '-'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Validates the shape `local@domain.tld` and lower-cases it.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Self(email))
        } else {
            Err(field_error("email", "is not a valid email address"))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Longest password presented to a check (a login, the current password);
/// longer ones are refused before hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A new password: 8 to 128 characters. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks the strength rules for a password being set.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        if len < 8 {
            return Err(field_error(field, "must be at least 8 characters long"));
        }
        if len > 128 {
            return Err(field_error(field, "must be at most 128 characters long"));
        }
        if raw.trim().is_empty() {
            return Err(field_error(field, "must not be blank"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The password, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A display name: at most 100 characters; blank means none.
pub fn parse_full_name(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(name) if name.chars().count() > 100 => Err(field_error(
            "full_name",
            "must be at most 100 characters long",
        )),
        // Control characters forge log lines and bidi overrides make a
        // name read as another in lists and audit views.
        Some(name) if name.chars().any(|c| c.is_control() || is_bidi_control(c)) => Err(
            field_error("full_name", "must not contain control or bidi characters"),
        ),
        Some(name) => Ok(Some(name.to_owned())),
    }
}

/// The Unicode bidirectional formatting characters (marks, embeddings,
/// overrides, isolates).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(Username::parse("alice_01").is_ok());
        assert!(Username::parse("al").is_err());
        assert!(Username::parse("al ice").is_err());
        assert!(Username::parse(&"a".repeat(51)).is_err());
        assert!(parse_full_name(Some("Ann \u{202e}reh")).is_err());
        assert!(parse_full_name(Some("Ann\nB")).is_err());
        assert_eq!(
            parse_full_name(Some(" Zoë ")).unwrap().as_deref(),
            Some("Zoë")
        );
    }

    #[test]
    fn emails_are_lower_cased() {
        assert_eq!(
            Email::parse("Bob@Example.COM").unwrap().as_str(),
            "bob@example.com"
        );
        for bad in [
            "",
            "bob",
            "bob@",
            "@x.io",
            "bob@localhost",
            "a b@x.io",
            "a@b@c.io",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_long_enough_and_hidden() {
        assert!(Password::parse("", "password").is_err());
        assert!(Password::parse("short", "password").is_err());
        assert!(Password::parse("        ", "password").is_err());
        let p = Password::parse("long enough", "password").unwrap();
        assert!(!format!("{p:?}").contains("long"));
    }
}
