//! Erasing one person's words from one room: every message an author (`uid`) wrote becomes a
//! tombstone (text, versions and reactions gone, as their own deletion would), their reactions to
//! others' messages go, and their read mark. The room-level building block of a person's erasure
//! across rooms (`DELETE /api/me`, which walks the rooms a person's inbox knows).
//!
//! **A durable job.** A room may hold far more of someone's messages than one turn should touch, so
//! an erasure is a job stored with the room: it walks the log in windows of [`WINDOW`] `seq`s from the
//! start up to the room's last `seq` when it was asked for, one window per turn of the room's alarm,
//! recording its cursor and counts in the same commit as what it erased. A restart half-way resumes at
//! the cursor; asking again while it runs changes nothing; asking again once it is done reports it as
//! done — or, when the room has messages written since, walks those too and adds to the counts. (A
//! reaction the author set after the pass, on a message before it, is not found again: a person's
//! erasure stops them from writing first.)

use serde::{Deserialize, Serialize};

/// `seq`s a step looks at: a primary-key range, so a step's cost is bounded whatever the room's size
/// (no index on the author is needed, and none is paid for by every message's insert).
pub const WINDOW: u64 = 500;

/// An erasure of author `uid` in a room, as stored and as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    pub uid: String,
    /// Every message with `seq` up to this has been looked at.
    pub cursor: u64,
    /// The room's last `seq` when this pass was asked for: the pass ends there.
    pub until: u64,
    /// Messages made tombstones, and reactions taken off others' messages, over all passes.
    pub messages: u64,
    pub reactions: u64,
    /// When it was asked for (ms).
    pub at: u64,
}

impl Erasure {
    /// A first pass over a room whose log ends at `last_seq`.
    pub fn new(uid: &str, last_seq: u64, at: u64) -> Erasure {
        Erasure {
            uid: uid.to_string(),
            cursor: 0,
            until: last_seq,
            messages: 0,
            reactions: 0,
            at,
        }
    }

    pub fn done(&self) -> bool {
        self.cursor >= self.until
    }

    /// Asked for again: a job still running goes on as it is, and so does a finished one when nothing
    /// was written since; otherwise it walks what was (the room's log from where it ended to
    /// `last_seq`), keeping its counts.
    pub fn again(self, last_seq: u64, at: u64) -> Erasure {
        if !self.done() || last_seq <= self.until {
            return self;
        }
        Erasure {
            cursor: self.until,
            until: last_seq,
            at,
            ..self
        }
    }

    /// The window the next step looks at: `seq`s after the cursor, up to [`WINDOW`] of them.
    pub fn next_window(&self) -> (u64, u64) {
        (self.cursor, self.until.min(self.cursor + WINDOW))
    }

    /// The step over `(after, upto]` is done: it made `messages` tombstones and took `reactions` off.
    pub fn advance(&mut self, upto: u64, messages: u64, reactions: u64) {
        self.cursor = upto;
        self.messages += messages;
        self.reactions += reactions;
    }

    /// The report (`{"uid","messages","reactions","done",…}`).
    pub fn report(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["done"] = self.done().into();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_walks_the_log_in_windows_up_to_where_it_ended_when_asked() {
        let mut e = Erasure::new("u-ann", 1_200, 5);
        assert!(!e.done());
        assert_eq!(e.next_window(), (0, 500));
        e.advance(500, 3, 1);
        assert_eq!(e.next_window(), (500, 1_000));
        e.advance(1_000, 2, 0);
        assert_eq!(e.next_window(), (1_000, 1_200));
        e.advance(1_200, 0, 4);
        assert!(e.done());
        assert_eq!((e.messages, e.reactions), (5, 5));
        let r = e.report();
        assert_eq!(
            (r["done"].as_bool(), r["messages"].as_u64()),
            (Some(true), Some(5))
        );
    }

    #[test]
    fn asking_again_goes_on_or_walks_what_was_written_since_keeping_the_counts() {
        let mut e = Erasure::new("u-ann", 1_200, 5);
        e.advance(500, 3, 0);
        let same = e.clone().again(2_000, 9);
        assert_eq!(same, e, "a running job is left as it is");
        e.advance(1_200, 1, 0);
        assert_eq!(e.clone().again(1_200, 9), e, "done, nothing new: done");
        let again = e.again(1_300, 9);
        assert_eq!(
            (again.cursor, again.until, again.messages),
            (1_200, 1_300, 4)
        );
        assert!(!again.done());
        assert!(
            Erasure::new("u", 0, 1).done(),
            "an empty room has nothing to walk"
        );
    }
}
