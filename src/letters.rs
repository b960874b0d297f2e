//! Letter case and word characters without Unicode's tables: what the blocked-word list needs.
//!
//! `char::to_lowercase` and `char::is_alphanumeric` link Unicode's case and property tables into the
//! wasm (about 9 KB gzipped), for one feature that compares short words. This folds case by the
//! arithmetic rules of the scripts where case is common — ASCII, Latin-1, Latin Extended-A, Greek and
//! Cyrillic — and leaves every other character as it is (a script without case is unaffected; a rare
//! cased letter elsewhere, e.g. Armenian or Georgian, matches only in the case it was written in).
//! A word character is anything but white space, punctuation and the symbol and emoji blocks, so
//! letters and digits of every script make words, and `!`, `…`, `→` or `🙂` separate them.

/// `c` in lower case, for the scripts above; any other character unchanged.
pub fn lower(c: char) -> char {
    let n = c as u32;
    let folded = match n {
        // ASCII, and Latin-1's capitals (U+00D7 × is not a letter).
        0x41..=0x5A | 0xC0..=0xD6 | 0xD8..=0xDE => n + 0x20,
        // Latin Extended-A: pairs, capital first, in three runs (U+0130 İ and U+0138 ĸ stand alone).
        0x100..=0x12F | 0x132..=0x137 | 0x14A..=0x177 if n.is_multiple_of(2) => n + 1,
        0x139..=0x148 | 0x179..=0x17E if !n.is_multiple_of(2) => n + 1,
        0x178 => 0xFF,
        // Greek: the capitals without a mark (U+03A2 is unassigned), and the marked ones.
        0x391..=0x3A1 | 0x3A3..=0x3AB => n + 0x20,
        0x386 => 0x3AC,
        0x388..=0x38A => n + 0x25,
        0x38C => 0x3CC,
        0x38E..=0x38F => n + 0x3F,
        0x370..=0x373 | 0x376 | 0x3D8..=0x3EF if n.is_multiple_of(2) => n + 1,
        0x37F => 0x3F3,
        0x3CF => 0x3D7,
        0x3F4 => 0x3B8,
        0x3F7 | 0x3FA => n + 1,
        0x3F9 => 0x3F2,
        0x3FD..=0x3FF => n - 0x82,
        // Cyrillic: Ѐ–Џ, А–Я, and the pairs of the extended block up to U+04FF.
        0x400..=0x40F => n + 0x50,
        0x410..=0x42F => n + 0x20,
        0x460..=0x481 | 0x48A..=0x4BF | 0x4D0..=0x4FF if n.is_multiple_of(2) => n + 1,
        0x4C0 => 0x4CF,
        0x4C1..=0x4CE if !n.is_multiple_of(2) => n + 1,
        _ => n,
    };
    char::from_u32(folded).unwrap_or(c)
}

/// `text` in lower case, by [`lower`].
pub fn lowercase(text: &str) -> String {
    text.chars().map(lower).collect()
}

/// Whether `c` belongs to a word: not white space, punctuation or a symbol (see the module doc).
pub fn in_word(c: char) -> bool {
    let n = c as u32;
    let separator = match n {
        0..=0x7F => !c.is_ascii_alphanumeric(),
        // Latin-1's punctuation and symbols (¡ to ¿, × and ÷), and the no-break space.
        0x80..=0xBF | 0xD7 | 0xF7 => true,
        // General punctuation to the end of the miscellaneous symbols and arrows (U+2000–U+2BFF),
        // CJK punctuation, variation selectors, full-width ASCII punctuation, and the emoji planes.
        0x2000..=0x2BFF | 0x3000..=0x303F | 0xFE00..=0xFE0F | 0xFF00..=0xFF0F => true,
        0x1F000..=0x1FAFF | 0xE0000..=0xE007F => true,
        _ => c.is_whitespace(),
    };
    !separator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_like_unicode_in_the_scripts_it_covers() {
        // Every character of the covered ranges folds as the standard library's table says, where
        // that is one character (U+0130 İ lowers to two).
        let ranges = [0x20..0x250u32, 0x370..0x400, 0x400..0x500];
        for n in ranges.into_iter().flatten() {
            let Some(c) = char::from_u32(n) else { continue };
            let mut std = c.to_lowercase();
            let (Some(one), None) = (std.next(), std.next()) else {
                continue;
            };
            if (0x180..0x370).contains(&n) {
                // Latin Extended-B and IPA are left as they are.
                assert!(lower(c) == c || lower(c) == one, "{c:?}");
                continue;
            }
            assert_eq!(lower(c), one, "{c:?} U+{n:04X}");
        }
        assert_eq!(
            lowercase("CAFÉ Ÿ ΣΟΦΊΑ МОСКВА Ёж"),
            "café ÿ σοφία москва ёж"
        );
    }

    #[test]
    fn letters_and_digits_of_any_script_make_words() {
        for c in ['a', 'Z', '7', 'é', 'ß', 'σ', 'ж', '中', 'ا', '٣', 'ह'] {
            assert!(in_word(c), "{c:?}");
        }
        for c in [
            ' ', '-', '.', '!', '¿', '×', '…', '“', '→', '🙂', '　', '\u{a0}', '\u{fe0f}',
        ] {
            assert!(!in_word(c), "{c:?}");
        }
    }
}
