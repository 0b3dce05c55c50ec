//! Substring search on SQLite's `items_search` index (migration V10): the
//! FTS5 phrase a text becomes, and the escaped `LIKE` pattern of texts too
//! short for the index.

use crate::store::ItemFilter;

/// The FTS5 query of a text filter of three or more characters in the
/// `items_search` index (migration V10): one phrase of the text's chunks of
/// 3 characters (odd length) or 4 (even length), starting at every second
/// character. Within one of the index's streams consecutive chunks start two
/// characters apart, so the phrase matches exactly where the text occurs.
/// The tokenizer folds the case of both sides alike.
pub(super) fn search_phrase(filter: &ItemFilter) -> Option<String> {
    let chars: Vec<char> = filter.text.as_deref()?.chars().collect();
    if chars.len() < 3 {
        return None;
    }
    let size = if chars.len() % 2 == 1 { 3 } else { 4 };
    let chunks: Vec<String> = (0..=chars.len() - size)
        .step_by(2)
        .map(|start| search_chunk(&chars[start..start + size]))
        .collect();
    Some(format!("\"{}\"", chunks.join(" ").replace('"', "\"\"")))
}

/// A chunk as the index writes it: `_` as `_u` and a space (the tokenizer's
/// only separator) as `_s`.
fn search_chunk(chars: &[char]) -> String {
    chars
        .iter()
        .collect::<String>()
        .replace('_', "_u")
        .replace(' ', "_s")
}

/// Escapes LIKE wildcards so user text matches literally.
pub(super) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(text: &str) -> Option<String> {
        search_phrase(&ItemFilter {
            text: Some(text.into()),
            ..ItemFilter::default()
        })
    }

    #[test]
    fn a_text_is_the_phrase_of_its_chunks_two_characters_apart() {
        assert_eq!(phrase("ab"), None, "short texts are matched with LIKE");
        assert_eq!(phrase("abc").as_deref(), Some(r#""abc""#));
        assert_eq!(phrase("lamp").as_deref(), Some(r#""lamp""#));
        assert_eq!(phrase("notebook").as_deref(), Some(r#""note tebo book""#));
        assert_eq!(
            phrase("Note book").as_deref(),
            Some(r#""Not te_s _sbo ook""#)
        );
        assert_eq!(phrase("a_b c").as_deref(), Some(r#""a_ub b_sc""#));
        assert_eq!(
            phrase(r#"say "hi""#).as_deref(),
            Some(r#""say_s y_s""h ""hi""""#)
        );
        assert_eq!(
            phrase("héllo").as_deref(),
            Some(r#""hél llo""#),
            "characters, not bytes"
        );
    }
}
