//! A room's own list of blocked words, for apps without a moderation endpoint: moderators add and
//! remove entries (`block` / `unblock`), and every message and edit is checked against the list on
//! arrival, in the room itself — no network, nothing waits — and refused with `rejected` on a match.
//!
//! An entry is a word or a phrase of up to [`MAX_WORDS`] words, matched case-insensitively on whole
//! words (`ass` does not match "class"); `*` at the start or end of a word makes it a prefix or suffix
//! match (`spam*` matches "spammer", `*coin` "shitcoin"). Words are runs of letters and digits (of any
//! script; punctuation, symbols and emoji separate them); accents count (`café` is not `cafe`), case
//! does not in the scripts [`crate::letters`] folds. Simple on purpose: a list moderators can read, that a
//! room checks in microseconds, and no pattern language (and its code) in the wasm.

use crate::error::{ErrorCode, Problem};
use crate::letters::{in_word, lowercase};

/// Entries a room may hold.
pub const MAX_ENTRIES: usize = 500;
/// An entry's length, in characters.
pub const MAX_ENTRY_CHARS: usize = 64;
/// Words in one entry (a phrase).
pub const MAX_WORDS: usize = 8;

/// One entry, normalized (lowercase, single spaces): what the room stores and shows.
pub fn normalize(raw: &str) -> Result<String, Problem> {
    let bad = |why: &str| {
        Problem::new(
            ErrorCode::BadRequest,
            format!("blocked word {raw:?}: {why}"),
        )
    };
    if raw.chars().count() > MAX_ENTRY_CHARS {
        return Err(bad(&format!("at most {MAX_ENTRY_CHARS} characters")));
    }
    let words: Vec<String> = raw.split_whitespace().map(lowercase).collect();
    if words.is_empty() {
        return Err(bad("empty"));
    }
    if words.len() > MAX_WORDS {
        return Err(bad(&format!("at most {MAX_WORDS} words")));
    }
    for word in &words {
        let core = word.trim_start_matches('*').trim_end_matches('*');
        if core.is_empty() || !core.chars().all(in_word) {
            return Err(bad(
                "letters and digits only, with an optional * at a word's start or end",
            ));
        }
        let lead = word.len() - word.trim_start_matches('*').len();
        let trail = word.len() - word.trim_end_matches('*').len();
        if lead > 1 || trail > 1 {
            return Err(bad("one * at a word's start and one at its end at most"));
        }
    }
    Ok(words.join(" "))
}

/// The entries of a `block` or `unblock` (`kind`), checked and normalized: at least one, at most
/// [`MAX_ENTRIES`] at once.
pub fn entries(kind: &str, words: Option<Vec<String>>) -> Result<Vec<String>, Problem> {
    let bad = |why: String| Problem::new(ErrorCode::BadRequest, why);
    let words = words.filter(|w| !w.is_empty()).ok_or_else(|| {
        bad(format!(
            "{kind} needs \"words\": a list of words or phrases"
        ))
    })?;
    if words.len() > MAX_ENTRIES {
        return Err(bad(format!(
            "{kind} takes at most {MAX_ENTRIES} words at once"
        )));
    }
    words.iter().map(|w| normalize(w)).collect()
}

/// Whether a room's list (`blocked`) may take `words` as well.
pub fn room_for(blocked: &[String], words: &[String]) -> Result<(), Problem> {
    let new = words.iter().filter(|w| !blocked.contains(w)).count();
    if blocked.len() + new > MAX_ENTRIES {
        return Err(Problem::new(
            ErrorCode::TooLarge,
            format!("a room blocks at most {MAX_ENTRIES} words; unblock some first"),
        ));
    }
    Ok(())
}

/// A text's words, lowercase.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !in_word(c))
        .filter(|w| !w.is_empty())
        .map(lowercase)
        .collect()
}

/// Whether `word` (lowercase) is what the entry's word `pattern` asks for.
fn fits(pattern: &str, word: &str) -> bool {
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(rest), _) if rest.ends_with('*') => word.contains(rest.trim_end_matches('*')),
        (Some(suffix), _) => word.ends_with(suffix),
        (None, Some(prefix)) => word.starts_with(prefix),
        (None, None) => word == pattern,
    }
}

/// The first entry of `entries` (normalized) that `text` matches, with the words of the text it
/// matched (as the sender wrote them, lowercase).
pub fn find(entries: &[String], text: &str) -> Option<String> {
    if entries.is_empty() {
        return None;
    }
    let words = words(text);
    for entry in entries {
        let pattern: Vec<&str> = entry.split(' ').collect();
        if let Some(at) = words
            .windows(pattern.len())
            .find(|window| window.iter().zip(&pattern).all(|(word, p)| fits(p, word)))
        {
            return Some(at.join(" "));
        }
    }
    None
}

/// The refusal of a text that matched: it names the words of the sender's own text, never the entry.
pub fn refusal(matched: &str) -> Problem {
    Problem::new(
        ErrorCode::Rejected,
        format!("this room does not allow “{matched}”; change it and send again"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| normalize(e).unwrap()).collect()
    }

    #[test]
    fn words_match_whole_words_whatever_their_case() {
        let l = list(&["Darn", "free money"]);
        assert_eq!(find(&l, "well DARN it"), Some("darn".into()));
        assert_eq!(find(&l, "darn."), Some("darn".into()));
        assert_eq!(find(&l, "darned"), None, "a whole word only");
        assert_eq!(find(&l, "get FREE   money now"), Some("free money".into()));
        assert_eq!(
            find(&l, "free, money"),
            Some("free money".into()),
            "a phrase's words in a row"
        );
        assert_eq!(find(&l, "money free"), None);
        assert_eq!(find(&[], "darn"), None);
    }

    #[test]
    fn a_star_makes_a_prefix_suffix_or_infix() {
        let l = list(&["spam*", "*coin", "*scam*"]);
        assert_eq!(find(&l, "spammers welcome"), Some("spammers".into()));
        assert_eq!(find(&l, "buy shitcoin"), Some("shitcoin".into()));
        assert_eq!(find(&l, "no antiscammers"), Some("antiscammers".into()));
        assert_eq!(find(&l, "coins and spa"), None);
    }

    #[test]
    fn entries_are_checked_and_normalized() {
        assert_eq!(normalize("  Free   Money "), Ok("free money".into()));
        assert_eq!(normalize("Café"), Ok("café".into()));
        for bad in ["", "  ", "*", "a-b", "**x", "x**", "<script>"] {
            assert_eq!(
                normalize(bad).unwrap_err().code,
                ErrorCode::BadRequest,
                "{bad:?}"
            );
        }
        assert!(normalize(&"x".repeat(MAX_ENTRY_CHARS + 1)).is_err());
        assert!(normalize(&["w"; MAX_WORDS + 1].join(" ")).is_err());
        assert_eq!(list(&["café"]).len(), 1);
        assert_eq!(find(&list(&["café"]), "un CAFÉ noir"), Some("café".into()));
        assert_eq!(find(&list(&["café"]), "un cafe noir"), None);
    }

    #[test]
    fn a_refusal_names_the_senders_words_only() {
        let p = refusal("spammers");
        assert_eq!(p.code, ErrorCode::Rejected);
        assert!(p.message.contains("spammers"));
    }
}
