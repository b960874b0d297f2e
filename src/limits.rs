//! Validation of everything a client names or sends, and the per-connection rate limiter.
//!
//! Checked input becomes a newtype ([`RoomName`], [`UserName`]) through a parsing constructor, so an
//! unchecked value cannot travel far. The [`TokenBucket`] takes the current time as an argument and
//! never reads a clock, which keeps it deterministic under test.

use crate::protocol::{ErrorCode, Problem};

/// Default per-room connection cap (`MAX_CONNECTIONS`).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10_000;
/// Default number of newest messages a room keeps (`HISTORY_LIMIT`).
pub const DEFAULT_HISTORY_LIMIT: u64 = 10_000;
/// Default token-bucket size (`RATE_BURST`): messages a client may send back to back.
pub const DEFAULT_RATE_BURST: f64 = 20.0;
/// Default refill (`RATE_PER_SEC`): sustained messages per second per connection.
pub const DEFAULT_RATE_PER_SEC: f64 = 10.0;
/// Frames a connection may have refused by the rate limit in a row (nothing let through in between)
/// before the room closes it with 1008: a client that retries politely never gets near it.
pub const FLOOD_STRIKES: u32 = 100;
/// Longest message text, in Unicode scalar values (what JavaScript's `[...s].length` counts).
pub const MAX_TEXT_CHARS: usize = 4000;
/// Largest WebSocket frame a room reads; bigger ones close the socket with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Longest client message id.
pub const MAX_ID_CHARS: usize = 64;
/// Messages in `welcome.history` when the client gives no `after`.
pub const WELCOME_HISTORY: usize = 50;
/// Most messages a resume (`after=`) or an HTTP history page returns.
pub const MAX_PAGE: usize = 1000;

/// The limits a room enforces; built from the environment by [`crate::config`].
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub max_connections: u32,
    pub history_limit: u64,
    pub rate_burst: f64,
    pub rate_per_sec: f64,
    pub max_text_chars: usize,
    pub max_frame_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            history_limit: DEFAULT_HISTORY_LIMIT,
            rate_burst: DEFAULT_RATE_BURST,
            rate_per_sec: DEFAULT_RATE_PER_SEC,
            max_text_chars: MAX_TEXT_CHARS,
            max_frame_bytes: MAX_FRAME_BYTES,
        }
    }
}

impl Limits {
    /// Message text: 1..=max characters, not only whitespace.
    pub fn check_text(&self, text: &str) -> Result<(), Problem> {
        if text.trim().is_empty() {
            return Err(Problem::new(ErrorCode::BadRequest, "message text is empty"));
        }
        // Cheap byte-length test first: a string of n bytes has at most n characters.
        if text.len() > self.max_text_chars && text.chars().count() > self.max_text_chars {
            return Err(Problem::new(
                ErrorCode::TooLarge,
                format!(
                    "message text is longer than {} characters",
                    self.max_text_chars
                ),
            ));
        }
        Ok(())
    }
}

/// A client's idempotency id: 1..=64 characters, no control characters.
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
                "room must be 1-64 characters of A-Z a-z 0-9 _ . -",
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
                "name must be 1-32 characters (after trimming) without control characters",
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

/// A sequence number given in a query (`after=`): a non-negative integer.
pub fn parse_seq(raw: &str) -> Result<u64, Problem> {
    // Capped at 2^53 - 1: seqs travel as JSON numbers, exact in JavaScript only up to there.
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n < 1 << 53)
        .ok_or_else(|| {
            Problem::new(
                ErrorCode::BadAfter,
                "after must be a whole number from 0 to 2^53-1",
            )
        })
}

/// A page size given in a query (`limit=`): 1..=1000.
pub fn parse_page_limit(raw: &str) -> Result<usize, Problem> {
    match raw.parse::<usize>() {
        Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(Problem::new(
            ErrorCode::BadLimit,
            format!("limit must be an integer from 1 to {MAX_PAGE}"),
        )),
    }
}

/// The classic token bucket: holds up to `burst` tokens, refills at `per_sec`, and each message takes
/// one. Time comes in as milliseconds, so tests control it.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    last_ms: f64,
}

impl TokenBucket {
    /// A full bucket at time `now_ms`.
    pub fn full(limits: &Limits, now_ms: f64) -> Self {
        TokenBucket {
            tokens: limits.rate_burst,
            last_ms: now_ms,
        }
    }

    /// Takes a token if there is one. A clock that goes backwards refills nothing.
    pub fn take(&mut self, limits: &Limits, now_ms: f64) -> bool {
        let elapsed = (now_ms - self.last_ms).max(0.0);
        self.tokens = (self.tokens + elapsed / 1000.0 * limits.rate_per_sec).min(limits.rate_burst);
        self.last_ms = self.last_ms.max(now_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
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
    fn client_ids() {
        assert!(check_client_id("abc-123").is_ok());
        assert!(check_client_id(&"x".repeat(64)).is_ok());
        assert!(check_client_id("").is_err());
        assert!(check_client_id(&"x".repeat(65)).is_err());
        assert!(check_client_id("a\nb").is_err());
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

    #[test]
    fn bucket_allows_a_burst_then_the_sustained_rate() {
        let limits = Limits::default(); // burst 20, 10/s
        let mut bucket = TokenBucket::full(&limits, 0.0);
        assert_eq!((0..20).filter(|_| bucket.take(&limits, 0.0)).count(), 20);
        assert!(!bucket.take(&limits, 0.0));
        // 100 ms later exactly one token has come back.
        assert!(bucket.take(&limits, 100.0));
        assert!(!bucket.take(&limits, 100.0));
        // Over a long pause it refills to the burst, no further.
        assert_eq!(
            (0..30).filter(|_| bucket.take(&limits, 60_000.0)).count(),
            20
        );
    }

    #[test]
    fn bucket_ignores_a_clock_going_backwards() {
        let limits = Limits::default();
        let mut bucket = TokenBucket::full(&limits, 10_000.0);
        for _ in 0..20 {
            assert!(bucket.take(&limits, 10_000.0));
        }
        assert!(!bucket.take(&limits, 0.0));
        assert!(!bucket.take(&limits, 10_050.0));
        assert!(bucket.take(&limits, 10_100.0));
    }
}
