//! A push service's answer, and what the inbox's outbox does next (RFC 8030 §5–6, §8.3): delivered;
//! try again later — 429 and 5xx, honouring `Retry-After`, with exponential backoff and a cap on
//! attempts so a service that keeps failing costs a bounded number of requests; the subscription is
//! gone (404/410: the browser unsubscribed or the endpoint expired — never try it again); or the push
//! is dropped (any other refusal: retrying the same request would be refused the same way).

/// How long a push service keeps an undelivered push for a device that is off: a day, after which
/// the notification is stale anyway.
pub const TTL_SECS: u32 = 24 * 3600;
/// Attempts per push before it is dropped.
pub const MAX_ATTEMPTS: u32 = 6;
/// The first retry's delay; each further one doubles it.
pub const FIRST_BACKOFF_MS: u64 = 5_000;
/// The longest wait before a retry, `Retry-After` included (a service asking for more is not waited
/// for: the push would be stale).
pub const MAX_BACKOFF_MS: u64 = 3_600_000;

/// What to do with a push after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Try again at `now + after_ms`.
    Retry {
        after_ms: u64,
    },
    /// Remove the subscription: it will never accept a push again.
    Gone,
    /// Give up on this push (the subscription stays).
    Dropped,
}

/// The outcome of attempt number `attempt` (1 for the first) that got `status` (`None`: the request
/// failed before any answer) with the `Retry-After` header `retry_after`.
pub fn judge(status: Option<u16>, retry_after: Option<&str>, attempt: u32) -> Outcome {
    match status {
        Some(200..=299) => Outcome::Delivered,
        Some(404) | Some(410) => Outcome::Gone,
        Some(429) | Some(500..=599) | None => {
            if attempt >= MAX_ATTEMPTS {
                return Outcome::Dropped;
            }
            let backoff = FIRST_BACKOFF_MS << (attempt.saturating_sub(1)).min(20);
            let asked = retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|secs| secs.saturating_mul(1000));
            let after_ms = asked.unwrap_or(0).max(backoff).min(MAX_BACKOFF_MS);
            Outcome::Retry { after_ms }
        }
        Some(_) => Outcome::Dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_is_delivered_and_gone_means_gone() {
        assert_eq!(judge(Some(201), None, 1), Outcome::Delivered);
        assert_eq!(judge(Some(410), None, 1), Outcome::Gone);
        assert_eq!(judge(Some(404), None, 3), Outcome::Gone);
    }

    #[test]
    fn overload_backs_off_and_honours_retry_after() {
        assert_eq!(
            judge(Some(503), None, 1),
            Outcome::Retry { after_ms: 5_000 }
        );
        assert_eq!(judge(None, None, 3), Outcome::Retry { after_ms: 20_000 });
        assert_eq!(
            judge(Some(429), Some("120"), 1),
            Outcome::Retry { after_ms: 120_000 }
        );
        // A Retry-After shorter than the backoff does not make us hammer a failing service.
        assert_eq!(
            judge(Some(429), Some("1"), 2),
            Outcome::Retry { after_ms: 10_000 }
        );
        assert_eq!(
            judge(Some(429), Some("999999"), 1),
            Outcome::Retry {
                after_ms: MAX_BACKOFF_MS
            }
        );
    }

    #[test]
    fn attempts_are_bounded_and_other_refusals_are_not_retried() {
        assert_eq!(judge(Some(500), None, MAX_ATTEMPTS), Outcome::Dropped);
        assert_eq!(judge(Some(413), None, 1), Outcome::Dropped);
        assert_eq!(judge(Some(403), None, 1), Outcome::Dropped);
    }
}
