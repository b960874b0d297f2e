//! Validation of everything a client names or sends — room and user names, message ids and texts,
//! `after=`/`limit=` queries — and the fixed sizes they are checked against. Checked input becomes a
//! newtype ([`RoomName`], [`UserName`]) through a parsing constructor, so an unchecked value cannot
//! travel far. Refusals name their limits from the constants here, never from a copy.

use crate::error::{ErrorCode, Problem};

/// Longest message text, in Unicode scalar values (what JavaScript's `[...s].length` counts).
pub const MAX_TEXT_CHARS: usize = 4000;
/// Largest WebSocket frame a room reads; bigger ones close the socket with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Largest HTTP body the API reads (a message is at most 4000 characters; JSON escaping can grow it).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest client message id.
pub const MAX_ID_CHARS: usize = 64;
/// Messages in `welcome.history` when the client gives no `after`.
pub const WELCOME_HISTORY: usize = 50;
/// Most messages a resume (`after=`) or an HTTP history page returns.
pub const MAX_PAGE: usize = 1000;
/// Messages in an HTTP history page when the request gives no `limit=`.
pub const DEFAULT_PAGE: usize = 100;
/// Versions in a `…/versions` page when the request gives no `limit=` (at most [`MAX_PAGE`]).
pub const DEFAULT_VERSIONS_PAGE: usize = 50;
/// Most and default messages of a scroll-back (`history` frame) page.
pub const MAX_HISTORY_FRAME: usize = 100;
pub const DEFAULT_HISTORY_FRAME: usize = 50;
/// Longest reaction, in Unicode scalar values and in bytes (one emoji, modifiers and joiners included).
pub const MAX_EMOJI_CHARS: usize = 10;
pub const MAX_EMOJI_BYTES: usize = 32;
/// Most distinct reactions one message may carry.
pub const MAX_REACTIONS: usize = 20;

/// A reaction: one short emoji (a grapheme cluster such as 👍, 👍🏽, 👩‍💻, 🇫🇷 or 1️⃣), not text — at
/// most [`MAX_EMOJI_CHARS`] characters and [`MAX_EMOJI_BYTES`] bytes, made only of pictographs and the
/// characters that combine them (joiner, presentation selector, skin tones, keycap, flag tags), with
/// at least one pictograph. Checked by code-point ranges rather than Unicode property tables, which
/// would cost the wasm more than the rest of this module.
pub fn check_emoji(emoji: &str) -> Result<(), Problem> {
    let keycap = emoji.contains('\u{20E3}');
    let mut pictographs = 0;
    let only_emoji = emoji.chars().all(|c| match c as u32 {
        // zero-width joiner, emoji presentation, keycap, tags (subdivision flags)
        0x200D | 0xFE0F | 0x20E3 | 0xE0020..=0xE007F => true,
        // 0-9, # and * only as keycaps (1️⃣)
        0x30..=0x39 | 0x23 | 0x2A => keycap,
        0xA9
        | 0xAE
        | 0x203C
        | 0x2049
        | 0x2122
        | 0x2139
        | 0x2194..=0x21AA
        | 0x231A..=0x23FF
        | 0x24C2
        | 0x25AA..=0x27BF
        | 0x2934
        | 0x2935
        | 0x2B05..=0x2B55
        | 0x3030
        | 0x303D
        | 0x3297
        | 0x3299
        | 0x1F000..=0x1FAFF => {
            pictographs += 1;
            true
        }
        _ => false,
    });
    let ok = only_emoji
        && (pictographs > 0 || keycap)
        && emoji.len() <= MAX_EMOJI_BYTES
        && emoji.chars().count() <= MAX_EMOJI_CHARS;
    if ok {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorCode::BadRequest,
            format!("emoji must be one emoji (at most {MAX_EMOJI_CHARS} characters, no letters or spaces)"),
        ))
    }
}

/// The `limit` of a `history` frame: 1..=[`MAX_HISTORY_FRAME`], [`DEFAULT_HISTORY_FRAME`] when absent.
pub fn history_page_limit(limit: Option<u64>) -> Result<usize, Problem> {
    match limit {
        None => Ok(DEFAULT_HISTORY_FRAME),
        Some(n) if (1..=MAX_HISTORY_FRAME as u64).contains(&n) => Ok(n as usize),
        Some(_) => Err(Problem::new(
            ErrorCode::BadLimit,
            format!("limit must be an integer from 1 to {MAX_HISTORY_FRAME}"),
        )),
    }
}

/// The `limit` of a roster page: 1..=[`MAX_ROSTER_PAGE`], [`DEFAULT_ROSTER_PAGE`] when absent.
pub fn roster_page_limit(limit: Option<u64>) -> Result<usize, Problem> {
    use crate::presence::{DEFAULT_ROSTER_PAGE, MAX_ROSTER_PAGE};
    match limit {
        None => Ok(DEFAULT_ROSTER_PAGE),
        Some(n) if (1..=MAX_ROSTER_PAGE as u64).contains(&n) => Ok(n as usize),
        Some(_) => Err(Problem::new(
            ErrorCode::BadLimit,
            format!("limit must be an integer from 1 to {MAX_ROSTER_PAGE}"),
        )),
    }
}

/// A roster cursor (`after`): a connection id as the room hands them out, at most 64 characters of
/// `0-9 a-z`; anything else cannot name a member, so it is refused rather than silently matched.
pub fn check_roster_cursor(after: &str) -> Result<(), Problem> {
    if after.len() <= 64
        && after
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorCode::BadRequest,
            "roster \"after\" must be a member id (the last id of the page before)",
        ))
    }
}

/// Message text: 1..=[`MAX_TEXT_CHARS`] characters, not only whitespace.
pub fn check_text(text: &str) -> Result<(), Problem> {
    if text.trim().is_empty() {
        return Err(Problem::new(ErrorCode::BadRequest, "message text is empty"));
    }
    // Cheap byte-length test first: a string of n bytes has at most n characters.
    if text.len() > MAX_TEXT_CHARS && text.chars().count() > MAX_TEXT_CHARS {
        return Err(Problem::new(
            ErrorCode::TooLarge,
            format!("message text is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A client's idempotency id: 1..=[`MAX_ID_CHARS`] characters, no control characters.
pub fn check_client_id(id: &str) -> Result<String, Problem> {
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        return Err(Problem::new(
            ErrorCode::BadRequest,
            format!("id must be 1-{MAX_ID_CHARS} characters without control characters"),
        ));
    }
    Ok(id.to_string())
}

/// A room name: 1–64 characters of `A-Z a-z 0-9 _ . -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomName(String);

impl RoomName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<RoomName, Problem> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if ok {
            Ok(RoomName(raw.to_string()))
        } else {
            Err(Problem::new(
                ErrorCode::BadRoom,
                format!(
                    "room must be 1-{} characters of A-Z a-z 0-9 _ . -",
                    Self::MAX_LEN
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: 1–32 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub const MAX_CHARS: usize = 32;

    pub fn parse(raw: &str) -> Result<UserName, Problem> {
        let name = raw.trim();
        let count = name.chars().count();
        if count == 0 || count > Self::MAX_CHARS || name.chars().any(char::is_control) {
            return Err(Problem::new(
                ErrorCode::BadName,
                format!(
                    "name must be 1-{} characters (after trimming) without control characters",
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(UserName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Seqs and revisions travel as JSON numbers, exact in JavaScript only below 2^53.
const JS_SAFE: u64 = 1 << 53;

/// `raw` as a whole number in `range`, else `code` with `message`.
fn whole_number(
    raw: &str,
    range: std::ops::Range<u64>,
    code: ErrorCode,
    message: &str,
) -> Result<u64, Problem> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| Problem::new(code, message))
}

/// A sequence number given in a query (`after=`): a whole number from 0 to 2^53-1.
pub fn parse_seq(raw: &str) -> Result<u64, Problem> {
    whole_number(
        raw,
        0..JS_SAFE,
        ErrorCode::BadAfter,
        "after must be a whole number from 0 to 2^53-1",
    )
}

/// A message's `seq` in a path (`/messages/{seq}/…`): a whole number from 1 to 2^53-1.
pub fn parse_message_seq(raw: &str) -> Result<u64, Problem> {
    whole_number(
        raw,
        1..JS_SAFE,
        ErrorCode::NotFound,
        "a message seq is a whole number from 1 to 2^53-1",
    )
}

/// A revision given in a query (`since=`): a whole number from 0 to 2^53-1.
pub fn parse_rev(raw: &str) -> Result<u64, Problem> {
    whole_number(
        raw,
        0..JS_SAFE,
        ErrorCode::BadAfter,
        "since must be a whole number from 0 to 2^53-1",
    )
}

/// A page size given in a query (`limit=`): 1..=[`MAX_PAGE`].
pub fn parse_page_limit(raw: &str) -> Result<usize, Problem> {
    match raw.parse::<usize>() {
        Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(Problem::new(
            ErrorCode::BadLimit,
            format!("limit must be an integer from 1 to {MAX_PAGE}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names() {
        assert!(RoomName::parse("lobby").is_ok());
        assert!(RoomName::parse("A-b_c.9").is_ok());
        assert!(RoomName::parse(&"r".repeat(64)).is_ok());
        for bad in ["", "has space", "slash/x", "é", "%41", &"r".repeat(65)] {
            assert_eq!(
                RoomName::parse(bad).unwrap_err().code,
                ErrorCode::BadRoom,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn user_names_are_trimmed_and_bounded_in_characters() {
        assert_eq!(UserName::parse("  ann ").unwrap().as_str(), "ann");
        assert!(UserName::parse(&"ü".repeat(32)).is_ok());
        assert!(UserName::parse("Zoë 🦀").is_ok());
        for bad in ["", "   ", "a\u{0}b", "tab\there", &"ü".repeat(33)] {
            assert_eq!(
                UserName::parse(bad).unwrap_err().code,
                ErrorCode::BadName,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refusals_quote_the_limits_they_enforce() {
        assert!(UserName::parse("").unwrap_err().message.contains("1-32"));
        assert!(RoomName::parse("").unwrap_err().message.contains("1-64"));
        assert!(check_text(&"x".repeat(MAX_TEXT_CHARS + 1))
            .unwrap_err()
            .message
            .contains("4000"));
    }

    #[test]
    fn client_ids() {
        assert!(check_client_id("abc-123").is_ok());
        assert!(check_client_id(&"x".repeat(64)).is_ok());
        assert!(check_client_id("").is_err());
        assert!(check_client_id(&"x".repeat(65)).is_err());
        assert!(check_client_id("a\nb").is_err());
    }

    #[test]
    fn texts() {
        assert!(check_text(&"é".repeat(MAX_TEXT_CHARS)).is_ok());
        assert_eq!(
            check_text(&"é".repeat(MAX_TEXT_CHARS + 1))
                .unwrap_err()
                .code,
            ErrorCode::TooLarge
        );
        assert_eq!(check_text(" \n").unwrap_err().code, ErrorCode::BadRequest);
    }

    #[test]
    fn emoji() {
        for ok in ["👍", "👍🏽", "👩‍💻", "🇫🇷", "❤️", "🎉", "1️⃣", "©️"]
        {
            assert!(check_emoji(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            ":)",
            "lol👍",
            "👍 ",
            "\u{0}👍",
            &"👍".repeat(11),
            "é",
        ] {
            assert!(check_emoji(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn seq_and_limit_queries() {
        assert_eq!(parse_seq("0"), Ok(0));
        assert_eq!(parse_seq("42"), Ok(42));
        assert_eq!(parse_seq("-1").unwrap_err().code, ErrorCode::BadAfter);
        assert_eq!(parse_seq("x").unwrap_err().code, ErrorCode::BadAfter);
        assert_eq!(parse_page_limit("1000"), Ok(1000));
        assert_eq!(parse_page_limit("0").unwrap_err().code, ErrorCode::BadLimit);
        assert_eq!(
            parse_page_limit("1001").unwrap_err().code,
            ErrorCode::BadLimit
        );
    }
}
