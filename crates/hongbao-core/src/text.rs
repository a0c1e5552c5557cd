//! What free text people type (names, greetings, notes) may hold: anything a reader sees, and
//! nothing that hides or reorders what they see.
//!
//! Refused: control characters; the bidirectional controls, with which a right-to-left override
//! makes "gnp.exe" read as "exe.png" and a note show another amount than the one it spells; and the characters
//! that show nothing at all (zero-width space, word joiner, invisible operators, soft hyphen,
//! byte order mark, Hangul fillers, the language tag), with which two names that look alike
//! differ. Kept: the zero-width joiner and non-joiner, which emoji sequences and several
//! scripts need, and the variation selectors, which choose how an emoji is drawn.

/// Whether `c` is a character free text must not hold (see the module).
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Bidirectional controls: marks, embeddings, overrides, isolates.
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            // Invisible: zero-width space, word joiner and invisible operators, soft hyphen,
            // Mongolian vowel separator, byte order mark, combining grapheme joiner.
            | '\u{200B}' | '\u{2060}'..='\u{2064}' | '\u{00AD}' | '\u{180E}' | '\u{FEFF}' | '\u{034F}'
            // Hangul fillers, which draw as blanks, and the language tag.
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{E0001}'
            // Line and paragraph separators: line breaks that `is_control` does not catch.
            | '\u{2028}' | '\u{2029}'
        )
}

/// The first hidden character of `text`, as `U+XXXX`, for the message that refuses it.
pub fn first_hidden(text: &str) -> Option<String> {
    text.chars().find(|&c| is_hidden(c)).map(|c| format!("U+{:04X}", u32::from(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_and_invisible_characters_are_hidden_and_what_people_write_is_not() {
        for hidden in
            ["a\u{202E}b", "\u{200B}", "x\u{2066}", "\u{FEFF}name", "soft\u{00AD}", "\n", "\u{3164}", "a\u{2028}b"]
        {
            assert!(first_hidden(hidden).is_some(), "{hidden:?}");
        }
        assert_eq!(first_hidden("rent \u{202E}21 flat"), Some("U+202E".to_owned()));
        for shown in ["恭喜发财，大吉大利", "Ünïcödé", "👨\u{200D}👩\u{200D}👧", "❤\u{FE0F}", "می\u{200C}خواهم", "a b"]
        {
            assert_eq!(first_hidden(shown), None, "{shown:?}");
        }
    }
}
