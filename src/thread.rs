//! Threads: side conversations on the room's one stream. A reply is an ordinary message that names
//! its root (`thread: <root seq>`); the root carries the thread's [`ThreadSummary`], which every reply
//! (and every deleted reply) changes under a new room `rev`. One level, as in Slack: a reply cannot
//! be a root. This module holds the rules and the arithmetic, so the room, storage and the tests
//! agree: which root a reply may go into ([`check_root`]), how a summary takes a reply
//! ([`ThreadSummary::with_reply`]) or is counted afresh ([`summarize`]), and who takes part in a
//! thread because of a message ([`takes_part`]).

use serde::Serialize;

use crate::domain::{ChatMessage, ThreadSummary, User};
use crate::error::{ErrorCode, Problem};

/// How many participants a summary names (avatars beside "3 replies"): the first who replied.
pub const MAX_PARTICIPANTS: usize = 5;
/// The most threads a person's counts list (`welcome.threads`, the `unread` frame), the most
/// recently active first; the total `thread_unread` counts the same threads.
pub const MAX_UNREAD_THREADS: usize = 100;
/// The most participants of one thread told of a new reply at once (an `unread` frame each); the
/// others learn their count at their next read mark or connect.
pub const MAX_TOLD: usize = 200;

/// `bad_thread`: a message refused because of the thread it names.
pub fn bad_thread(message: impl Into<String>) -> Problem {
    Problem::new(ErrorCode::BadThread, message)
}

/// The root a message may be sent into, or why not: it must be stored (and kept: not past the
/// history limit), not deleted, and not itself a reply. `root` is what storage holds at `seq`.
pub fn check_root(seq: u64, root: Option<ChatMessage>) -> Result<ChatMessage, Problem> {
    let Some(root) = root else {
        return Err(bad_thread(format!(
            "message {seq} does not exist: a thread's root must be a stored message"
        )));
    };
    let root = readable_root(seq, Some(root))?;
    if root.deleted {
        return Err(bad_thread(format!(
            "message {seq} was deleted: its thread takes no more replies"
        )));
    }
    Ok(root)
}

/// The root of a thread that may be read (or marked read): stored and not a reply (`not_found`,
/// `bad_thread`); a deleted root's thread can still be read.
pub fn readable_root(seq: u64, root: Option<ChatMessage>) -> Result<ChatMessage, Problem> {
    let Some(root) = root else {
        return Err(Problem::new(
            ErrorCode::NotFound,
            format!("message {seq} does not exist, so it has no thread"),
        ));
    };
    if let Some(up) = root.root() {
        return Err(bad_thread(format!(
            "message {seq} is a reply in the thread of {up}: reply in that thread instead (threads have one level)"
        )));
    }
    Ok(root)
}

impl ThreadSummary {
    /// The summary once `reply` (just stored, the newest) is in the thread.
    pub fn with_reply(mut self, reply: &ChatMessage) -> ThreadSummary {
        self.replies += 1;
        self.last_seq = reply.seq;
        self.last_at = reply.ts;
        add_participant(&mut self.participants, &reply.from);
        self
    }
}

fn add_participant(participants: &mut Vec<String>, from: &User) {
    if let Some(uid) = &from.uid {
        if participants.len() < MAX_PARTICIPANTS && !participants.contains(uid) {
            participants.push(uid.clone());
        }
    }
}

/// A thread's summary counted from its replies (oldest first; deleted ones do not count): what a
/// deletion leaves. With no reply left, the thread is still there, empty: `replies` 0, its newest
/// `seq` and time the root's own, so a client that knew of replies learns they are gone.
pub fn summarize<'a>(
    root: &ChatMessage,
    replies: impl IntoIterator<Item = &'a ChatMessage>,
) -> ThreadSummary {
    let empty = ThreadSummary {
        last_seq: root.seq,
        last_at: root.ts,
        ..ThreadSummary::default()
    };
    replies
        .into_iter()
        .filter(|m| !m.deleted)
        .fold(empty, |summary, reply| summary.with_reply(reply))
}

/// Who takes part in a thread because of `message` (a reply, or the root when the first reply
/// comes): its author, when an identity, and the people it mentions. Their replies-unread count is
/// kept for that thread from then on.
pub fn takes_part(message: &ChatMessage) -> Vec<String> {
    let mut people: Vec<String> = message
        .from
        .identity()
        .map(str::to_string)
        .into_iter()
        .collect();
    for uid in &message.mentions {
        if !people.contains(uid) {
            people.push(uid.clone());
        }
    }
    people
}

impl ThreadSummary {
    /// The summary as storage keeps it on its root: `replies last_seq last_at uid…`, separated by
    /// spaces (no uid has one). Read back by [`ThreadSummary::unpack`] without a JSON parser.
    pub fn pack(&self) -> String {
        let mut packed = format!("{} {} {}", self.replies, self.last_seq, self.last_at);
        for uid in &self.participants {
            packed.push(' ');
            packed.push_str(uid);
        }
        packed
    }

    /// A summary as [`ThreadSummary::pack`] wrote it; `None` for anything else.
    pub fn unpack(packed: &str) -> Option<ThreadSummary> {
        let mut parts = packed.split(' ');
        let replies = parts.next()?.parse().ok()?;
        let last_seq = parts.next()?.parse().ok()?;
        let last_at = parts.next()?.parse().ok()?;
        let participants = parts.filter(|p| !p.is_empty()).map(String::from).collect();
        Some(ThreadSummary {
            replies,
            last_seq,
            last_at,
            participants,
        })
    }
}

/// How many unread replies one thread holds for a person (`welcome.threads`, the `unread` frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ThreadUnread {
    pub root: u64,
    pub unread: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Thread;

    fn msg(seq: u64, uid: &str) -> ChatMessage {
        let from = User {
            id: format!("c{seq}"),
            name: uid.into(),
            uid: Some(uid.into()),
        };
        ChatMessage::new(seq, None, from, format!("m{seq}"), seq * 10)
    }

    fn reply(seq: u64, root: u64, uid: &str) -> ChatMessage {
        ChatMessage {
            thread: Some(Thread::In(root)),
            ..msg(seq, uid)
        }
    }

    #[test]
    fn a_reply_needs_a_live_root_that_is_not_a_reply() {
        assert_eq!(check_root(1, Some(msg(1, "ann"))).unwrap().seq, 1);
        let missing = check_root(9, None).unwrap_err();
        assert_eq!(missing.code, ErrorCode::BadThread);
        let deleted = ChatMessage {
            deleted: true,
            ..msg(1, "ann")
        };
        assert_eq!(
            check_root(1, Some(deleted.clone())).unwrap_err().code,
            ErrorCode::BadThread
        );
        // A deleted root's thread can still be read.
        assert!(readable_root(1, Some(deleted)).is_ok());
        assert_eq!(
            readable_root(9, None).unwrap_err().code,
            ErrorCode::NotFound
        );
        let nested = check_root(2, Some(reply(2, 1, "bob"))).unwrap_err();
        assert_eq!(nested.code, ErrorCode::BadThread);
        assert!(nested.message.contains("thread of 1"), "{}", nested.message);
        assert!(readable_root(2, Some(reply(2, 1, "bob"))).is_err());
    }

    #[test]
    fn a_summary_counts_replies_and_names_the_first_five_who_replied() {
        let mut summary = ThreadSummary::default();
        let people = ["bob", "cy", "bob", "dee", "eve", "fay", "gus"];
        for (i, uid) in people.iter().enumerate() {
            summary = summary.with_reply(&reply(10 + i as u64, 1, uid));
        }
        assert_eq!(summary.replies, 7);
        assert_eq!(summary.last_seq, 16);
        assert_eq!(summary.last_at, 160);
        assert_eq!(summary.participants, ["bob", "cy", "dee", "eve", "fay"]);
    }

    #[test]
    fn counting_afresh_skips_deleted_replies_and_an_empty_thread_points_at_its_root() {
        let root = msg(1, "ann");
        let mut gone = reply(3, 1, "cy");
        gone.deleted = true;
        let replies = [reply(2, 1, "bob"), gone, reply(4, 1, "bob")];
        let summary = summarize(&root, &replies);
        assert_eq!(summary.replies, 2);
        assert_eq!(summary.last_seq, 4);
        assert_eq!(summary.participants, ["bob"]);
        let empty = summarize(&root, &[]);
        assert_eq!((empty.replies, empty.last_seq, empty.last_at), (0, 1, 10));
        // Counted afresh or reply by reply, the same summary.
        let step = replies
            .iter()
            .filter(|m| !m.deleted)
            .fold(empty, |s, r| s.with_reply(r));
        assert_eq!(step, summary);
    }

    #[test]
    fn storage_keeps_a_summary_packed_and_reads_it_back() {
        let summary = ThreadSummary {
            replies: 3,
            last_seq: 47,
            last_at: 1_764_080_060_000,
            participants: vec!["Q2hhdC1hdXRob3ItaWQx".into(), "anon:3f9c".into()],
        };
        assert_eq!(
            summary.pack(),
            "3 47 1764080060000 Q2hhdC1hdXRob3ItaWQx anon:3f9c"
        );
        assert_eq!(ThreadSummary::unpack(&summary.pack()), Some(summary));
        let empty = ThreadSummary::default();
        assert_eq!(ThreadSummary::unpack(&empty.pack()), Some(empty));
        for bad in ["", "3", "3 x 5", "{\"replies\":1}"] {
            assert_eq!(ThreadSummary::unpack(bad), None, "{bad}");
        }
    }

    #[test]
    fn bots_and_anonymous_authors_take_no_part_but_the_people_they_mention_do() {
        let mut bot = msg(5, "x");
        bot.from.uid = None;
        bot.mentions = vec!["u-ann".into()];
        assert_eq!(takes_part(&bot), ["u-ann"]);
        let mut anon = msg(6, "anon:c6");
        anon.mentions = vec!["u-bob".into(), "u-bob".into()];
        assert_eq!(takes_part(&anon), ["u-bob"]);
        let own = ChatMessage {
            mentions: vec!["bob".into()],
            ..msg(7, "bob")
        };
        assert_eq!(takes_part(&own), ["bob"]);
    }

    #[test]
    fn on_the_wire_a_reply_names_its_root_and_a_root_carries_its_summary() {
        let r = reply(2, 1, "bob");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["thread"], 1);
        let mut root = msg(1, "ann");
        root.thread = Some(Thread::Root(ThreadSummary::default().with_reply(&r)));
        let json = serde_json::to_value(&root).unwrap();
        assert_eq!(
            json["thread"],
            serde_json::json!({"replies":1,"last_seq":2,"last_at":20,"participants":["bob"]})
        );
        let back: ChatMessage = serde_json::from_value(json).unwrap();
        assert_eq!(back, root);
        // A plain message has no `thread`, `also_in_room` or `mentions`: v1's frame, unchanged.
        let plain = serde_json::to_value(msg(3, "ann")).unwrap();
        for key in ["thread", "also_in_room", "mentions", "mentions_room"] {
            assert!(plain.get(key).is_none(), "{key}");
        }
    }
}
