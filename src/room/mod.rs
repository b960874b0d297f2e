//! The room as a state machine: an event comes in (a socket joins, sends a frame, leaves; a bot posts
//! over HTTP), and out come [`Effect`]s — frames to send, to broadcast, sockets to close — for the
//! Durable Object to carry out. Nothing here knows about `worker::`; storage is reached through the
//! [`History`] trait, which the DO implements with its SQLite storage and the tests with a `Vec`.
//!
//! The roster is one map from connection id to [`Member`], and each member holds its socket handle
//! (`S`: the runtime's `WebSocket` in the Durable Object, `()` in tests), so there is no second list of
//! sockets to keep in step and every lookup by connection id is O(1).
//!
//! Ordering and durability rules live here: the room assigns `seq` (strictly increasing, no gaps),
//! stores a message *before* producing any frame that mentions it (durable before visible), and
//! answers a repeated client `id` with the original `seq` instead of storing it twice — but only when
//! it is the same message: the same name and id with another text is refused as `id_conflict`, never
//! acknowledged as somebody else's message.
//!
//! **Group commit.** A message is not stored the moment it arrives: [`Room::receive`] queues it, and
//! [`Room::flush`] stores everything queued since the last flush, then produces its frames. The Durable
//! Object flushes on a zero-delay timer, so every message that arrives before the timer fires is written
//! in one turn of the event loop — one SQLite transaction, one commit — instead of one commit each. Each
//! commit waits for the disk (`fsync`) with the isolate's thread blocked, which capped a room at one
//! message per commit time. While anything is queued, the effects of later frames wait in the queue
//! behind it, so each connection still gets its answers in the order it sent its frames.
//!
//! **Presence.** Up to `PRESENCE_THRESHOLD` members every join and leave is told to the others and
//! each `welcome` lists the roster; above it the room counts instead ([`crate::presence`]): a bounded
//! first page in `welcome`, coalesced `presence` frames on a timer ([`Effect::Wake`]), and roster pages
//! on request. The roster is ordered by connection id so that a page can continue after the last id.
//! Sockets that fell silent are dropped by [`Room::sweep`] when the Durable Object asks.
//!
//! Hibernation wipes this struct. What must survive lives elsewhere — messages in SQLite, each member
//! in its socket's attachment — and [`Room::restore`] rebuilds the roster after a wake. Rate-limit
//! buckets (frames, and searches: [`Member`]) restart full after a wake; that loses nothing, because the runtime only hibernates a room
//! after ~10 s without events, by which time every bucket has refilled anyway.

use crate::domain::Framing;
use crate::effect::Effect;
use crate::effect::CLOSE_FLOODING;
use crate::effect::CLOSE_INTERNAL;
use crate::effect::CLOSE_SILENT;
use crate::effect::CLOSE_TOO_BIG;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use crate::config::Limits;
use crate::domain::{ChatMessage, Reactor, User, Version};
use crate::error::{ErrorCode, Problem};
use crate::history::{Appended, History};
use crate::identity::AddressTag;
use crate::inbox::notify::{Here, Note, Notifier};
use crate::moderation::{Action, AddressBan, Change, Purge, Record, Rules};
use crate::presence::{Presence, WELCOME_MEMBERS};
use crate::protocol::{Announced, ClientFrame, ServerFrame};
use crate::rate::{TokenBucket, FLOOD_STRIKES};
use crate::reactors::ReactorsRequest;
use crate::search::{snippet_html, Found, SearchHit, SearchPage, SearchRequest};
use crate::session::Role;
use crate::validate::{self, MAX_FRAME_BYTES, MAX_PAGE, MAX_REACTIONS, WELCOME_HISTORY};
use crate::webhook::{self, EventKind, ReactionChange};

mod api;
mod erase;
mod export;
mod files;
mod frames;
mod inboxes;
mod living;
mod moderation;
mod reads;
mod retain;
mod roster;
mod screen;
#[cfg(test)]
mod tests;
mod threads;
mod unread;

pub use threads::{Draft, ThreadPage};
pub use unread::Counts;

/// Old messages beyond `HISTORY_LIMIT` are deleted in batches, every this many messages; reads hide
/// them in between, so the limit is exact from a client's point of view.
pub const TRIM_EVERY: u64 = 64;

/// What a joining client asked for: where it resumes (`after` its last seen `seq`, `since` its last
/// seen `rev`), how it takes its frames, and what its token made it, announced in the welcome
/// (`role`, and `expires` in Unix seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Joining {
    pub after: Option<u64>,
    pub since: Option<u64>,
    pub framing: Framing,
    pub role: Role,
    pub expires: Option<u64>,
    /// The client's address (hashed), for the address bans of an open room; `None` with a signed
    /// token, whose uid a ban holds by itself, or without an address to go by.
    pub address: Option<AddressTag>,
}

impl From<Option<u64>> for Joining {
    fn from(after: Option<u64>) -> Self {
        Joining {
            after,
            ..Joining::default()
        }
    }
}

/// What an edit changes: the text (when given), the files it keeps (when given), the preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub text: Option<String>,
    pub keep: Option<Vec<crate::files::FileId>>,
    pub drop_preview: bool,
}

/// Read marks are announced at most once per author per this many milliseconds.
pub const READ_ANNOUNCE_MS: u64 = 1000;

/// A frame as it arrived on a socket.
#[derive(Debug, Clone, Copy)]
pub enum Incoming<'a> {
    Text(&'a str),
    Binary(usize),
}

/// The outcome of submitting a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub seq: u64,
    pub ts: u64,
    /// The revision of the message (or of the change, for an edit, deletion or reaction).
    pub rev: u64,
    /// False when the `id` was seen before and the original was acknowledged again.
    pub fresh: bool,
}

/// One open connection: who it is, its socket, and its rate-limit state.
#[derive(Debug, Clone)]
pub struct Member<S> {
    pub user: User,
    pub socket: S,
    pub framing: Framing,
    /// What the connection's token made it: a moderator may moderate.
    pub role: Role,
    /// Where it connected from (hashed), in an open room: what a ban of its uid also bars.
    pub address: Option<AddressTag>,
    /// When its token expires (Unix seconds; `None` without a token): [`Room::expire`] closes it
    /// once that time and the room's grace ([`Room::set_expiry_grace`]) have passed.
    pub expires: Option<u64>,
    bucket: TokenBucket,
    /// Searches draw on this bucket too (`limits.search`): each costs the room's only thread far more
    /// than a message, so the frame rate alone would let one socket keep the room busy searching.
    searches: TokenBucket,
    /// Frames refused by the rate limit since the last one it let through.
    strikes: u32,
    /// When the room last heard from it: joined (or rebuilt after a wake), or sent a frame. A `ping`
    /// answered by the runtime does not reach the room; the runtime keeps its time per socket.
    seen_ms: u64,
}

pub use api::post_answer;
pub use screen::Hook;

/// Work waiting for the next [`Room::flush`], in arrival order.
#[derive(Debug)]
enum Queued {
    /// A valid frame that passed the rate limit (a message, an edit, a deletion, a reaction, a read
    /// mark, a history request), to carry out in arrival order.
    Op {
        conn_id: String,
        from: User,
        op: ClientFrame,
        /// When the moderation hook replaced a message's text: the fingerprint of the text as sent.
        replaced: Option<String>,
    },
    /// A bot's post that waited for the moderation hook: answered as HTTP call `call`
    /// ([`Effect::Reply`]).
    Post {
        call: u64,
        draft: Draft,
        replaced: Option<String>,
    },
    /// What a later frame produced, held back so it is not sent before the answers to earlier frames.
    Effects(Vec<Effect>),
}

/// How well group commit is batching, since the room was constructed (a diagnostic, reported by
/// `GET /api/rooms/{room}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Commits {
    /// Turns that wrote messages: flushes with at least one message, and posts.
    pub turns: u64,
    /// Messages written (or attempted) in those turns.
    pub messages: u64,
}

/// Where a member's socket is held: by the room's own object (`None`, the default), or by shard `k` of
/// a room spread over several objects (see [`crate::shard`]). The room keeps its own sockets apart, so
/// a broadcast walks only those and costs the other shards one call each, not one per socket.
pub trait Place {
    fn shard(&self) -> Option<u16> {
        None
    }
}

impl Place for () {}
impl Place for &str {}
impl Place for u64 {}

/// A chat room's in-memory state: who is here (with their sockets), the last `seq` handed out, and
/// what awaits a flush.
#[derive(Debug)]
pub struct Room<S> {
    name: String,
    limits: Limits,
    last_seq: u64,
    /// Ordered by connection id, so the roster pages with a cursor (`after` the last id seen).
    members: BTreeMap<String, Member<S>>,
    /// Sockets the room has closed (flooding, oversized frame) and dropped from the roster, waiting for
    /// the Durable Object to carry out their [`Effect::Close`].
    closing: Vec<(String, S)>,
    queue: Vec<Queued>,
    commits: Commits,
    /// The room's revision: the `rev` of its latest stored change.
    rev: u64,
    /// Per author: when their read mark was last announced, and a newer one held back, if any.
    reads_shown: HashMap<String, ReadShown>,
    /// Members with [`Framing::Batch`] (on this object or a shard).
    batched: usize,
    /// The members whose socket this object holds ([`Place::shard`] is `None`), in no order. A `Vec`:
    /// a leave finds its entry by a scan of this object's own sockets (at most `SHARD_SOCKETS`), which
    /// costs less wasm than one more map type.
    local: Vec<String>,
    /// How many members each shard holds (index `k - 1`).
    on_shards: Vec<usize>,
    /// Joins and leaves waiting for the next `presence` frame (above the threshold).
    presence: Presence,
    /// When [`Room::sweep`] last looked for silent sockets.
    swept_ms: u64,
    /// Whether changes produce [`Effect::Event`]s (a webhook receiver is configured).
    webhooks: bool,
    /// Seconds a token may be past its `exp` before its socket is closed (`JWT_LEEWAY_SECS`: the
    /// clock skew a token is allowed at the door, so none is let in only to be closed at once).
    expiry_grace_secs: u64,
    /// A lower bound of the earliest time (Unix seconds) a member's token runs out, so that
    /// [`Room::expire`], asked on every event, scans the roster only when that time has come. After a
    /// leave or a renewal it may be early: that costs one scan, never a missed close.
    next_expiry: Option<u64>,
    /// Bans, mutes and slow mode in force.
    rules: Rules,
    /// Link previews being fetched (at most [`crate::preview::MAX_IN_FLIGHT`]).
    previews: Vec<files::Fetching>,
    /// When the oldest upload no message used is due for the sweep (ms).
    uploads_due: Option<u64>,
    /// Purges under way, oldest first: carried out a batch per turn ([`Room::continue_purges`]).
    purges: Vec<Purge>,
    /// What waits to be told to the members' inboxes (see [`crate::inbox::notify`]).
    inbox: Notifier,
    /// How many sockets each identity has here, so that its inbox hears of the first and the last.
    identities: HashMap<String, u32>,
    /// The moderation hook's side of the queue: frames held for a verdict (see `screen.rs`).
    holding: screen::Holding,
    /// Retention erased every message up to this `seq` (see `retain.rs`).
    expired_upto: u64,
    /// When the next retention sweep is due (ms), if one is: kept so that the alarm is set without a
    /// read (see [`Room::retention_sweep_at`]).
    next_sweep: Option<u64>,
    /// Erasures of authors still running, oldest first (see `erase.rs`).
    erasing: Vec<crate::erasure::Erasure>,
}

#[derive(Debug, Default)]
struct ReadShown {
    at_ms: u64,
    /// (connection, reader, seq) of a mark stored but not yet announced.
    pending: Option<(String, User, u64)>,
}

/// A snapshot for `GET /api/rooms/{room}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoomInfo<'a> {
    pub room: &'a str,
    pub online: usize,
    pub members: Vec<&'a User>,
    pub last_seq: u64,
}

impl<S: Place> Room<S> {
    /// A room whose stored log ends at `last_seq` (0 for a new room).
    pub fn new(name: impl Into<String>, limits: Limits, last_seq: u64) -> Self {
        Room {
            name: name.into(),
            limits,
            last_seq,
            members: BTreeMap::new(),
            closing: Vec::new(),
            queue: Vec::new(),
            commits: Commits::default(),
            rev: last_seq,
            reads_shown: HashMap::new(),
            batched: 0,
            local: Vec::new(),
            on_shards: Vec::new(),
            presence: Presence::default(),
            swept_ms: 0,
            webhooks: false,
            expiry_grace_secs: 0,
            next_expiry: None,
            rules: Rules::default(),
            previews: Vec::new(),
            uploads_due: None,
            purges: Vec::new(),
            inbox: Notifier::default(),
            identities: HashMap::new(),
            holding: screen::Holding::default(),
            expired_upto: 0,
            next_sweep: None,
            erasing: Vec::new(),
        }
    }

    /// The moderation rules as stored (the Durable Object reads them at construction).
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
    }

    /// Switches webhook events on: every stored, edited, deleted or reacted-to message then also
    /// produces an [`Effect::Event`].
    pub fn set_webhooks(&mut self, on: bool) {
        self.webhooks = on;
    }

    /// The webhook event for a change, when events are on.
    fn event(
        &self,
        kind: EventKind,
        message: &ChatMessage,
        at: u64,
        reaction: Option<ReactionChange<'_>>,
        effects: &mut Vec<Effect>,
    ) {
        if self.webhooks {
            effects.push(Effect::Event {
                body: webhook::event_body(kind, &self.name, message, at, reaction),
            });
        }
    }

    /// Sets the revision the stored log has reached (the Durable Object reads it at construction;
    /// `new` assumes a log without changes, where the revision is the last `seq`).
    pub fn set_rev(&mut self, rev: u64) {
        self.rev = self.rev.max(rev);
    }

    pub fn rev(&self) -> u64 {
        self.rev
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub fn info(&self) -> RoomInfo<'_> {
        RoomInfo {
            room: &self.name,
            online: self.members.len(),
            members: self.members.values().map(|m| &m.user).collect(),
            last_seq: self.last_seq,
        }
    }

    /// Carries out one queued frame; `Some` when it is to be acknowledged (with the returned `seq`,
    /// `ts` and `rev`). `replaced`: the fingerprint of a message's text as sent, when the moderation
    /// hook replaced it.
    #[allow(clippy::too_many_arguments)]
    fn carry_out(
        &mut self,
        conn_id: &str,
        from: User,
        op: ClientFrame,
        replaced: Option<&str>,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Option<Accepted>, Problem> {
        match op {
            ClientFrame::Message {
                text,
                id,
                reply_to,
                thread,
                also_in_room,
                files,
            } => {
                let files = self.claim(&from, &files, id.as_deref(), history)?;
                let draft = Draft {
                    from,
                    text,
                    id,
                    reply_to,
                    thread,
                    also_in_room,
                    files,
                    moderator: self.is_moderator(conn_id),
                };
                self.write(draft, replaced, history, now_ms, effects)
                    .map(Some)
            }
            ClientFrame::Edit {
                seq,
                text,
                files,
                drop_preview,
                ..
            } => {
                let revision = Revision {
                    text,
                    keep: files,
                    drop_preview,
                };
                let moderator = self.is_moderator(conn_id);
                self.edit(&from, moderator, seq, revision, history, now_ms, effects)
            }
            ClientFrame::Delete { seq, reason, .. } => {
                let moderator = self.is_moderator(conn_id);
                self.delete(&from, moderator, seq, reason, history, now_ms, effects)
            }
            ClientFrame::Moderate { action, .. } => {
                self.require_moderator(conn_id)?;
                self.moderate(&from, action, history, now_ms, effects)
                    .map(Some)
            }
            ClientFrame::ModerationLog { before, limit, id } => {
                self.require_moderator(conn_id)?;
                let frame = self.moderation_log(history, before, limit, id.as_deref(), now_ms)?;
                effects.push(Effect::Send {
                    to: conn_id.to_string(),
                    frame,
                });
                Ok(None)
            }
            ClientFrame::React { seq, emoji, on, .. } => {
                self.react(&from, seq, &emoji, on, history, now_ms, effects)
            }
            ClientFrame::Read { seq, thread: None } => {
                self.mark_read(conn_id, from, seq, history, now_ms, effects)?;
                Ok(None)
            }
            ClientFrame::Read {
                seq,
                thread: Some(root),
            } => {
                self.mark_thread_read(&from, root, seq, history, effects)?;
                Ok(None)
            }
            ClientFrame::Thread {
                root,
                after,
                limit,
                id,
            } => {
                let page = self.thread_page(history, root, after, limit)?;
                effects.push(Effect::Send {
                    to: conn_id.to_string(),
                    frame: ServerFrame::ThreadPage {
                        id: id.as_deref(),
                        root: &page.root,
                        replies: &page.replies,
                        has_more: page.has_more,
                    }
                    .to_json(),
                });
                Ok(None)
            }
            // Never queued (read_frame answers it with Effect::Authenticate); kept total all the same.
            ClientFrame::Auth { token, id } => {
                effects.push(Effect::Authenticate {
                    to: conn_id.to_string(),
                    token,
                    id,
                });
                Ok(None)
            }
            ClientFrame::History { before, limit, id } => {
                let (messages, has_more) = self.scroll_back(history, before, limit)?;
                effects.push(Effect::Send {
                    to: conn_id.to_string(),
                    frame: ServerFrame::History {
                        id: id.as_deref(),
                        messages: &messages,
                        has_more,
                    }
                    .to_json(),
                });
                Ok(None)
            }
            ClientFrame::Search { request, id } => {
                let page = self.search(history, &request)?;
                effects.push(Effect::Send {
                    to: conn_id.to_string(),
                    frame: ServerFrame::SearchResults {
                        id: id.as_deref(),
                        results: &page.results,
                        has_more: page.has_more,
                        next_before: page.next_before,
                        next_offset: page.next_offset,
                    }
                    .to_json(),
                });
                Ok(None)
            }
            ClientFrame::Reactors { request, id } => {
                let (users, next) = self.reactors(history, &request)?;
                effects.push(Effect::Send {
                    to: conn_id.to_string(),
                    frame: ServerFrame::Reactors {
                        id: id.as_deref(),
                        seq: request.seq,
                        emoji: &request.emoji,
                        users: &users,
                        next: next.as_deref(),
                    }
                    .to_json(),
                });
                Ok(None)
            }
            // Typing and roster pages never wait in the queue.
            ClientFrame::Typing | ClientFrame::Roster { .. } => Ok(None),
        }
    }
}

/// A storage failure, as the client hears of it.
fn storage(e: String) -> Problem {
    Problem::new(ErrorCode::Internal, format!("storage failed: {e}"))
}

/// `not_found` for message `seq`: none stored, deleted, or past the history limit.
fn not_found(seq: u64) -> Problem {
    Problem::new(
        ErrorCode::NotFound,
        format!("message {seq} does not exist or was deleted"),
    )
}

fn error_to(conn_id: &str, code: ErrorCode, message: &str, id: Option<&str>) -> Effect {
    Effect::Send {
        to: conn_id.to_string(),
        frame: ServerFrame::Error { code, message, id }.to_json(),
    }
}

/// `message_updated` with the whole current message, to every connection (the author's own included,
/// so each of its tabs shows the change).
pub(super) fn updated(msg: &ChatMessage) -> Effect {
    Effect::Broadcast {
        except: None,
        frame: ServerFrame::MessageUpdated {
            message: msg,
            rev: msg.rev,
        }
        .to_json(),
    }
}
