//! Mentions: who a text calls on. `@name` names someone who has been in the room (by the name they
//! last used there; ASCII letters in any case), `<@uid>` names them by author id, and `@room` calls everyone (a
//! moderator's only). The room resolves them when a message is written or edited, against the people
//! it has seen; what comes out is stored on the message (`mentions`, `mentions_room`).
//!
//! Two steps, so the room asks storage one bounded question: [`scan`] reads the text alone (where
//! each `@` could end: a name may hold spaces, so every word boundary within a name's length is a
//! candidate), and [`Scan::resolve`] picks, for each `@`, the longest candidate somebody is known by.
//! The work is bounded however the text is written: at most [`MAX_SCANNED`] `@`s are looked at and at
//! most [`MAX_KEYS`] names looked up; at most [`MAX_MENTIONS`] people come out.
//!
//! Characters are judged without Unicode's property tables (letters, case), which would cost the
//! wasm more than this whole module: ASCII letters compare in any case, other letters as written
//! (the page's autocomplete writes the name as the person goes by it), and any character that is
//! not ASCII, a space or a common punctuation mark continues a word.

use crate::identity;
use crate::validate::UserName;

/// The most people one message mentions (in the order the text names them).
pub const MAX_MENTIONS: usize = 20;
/// The most `@`s of one text that are looked at.
pub const MAX_SCANNED: usize = 50;
/// The most distinct names one text looks up.
pub const MAX_KEYS: usize = 200;

/// How a name is compared: trimmed, ASCII letters in lower case.
pub fn name_key(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

/// One `@` of a text, in the text's order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mark {
    /// `<@uid>`.
    Uid(String),
    /// `@…`: the names it could be, longest first (as [`name_key`]s).
    Name(Vec<String>),
}

/// What a text's `@`s could mean, before anyone is looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The text says `@room`.
    pub room: bool,
    marks: Vec<Mark>,
}

/// Reads the `@`s of `text`. An `@` counts at the start of a word only (not in `ann@example.com`).
/// Costs one pass over the text when it has no `@`, the common case.
pub fn scan(text: &str) -> Scan {
    let mut found = Scan::default();
    if !text.contains('@') {
        return found;
    }
    let mut keys = 0;
    let mut previous: Option<char> = None;
    for (at, c) in text.char_indices() {
        let starts_word = previous.is_none_or(|p| !is_word(p));
        previous = Some(c);
        if found.marks.len() >= MAX_SCANNED {
            break;
        }
        if c == '<' && text[at..].starts_with("<@") {
            if let Some(uid) = uid_mark(&text[at + 2..]) {
                found.marks.push(Mark::Uid(uid.to_string()));
            }
            continue;
        }
        if c != '@' || !starts_word || text[..at].ends_with('<') {
            continue;
        }
        let rest = &text[at + 1..];
        if is_room(rest) {
            found.room = true;
            continue;
        }
        let names = candidates(rest);
        if names.is_empty() || keys + names.len() > MAX_KEYS {
            continue;
        }
        keys += names.len();
        found.marks.push(Mark::Name(names));
    }
    found
}

/// Letters, digits and `_` continue a word: an `@` right after one is part of something else. Past
/// ASCII, everything but spaces and the common punctuation blocks counts as a letter.
fn is_word(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => true,
        c if c.is_ascii() => false,
        '\u{a0}'..='\u{bf}' | '\u{2000}'..='\u{206f}' | '\u{3000}'..='\u{303f}' => false,
        c => !c.is_whitespace(),
    }
}

/// `room` right after the `@`, as a whole word, in any case.
fn is_room(rest: &str) -> bool {
    let word = rest.get(..4);
    word.is_some_and(|w| w.eq_ignore_ascii_case("room"))
        && rest[4..].chars().next().is_none_or(|c| !is_word(c))
}

/// The uid of `<@uid>` (what follows `<@`): an identity's uid up to `>`; an anonymous uid names a
/// connection, not a person, and is no mention.
fn uid_mark(rest: &str) -> Option<&str> {
    // Only as far as a uid can reach: a text of `<@`s without a `>` costs no more than one pass.
    let end = rest
        .bytes()
        .take(identity::MAX_UID_CHARS + 1)
        .position(|b| b == b'>')?;
    let uid = &rest[..end];
    (identity::check_uid(uid).is_ok() && !identity::is_anonymous(uid)).then_some(uid)
}

/// The names an `@` followed by `rest` could be, longest first: every stretch of up to a name's
/// length that ends before a space, a punctuation mark or the end, neither starts nor ends with a
/// space, and does not reach the next `@` (so `@ann @bob` asks for "ann" once, not for "ann @bob"
/// too; a name with an `@` in it is mentioned by `<@uid>`).
fn candidates(rest: &str) -> Vec<String> {
    let chars: Vec<char> = rest
        .chars()
        .take(UserName::MAX_CHARS + 1)
        .take_while(|&c| c != '@')
        .collect();
    if chars.first().is_none_or(|c| c.is_whitespace()) {
        return Vec::new();
    }
    let longest = chars.len().min(UserName::MAX_CHARS);
    let mut names = Vec::new();
    for end in (1..=longest).rev() {
        let ends_word = chars.get(end).is_none_or(|&next| !is_word(next));
        if ends_word && !chars[end - 1].is_whitespace() {
            names.push(name_key(&chars[..end].iter().collect::<String>()));
        }
    }
    names
}

impl Scan {
    /// Whether the text mentions anyone or the room at all (no lookup needed when not).
    pub fn is_empty(&self) -> bool {
        !self.room && self.marks.is_empty()
    }

    /// The names to look up ([`name_key`]s), each once.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for mark in &self.marks {
            if let Mark::Name(names) = mark {
                for name in names {
                    if !keys.contains(name) {
                        keys.push(name.clone());
                    }
                }
            }
        }
        keys
    }

    /// The uids named by `<@uid>`, each once.
    pub fn uids(&self) -> Vec<String> {
        let mut uids: Vec<String> = Vec::new();
        for mark in &self.marks {
            if let Mark::Uid(uid) = mark {
                if !uids.contains(uid) {
                    uids.push(uid.clone());
                }
            }
        }
        uids
    }

    /// Who is mentioned, given the people the room has seen among those looked up (`known`: each
    /// one's uid and [`name_key`]): for each `@name` the longest name somebody goes by (everyone who
    /// goes by it: names are not unique), for each `<@uid>` that uid if it has been in the room. In
    /// the text's order, each once, at most [`MAX_MENTIONS`].
    pub fn resolve(&self, known: &[(String, String)]) -> Vec<String> {
        let mut mentioned: Vec<String> = Vec::new();
        let mut add = |uid: &str| {
            if mentioned.len() < MAX_MENTIONS && !mentioned.iter().any(|m| m == uid) {
                mentioned.push(uid.to_string());
            }
        };
        for mark in &self.marks {
            match mark {
                Mark::Uid(uid) => {
                    if known.iter().any(|(u, _)| u == uid) {
                        add(uid);
                    }
                }
                Mark::Name(names) => {
                    let longest = names
                        .iter()
                        .find(|name| known.iter().any(|(_, key)| key == *name));
                    if let Some(name) = longest {
                        let mut uids: Vec<&str> = known
                            .iter()
                            .filter(|(_, key)| key == name)
                            .map(|(uid, _)| uid.as_str())
                            .collect();
                        uids.sort_unstable();
                        uids.into_iter().for_each(&mut add);
                    }
                }
            }
        }
        mentioned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(uid, name)| (uid.to_string(), name_key(name)))
            .collect()
    }

    #[test]
    fn a_text_without_an_at_sign_costs_no_lookup() {
        let s = scan("hello there, nothing to see");
        assert!(s.is_empty());
        assert!(s.keys().is_empty());
    }

    #[test]
    fn at_name_takes_the_longest_name_somebody_goes_by() {
        let known = people(&[("u-ann", "Ann"), ("u-annlee", "ann lee"), ("u-bob", "bob")]);
        let s = scan("@ann lee and @Ann, then @BOB!");
        assert!(s.keys().contains(&"ann lee".to_string()));
        assert_eq!(s.resolve(&known), ["u-annlee", "u-ann", "u-bob"]);
        // "@ann leaves": no one is called "ann leaves", so it is ann.
        assert_eq!(scan("@ann leaves").resolve(&known), ["u-ann"]);
    }

    #[test]
    fn an_at_sign_inside_a_word_is_no_mention() {
        let known = people(&[("u-ann", "example.com")]);
        assert!(scan("mail ann@example.com").resolve(&known).is_empty());
        assert_eq!(scan("(@example.com)").resolve(&known), ["u-ann"]);
    }

    #[test]
    fn names_are_not_unique_so_everyone_who_goes_by_one_is_mentioned() {
        let known = people(&[("u-2", "dan"), ("u-1", "Dan")]);
        assert_eq!(scan("hi @dan").resolve(&known), ["u-1", "u-2"]);
    }

    #[test]
    fn uid_mentions_count_only_for_people_the_room_has_seen() {
        let s = scan("ping <@u-ann> and <@u-stranger> and <@anon:3f9c> and <@bad uid>");
        assert_eq!(s.uids(), ["u-ann", "u-stranger"]);
        let known = people(&[("u-ann", "ann")]);
        assert_eq!(s.resolve(&known), ["u-ann"]);
    }

    #[test]
    fn at_room_is_seen_in_any_case_as_a_whole_word() {
        assert!(scan("@room lunch!").room);
        assert!(scan("hey @Room.").room);
        assert!(!scan("@roomy").room);
        assert!(!scan("me@room").room);
        assert!(!scan("no mention").room);
    }

    #[test]
    fn mentions_are_capped_and_each_person_counted_once() {
        let list: Vec<(String, String)> = (0..30)
            .map(|i| (format!("u-{i:02}"), format!("p{i:02}")))
            .collect();
        let text: String = (0..30).map(|i| format!("@p{i:02} @p00 ")).collect();
        let found = scan(&text).resolve(&list);
        assert_eq!(found.len(), MAX_MENTIONS);
        assert_eq!(found[0], "u-00");
        assert_eq!(found[1], "u-01");
    }

    #[test]
    fn the_work_is_bounded_however_many_at_signs_a_text_has() {
        let text = "@a ".repeat(2000);
        let s = scan(&text);
        assert!(s.marks.len() <= MAX_SCANNED);
        let long = "@abcdefghijklmnopqrstuvwxyzabcdefghij ".repeat(100);
        assert!(scan(&long).keys().len() <= MAX_KEYS);
        // A name is at most 32 characters: nothing longer is looked up.
        assert!(scan(&long).keys().iter().all(|k| k.chars().count() <= 32));
    }

    #[test]
    fn letters_past_ascii_continue_words_and_compare_as_written() {
        let known = people(&[("u-z", "Zoë"), ("u-j", "józef")]);
        assert_eq!(scan("@Zoë, @ZOË!").resolve(&known), ["u-z"]);
        assert_eq!(scan("«@józef» café@józef").resolve(&known), ["u-j"]);
        assert_eq!(scan("@józef、hi").resolve(&known), ["u-j"]);
    }

    #[test]
    fn odd_texts_are_read_without_a_panic() {
        for text in [
            "@",
            "<@",
            "<@>",
            "@ ",
            "@@@",
            "é@é",
            "@é",
            "<@ü>",
            "@\u{1F600}",
            "x <@u",
        ] {
            let _ = scan(text).resolve(&[]);
        }
    }
}
