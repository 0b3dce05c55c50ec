//! Timestamps as the service stores them: UTC with microsecond precision,
//! so that a value read back equals the value written (Postgres keeps
//! microseconds) and SQLite's text form sorts as time.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

/// The current time, truncated to microseconds.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The fixed text form stored on SQLite: RFC 3339, six fractional digits, `Z`.
pub fn to_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses the stored text form back.
pub fn from_text(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_sorts() {
        let t = now();
        let s = to_text(t);
        assert_eq!(s.len(), "2026-01-01T00:00:00.000000Z".len());
        assert_eq!(from_text(&s).unwrap(), t);
        assert!(to_text(t) < to_text(t + chrono::Duration::microseconds(1)));
    }
}
