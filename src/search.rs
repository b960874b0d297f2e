//! Full-text search of a room's history, the pure half: what a person typed becomes a [`SearchQuery`]
//! (checked, bounded, and turned into an FTS5 expression that is always valid), and what SQLite's
//! `snippet()` gives back becomes safe HTML ([`snippet_html`]). The index itself is an SQLite FTS5
//! table next to the messages (`worker/store.rs`, migration 4); the room decides what may be found
//! (`room/reads.rs`).
//!
//! **Never raw `MATCH`.** FTS5 has its own query language (`OR`, `NOT`, `NEAR(…)`, `col:`, `^`, `*`,
//! parentheses, quotes), and a syntax error in it is an SQL error. So user text is never handed to it:
//! each word or `"quoted phrase"` becomes an FTS5 *string* (`"…"`, its quotes doubled), in which every
//! character is literal and only the tokenizer sees it; the strings are joined by spaces (AND). `OR`
//! is then just the word "or", `NEAR(` the word "near", an unbalanced quote or parenthesis nothing at
//! all. The one operator we build ourselves is a trailing `*` (prefix search: `run*`).
//!
//! **Bounded work.** A search runs on the room's only thread, so what one query may cost is bounded
//! here, before SQLite sees it: a prefix needs [`MIN_PREFIX_CHARS`] characters (a one-letter prefix
//! matches nearly every word, and FTS5 merges the lists of all of them), a query holds at most
//! [`MAX_PREFIX_TERMS`] prefixes, and a term said twice is searched once. The store answers from the
//! FTS5 prefix indexes for two- and three-character prefixes (migration 6) and ranks only the newest
//! [`SEARCH_WINDOW`] matches; [`Found::older`] says where to go on from. Measured on 4,000 messages of
//! ~2.5 KB: `a* b* … p*` cost ~370 ms before; the broadest query allowed now costs a few ms.

use serde::Serialize;

use crate::domain::ChatMessage;
use crate::error::{ErrorCode, Problem};

/// Longest query, in characters: a search box, not a document.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most words and phrases in one query (each is one more FTS5 lookup).
pub const MAX_QUERY_TERMS: usize = 16;
/// Most results one search returns, and how many when the client does not say.
pub const MAX_RESULTS: usize = 50;
pub const DEFAULT_RESULTS: usize = 20;
/// Fewest characters before a `*`: `a*` would merge the index entries of every word starting with
/// "a" (FTS5 has no prefix index for one character), ~20 ms per such term on 4,000 messages.
pub const MIN_PREFIX_CHARS: usize = 2;
/// Most prefix terms in one query: each one reads a whole prefix index entry (every row holding a
/// word that starts so) and adds its hits to the ranking and the snippet of every candidate row.
pub const MAX_PREFIX_TERMS: usize = 4;
/// How many matches a search ranks: the newest this many before `before`. `ORDER BY rank` computes
/// bm25 for every row it orders, so ranking all matches of a broad query in a big room costs the
/// room's thread time in proportion to the room; ranking a window of the newest costs at most this.
/// Older matches are reached by searching again with `before` = [`Found::older`].
pub const SEARCH_WINDOW: usize = 200;

/// What SQLite's `snippet()` puts around a hit: two private-use characters, which the tokenizer
/// treats as text. [`snippet_html`] turns them into `<mark>` and `</mark>` after escaping the rest.
pub const MARK_OPEN: char = '\u{E000}';
pub const MARK_CLOSE: char = '\u{E001}';

/// One word or phrase to find: every token of `text` in this order (the tokenizer decides what a
/// token is), the last one as a prefix when `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: String,
    pub prefix: bool,
}

/// A checked query: 1..=[`MAX_QUERY_TERMS`] terms, each with something to search for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    raw: String,
    terms: Vec<Term>,
}

// The refusals' texts are fixed strings, their figures written out (a test checks them against the
// constants): a `format!` would cost wasm bytes for nothing.
fn bad_query(message: &str) -> Problem {
    Problem::new(ErrorCode::BadQuery, message)
}

/// Whether `s` holds anything the tokenizer could make a token of. ASCII letters and digits are,
/// ASCII punctuation is not; anything beyond ASCII may be (a letter, a mark, a symbol: which ones is
/// the tokenizer's business, and a term it finds empty simply matches everything else's rows), so it
/// is kept without a Unicode table in the wasm.
fn searchable(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_ascii_alphanumeric() || !c.is_ascii())
}

impl SearchQuery {
    /// Reads a search box: whitespace-separated words, `"quoted phrases"` (when the quotes pair up),
    /// `word*` for a prefix. Control characters count as spaces. Empty, punctuation-only, longer than
    /// [`MAX_QUERY_CHARS`] or more than [`MAX_QUERY_TERMS`] terms: `bad_query`.
    pub fn parse(raw: &str) -> Result<SearchQuery, Problem> {
        if raw.len() > MAX_QUERY_CHARS && raw.chars().count() > MAX_QUERY_CHARS {
            return Err(bad_query("the search is longer than 200 characters"));
        }
        let cleaned: String = raw
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        // Quotes delimit phrases only when they pair up; an odd one out is punctuation.
        let quoted = cleaned.matches('"').count().is_multiple_of(2);
        let mut terms = Vec::new();
        for (i, part) in cleaned.split('"').enumerate() {
            if quoted && i % 2 == 1 {
                terms.push(Term {
                    text: part.trim().to_string(),
                    prefix: false,
                });
                continue;
            }
            for word in part.split_whitespace() {
                let stem = word.trim_end_matches('*');
                terms.push(Term {
                    text: stem.to_string(),
                    prefix: stem.len() < word.len(),
                });
            }
        }
        terms.retain(|t| searchable(&t.text));
        if terms.len() > MAX_QUERY_TERMS {
            return Err(bad_query("the search has more than 16 words"));
        }
        // A term said twice finds the same rows once more, at the full price again: searched once.
        // (Compared as typed: the tokenizer folds case, so "Run" and "run" both stay, harmlessly.)
        let mut unique: Vec<Term> = Vec::with_capacity(terms.len());
        for term in terms {
            if !unique.contains(&term) {
                unique.push(term);
            }
        }
        let terms = unique;
        if terms.is_empty() {
            return Err(bad_query(
                "nothing to search for: type a word (punctuation alone is not searched)",
            ));
        }
        if terms
            .iter()
            .any(|t| t.prefix && t.text.chars().count() < MIN_PREFIX_CHARS)
        {
            return Err(bad_query("a prefix (word*) needs at least 2 characters"));
        }
        if terms.iter().filter(|t| t.prefix).count() > MAX_PREFIX_TERMS {
            return Err(bad_query("the search has more than 4 prefixes (word*)"));
        }
        Ok(SearchQuery {
            raw: raw.to_string(),
            terms,
        })
    }

    /// The query as the person typed it (what crosses the Worker → room hop, parsed again there).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The FTS5 expression: each term an FTS5 string (its `"` doubled), a prefix one followed by `*`,
    /// all of them required (juxtaposition is AND).
    pub fn to_fts(&self) -> String {
        let mut fts = String::new();
        for t in &self.terms {
            if !fts.is_empty() {
                fts.push(' ');
            }
            fts.push('"');
            for c in t.text.chars() {
                if c == '"' {
                    fts.push('"');
                }
                fts.push(c);
            }
            fts.push('"');
            if t.prefix {
                fts.push_str(" *");
            }
        }
        fts
    }
}

/// What the store found for a search: the best matches among the newest [`SEARCH_WINDOW`], each with
/// its raw snippet, and, when the window was full, `older`: the oldest `seq` it covered, below which
/// more messages may match (search again with `before` = `older`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Found {
    pub hits: Vec<(ChatMessage, String)>,
    pub older: Option<u64>,
}

/// A search's answer (`GET …/search` and `search_results`): the results, best first; whether more
/// matched; when the ranked window holds more, the `offset` of its next page (with the same `before`);
/// and when older messages may match too, the `before` that searches on from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    pub results: Vec<SearchHit>,
    pub has_more: bool,
    pub next_before: Option<u64>,
    pub next_offset: Option<usize>,
}

/// A search as a client asks for it: the query, only messages with `seq < before` (all when `None`),
/// at most `limit` results, after the first `offset` of the ranked window (the next page of the same
/// window: [`SearchPage::next_offset`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    pub query: SearchQuery,
    pub before: Option<u64>,
    pub limit: usize,
    pub offset: usize,
}

/// The `offset` of a search: 0 (the default) up to the window's last result. Paging within the window
/// costs what its first page did: the window is ranked whole either way ([`SEARCH_WINDOW`]).
pub fn result_offset(offset: Option<u64>) -> Result<usize, Problem> {
    match offset {
        None => Ok(0),
        Some(n) if n < SEARCH_WINDOW as u64 => Ok(n as usize),
        Some(_) => Err(Problem::new(
            ErrorCode::BadRequest,
            format!(
                "offset must be an integer from 0 to {} (a search ranks the newest {SEARCH_WINDOW} matches; search on with next_before)",
                SEARCH_WINDOW - 1
            ),
        )),
    }
}

/// The `limit` of a search: 1..=[`MAX_RESULTS`], [`DEFAULT_RESULTS`] when absent.
pub fn result_limit(limit: Option<u64>) -> Result<usize, Problem> {
    match limit {
        None => Ok(DEFAULT_RESULTS),
        Some(n) if (1..=MAX_RESULTS as u64).contains(&n) => Ok(n as usize),
        Some(_) => Err(bad_limit()),
    }
}

fn bad_limit() -> Problem {
    Problem::new(ErrorCode::BadLimit, "limit must be an integer from 1 to 50")
}

impl SearchRequest {
    /// From a query string (`q`, `limit`, `before`, `offset`), as `GET …/search` and the Worker → room
    /// hop carry it.
    pub fn from_query(query: &[(String, String)]) -> Result<SearchRequest, Problem> {
        let get = |key: &str| crate::query::query_value(query, key);
        let limit = get("limit")
            .map(|l| l.parse::<u64>().map_err(|_| bad_limit()))
            .transpose()?;
        let before = get("before")
            .map(|b| {
                crate::validate::parse_seq(b).map_err(|_| {
                    Problem::new(
                        ErrorCode::BadAfter,
                        "before must be a whole number from 0 to 2^53-1",
                    )
                })
            })
            .transpose()?;
        // Not a number reads as one past any offset: refused with the same words.
        let offset = get("offset").map(|o| o.parse::<u64>().unwrap_or(u64::MAX));
        Ok(SearchRequest {
            query: SearchQuery::parse(get("q").unwrap_or(""))?,
            before,
            limit: result_limit(limit)?,
            offset: result_offset(offset)?,
        })
    }

    /// The query-string pairs [`SearchRequest::from_query`] reads back.
    pub fn to_query(&self, query: &mut form_urlencoded::Serializer<'_, String>) {
        query.append_pair("q", self.query.as_str());
        query.append_pair("limit", &self.limit.to_string());
        if let Some(before) = self.before {
            query.append_pair("before", &before.to_string());
        }
        if self.offset > 0 {
            query.append_pair("offset", &self.offset.to_string());
        }
    }
}

/// One search result: the whole current message, and a `snippet` of its text around the hits as
/// HTML (hits in `<mark>`, everything else escaped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    #[serde(flatten)]
    pub message: ChatMessage,
    pub snippet: String,
}

/// Escapes `raw` for HTML and turns the [`MARK_OPEN`]/[`MARK_CLOSE`] pairs `snippet()` put in into
/// `<mark>`/`</mark>`. A message may itself contain those characters: only a well-nested open/close
/// becomes a tag, every other one is dropped, and an open mark is closed at the end, so the result
/// is always balanced and never holds markup other than `<mark>` and `</mark>`.
pub fn snippet_html(raw: &str) -> String {
    let mut html = String::with_capacity(raw.len() + 16);
    let mut open = false;
    for c in raw.chars() {
        match c {
            MARK_OPEN if !open => {
                html.push_str("<mark>");
                open = true;
            }
            MARK_CLOSE if open => {
                html.push_str("</mark>");
                open = false;
            }
            MARK_OPEN | MARK_CLOSE => {}
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
    if open {
        html.push_str("</mark>");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts(q: &str) -> String {
        SearchQuery::parse(q).unwrap().to_fts()
    }

    fn code(q: &str) -> ErrorCode {
        SearchQuery::parse(q).unwrap_err().code
    }

    #[test]
    fn words_become_fts_strings_joined_by_and() {
        assert_eq!(fts("hello world"), r#""hello" "world""#);
        assert_eq!(fts("  café\tau lait "), r#""café" "au" "lait""#);
        assert_eq!(fts("run*"), r#""run" *"#);
        assert_eq!(
            fts(r#"say "good morning" now"#),
            r#""say" "good morning" "now""#
        );
    }

    #[test]
    fn fts_operators_are_only_words() {
        assert_eq!(fts("cats OR dogs"), r#""cats" "OR" "dogs""#);
        assert_eq!(fts("NEAR(a b)"), r#""NEAR(a" "b)""#);
        assert_eq!(fts("NOT x AND y"), r#""NOT" "x" "AND" "y""#);
        assert_eq!(fts("text:hi ^start"), r#""text:hi" "^start""#);
        // Parentheses alone have nothing to search for: refused, never sent.
        assert_eq!(code("((("), ErrorCode::BadQuery);
    }

    #[test]
    fn unbalanced_quotes_are_punctuation_and_never_break_the_expression() {
        assert_eq!(fts(r#"it's "open"#), r#""it's" "open""#);
        // Whatever comes in, each term is one FTS5 string: quotes inside are doubled.
        for q in [r#"a"b"c""#, r#"""x"#, r#""""#, "\"\"\"a", "a\"\u{0}b"] {
            if let Ok(parsed) = SearchQuery::parse(q) {
                for term in parsed.terms() {
                    assert!(!term.text.contains('\u{0}'), "{q:?}");
                }
                let expr = parsed.to_fts();
                let unescaped = expr.replace("\"\"", "");
                assert_eq!(unescaped.matches('"').count() % 2, 0, "{q:?} -> {expr}");
            }
        }
    }

    #[test]
    fn empty_punctuation_only_huge_and_wordy_queries_are_bad_query() {
        for q in ["", "   ", "*", "\"\"", "()", "-- ;", "\u{0}\u{1}"] {
            assert_eq!(code(q), ErrorCode::BadQuery, "{q:?}");
        }
        assert_eq!(code(&"a".repeat(MAX_QUERY_CHARS + 1)), ErrorCode::BadQuery);
        assert!(SearchQuery::parse(&"é".repeat(MAX_QUERY_CHARS)).is_ok());
        let words = vec!["w"; MAX_QUERY_TERMS + 1].join(" ");
        assert_eq!(code(&words), ErrorCode::BadQuery);
        assert!(SearchQuery::parse(&vec!["w"; MAX_QUERY_TERMS].join(" ")).is_ok());
    }

    #[test]
    fn prefixes_need_two_characters_and_at_most_four_per_query() {
        // The issue's query: sixteen one-letter prefixes, each merging the index of every word.
        let broad: Vec<String> = ('a'..='p').map(|c| format!("{c}*")).collect();
        assert_eq!(code(&broad.join(" ")), ErrorCode::BadQuery);
        let one = SearchQuery::parse("a*").unwrap_err();
        assert_eq!(one.code, ErrorCode::BadQuery);
        assert!(
            one.message.contains("at least 2 characters"),
            "{}",
            one.message
        );
        assert_eq!(code("é*"), ErrorCode::BadQuery);
        assert_eq!(fts("ab*"), r#""ab" *"#);
        assert_eq!(fts("éa*"), r#""éa" *"#);
        // A one-letter *word* is still a word.
        assert_eq!(fts("a"), r#""a""#);
        let four = "ab* cd* ef* gh* plain words";
        assert_eq!(SearchQuery::parse(four).unwrap().terms().len(), 6);
        let five = SearchQuery::parse("ab* cd* ef* gh* ij*").unwrap_err();
        assert_eq!(five.code, ErrorCode::BadQuery);
        let most = format!("more than {MAX_PREFIX_TERMS} prefixes");
        assert!(five.message.contains(&most), "{}", five.message);
        let least = format!("at least {MIN_PREFIX_CHARS} characters");
        assert!(one.message.contains(&least), "{}", one.message);
    }

    #[test]
    fn the_refusals_name_the_limits_in_force() {
        let message = |q: &str| SearchQuery::parse(q).unwrap_err().message;
        let long = message(&"x".repeat(MAX_QUERY_CHARS + 1));
        assert!(
            long.contains(&format!(" {MAX_QUERY_CHARS} characters")),
            "{long}"
        );
        let wordy = message(&vec!["w"; MAX_QUERY_TERMS + 1].join(" "));
        assert!(
            wordy.contains(&format!(" {MAX_QUERY_TERMS} words")),
            "{wordy}"
        );
        let limit = result_limit(Some(0)).unwrap_err().message;
        assert!(limit.ends_with(&format!(" {MAX_RESULTS}")), "{limit}");
    }

    #[test]
    fn a_term_said_twice_is_searched_once() {
        assert_eq!(fts("run run run*  run* \"run\""), r#""run" "run" *"#);
        // So repeating a prefix does not get past the cap either.
        assert_eq!(
            SearchQuery::parse(&vec!["ab*"; 16].join(" "))
                .unwrap()
                .terms()
                .len(),
            1
        );
    }

    proptest::proptest! {
        /// Whatever is typed, the query is refused with `bad_query` or becomes terms that are each
        /// exactly one FTS5 string: quotes balanced, nothing outside them but spaces and `*`.
        #[test]
        fn any_text_is_refused_or_becomes_well_formed_fts(raw in "(\\PC|[\"*()^:+\\-]|OR|NEAR){0,40}") {
            match SearchQuery::parse(&raw) {
                Err(p) => proptest::prop_assert_eq!(p.code, ErrorCode::BadQuery),
                Ok(q) => {
                    let expr = q.to_fts();
                    let mut inside = false;
                    let mut chars = expr.chars().peekable();
                    while let Some(c) = chars.next() {
                        if c == '"' {
                            if inside && chars.peek() == Some(&'"') {
                                chars.next();
                            } else {
                                inside = !inside;
                            }
                        } else if !inside {
                            proptest::prop_assert!(c == ' ' || c == '*', "{raw:?} -> {expr}");
                        }
                        proptest::prop_assert!(!c.is_control(), "{raw:?} -> {expr}");
                    }
                    proptest::prop_assert!(!inside, "{raw:?} -> {expr}");
                }
            }
        }
    }

    #[test]
    fn snippets_are_escaped_and_only_marks_survive() {
        let raw = format!("a <b>&{MARK_OPEN}hit{MARK_CLOSE} \"q\" 'x'");
        assert_eq!(
            snippet_html(&raw),
            "a &lt;b&gt;&amp;<mark>hit</mark> &quot;q&quot; &#39;x&#39;"
        );
        // Marker characters a message itself contains cannot unbalance the markup.
        let hostile = format!("{MARK_CLOSE}x{MARK_OPEN}{MARK_OPEN}y");
        assert_eq!(snippet_html(&hostile), "x<mark>y</mark>");
    }

    #[test]
    fn requests_read_from_a_query_string_and_back() {
        let pairs = |q: &[(&str, &str)]| -> Vec<(String, String)> {
            q.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let r = SearchRequest::from_query(&pairs(&[("q", "hi there")])).unwrap();
        assert_eq!((r.before, r.limit), (None, DEFAULT_RESULTS));
        let mut ser = form_urlencoded::Serializer::new(String::new());
        assert_eq!(r.offset, 0);
        let r = SearchRequest {
            before: Some(7),
            limit: 3,
            offset: 40,
            ..r
        };
        r.to_query(&mut ser);
        let back = crate::query::query_pairs(&ser.finish());
        assert_eq!(SearchRequest::from_query(&back), Ok(r));
        let err = |q: &[(&str, &str)]| SearchRequest::from_query(&pairs(q)).unwrap_err().code;
        assert_eq!(err(&[]), ErrorCode::BadQuery);
        assert_eq!(err(&[("q", "x"), ("limit", "0")]), ErrorCode::BadLimit);
        assert_eq!(err(&[("q", "x"), ("limit", "51")]), ErrorCode::BadLimit);
        assert_eq!(err(&[("q", "x"), ("limit", "ten")]), ErrorCode::BadLimit);
        assert_eq!(err(&[("q", "x"), ("before", "-1")]), ErrorCode::BadAfter);
        assert_eq!(err(&[("q", "x"), ("offset", "200")]), ErrorCode::BadRequest);
        assert_eq!(err(&[("q", "x"), ("offset", "-1")]), ErrorCode::BadRequest);
    }
}
