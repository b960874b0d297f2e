//! The per-connection rate limiter: a token bucket, and the flood rule that closes a connection which
//! keeps sending past it. Time comes in as an argument (milliseconds), never from a clock, so tests
//! control it.

use serde::Serialize;

/// Default token-bucket size (`RATE_BURST`): messages a client may send back to back.
pub const DEFAULT_RATE_BURST: f64 = 20.0;
/// Default refill (`RATE_PER_SEC`): sustained messages per second per connection.
pub const DEFAULT_RATE_PER_SEC: f64 = 10.0;
/// Default search bucket (`SEARCH_BURST`, `SEARCH_PER_SEC`): searches a connection may make back to
/// back, and per second after that. A search costs the room far more than a message (it reads the
/// index, ranks, cuts snippets), so a connection's searches draw on a bucket of their own as well as
/// on the frame bucket: ten searches a second would otherwise be within the frame rate.
pub const DEFAULT_SEARCH_BURST: f64 = 5.0;
pub const DEFAULT_SEARCH_PER_SEC: f64 = 1.0;
/// Frames a connection may have refused by the rate limit in a row (nothing let through in between)
/// before the room closes it with 1008: a client that retries politely never gets near it.
pub const FLOOD_STRIKES: u32 = 100;

/// A bucket's shape: how many tokens it holds, and how fast they come back. Announced to clients in
/// `welcome.limits`, so they pace themselves by the room's real rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub burst: f64,
    pub per_sec: f64,
}

impl Default for Rate {
    fn default() -> Self {
        Rate {
            burst: DEFAULT_RATE_BURST,
            per_sec: DEFAULT_RATE_PER_SEC,
        }
    }
}

/// The classic token bucket: holds up to `burst` tokens, refills at `per_sec`, and each frame takes
/// one.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    last_ms: f64,
}

impl TokenBucket {
    /// A full bucket at time `now_ms`.
    pub fn full(rate: &Rate, now_ms: f64) -> Self {
        TokenBucket {
            tokens: rate.burst,
            last_ms: now_ms,
        }
    }

    /// Takes a token if there is one. A clock that goes backwards refills nothing.
    pub fn take(&mut self, rate: &Rate, now_ms: f64) -> bool {
        let elapsed = (now_ms - self.last_ms).max(0.0);
        self.tokens = (self.tokens + elapsed / 1000.0 * rate.per_sec).min(rate.burst);
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
    fn bucket_allows_a_burst_then_the_sustained_rate() {
        let rate = Rate::default(); // burst 20, 10/s
        let mut bucket = TokenBucket::full(&rate, 0.0);
        assert_eq!((0..20).filter(|_| bucket.take(&rate, 0.0)).count(), 20);
        assert!(!bucket.take(&rate, 0.0));
        // 100 ms later exactly one token has come back.
        assert!(bucket.take(&rate, 100.0));
        assert!(!bucket.take(&rate, 100.0));
        // Over a long pause it refills to the burst, no further.
        assert_eq!((0..30).filter(|_| bucket.take(&rate, 60_000.0)).count(), 20);
    }

    #[test]
    fn bucket_ignores_a_clock_going_backwards() {
        let rate = Rate::default();
        let mut bucket = TokenBucket::full(&rate, 10_000.0);
        for _ in 0..20 {
            assert!(bucket.take(&rate, 10_000.0));
        }
        assert!(!bucket.take(&rate, 0.0));
        assert!(!bucket.take(&rate, 10_050.0));
        assert!(bucket.take(&rate, 10_100.0));
    }
}
