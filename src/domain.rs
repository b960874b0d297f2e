//! The domain's types, which every feature speaks of: who is in a room ([`User`]), what they wrote
//! ([`ChatMessage`] with its [`Version`]s, [`Reactions`], attached [`FileDescriptor`]s, link
//! [`Preview`] and place in a [`Thread`]), how a connection takes its frames
//! ([`Framing`]) and whose client ids a message's `id` is unique among ([`sender_key`]). A leaf: it
//! knows no feature, so the wire frames, the room, storage and webhooks all import it and none of them
//! imports another to reach these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::identity;

/// A person (one connection) in a room: `id` tells connections apart, `uid` is the stable author id
/// of an identified client (from its `key=` or signed token), `anon:<id>` for an anonymous one (see
/// [`identity`]), `null` only for the HTTP API's bot and on servers before anonymous uids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
}

impl User {
    /// The member a connection `id` is: its identity's uid, or an anonymous uid of its own.
    pub fn connection(id: String, name: String, uid: Option<String>) -> User {
        let uid = uid.unwrap_or_else(|| identity::anonymous_uid(&id));
        User {
            id,
            name,
            uid: Some(uid),
        }
    }

    /// Who acts through the HTTP API: the name given, the API's connection id, no author id.
    pub fn api(name: &str) -> User {
        User {
            id: identity::API_CONN_ID.to_string(),
            name: name.to_string(),
            uid: None,
        }
    }

    /// The uid of an identity (a key or a token), not of an anonymous connection or the API.
    pub fn identity(&self) -> Option<&str> {
        self.uid
            .as_deref()
            .filter(|uid| !identity::is_anonymous(uid))
    }
}

/// Reaction counts of a message: emoji → how many authors reacted with it (only counts above 0).
pub type Reactions = BTreeMap<String, u32>;

/// A stored chat message, as it travels in `message` frames, `welcome.history` and the HTTP API. A
/// living object: edits, deletion and reactions change it, each change under a new room `rev`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub seq: u64,
    /// The client's idempotency id, if it sent one.
    pub id: Option<String>,
    pub from: User,
    /// The current text; empty once deleted.
    pub text: String,
    /// Milliseconds since the Unix epoch, stamped by the room.
    pub ts: u64,
    /// The `seq` this message replies to.
    #[serde(default)]
    pub reply_to: Option<u64>,
    /// When the text was last edited (ms), `None` if never.
    #[serde(default)]
    pub edited_at: Option<u64>,
    /// 1 for the original text, +1 per edit.
    #[serde(default = "first_version")]
    pub version: u32,
    /// A tombstone: the text, every earlier version and the reactions are gone; seq, author and time
    /// stay.
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub reactions: Reactions,
    /// The room revision of this message's last change (its store, edit, deletion, a reaction, or
    /// a change of its thread's summary).
    #[serde(default)]
    pub rev: u64,
    /// The files it carries (uploaded to the room before it was sent); absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileDescriptor>,
    /// The preview of the first link in its text, recorded by the room after the message (a later
    /// change under its own `rev`); absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<Preview>,
    /// A reply names its thread's root (`thread: 43`); a root with replies carries the thread's
    /// summary (`thread: {"replies",…}`); absent otherwise, so a room without threads sends v1's
    /// frames byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Thread>,
    /// A reply that is shown in the main conversation too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub also_in_room: bool,
    /// The people the text mentions (`@name`, `<@uid>`), resolved when it was written: uids, in
    /// the text's order, at most [`crate::mention::MAX_MENTIONS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// The text says `@room` (a moderator's): it mentions everyone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mentions_room: bool,
}

fn first_version() -> u32 {
    1
}

impl ChatMessage {
    /// A new message as the room stores it: version 1, no edits, no reactions.
    pub fn new(seq: u64, id: Option<String>, from: User, text: String, ts: u64) -> Self {
        ChatMessage {
            seq,
            id,
            from,
            text,
            ts,
            reply_to: None,
            edited_at: None,
            version: 1,
            deleted: false,
            reactions: Reactions::new(),
            rev: 0,
            files: Vec::new(),
            preview: None,
            thread: None,
            also_in_room: false,
            mentions: Vec::new(),
            mentions_room: false,
        }
    }

    /// The root of the thread this message replies in, if it is a reply.
    pub fn root(&self) -> Option<u64> {
        match self.thread {
            Some(Thread::In(root)) => Some(root),
            _ => None,
        }
    }

    /// The summary of the thread this message is the root of, if it has had replies.
    pub fn summary(&self) -> Option<&ThreadSummary> {
        match &self.thread {
            Some(Thread::Root(summary)) => Some(summary),
            _ => None,
        }
    }

    /// Whether it belongs to the main conversation: not a reply, or one also shown there.
    pub fn in_main(&self) -> bool {
        self.root().is_none() || self.also_in_room
    }
}

/// A message's place in a thread (one level, as in Slack): a reply names its root, a root carries
/// the summary of its replies. On the wire one key, `thread`, a number or an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Thread {
    /// A reply: the `seq` of the thread's root.
    In(u64),
    /// A root: what its replies amount to.
    Root(ThreadSummary),
}

/// A thread's summary, kept on its root: how many replies (not deleted), the newest one's `seq`
/// and time, and the first [`crate::thread::MAX_PARTICIPANTS`] who replied (uids, in the order they
/// first did).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadSummary {
    pub replies: u32,
    pub last_seq: u64,
    pub last_at: u64,
    pub participants: Vec<String>,
}

/// A file uploaded to a room, as a message carries it: its id (the room's, random), the name and
/// `type` the uploader gave, its size in bytes, an image's pixel size when the bytes told it, and
/// whether a thumbnail was stored beside it (`GET …/files/{id}/thumb`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDescriptor {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub content_type: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub thumb: bool,
}

impl FileDescriptor {
    /// A descriptor from its stored JSON, read as a `serde_json::Value` (which the wasm parses for
    /// other reasons anyway) rather than through a derived deserializer of its own: the stored form
    /// is written by `Serialize` and read back only here.
    pub fn from_json(value: &serde_json::Value) -> Option<FileDescriptor> {
        let text = |key: &str| value.get(key)?.as_str().map(str::to_string);
        let side = |key: &str| {
            value
                .get(key)?
                .as_u64()
                .map(|n| n.min(u32::MAX.into()) as u32)
        };
        Some(FileDescriptor {
            id: text("id")?,
            name: text("name")?,
            content_type: text("type")?,
            size: value.get("size")?.as_u64()?,
            width: side("width"),
            height: side("height"),
            thumb: value.get("thumb").and_then(serde_json::Value::as_bool) == Some(true),
        })
    }
}

/// What a linked page says of itself (its Open Graph, Twitter or plain `<title>` and description
/// tags), as plain text: never HTML. `url` is the page the message links to, `image` an absolute
/// http(s) URL the page names (a client decides whether to load it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub url: String,
    pub title: String,
    pub description: String,
    pub site: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

impl Preview {
    /// A preview from its stored JSON (see [`FileDescriptor::from_json`]).
    pub fn from_json(value: &serde_json::Value) -> Option<Preview> {
        let text = |key: &str| value.get(key)?.as_str().map(str::to_string);
        Some(Preview {
            url: text("url")?,
            title: text("title")?,
            description: text("description")?,
            site: text("site")?,
            image: text("image"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_and_previews_read_back_what_they_wrote() {
        let file = FileDescriptor {
            id: "0f".repeat(16),
            name: "a \"b\".png".into(),
            content_type: "image/png".into(),
            size: 25_000_000,
            width: Some(640),
            height: None,
            thumb: true,
        };
        let v = serde_json::to_value(&file).unwrap();
        assert_eq!(FileDescriptor::from_json(&v), Some(file));
        let preview = Preview {
            url: "https://e.example/".into(),
            title: "t".into(),
            description: String::new(),
            site: "e.example".into(),
            image: None,
        };
        let v = serde_json::to_value(&preview).unwrap();
        assert_eq!(Preview::from_json(&v), Some(preview));
        assert_eq!(Preview::from_json(&serde_json::json!({"url": 1})), None);
    }
}

/// One text a message has had: `version` 1 is the original, `at` when it was written (ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub version: u32,
    pub text: String,
    pub at: u64,
}

/// Somebody who reacted to a message with an emoji: their author id, and the name they had when they
/// reacted (`None` for a reaction stored before names were kept with reactions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reactor {
    pub uid: String,
    pub name: Option<String>,
}

/// How a connection takes its frames: one WebSocket frame each (v1), or everything a turn holds for
/// it in one `batch` frame (`batch=1`, see [`crate::delivery`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    #[default]
    Single,
    Batch,
}

/// Whose client ids a message's `id` is unique among: an identified sender's (`u:<uid>`, whatever name
/// it uses); the HTTP API's, by the bot's name (`a:<name>`: no socket can reach it, so nobody can take
/// a bot's ids first); else an anonymous sender name's (`n:<name>`, as in protocol v1, so a client
/// retrying over a new connection, with a new anonymous uid, is still recognised).
pub fn sender_key(from: &User) -> String {
    match from.identity() {
        Some(uid) => format!("u:{uid}"),
        None if from.id == identity::API_CONN_ID => format!("a:{}", from.name),
        None => format!("n:{}", from.name),
    }
}
