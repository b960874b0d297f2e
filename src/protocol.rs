//! The wire protocol (v1): the JSON frames a client and a room exchange over the WebSocket, and the
//! error codes shared with the HTTP API. `docs/PROTOCOL.md` is the contract; this module is its code.
//!
//! Decoding is deliberately two-step: serde reads a loose [`RawFrame`] (every field optional, unknown
//! fields ignored), then [`ClientFrame::decode`] decides what it means. That way a syntax error maps to
//! `bad_json` and a well-formed but meaningless frame to `bad_request`, each with a message a person
//! can act on — and nothing a client sends can make the decoder panic.

use crate::domain::ChatMessage;
use crate::domain::Reactions;
use crate::domain::Reactor;
use crate::domain::ThreadSummary;
use crate::domain::User;
use crate::thread::ThreadUnread;

use serde::{Deserialize, Serialize};

use crate::config::Limits;
use crate::error::{ErrorCode, Problem};
use crate::files::{FileId, FILES_PER_MESSAGE};
use crate::moderation::{Action, Parts, Record};
use crate::presence::MAX_ROSTER_PAGE;
use crate::reactors::ReactorsRequest;
use crate::retention::Retained;
use crate::search::{self, SearchHit, SearchQuery, SearchRequest, MAX_QUERY_CHARS, MAX_RESULTS};
use crate::session::Role;
use crate::validate::{self, UserName, MAX_FRAME_BYTES, MAX_ID_CHARS, MAX_PAGE, MAX_TEXT_CHARS};

/// How far an author has read: a `read` frame's content, also listed in `welcome.reads`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadPosition<'a> {
    pub user: &'a User,
    pub seq: u64,
}

/// Frames the room sends. Serialized once per event, however many sockets receive it.
// A frame is built and serialized at once, never stored or moved around, so the size of its largest
// variant (the welcome) costs nothing that boxing it would save.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Welcome {
        room: &'a str,
        you: &'a User,
        members: Vec<&'a User>,
        history: &'a [ChatMessage],
        last_seq: u64,
        truncated: bool,
        /// The rules this room enforces, so a client paces and checks itself by them instead of a copy.
        limits: Announced<'a>,
        /// The room's revision: it increases with every stored change.
        rev: u64,
        /// Up to where this author has read (`None`: anonymous, no read state).
        read_seq: Option<u64>,
        /// Messages after `read_seq` not sent by this author and not deleted.
        unread: u64,
        /// On a resume with `since=`: the current state of each message up to `after` changed since.
        #[serde(skip_serializing_if = "Option::is_none")]
        changes: Option<&'a [ChatMessage]>,
        /// Above the presence threshold only: how many are online (`members` is then the first page).
        #[serde(skip_serializing_if = "Option::is_none")]
        online: Option<usize>,
        /// What this connection's token made it (`member` without one).
        role: Role,
        /// When this connection's token expires (Unix seconds; `None`: no token, never): renew before.
        expires: Option<u64>,
        /// The room's slow mode: one message per author per this many seconds (0: off).
        slow_mode: u64,
        /// Only connections with a key or a signed token may speak (`require_identity`); absent: all.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        identity_required: bool,
        /// Until when this author is muted (ms), if it is.
        #[serde(skip_serializing_if = "Option::is_none")]
        muted_until: Option<u64>,
        /// Below the presence threshold: how far the others online have read (one entry per author,
        /// as their `read` frames say it), so "seen by" survives a reload.
        #[serde(skip_serializing_if = "Option::is_none")]
        reads: Option<Vec<ReadPosition<'a>>>,
        /// This author's unread mentions (`None`: anonymous).
        #[serde(skip_serializing_if = "Option::is_none")]
        mentions: Option<u64>,
        /// Unread replies in the threads this author takes part in (`None`: anonymous), and those
        /// threads with any, the most recently active first.
        #[serde(skip_serializing_if = "Option::is_none")]
        thread_unread: Option<u64>,
        #[serde(skip_serializing_if = "<[ThreadUnread]>::is_empty")]
        threads: &'a [ThreadUnread],
        /// The room's retention: the policy in days (`null`: kept) and `upto`, the end of the prefix
        /// retention erased (a client drops its copies up to it); absent when neither applies.
        #[serde(skip_serializing_if = "Option::is_none")]
        retention: Option<Retained>,
    },
    Message(&'a ChatMessage),
    Ack {
        id: Option<&'a str>,
        seq: u64,
        ts: u64,
        rev: u64,
        /// The text as stored, only when it is not the one sent (the moderation hook replaced it).
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<&'a str>,
    },
    MessageUpdated {
        message: &'a ChatMessage,
        rev: u64,
    },
    Reaction {
        seq: u64,
        emoji: &'a str,
        user: &'a User,
        on: bool,
        counts: &'a Reactions,
        rev: u64,
    },
    Read {
        user: &'a User,
        seq: u64,
    },
    /// A thread's summary changed (a reply came, one was deleted): on its root, as revision `rev`.
    ThreadUpdated {
        root: u64,
        thread: &'a ThreadSummary,
        rev: u64,
    },
    /// A page of a thread, answering a `thread` frame: its root and replies after `after`, oldest
    /// first.
    ThreadPage {
        id: Option<&'a str>,
        root: &'a ChatMessage,
        replies: &'a [ChatMessage],
        has_more: bool,
    },
    /// One person's counts, to each of their connections, when something that concerns them alone
    /// changed them (a mention, a reply in a thread they take part in, their own read marks): as in
    /// the welcome (the main conversation's unread count aside: each connection keeps it).
    Unread {
        mentions: u64,
        thread_unread: u64,
        threads: &'a [ThreadUnread],
    },
    History {
        id: Option<&'a str>,
        messages: &'a [ChatMessage],
        has_more: bool,
    },
    /// The answer to a `search` frame, best match first, among the newest matches; `next_offset`
    /// (when the ranked window holds more) is the `offset` of its next page, `next_before` (when older
    /// messages may match too) the `before` that searches on from there.
    SearchResults {
        id: Option<&'a str>,
        results: &'a [SearchHit],
        has_more: bool,
        next_before: Option<u64>,
        next_offset: Option<usize>,
    },
    Join {
        user: &'a User,
    },
    Leave {
        user: &'a User,
    },
    /// Above the presence threshold: joins and leaves since the last one, coalesced.
    Presence {
        online: usize,
        joined: &'a [User],
        left: &'a [User],
        joins: u64,
        leaves: u64,
    },
    /// A page of the roster, in id order, answering a `roster` frame.
    Roster {
        id: Option<&'a str>,
        online: usize,
        members: Vec<&'a User>,
        /// The `after` for the next page; `None` on the last one.
        next: Option<&'a str>,
    },
    Typing {
        user: &'a User,
    },
    /// Retention erased every message up to `upto` (text, versions, reactions): each is a
    /// tombstone now; a client drops what it keeps of them.
    Expired {
        upto: u64,
    },
    /// Who reacted to message `seq` with `emoji`, answering a `reactors` frame: a page in uid order.
    Reactors {
        id: Option<&'a str>,
        seq: u64,
        emoji: &'a str,
        users: &'a [Reactor],
        /// The `after` for the next page; `None` on the last one.
        next: Option<&'a str>,
    },
    /// A moderator acted (every connection hears it; a banned or kicked one is then closed).
    Moderation(&'a Record),
    /// The moderation log a moderator asked for, newest first, with the rules in force.
    ModerationLog {
        id: Option<&'a str>,
        records: &'a [serde_json::Value],
        has_more: bool,
        /// The rules in force: `{"bans":[uid…],"mutes":[{"uid","until"}…],"slow_mode":seconds,
        /// "identity_required":bool,"address_bans":count}`.
        rules: serde_json::Value,
    },
    /// A token presented with `auth` was accepted: the connection now expires at `expires`.
    AuthOk {
        id: Option<&'a str>,
        role: Role,
        expires: u64,
    },
    Error {
        code: ErrorCode,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
    },
}

impl ServerFrame<'_> {
    pub fn to_json(&self) -> String {
        json(self)
    }
}

/// The limits announced in `welcome.limits`: lengths in characters, the connection's token bucket,
/// the largest frame in bytes and the longest page of history, and what an upload may be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Announced<'a> {
    pub text: usize,
    pub name: usize,
    pub id: usize,
    pub frame_bytes: usize,
    pub burst: f64,
    pub per_sec: f64,
    pub page: usize,
    /// The longest search query, in characters, and the most results one search returns.
    pub query: usize,
    pub results: usize,
    /// The connection's bucket for `search` frames (taken on top of `burst`/`per_sec`).
    pub search_burst: f64,
    pub search_per_sec: f64,
    /// Above this many members, presence goes by counts and `presence` frames.
    pub presence: u32,
    /// The longest roster page.
    pub roster_page: usize,
    /// Seconds of silence (no `ping`, no frame) after which a socket that pings is taken for gone.
    pub silent_after: u32,
    /// Versions kept per message, the current text included: an edit past it drops the oldest.
    pub versions: u32,
    /// The largest upload in bytes, the media types taken (`type/*`: every subtype), and the most
    /// files one message carries.
    pub file_bytes: u64,
    pub file_types: &'a [String],
    pub files: usize,
    /// Whether new messages' first links get a preview.
    pub previews: bool,
}

impl<'a> Announced<'a> {
    pub fn of(limits: &'a Limits) -> Self {
        Announced {
            text: MAX_TEXT_CHARS,
            name: UserName::MAX_CHARS,
            id: MAX_ID_CHARS,
            frame_bytes: MAX_FRAME_BYTES,
            burst: limits.rate.burst,
            per_sec: limits.rate.per_sec,
            page: MAX_PAGE,
            query: MAX_QUERY_CHARS,
            results: MAX_RESULTS,
            search_burst: limits.search.burst,
            search_per_sec: limits.search.per_sec,
            presence: limits.presence_threshold,
            roster_page: MAX_ROSTER_PAGE,
            silent_after: limits.silent_after_secs,
            versions: limits.versions_limit,
            file_bytes: limits.files.max_bytes,
            file_types: &limits.files.types,
            files: FILES_PER_MESSAGE,
            previews: limits.previews,
        }
    }
}

/// What a client may send, once decoded and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// A message; its text may be empty when it carries files (uploads of this room, not used yet).
    Message {
        text: String,
        id: Option<String>,
        reply_to: Option<u64>,
        /// The root of the thread it replies in.
        thread: Option<u64>,
        /// A reply shown in the main conversation too.
        also_in_room: bool,
        files: Vec<FileId>,
    },
    Typing,
    /// A change to one's own message: a new text, fewer files (`files` lists those it keeps), and/or
    /// its preview removed. At least one of them.
    Edit {
        seq: u64,
        text: Option<String>,
        files: Option<Vec<FileId>>,
        drop_preview: bool,
        id: Option<String>,
    },
    /// A deletion; a moderator deleting someone else's message may say why (`reason`).
    Delete {
        seq: u64,
        reason: Option<String>,
        id: Option<String>,
    },
    React {
        seq: u64,
        emoji: String,
        on: bool,
        id: Option<String>,
    },
    /// A read mark: of the main conversation, or of the thread of `thread`.
    Read {
        seq: u64,
        thread: Option<u64>,
    },
    /// A page of the thread of `root`: up to `limit` replies after `after`.
    Thread {
        root: u64,
        after: u64,
        limit: usize,
        id: Option<String>,
    },
    History {
        before: Option<u64>,
        limit: usize,
        id: Option<String>,
    },
    Search {
        request: SearchRequest,
        id: Option<String>,
    },
    /// A page of the roster: up to `limit` members whose id sorts after `after`.
    Roster {
        after: Option<String>,
        limit: usize,
        id: Option<String>,
    },
    /// Who reacted to a message with an emoji (a page of them).
    Reactors {
        request: ReactorsRequest,
        id: Option<String>,
    },
    /// A fresh token for this connection, before its current one expires.
    Auth {
        token: String,
        id: Option<String>,
    },
    /// A moderator's action (`ban`, `unban`, `kick`, `mute`, `unmute`, `slow_mode`,
    /// `require_identity`, `allow_anonymous`, `retention`).
    Moderate {
        action: Action,
        id: Option<String>,
    },
    /// A moderator asks for the room's moderation log (newest first, before log entry `before`).
    ModerationLog {
        before: Option<u64>,
        limit: usize,
        id: Option<String>,
    },
}

impl ClientFrame {
    /// Whether the moderation hook is asked about this frame before it is carried out (a message or
    /// an edit: what puts words in the room).
    pub fn is_screened(&self) -> bool {
        matches!(self, ClientFrame::Message { .. } | ClientFrame::Edit { .. })
    }

    /// The client's id of this frame, to answer it by.
    pub fn id(&self) -> Option<&str> {
        match self {
            ClientFrame::Message { id, .. }
            | ClientFrame::Edit { id, .. }
            | ClientFrame::Delete { id, .. }
            | ClientFrame::React { id, .. }
            | ClientFrame::History { id, .. }
            | ClientFrame::Thread { id, .. }
            | ClientFrame::Search { id, .. }
            | ClientFrame::Roster { id, .. }
            | ClientFrame::Reactors { id, .. }
            | ClientFrame::Auth { id, .. }
            | ClientFrame::Moderate { id, .. }
            | ClientFrame::ModerationLog { id, .. } => id.as_deref(),
            ClientFrame::Typing | ClientFrame::Read { .. } => None,
        }
    }
}

/// The loose shape serde reads first; [`ClientFrame::decode`] gives it meaning.
#[derive(Deserialize)]
struct RawFrame {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    id: Option<String>,
    seq: Option<u64>,
    reply_to: Option<u64>,
    emoji: Option<String>,
    on: Option<bool>,
    before: Option<u64>,
    limit: Option<u64>,
    q: Option<String>,
    after: Option<After>,
    thread: Option<u64>,
    also_in_room: Option<bool>,
    root: Option<u64>,
    token: Option<String>,
    uid: Option<String>,
    seconds: Option<u64>,
    reason: Option<String>,
    days: Option<u64>,
    words: Option<Vec<String>>,
    files: Option<Vec<String>>,
    preview: Option<bool>,
    offset: Option<u64>,
}

/// `after`: a roster page's member id (a string) or a thread page's `seq` (a number). Read by a
/// visitor of its own: a value of another type is refused at once, however deep it nests.
enum After {
    Id(String),
    Seq(u64),
}

impl<'de> Deserialize<'de> for After {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<After, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = After;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a member id or a seq")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<After, E> {
                Ok(After::Id(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<After, E> {
                Ok(After::Seq(v))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A decode failure, carrying the client's `id` when it could be read, so the client can tell which
/// of its messages was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub problem: Problem,
    pub id: Option<String>,
}

impl FrameError {
    fn new(code: ErrorCode, message: impl Into<String>, id: Option<String>) -> Self {
        FrameError {
            problem: Problem::new(code, message),
            id,
        }
    }
}

/// The `id` of a frame that is JSON but has the wrong shape (say, a numeric `text`), so the error can
/// still name the message it refuses. Only ever runs on the error path.
fn salvage_id(raw: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(raw).ok()?;
    let id = value.get("id")?.as_str()?;
    validate::check_client_id(id).ok()
}

impl ClientFrame {
    /// Decodes one text frame. Frame-size limits are checked by the caller before this is reached.
    pub fn decode(raw: &str) -> Result<ClientFrame, FrameError> {
        let frame: RawFrame = serde_json::from_str(raw).map_err(|e| {
            // Which error serde reports depends on what it meets first (`0 junk` is a type error to it,
            // `["a","b","c",null]` a syntax error), so ask the question the protocol asks: is the whole
            // text JSON? If so, it has the wrong shape.
            if serde_json::from_str::<serde::de::IgnoredAny>(raw).is_ok() {
                // serde's message quotes the offending value, which may be 64 KiB: keep it short.
                FrameError::new(
                    ErrorCode::BadRequest,
                    format!(
                        "frame has a field of the wrong type: {}",
                        truncate(&e.to_string(), 100)
                    ),
                    salvage_id(raw),
                )
            } else {
                FrameError::new(
                    ErrorCode::BadJson,
                    "frame is not a JSON object (send {\"type\":\"message\",\"text\":\"…\"})",
                    None,
                )
            }
        })?;
        // serde's derived `Deserialize` also reads a struct from a JSON array, by position
        // (`["message","hi","c-1"]`); the protocol only has objects. Checked after parsing, so the first
        // byte is `{` or `[` (JSON whitespace aside) and a syntax error is still `bad_json`.
        if !raw
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{')
        {
            return Err(FrameError::new(
                ErrorCode::BadRequest,
                "frame is an array, not a JSON object (send {\"type\":\"message\",\"text\":\"…\"})",
                None,
            ));
        }
        frame.interpret()
    }
}

impl RawFrame {
    /// What a well-formed frame means. Apart from [`ClientFrame::decode`] so that the parse above, whose
    /// error path recurses as deep as the JSON nests (up to serde_json's 128 levels), runs on a small
    /// stack frame: this one grows with every frame type.
    fn interpret(self) -> Result<ClientFrame, FrameError> {
        let frame = self;
        let id = match frame.id {
            Some(id) => Some(
                validate::check_client_id(&id)
                    .map_err(|p| FrameError::new(p.code, p.message, None))?,
            ),
            None => None,
        };
        let refuse = |p: Problem| FrameError::new(p.code, p.message, id.clone());
        let missing = |what: &str| FrameError::new(ErrorCode::BadRequest, what, id.clone());
        let text = |text: Option<String>| -> Result<String, FrameError> {
            let text = text.ok_or_else(|| missing("message has no text"))?;
            validate::check_text(&text).map_err(refuse)?;
            Ok(text)
        };
        let seq = |seq: Option<u64>| seq.ok_or_else(|| missing("frame has no \"seq\""));
        // A text that may be empty because the message carries files (checked by the room on an edit).
        let caption = |t: Option<String>| match t {
            Some(t) if !t.trim().is_empty() => text(Some(t)),
            _ => Ok(String::new()),
        };
        let files = file_ids(frame.files).map_err(refuse)?;
        match frame.kind.as_deref() {
            Some("message") => {
                let also_in_room = frame.also_in_room.unwrap_or(false);
                match frame.thread {
                    Some(0) => {
                        return Err(FrameError::new(
                            ErrorCode::BadThread,
                            "thread must be the seq of a stored message (1 or more)",
                            id,
                        ))
                    }
                    None if also_in_room => {
                        return Err(missing(
                            "also_in_room is for a reply in a thread (send \"thread\" too)",
                        ))
                    }
                    _ => {}
                }
                Ok(ClientFrame::Message {
                    text: match &files {
                        Some(f) if !f.is_empty() => caption(frame.text)?,
                        _ => text(frame.text)?,
                    },
                    reply_to: frame.reply_to,
                    thread: frame.thread,
                    also_in_room,
                    files: files.unwrap_or_default(),
                    id,
                })
            }
            Some("typing") => Ok(ClientFrame::Typing),
            Some("edit") => {
                let drop_preview = frame.preview == Some(false);
                if frame.text.is_none() && files.is_none() && !drop_preview {
                    return Err(missing(
                        "edit has no text (nor files to keep, nor \"preview\":false)",
                    ));
                }
                Ok(ClientFrame::Edit {
                    seq: seq(frame.seq)?,
                    text: frame.text.map(|t| caption(Some(t))).transpose()?,
                    files,
                    drop_preview,
                    id,
                })
            }
            Some("delete") => Ok(ClientFrame::Delete {
                seq: seq(frame.seq)?,
                reason: crate::moderation::reason(frame.reason).map_err(refuse)?,
                id,
            }),
            Some("react") => {
                let emoji = frame
                    .emoji
                    .ok_or_else(|| missing("react has no \"emoji\""))?;
                validate::check_emoji(&emoji).map_err(refuse)?;
                Ok(ClientFrame::React {
                    seq: seq(frame.seq)?,
                    emoji,
                    on: frame.on.unwrap_or(true),
                    id,
                })
            }
            Some("read") => Ok(ClientFrame::Read {
                seq: seq(frame.seq)?,
                thread: frame.thread,
            }),
            Some("thread") => Ok(ClientFrame::Thread {
                root: frame
                    .root
                    .ok_or_else(|| missing("thread has no \"root\""))?,
                after: match frame.after {
                    None => 0,
                    Some(After::Seq(after)) => after,
                    Some(After::Id(_)) => {
                        return Err(missing("a thread page's \"after\" is a seq"))
                    }
                },
                limit: validate::history_page_limit(frame.limit).map_err(refuse)?,
                id,
            }),
            Some("history") => Ok(ClientFrame::History {
                before: frame.before,
                limit: validate::history_page_limit(frame.limit).map_err(refuse)?,
                id,
            }),
            Some("search") => {
                let q = frame.q.ok_or_else(|| missing("search has no \"q\""))?;
                Ok(ClientFrame::Search {
                    request: SearchRequest {
                        query: SearchQuery::parse(&q).map_err(refuse)?,
                        before: frame.before,
                        limit: search::result_limit(frame.limit).map_err(refuse)?,
                        offset: search::result_offset(frame.offset).map_err(refuse)?,
                    },
                    id,
                })
            }
            Some("reactors") => Ok(ClientFrame::Reactors {
                request: ReactorsRequest::new(
                    seq(frame.seq)?,
                    frame.emoji,
                    match frame.after {
                        None => None,
                        Some(After::Id(after)) => Some(after),
                        Some(After::Seq(_)) => {
                            return Err(missing(
                                "reactors \"after\" is the next of an earlier page",
                            ))
                        }
                    },
                    frame.limit,
                )
                .map_err(refuse)?,
                id,
            }),
            Some("roster") => {
                let after =
                    match frame.after {
                        None => None,
                        Some(After::Id(after)) => {
                            validate::check_roster_cursor(&after).map_err(refuse)?;
                            Some(after)
                        }
                        Some(After::Seq(_)) => return Err(missing(
                            "roster \"after\" must be a member id (the last id of the page before)",
                        )),
                    };
                Ok(ClientFrame::Roster {
                    after,
                    limit: validate::roster_page_limit(frame.limit).map_err(refuse)?,
                    id,
                })
            }
            Some(
                kind @ ("ban" | "unban" | "kick" | "mute" | "unmute" | "slow_mode"
                | "require_identity" | "allow_anonymous" | "purge" | "retention" | "block"
                | "unblock"),
            ) => Ok(ClientFrame::Moderate {
                action: Action::parse(
                    kind,
                    Parts {
                        uid: frame.uid,
                        seconds: frame.seconds,
                        reason: frame.reason,
                        days: frame.days,
                        words: frame.words,
                    },
                )
                .map_err(refuse)?,
                id,
            }),
            Some("moderation_log") => Ok(ClientFrame::ModerationLog {
                before: frame.before,
                limit: validate::history_page_limit(frame.limit).map_err(refuse)?,
                id,
            }),
            Some("auth") => match frame.token {
                Some(token) if !token.is_empty() => Ok(ClientFrame::Auth { token, id }),
                _ => Err(missing("auth has no \"token\"")),
            },
            Some(other) => Err(FrameError::new(
                ErrorCode::BadRequest,
                format!(
                    "unknown frame type {:?} (see docs/PROTOCOL.md for the frame types)",
                    truncate(other, 24)
                ),
                id,
            )),
            None => Err(FrameError::new(
                ErrorCode::BadRequest,
                "frame has no \"type\"",
                id,
            )),
        }
    }
}

/// A frame's `files`: file ids (each as an upload answered it), at most [`FILES_PER_MESSAGE`], none
/// twice.
fn file_ids(files: Option<Vec<String>>) -> Result<Option<Vec<FileId>>, Problem> {
    let Some(files) = files else {
        return Ok(None);
    };
    if files.len() > FILES_PER_MESSAGE {
        return Err(Problem::new(
            ErrorCode::TooLarge,
            format!("a message carries at most {FILES_PER_MESSAGE} files"),
        ));
    }
    let mut ids: Vec<FileId> = Vec::with_capacity(files.len());
    for raw in &files {
        let id = FileId::parse(raw)?;
        if ids.contains(&id) {
            return Err(Problem::new(ErrorCode::BadFile, "a file is named twice"));
        }
        ids.push(id);
    }
    Ok(Some(ids))
}

/// At most `max` characters of `s`, for echoing client input back in error messages.
fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Serializes a frame. Our frames contain only strings, integers and booleans, which serde_json always
/// encodes, so the error branch is unreachable in practice; it still degrades to a valid frame.
fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| {
        r#"{"type":"error","code":"internal","message":"could not encode frame"}"#.to_string()
    })
}

#[cfg(test)]
mod tests;
