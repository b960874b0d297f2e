//! Retention: how long a room keeps what was said, and which messages a sweep erases.
//!
//! A deployment sets a default (`RETENTION_DAYS`, off when unset) and a ceiling (`RETENTION_MAX_DAYS`);
//! a room's moderators (or the API) may set the room's own `retention_days`, stricter or looser than
//! the default but never past the ceiling. A room with a policy in force erases every message older
//! than it: the text, the earlier versions, the reactions and the search index entries go; the `seq`
//! stays as a tombstone (author and time kept, like a deletion's), so a resume with `after=` and every
//! count stay exact.
//!
//! **A prefix.** What a room has erased is always the log's beginning, up to one `seq` (`upto`): a
//! sweep walks the log oldest first and stops at the first message still inside the policy. So one
//! number says what is gone — in `welcome.retention`, the `expired` frame, the room's info and the
//! export — and a client drops its copies of everything up to it. (Timestamps follow `seq` save for a
//! clock step back of a few milliseconds, which delays a message's erasure by as much.)
//!
//! **Bounded.** A sweep erases at most [`SWEEP_BATCH`] messages, in one turn of the room's alarm;
//! when more are due the alarm comes back at once, so a room that switches a policy on over years of
//! history catches up in many short turns, serving its sockets in between.

use serde::Serialize;

use crate::error::{ErrorCode, Problem};

/// The longest policy anyone may set: a hundred years (a number, not "forever": that is `0`).
pub const MAX_DAYS: u64 = 36_500;
/// A day, in seconds (`RETENTION_DAY_SECS` shortens it for tests only).
pub const DAY_SECS: u64 = 86_400;
/// Messages erased per sweep, one turn of the alarm.
pub const SWEEP_BATCH: usize = 500;

/// The deployment's retention knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// `RETENTION_DAYS`: the default policy (`None`: keep everything).
    pub default_days: Option<u64>,
    /// `RETENTION_MAX_DAYS`: the longest policy a room may set (`None`: no ceiling; a room may then
    /// also keep everything).
    pub max_days: Option<u64>,
    /// `RETENTION_DAY_SECS`: how long a day is (86,400; tests shorten it).
    pub day_secs: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            default_days: None,
            max_days: None,
            day_secs: DAY_SECS,
        }
    }
}

/// Where the policy in force comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The deployment's `RETENTION_DAYS` (or nothing, when that is unset and the room set nothing).
    Default,
    /// The room's own `retention_days`.
    Room,
}

/// The policy in force in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Messages older than this many days are erased; `None`: kept.
    pub days: Option<u64>,
    pub source: Source,
}

impl Retention {
    /// The policy in force given the room's own setting (`None`: none; `Some(0)`: keep everything;
    /// `Some(n)`: n days). A setting made under a higher ceiling than today's is held to today's.
    pub fn in_force(&self, room: Option<u64>) -> Policy {
        let (days, source) = match room {
            Some(0) => (None, Source::Room),
            Some(days) => (Some(days), Source::Room),
            None => (self.default_days, Source::Default),
        };
        let days = match (days, self.max_days) {
            (Some(d), Some(max)) => Some(d.min(max)),
            (None, Some(max)) => Some(max),
            (d, None) => d,
        };
        Policy { days, source }
    }

    /// Whether a room may set `days` (`0`: keep everything): at least a day, at most the ceiling,
    /// and "everything" only where there is no ceiling.
    pub fn check(&self, days: u64) -> Result<(), Problem> {
        match self.max_days {
            Some(max) if days == 0 || days > max => Err(Problem::new(
                ErrorCode::BadRequest,
                format!("retention_days must be from 1 to {max} here (RETENTION_MAX_DAYS)"),
            )),
            _ if days > MAX_DAYS => Err(Problem::new(
                ErrorCode::BadRequest,
                format!("retention_days must be at most {MAX_DAYS} (0 keeps everything)"),
            )),
            _ => Ok(()),
        }
    }

    /// How long a policy of `days` keeps a message, in ms.
    pub fn window_ms(&self, days: u64) -> u64 {
        days.saturating_mul(self.day_secs).saturating_mul(1000)
    }

    /// Messages stored before this time (ms) are past a policy of `days` at `now_ms`.
    pub fn cutoff(&self, days: u64, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.window_ms(days))
    }

    /// When a message stored at `ts` is past a policy of `days` (ms): the first sweep due for it.
    pub fn due_at(&self, days: u64, ts: u64) -> u64 {
        ts.saturating_add(self.window_ms(days)).saturating_add(1)
    }
}

/// The retention a room announces (`welcome.retention`): the policy's days (`None`: messages are
/// kept) and the end of what was erased (`upto`: every message up to this `seq` is a tombstone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retained {
    pub days: Option<u64>,
    pub upto: u64,
}

/// What a sweep erases, given the `(seq, ts)` of the oldest messages not erased yet (oldest first)
/// and the cutoff: up to the last of the leading messages stored before it (`None`: none of them).
pub fn erase_upto(oldest: &[(u64, u64)], cutoff: u64) -> Option<u64> {
    oldest
        .iter()
        .take_while(|&&(_, ts)| ts < cutoff)
        .last()
        .map(|&(seq, _)| seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(default_days: Option<u64>, max_days: Option<u64>) -> Retention {
        Retention {
            default_days,
            max_days,
            day_secs: DAY_SECS,
        }
    }

    #[test]
    fn the_room_setting_wins_within_the_ceiling() {
        let d = deployment(Some(30), Some(90));
        assert_eq!(d.in_force(None).days, Some(30));
        assert_eq!(d.in_force(None).source, Source::Default);
        assert_eq!(d.in_force(Some(7)).days, Some(7), "stricter");
        assert_eq!(d.in_force(Some(60)).days, Some(60), "looser");
        assert_eq!(d.in_force(Some(60)).source, Source::Room);
        // Set under an older, higher ceiling: held to today's.
        assert_eq!(d.in_force(Some(365)).days, Some(90));
        assert_eq!(
            d.in_force(Some(0)).days,
            Some(90),
            "no forever under a ceiling"
        );
    }

    #[test]
    fn without_a_default_nothing_is_erased_unless_the_room_says_so() {
        let d = deployment(None, None);
        assert_eq!(d.in_force(None).days, None);
        assert_eq!(d.in_force(Some(3)).days, Some(3));
        assert_eq!(d.in_force(Some(0)).days, None);
        let capped = deployment(None, Some(10));
        assert_eq!(
            capped.in_force(None).days,
            Some(10),
            "a ceiling is a policy"
        );
    }

    #[test]
    fn a_setting_is_checked_against_the_ceiling() {
        assert!(deployment(None, Some(90)).check(90).is_ok());
        assert!(deployment(None, Some(90)).check(1).is_ok());
        assert_eq!(
            deployment(None, Some(90)).check(91).unwrap_err().code,
            ErrorCode::BadRequest
        );
        assert!(deployment(None, Some(90)).check(0).is_err());
        assert!(deployment(None, None).check(0).is_ok());
        assert!(deployment(None, None).check(MAX_DAYS + 1).is_err());
    }

    #[test]
    fn a_sweep_erases_the_leading_messages_past_the_cutoff() {
        let rows = [(4, 10), (5, 20), (6, 30), (7, 25)];
        assert_eq!(erase_upto(&rows, 5), None);
        assert_eq!(erase_upto(&rows, 11), Some(4));
        assert_eq!(erase_upto(&rows, 30), Some(5));
        // 7 is older than 6 (a clock step back) but waits for it: what is erased stays a prefix.
        assert_eq!(erase_upto(&rows, 28), Some(5));
        assert_eq!(erase_upto(&rows, 31), Some(7));
        assert_eq!(erase_upto(&[], 31), None);
    }

    #[test]
    fn days_are_as_long_as_the_deployment_says() {
        let d = Retention {
            day_secs: 2,
            ..deployment(Some(1), None)
        };
        assert_eq!(d.window_ms(3), 6_000);
        assert_eq!(d.cutoff(1, 10_000), 8_000);
        assert_eq!(d.due_at(1, 10_000), 12_001);
        assert_eq!(d.cutoff(1, 500), 0);
    }
}
