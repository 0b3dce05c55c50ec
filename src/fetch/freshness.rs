//! How long a fetched document may be used again, from its
//! `Cache-Control` (RFC 9111), kept within bounds so that a client's
//! changes, and a document taken down, are seen within a day.

use std::time::Duration;

/// The longest a document is kept, whatever it says.
pub const MAX_FRESH: Duration = Duration::from_secs(24 * 3600);
/// How long a document that says nothing is kept.
const DEFAULT_FRESH: Duration = Duration::from_secs(300);

/// The freshness the `Cache-Control` values give: none for `no-store` or
/// `no-cache`, `max-age` (`s-maxage` first: this is a shared cache) up to
/// [`MAX_FRESH`], and five minutes when they say nothing.
pub fn from_cache_control<'a>(values: impl Iterator<Item = &'a str>) -> Duration {
    let mut max_age = None;
    let mut shared_max_age = None;
    for directive in values.flat_map(|v| v.split(',')) {
        let directive = directive.trim();
        let (name, value) = directive
            .split_once('=')
            .map_or((directive, None), |(n, v)| (n.trim(), Some(v.trim())));
        let seconds = || value.and_then(|v| v.trim_matches('"').parse::<u64>().ok());
        match name.to_ascii_lowercase().as_str() {
            "no-store" | "no-cache" | "private" => return Duration::ZERO,
            "max-age" => max_age = seconds().or(Some(0)),
            "s-maxage" => shared_max_age = seconds().or(Some(0)),
            _ => {}
        }
    }
    shared_max_age
        .or(max_age)
        .map_or(DEFAULT_FRESH, Duration::from_secs)
        .min(MAX_FRESH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(values: &[&str]) -> u64 {
        from_cache_control(values.iter().copied()).as_secs()
    }

    #[test]
    fn cache_control_sets_freshness_within_bounds() {
        assert_eq!(fresh(&[]), 300);
        assert_eq!(fresh(&["public, max-age=600"]), 600);
        assert_eq!(fresh(&["max-age=600", "s-maxage=60"]), 60);
        assert_eq!(fresh(&["max-age=9999999"]), MAX_FRESH.as_secs());
        assert_eq!(fresh(&["max-age=60, no-cache"]), 0);
        assert_eq!(fresh(&["no-store"]), 0);
        assert_eq!(fresh(&["private, max-age=60"]), 0);
        assert_eq!(fresh(&["max-age=soon"]), 0);
    }
}
