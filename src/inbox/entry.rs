//! An inbox's entry for one room, and the [`Update`] a room sends to keep it: the person's read
//! position, unread and mention counts, the last message's preview, the other members of a direct
//! message. A room sends the whole entry as it sees it for that person (counted from its own history,
//! so an update is idempotent and one lost is healed by the next); the inbox keeps the newest by the
//! room's `stamp` ([`Entry::apply`]), so two updates crossing on the way cannot roll it back.
//! Muting is the inbox's own; the rest is the room's.

use serde::Serialize;
use serde_json::Value;

use crate::domain::ChatMessage;

/// Longest preview of a message's text, in characters (the rest is cut, with an ellipsis).
pub const PREVIEW_CHARS: usize = 140;

/// The last message of a room, as an inbox shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Last {
    pub seq: u64,
    /// The author's uid (`None`: a bot through the HTTP API).
    pub uid: Option<String>,
    pub name: String,
    /// The text, at most [`PREVIEW_CHARS`] characters.
    pub text: String,
    /// When it was written (ms).
    pub at: u64,
}

impl Last {
    pub fn of(msg: &ChatMessage) -> Last {
        let mut text: String = msg.text.chars().take(PREVIEW_CHARS).collect();
        if text.len() < msg.text.len() {
            text.push('…');
        }
        Last {
            seq: msg.seq,
            uid: msg.from.uid.clone(),
            name: msg.from.name.clone(),
            text,
            at: msg.ts,
        }
    }
}

/// A member of a direct message, as the others' entries show them (`name`: as last known; `None`
/// until they have been seen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub uid: String,
    pub name: Option<String>,
}

/// What a room tells one person's inbox: their entry as the room sees it now. Read back by
/// [`Update::read`] rather than a derived deserializer: it crosses only between edge-chat's own objects
/// and storage, and a hand reader over a JSON value costs the wasm a fraction of serde's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Update {
    pub room: String,
    /// Orders one room's updates (the room's clock, ms, made strictly increasing): an inbox ignores an
    /// update older than the one it applied.
    pub stamp: u64,
    pub last_seq: u64,
    /// Up to where the person has read.
    pub read_seq: u64,
    /// Messages after `read_seq` by others, not deleted.
    pub unread: u64,
    /// Of those, the ones that mention the person.
    pub mentions: u64,
    /// Unread replies in the threads the person takes part in.
    pub threads: u64,
    /// The newest message not deleted (`None`: none yet).
    pub last: Option<Last>,
    /// The room has more members than it tells of every message (`INBOX_PUSH_MAX`): its counts are
    /// read from it when the person opens their inbox.
    pub big: bool,
    /// A direct message: its other members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dm: Option<Vec<Person>>,
    /// The person is no longer a member (banned): the inbox drops the entry.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
}

impl Update {
    /// An update as [`Update`]'s JSON wrote it (`None`: something else). Counts and flags left out
    /// read as 0 and false.
    pub fn read(json: &Value) -> Option<Update> {
        let number = |key: &str| json[key].as_u64().unwrap_or(0);
        let text = |v: &Value| v.as_str().map(str::to_string);
        let last = match &json["last"] {
            Value::Null => None,
            l => Some(Last {
                seq: l["seq"].as_u64()?,
                uid: text(&l["uid"]),
                name: text(&l["name"])?,
                text: text(&l["text"])?,
                at: l["at"].as_u64()?,
            }),
        };
        let dm = match &json["dm"] {
            Value::Array(people) => Some(
                people
                    .iter()
                    .map(|p| {
                        Some(Person {
                            uid: text(&p["uid"])?,
                            name: text(&p["name"]),
                        })
                    })
                    .collect::<Option<Vec<_>>>()?,
            ),
            _ => None,
        };
        Some(Update {
            room: text(&json["room"])?,
            stamp: number("stamp"),
            last_seq: number("last_seq"),
            read_seq: number("read_seq"),
            unread: number("unread"),
            mentions: number("mentions"),
            threads: number("threads"),
            last,
            big: json["big"] == true,
            dm,
            gone: json["gone"] == true,
        })
    }

    /// [`Update::read`] from JSON text.
    pub fn parse(text: &str) -> Option<Update> {
        Update::read(&serde_json::from_str(text).ok()?)
    }
}

/// An inbox's entry for one room, as the inbox keeps it: the room's last update (its own fields,
/// stored as the room sent them), and the inbox's own — muted or not, and the most recent activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub update: Update,
    pub muted: bool,
    /// The most recent activity (ms): the last message's time, or when the room was added.
    pub at: u64,
}

/// An entry on the wire (`GET /api/me`, the inbox socket's frames): the entry without the inbox's
/// bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View<'a> {
    pub room: &'a str,
    pub unread: u64,
    pub mentions: u64,
    pub threads: u64,
    pub read_seq: u64,
    pub last_seq: u64,
    pub last: Option<&'a Last>,
    pub muted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dm: Option<&'a [Person]>,
    pub at: u64,
}

impl Entry {
    /// A new entry from a room's first update, added at `now` (ms).
    pub fn new(update: &Update, now: u64) -> Entry {
        Entry {
            update: update.clone(),
            muted: false,
            at: update.last.as_ref().map_or(now, |last| now.max(last.at)),
        }
    }

    pub fn room(&self) -> &str {
        &self.update.room
    }

    /// Takes `update` unless it is older than the one applied last; whether anything the person sees
    /// changed. Activity only moves forward (a deleted last message leaves the entry where it was).
    /// A direct message's people stay as known when an update leaves them out.
    pub fn apply(&mut self, update: &Update) -> bool {
        if update.stamp < self.update.stamp {
            return false;
        }
        let before = self.view_key();
        let dm = match update.dm {
            Some(_) => None,
            None => self.update.dm.take(),
        };
        self.update = update.clone();
        if dm.is_some() {
            self.update.dm = dm;
        }
        if let Some(last) = &self.update.last {
            self.at = self.at.max(last.at);
        }
        before != self.view_key()
    }

    /// Mutes or unmutes; whether that changed anything.
    pub fn mute(&mut self, muted: bool) -> bool {
        std::mem::replace(&mut self.muted, muted) != muted
    }

    pub fn view(&self) -> View<'_> {
        let u = &self.update;
        View {
            room: &u.room,
            unread: u.unread,
            mentions: u.mentions,
            threads: u.threads,
            read_seq: u.read_seq,
            last_seq: u.last_seq,
            last: u.last.as_ref(),
            muted: self.muted,
            dm: u.dm.as_deref(),
            at: self.at,
        }
    }

    /// What the wire shows, to tell whether an update changed it (all but the bookkeeping).
    fn view_key(&self) -> (Update, u64) {
        let shown = Update {
            stamp: 0,
            big: false,
            ..self.update.clone()
        };
        (shown, self.at)
    }

    /// The other members of a direct message (none for a room).
    pub fn partners(&self) -> impl Iterator<Item = &str> {
        self.update.dm.iter().flatten().map(|p| p.uid.as_str())
    }
}

/// Most recent activity first (ties by room name, so the order is stable).
pub fn order(entries: &mut [Entry]) {
    entries.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.room().cmp(b.room())));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::User;

    fn update(stamp: u64, unread: u64, last_at: Option<u64>) -> Update {
        Update {
            room: "lobby".into(),
            stamp,
            last_seq: 9,
            read_seq: 9 - unread,
            unread,
            mentions: 0,
            threads: 0,
            last: last_at.map(|at| Last {
                seq: 9,
                uid: Some("bob".into()),
                name: "Bob".into(),
                text: "hi".into(),
                at,
            }),
            big: false,
            dm: None,
            gone: false,
        }
    }

    #[test]
    fn the_newest_update_wins_whatever_the_order_of_arrival() {
        let mut entry = Entry::new(&update(10, 3, Some(500)), 100);
        assert_eq!((entry.update.unread, entry.at), (3, 500));
        assert!(!entry.apply(&update(5, 7, Some(400))), "older: ignored");
        assert_eq!(entry.update.unread, 3);
        assert!(entry.apply(&update(11, 0, Some(500))), "a read clears it");
        assert_eq!((entry.update.unread, entry.update.read_seq), (0, 9));
        assert!(
            !entry.apply(&update(12, 0, Some(500))),
            "nothing visible changed"
        );
        entry.apply(&update(13, 0, Some(300)));
        assert_eq!(
            entry.at, 500,
            "activity does not go back when the last message goes"
        );
    }

    #[test]
    fn muting_is_the_inbox_own_and_survives_updates() {
        let mut entry = Entry::new(&update(1, 1, None), 100);
        assert_eq!(entry.at, 100, "no message yet: the time it was added");
        assert!(entry.mute(true));
        assert!(!entry.mute(true));
        entry.apply(&update(2, 2, Some(200)));
        assert!(entry.muted);
        let wire = serde_json::to_value(entry.view()).unwrap();
        assert_eq!(wire["muted"], true);
        assert_eq!(wire["unread"], 2);
        assert!(
            wire.get("stamp").is_none(),
            "bookkeeping stays in the inbox"
        );
        assert!(wire.get("dm").is_none());
    }

    #[test]
    fn entries_order_by_recent_activity() {
        let named = |room: &str, last: Option<u64>, now: u64| {
            let mut u = update(1, 0, last);
            u.room = room.into();
            Entry::new(&u, now)
        };
        let mut all = vec![
            named("a", Some(300), 0),
            named("b", Some(900), 0),
            named("c", None, 600),
        ];
        order(&mut all);
        let rooms: Vec<&str> = all.iter().map(Entry::room).collect();
        assert_eq!(rooms, ["b", "c", "a"]);
    }

    #[test]
    fn an_update_reads_back_what_it_wrote() {
        let mut u = update(7, 2, Some(40));
        u.dm = Some(vec![
            Person {
                uid: "bob".into(),
                name: Some("Bob".into()),
            },
            Person {
                uid: "cy".into(),
                name: None,
            },
        ]);
        u.mentions = 1;
        u.big = true;
        let json = serde_json::to_string(&u).unwrap();
        assert_eq!(Update::parse(&json), Some(u.clone()));
        u.dm = None;
        u.last = None;
        u.gone = true;
        assert_eq!(Update::parse(&serde_json::to_string(&u).unwrap()), Some(u));
        assert_eq!(Update::parse(r#"{"stamp":1}"#), None, "no room");
        assert_eq!(Update::parse(r#"{"room":"r","last":{"seq":1}}"#), None);
        assert_eq!(Update::parse("nope"), None);
    }

    #[test]
    fn a_preview_is_short() {
        let from = User::connection("c1".into(), "Ann".into(), Some("ann".into()));
        let long = ChatMessage::new(4, None, from.clone(), "x".repeat(500), 77);
        let p = Last::of(&long);
        assert_eq!(p.text.chars().count(), PREVIEW_CHARS + 1);
        assert!(p.text.ends_with('…'));
        assert_eq!((p.seq, p.at, p.uid.as_deref()), (4, 77, Some("ann")));
        let short = ChatMessage::new(5, None, from, "hé".into(), 78);
        assert_eq!(Last::of(&short).text, "hé");
    }
}
