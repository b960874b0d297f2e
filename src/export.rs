//! A room's export (`GET /api/rooms/{room}/export`): what a company hands its auditors or takes
//! elsewhere — every message with all it keeps (its versions, who reacted with what, what it replies
//! to), then the moderation log — as NDJSON: one JSON object per line, each with a `type`.
//!
//! One call answers one bounded page ([`PAGE_MESSAGES`] messages or about [`PAGE_BYTES`] of lines,
//! whichever comes first, then up to [`PAGE_LOG`] log entries), so no request makes the room read or
//! hold more than that, whatever its size. The page's last line says how to go on: `next` with the
//! cursor of the following call (`after=` a `seq`, `log_after=` a log entry), or `end`. A client that
//! lost its connection asks again with the last cursor it read; a page is made of whole lines only.
//!
//! Lines, in order: `export` (the room, the cursor asked, `last_seq`, `rev`, the retention policy),
//! then `message` lines in `seq` order (tombstones included, so `seq`s have no holes but the
//! history limit's), then `moderation` lines in log order, then `next` or `end`.
//!
//! **A person's export** (`GET /api/me/export`) is made of the same `message` lines, each with its
//! `room`, holding only what is the person's own: their messages (not deleted) with their versions,
//! their own reactions (`reacted`), and a thread's counts without who took part; then a `reaction`
//! line for each reaction of theirs to somebody else's message (the room and `seq`, never that
//! message). A room answers one bounded page of one author ([`author_tail`] ends it); the person's
//! inbox strings the rooms together ([`PersonCursor`]: a room and a `seq` in it).

use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::{ChatMessage, Thread, Version};
use crate::error::Problem;
use crate::query::query_value;
use crate::retention::Policy;
use crate::validate::{self, RoomName};

/// Messages per page at most.
pub const PAGE_MESSAGES: usize = 500;
/// A page stops after the message that takes it past this many bytes (a message with all its
/// versions is at most ~1.6 MB, so a page is at most a few MB).
pub const PAGE_BYTES: usize = 1 << 20;
/// Moderation log entries per page at most.
pub const PAGE_LOG: usize = 500;
/// The media type of the answer.
pub const CONTENT_TYPE: &str = "application/x-ndjson; charset=utf-8";

/// Where a page starts: after message `after` (a `seq`), and after moderation log entry `log_after`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cursor {
    pub after: u64,
    pub log_after: u64,
}

impl Cursor {
    /// The cursor of a request's query (`after=`, `log_after=`; both default to 0: the beginning).
    pub fn from_query(query: &[(String, String)]) -> Result<Cursor, Problem> {
        let get = |key: &str| query_value(query, key).map(validate::parse_seq).transpose();
        Ok(Cursor {
            after: get("after")?.unwrap_or(0),
            log_after: get("log_after")?.unwrap_or(0),
        })
    }

    pub fn to_query(&self, query: &mut form_urlencoded::Serializer<'_, String>) {
        query.append_pair("after", &self.after.to_string());
        query.append_pair("log_after", &self.log_after.to_string());
    }
}

/// The first line of every page.
pub fn head_line(
    room: &str,
    asked: Cursor,
    last_seq: u64,
    rev: u64,
    retention: Policy,
    expired_upto: u64,
    at: u64,
) -> String {
    json!({
        "type": "export",
        "room": room,
        "after": asked.after,
        "log_after": asked.log_after,
        "last_seq": last_seq,
        "rev": rev,
        "retention": {"days": retention.days, "source": retention.source, "upto": expired_upto},
        "at": at,
    })
    .to_string()
}

/// A message as it stands, with its earlier `versions` (oldest first), who reacted with what
/// (`reacted`: (emoji, uid)), and `expired` when retention erased it (a deletion's tombstone has
/// `deleted` alone).
pub fn message_line(
    message: &ChatMessage,
    versions: &[Version],
    reacted: &[(String, String)],
    expired: bool,
) -> String {
    message_value(message, versions, reacted, expired).to_string()
}

/// [`message_line`] as a JSON value (a person's export changes a few of its fields).
fn message_value(
    message: &ChatMessage,
    versions: &[Version],
    reacted: &[(String, String)],
    expired: bool,
) -> Value {
    let mut line = serde_json::to_value(message).unwrap_or_default();
    if let Value::Object(fields) = &mut line {
        fields.insert("type".into(), "message".into());
        fields.insert(
            "versions".into(),
            serde_json::to_value(versions).unwrap_or_default(),
        );
        fields.insert(
            "reacted".into(),
            reacted
                .iter()
                .map(|(emoji, uid)| json!({"emoji": emoji, "uid": uid}))
                .collect(),
        );
        if expired {
            fields.insert("expired".into(), true.into());
        }
    }
    line
}

/// A message of the person's own in their export: a [`message_line`] with its `room`, the person's
/// own reactions only (`emojis`; others' show as counts alone), and a thread root's summary with its
/// `participants` (other people) left empty.
pub fn own_message_line(
    room: &str,
    mut message: ChatMessage,
    versions: &[Version],
    emojis: &[&str],
) -> String {
    if let Some(Thread::Root(summary)) = &mut message.thread {
        summary.participants.clear();
    }
    let uid = message.from.uid.clone().unwrap_or_default();
    let reacted: Vec<(String, String)> = emojis
        .iter()
        .map(|e| (e.to_string(), uid.clone()))
        .collect();
    let mut line = message_value(&message, versions, &reacted, false);
    line["room"] = room.into();
    line.to_string()
}

/// A reaction of the person's to somebody else's message, in their export.
pub fn reaction_line(room: &str, seq: u64, emoji: &str) -> String {
    json!({"type": "reaction", "room": room, "seq": seq, "emoji": emoji}).to_string()
}

/// The last line of a room's page of one author: `next` with the `seq` to go on after, or `end`
/// (the room's log is read to `after`).
pub fn author_tail(after: u64, more: bool) -> String {
    json!({"type": if more { "next" } else { "end" }, "after": after}).to_string()
}

/// Reads [`author_tail`] back: where the room stopped, and whether it has more.
pub fn read_author_tail(line: &str) -> Option<(u64, bool)> {
    let v: Value = serde_json::from_str(line).ok()?;
    let more = match v["type"].as_str()? {
        "next" => true,
        "end" => false,
        _ => return None,
    };
    Some((v["after"].as_u64()?, more))
}

/// Where a page of a person's export starts: in `room` (`None`: the first room, by name) after
/// `seq` `after`; the rooms before `room` are done.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonCursor {
    pub room: Option<RoomName>,
    pub after: u64,
}

impl PersonCursor {
    /// The cursor of `GET /api/me/export`'s query (`room=`, `after=`; both left out: the beginning).
    pub fn from_query(query: &[(String, String)]) -> Result<PersonCursor, Problem> {
        Ok(PersonCursor {
            room: query_value(query, "room")
                .map(RoomName::parse)
                .transpose()?,
            after: query_value(query, "after")
                .map(validate::parse_seq)
                .transpose()?
                .unwrap_or(0),
        })
    }

    /// The page's first line.
    pub fn head_line(&self, uid: &str, at: u64) -> String {
        json!({"type": "export", "uid": uid, "room": self.room(), "after": self.after, "at": at})
            .to_string()
    }

    /// The page's last line: `next` (ask again with this cursor) or, past the last room, `end`.
    pub fn tail_line(&self, more: bool) -> String {
        match more {
            true => json!({"type": "next", "room": self.room(), "after": self.after}),
            false => json!({"type": "end"}),
        }
        .to_string()
    }

    fn room(&self) -> Option<&str> {
        self.room.as_ref().map(RoomName::as_str)
    }
}

/// A moderation log entry: its record (JSON as stored) with its `log_id`.
pub fn moderation_line(log_id: u64, record: &str) -> String {
    let mut line: Value = serde_json::from_str(record).unwrap_or_else(|_| json!({}));
    if let Value::Object(fields) = &mut line {
        fields.insert("type".into(), "moderation".into());
        fields.insert("log_id".into(), log_id.into());
    }
    line.to_string()
}

/// The last line of a page with more to come: the cursor to ask with next.
pub fn next_line(next: Cursor) -> String {
    json!({"type": "next", "after": next.after, "log_after": next.log_after}).to_string()
}

/// The last line of the last page.
pub fn end_line(last: Cursor) -> String {
    json!({"type": "end", "after": last.after, "log_after": last.log_after}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::User;
    use crate::error::ErrorCode;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_cursor_is_read_from_the_query_and_written_back() {
        assert_eq!(Cursor::from_query(&[]), Ok(Cursor::default()));
        let c = Cursor::from_query(&pairs(&[("after", "12"), ("log_after", "3")])).unwrap();
        assert_eq!(
            c,
            Cursor {
                after: 12,
                log_after: 3
            }
        );
        let mut q = form_urlencoded::Serializer::new(String::new());
        c.to_query(&mut q);
        assert_eq!(q.finish(), "after=12&log_after=3");
        assert_eq!(
            Cursor::from_query(&pairs(&[("after", "-1")]))
                .unwrap_err()
                .code,
            ErrorCode::BadAfter
        );
    }

    #[test]
    fn a_message_line_carries_everything_the_message_keeps() {
        let from = User {
            id: "c".into(),
            name: "ann".into(),
            uid: Some("u-ann".into()),
        };
        let mut m = ChatMessage::new(4, Some("m4".into()), from, "now".into(), 10);
        m.reply_to = Some(2);
        m.version = 2;
        let v = Version {
            version: 1,
            text: "then".into(),
            at: 9,
        };
        let line: Value = serde_json::from_str(&message_line(
            &m,
            &[v],
            &[("👍".into(), "u-bob".into())],
            false,
        ))
        .unwrap();
        assert_eq!(line["type"], "message");
        assert_eq!(line["seq"], 4);
        assert_eq!(line["reply_to"], 2);
        assert_eq!(line["versions"][0]["text"], "then");
        assert_eq!(line["reacted"][0]["uid"], "u-bob");
        assert!(line.get("expired").is_none());
        let line: Value = serde_json::from_str(&message_line(&m, &[], &[], true)).unwrap();
        assert_eq!(line["expired"], true);
    }

    #[test]
    fn lines_are_single_lines() {
        let record = r#"{"action":"ban","uid":"u","reason":"a\nb","by":{"id":"x","name":"mo","uid":null},"at":1}"#;
        let line = moderation_line(7, record);
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (v["type"].as_str(), v["log_id"].as_u64()),
            (Some("moderation"), Some(7))
        );
        assert_eq!(v["reason"], "a\nb");
        let next: Value = serde_json::from_str(&next_line(Cursor {
            after: 5,
            log_after: 0,
        }))
        .unwrap();
        assert_eq!(
            (next["type"].as_str(), next["after"].as_u64()),
            (Some("next"), Some(5))
        );
    }
}
