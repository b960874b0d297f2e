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

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use crate::config::Limits;
use crate::error::{ErrorCode, Problem};
use crate::history::{Appended, History};
use crate::moderation::{Action, Record, Rules};
use crate::presence::{Presence, WELCOME_MEMBERS};
use crate::protocol::{Announced, ChatMessage, ClientFrame, ServerFrame, User, Version};
use crate::rate::{TokenBucket, FLOOD_STRIKES};
use crate::search::{snippet_html, Found, SearchHit, SearchPage, SearchRequest};
use crate::session::Role;
use crate::validate::{self, MAX_FRAME_BYTES, MAX_PAGE, MAX_REACTIONS, WELCOME_HISTORY};
use crate::webhook::{self, EventKind, ReactionChange};

/// WebSocket close code for a frame over the size limit ("message too big").
pub const CLOSE_TOO_BIG: u16 = 1009;
/// WebSocket close code for a server-side fault.
pub const CLOSE_INTERNAL: u16 = 1011;
/// WebSocket close code for a connection that keeps flooding past its rate limit ("policy violation").
pub const CLOSE_FLOODING: u16 = 1008;
/// WebSocket close code for a socket the room takes for gone: silent past `SILENT_AFTER` ("going away").
pub const CLOSE_SILENT: u16 = 1001;
/// Old messages beyond `HISTORY_LIMIT` are deleted in batches, every this many messages; reads hide
/// them in between, so the limit is exact from a client's point of view.
pub const TRIM_EVERY: u64 = 64;

/// What the Durable Object must do after an event. Frames are serialized once, here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send `frame` to the connection `to`.
    Send { to: String, frame: String },
    /// Send `frame` to every open connection of the room except `except`.
    Broadcast {
        except: Option<String>,
        frame: String,
    },
    /// Close the connection `to` with this code and reason. The room has already dropped it from the
    /// roster; its socket waits in [`Room::take_closing`].
    Close {
        to: String,
        code: u16,
        reason: &'static str,
    },
    /// Call [`Room::tick`] after this many milliseconds (announcements held back to coalesce them).
    Wake { after_ms: u64 },
    /// Put this webhook event (its JSON body) into the outbox, in the same turn as the change it
    /// reports so both commit together (only when [`Room::set_webhooks`] switched events on).
    Event { body: String },
    /// Connection `to` presented a fresh token (`auth`): verify it (a signature check may need the
    /// JWKS, which only the Durable Object can fetch) and answer `auth_ok` or an error, echoing `id`.
    Authenticate {
        to: String,
        token: String,
        id: Option<String>,
    },
}

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
}

impl From<Option<u64>> for Joining {
    fn from(after: Option<u64>) -> Self {
        Joining {
            after,
            ..Joining::default()
        }
    }
}

/// How a connection takes its frames: one WebSocket frame each (v1), or everything a turn holds for
/// it in one `batch` frame (`batch=1`, see [`crate::delivery`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    #[default]
    Single,
    Batch,
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

/// Work waiting for the next [`Room::flush`], in arrival order.
#[derive(Debug)]
enum Queued {
    /// A valid frame that passed the rate limit (a message, an edit, a deletion, a reaction, a read
    /// mark, a history request), to carry out in arrival order.
    Op {
        conn_id: String,
        from: User,
        op: ClientFrame,
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
    /// Bans, mutes and slow mode in force.
    rules: Rules,
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
            rules: Rules::default(),
        }
    }

    /// The moderation rules as stored (the Durable Object reads them at construction).
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
    }

    /// Sets the role of connection `conn_id` (restored from its attachment after a wake, or renewed).
    pub fn set_role(&mut self, conn_id: &str, role: Role) {
        if let Some(member) = self.members.get_mut(conn_id) {
            member.role = role;
        }
    }

    fn is_moderator(&self, conn_id: &str) -> bool {
        self.members
            .get(conn_id)
            .is_some_and(|m| m.role == Role::Moderator)
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

    /// Rebuilds the roster from the open sockets and the users kept in their attachments (after a
    /// wake). A connection already on the roster keeps its state.
    pub fn restore(&mut self, members: impl IntoIterator<Item = (User, Framing, S)>, now_ms: u64) {
        for (user, framing, socket) in members {
            if !self.members.contains_key(&user.id) {
                self.add(user, framing, socket, now_ms);
            }
        }
    }

    fn add(&mut self, user: User, framing: Framing, socket: S, now_ms: u64) {
        if framing == Framing::Batch {
            self.batched += 1;
        }
        match socket.shard() {
            None => self.local.push(user.id.clone()),
            Some(k) => {
                let i = usize::from(k.max(1)) - 1;
                if self.on_shards.len() <= i {
                    self.on_shards.resize(i + 1, 0);
                }
                self.on_shards[i] += 1;
            }
        }
        let member = Member {
            user,
            socket,
            framing,
            role: Role::Member,
            bucket: TokenBucket::full(&self.limits.rate, now_ms as f64),
            searches: TokenBucket::full(&self.limits.search, now_ms as f64),
            strikes: 0,
            seen_ms: now_ms,
        };
        if let Some(old) = self.members.insert(member.user.id.clone(), member) {
            // The same id again (a re-join): `add` counted the new one, `forget` takes the old off.
            self.forget(&old);
        }
    }

    /// Takes `conn_id` off the roster.
    fn remove(&mut self, conn_id: &str) -> Option<Member<S>> {
        let gone = self.members.remove(conn_id)?;
        self.forget(&gone);
        Some(gone)
    }

    fn forget(&mut self, gone: &Member<S>) {
        if gone.framing == Framing::Batch {
            self.batched -= 1;
        }
        match gone.socket.shard() {
            None => {
                if let Some(i) = self.local.iter().position(|id| *id == gone.user.id) {
                    self.local.swap_remove(i);
                }
            }
            Some(k) => {
                if let Some(n) = self.on_shards.get_mut(usize::from(k.max(1)) - 1) {
                    *n = n.saturating_sub(1);
                }
            }
        }
    }

    /// The members whose socket this object holds, with their ids (for its own fan-out).
    pub fn local_members(&self) -> impl Iterator<Item = (&str, &Member<S>)> {
        self.local
            .iter()
            .filter_map(|id| self.members.get(id).map(|m| (id.as_str(), m)))
    }

    /// How many members this object holds itself.
    pub fn local_count(&self) -> usize {
        self.local.len()
    }

    /// How many members each shard holds: shard `k` at index `k - 1` (shards past the end hold none).
    pub fn shard_counts(&self) -> &[usize] {
        &self.on_shards
    }

    /// The connections on shard `k`.
    pub fn on_shard(&self, k: u16) -> impl Iterator<Item = &str> {
        self.members
            .iter()
            .filter(move |(_, m)| m.socket.shard() == Some(k))
            .map(|(id, _)| id.as_str())
    }

    /// How many connections on the roster take batched frames (none: every frame goes out alone).
    pub fn batched(&self) -> usize {
        self.batched
    }

    /// Whether `conn_id` is on the roster and takes batched frames.
    pub fn is_batched(&self, conn_id: &str) -> bool {
        self.members
            .get(conn_id)
            .is_some_and(|m| m.framing == Framing::Batch)
    }

    /// Names the room (the Durable Object learns its name from the first request after a wake).
    pub fn set_name(&mut self, name: &str) {
        if self.name != name {
            self.name = name.to_string();
        }
    }

    /// Whether `conn_id` is on the roster.
    pub fn has(&self, conn_id: &str) -> bool {
        self.members.contains_key(conn_id)
    }

    /// The socket of connection `conn_id`: on the roster, or being closed by the room (its last
    /// answers go out before the close).
    pub fn socket(&self, conn_id: &str) -> Option<&S> {
        self.members.get(conn_id).map(|m| &m.socket).or_else(|| {
            self.closing
                .iter()
                .find(|(id, _)| id == conn_id)
                .map(|(_, socket)| socket)
        })
    }

    /// The user of connection `conn_id`, if it is on the roster.
    pub fn user(&self, conn_id: &str) -> Option<&User> {
        self.members.get(conn_id).map(|m| &m.user)
    }

    /// Every open connection's id and socket.
    pub fn sockets(&self) -> impl Iterator<Item = (&str, &S)> {
        self.members.iter().map(|(id, m)| (id.as_str(), &m.socket))
    }

    /// Every open connection with its id and framing.
    pub fn members(&self) -> impl Iterator<Item = (&str, &Member<S>)> {
        self.members.iter().map(|(id, m)| (id.as_str(), m))
    }

    /// The socket of a connection the room closed, for the Durable Object to close it.
    pub fn take_closing(&mut self, conn_id: &str) -> Option<S> {
        let pos = self.closing.iter().position(|(id, _)| id == conn_id)?;
        Some(self.closing.swap_remove(pos).1)
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

    /// Whether one more connection fits under `MAX_CONNECTIONS`.
    pub fn admit(&self) -> Result<(), Problem> {
        if self.members.len() >= self.limits.max_connections as usize {
            return Err(Problem::new(
                ErrorCode::RoomFull,
                format!("room is full ({} connections)", self.limits.max_connections),
            ));
        }
        Ok(())
    }

    /// A connection has been accepted: welcome it and tell the others. Fails (and adds nobody) when
    /// the history cannot be read.
    pub fn join(
        &mut self,
        user: User,
        socket: S,
        resume: impl Into<Joining>,
        history: &dyn History,
        now_ms: u64,
    ) -> Result<Vec<Effect>, Problem> {
        let resume = resume.into();
        if user
            .uid
            .as_deref()
            .is_some_and(|uid| self.rules.banned(uid))
        {
            return Err(Problem::new(
                ErrorCode::Banned,
                "a moderator banned you from this room",
            ));
        }
        let (from, cap) = match resume.after {
            Some(after) => (after, MAX_PAGE),
            None => (0, WELCOME_HISTORY),
        };
        let messages = self.read(history, from, cap, true)?;
        let missed = self.last_seq.saturating_sub(from);
        let mut truncated = missed > messages.len() as u64;
        let changes = match (resume.after, resume.since) {
            (Some(after), Some(since)) => {
                let mut changes = history
                    .changes(after, since, MAX_PAGE + 1)
                    .map_err(storage)?;
                if changes.len() > MAX_PAGE {
                    changes.truncate(MAX_PAGE);
                    truncated = true;
                }
                Some(changes)
            }
            _ => None,
        };
        let (read_seq, unread) = match &user.uid {
            Some(uid) => {
                let mark = history.read_mark(uid).map_err(storage)?;
                (Some(mark), history.unread(uid, mark).map_err(storage)?)
            }
            None => (None, 0),
        };
        self.add(user.clone(), resume.framing, socket, now_ms);
        let crowded = self.crowded();
        self.set_role(&user.id, resume.role);
        let welcome = ServerFrame::Welcome {
            room: &self.name,
            you: &user,
            members: match crowded {
                true => self.page(None, WELCOME_MEMBERS).0,
                false => self.members.values().map(|m| &m.user).collect(),
            },
            history: &messages,
            last_seq: self.last_seq,
            truncated,
            limits: Announced::of(&self.limits),
            rev: self.rev,
            read_seq,
            unread,
            changes: changes.as_deref(),
            online: crowded.then_some(self.members.len()),
            role: resume.role,
            expires: resume.expires,
            slow_mode: self.rules.slow_mode_secs(),
            muted_until: user
                .uid
                .as_deref()
                .and_then(|uid| self.rules.muted_until(uid, now_ms)),
        }
        .to_json();
        let mut effects = vec![Effect::Send {
            to: user.id.clone(),
            frame: welcome,
        }];
        if crowded {
            self.presence.joined(&user);
            effects.extend(self.tell_presence(now_ms));
        } else {
            effects.push(Effect::Broadcast {
                except: Some(user.id.clone()),
                frame: ServerFrame::Join { user: &user }.to_json(),
            });
        }
        Ok(effects)
    }

    /// Whether the room is above the presence threshold: presence then goes by counts (see
    /// [`crate::presence`]).
    fn crowded(&self) -> bool {
        self.members.len() > self.limits.presence_threshold as usize
    }

    /// Up to `limit` members whose id sorts after `after` (from the first without), and the cursor for
    /// the next page (`None` when this one reaches the end).
    fn page(&self, after: Option<&str>, limit: usize) -> (Vec<&User>, Option<&str>) {
        let from = match after {
            Some(id) => Bound::Excluded(id),
            None => Bound::Unbounded,
        };
        let mut rest = self
            .members
            .range::<str, _>((from, Bound::Unbounded))
            .map(|(_, m)| &m.user);
        let page: Vec<&User> = rest.by_ref().take(limit).collect();
        let next = match (rest.next(), page.last()) {
            (Some(_), Some(last)) => Some(last.id.as_str()),
            _ => None,
        };
        (page, next)
    }

    /// A roster page as the HTTP API returns it: `{"online","members","next"}`.
    pub fn roster(&self, after: Option<&str>, limit: usize) -> serde_json::Value {
        let (members, next) = self.page(after, limit);
        serde_json::json!({"online": self.members.len(), "members": members, "next": next})
    }

    /// The `presence` frame for what waits, if its time has come; else a wake-up for when it will.
    fn tell_presence(&mut self, now_ms: u64) -> Option<Effect> {
        if !self.presence.pending() {
            return None;
        }
        let online = self.members.len();
        if let Err(after_ms) = self.presence.due(now_ms, online) {
            return Some(Effect::Wake { after_ms });
        }
        let told = self.presence.take(now_ms);
        Some(Effect::Broadcast {
            except: None,
            frame: ServerFrame::Presence {
                online,
                joined: &told.joined,
                left: &told.left,
                joins: told.joins,
                leaves: told.leaves,
            }
            .to_json(),
        })
    }

    /// Whether it is time to look for silent sockets: at most every quarter of `SILENT_AFTER`. The
    /// Durable Object asks on the room's events (a join, a frame, a close, a timer), never on a timer of
    /// its own: a room with nothing going on may hibernate, and waking it only to look would cost more
    /// than a stale entry in a roster nobody is reading.
    pub fn sweep_due(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.swept_ms) >= self.silent_after_ms() / 4
    }

    fn silent_after_ms(&self) -> u64 {
        u64::from(self.limits.silent_after_secs) * 1000
    }

    /// Drops the connections silent for longer than `SILENT_AFTER`: a browser that vanished without a
    /// close (a refreshed tab, a closed laptop) can leave a socket the runtime still lists (workerd
    /// #1187), and the roster would show someone who left. `last_ping` gives the runtime's time of a
    /// socket's last auto-answered `ping` (`getWebSocketAutoResponseTimestamp`); only a socket that
    /// has pinged at all is judged, so a client that never pings (protocol v1 allows it) is never
    /// taken for gone. Its last frame counts too.
    pub fn sweep(&mut self, now_ms: u64, last_ping: impl Fn(&S) -> Option<u64>) -> Vec<Effect> {
        self.swept_ms = now_ms;
        let limit = self.silent_after_ms();
        let silent: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| {
                last_ping(&m.socket)
                    .is_some_and(|ping| now_ms.saturating_sub(ping.max(m.seen_ms)) > limit)
            })
            .map(|(id, _)| id.clone())
            .collect();
        let mut effects = Vec::new();
        for id in silent {
            effects.extend(self.close(&id, CLOSE_SILENT, "silent: no ping for too long", now_ms));
        }
        effects
    }

    /// `gone` has left the roster: the others hear a `leave`, or above the threshold (as the room was
    /// before it left) the next `presence` frame.
    fn told_gone(&mut self, gone: &User, now_ms: u64) -> Option<Effect> {
        if self.members.len() >= self.limits.presence_threshold as usize {
            self.presence.left(gone);
            return self.tell_presence(now_ms);
        }
        Some(Effect::Broadcast {
            except: Some(gone.id.clone()),
            frame: ServerFrame::Leave { user: gone }.to_json(),
        })
    }

    /// A connection closed or failed: drop it from the roster and tell the others. A no-op for a
    /// connection the room no longer has (its close was already handled).
    pub fn leave(&mut self, conn_id: &str, now_ms: u64) -> Vec<Effect> {
        match self.remove(conn_id) {
            Some(gone) => self.told_gone(&gone.user, now_ms).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// The room closes `conn_id` itself: it leaves the roster at once (the others hear it), and its
    /// socket waits in `closing` for the Durable Object to close it.
    ///
    /// Answers to this connection still held in the queue (its `rate_limited` errors behind a queued
    /// message) are sent first, so a client closed for flooding has been told why; the acks of its
    /// queued messages are lost with the socket, and its retries after reconnecting are deduplicated.
    fn close(
        &mut self,
        conn_id: &str,
        code: u16,
        reason: &'static str,
        now_ms: u64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        for queued in &mut self.queue {
            if let Queued::Effects(held) = queued {
                let (mine, others): (Vec<Effect>, Vec<Effect>) = std::mem::take(held)
                    .into_iter()
                    .partition(|e| matches!(e, Effect::Send { to, .. } if to == conn_id));
                effects.extend(mine);
                *held = others;
            }
        }
        effects.push(Effect::Close {
            to: conn_id.to_string(),
            code,
            reason,
        });
        if let Some(gone) = self.remove(conn_id) {
            effects.extend(self.told_gone(&gone.user, now_ms));
            self.closing.push((conn_id.to_string(), gone.socket));
        }
        effects
    }

    /// Whether messages (or effects behind them) wait for [`Room::flush`].
    pub fn has_pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// A frame arrived on connection `conn_id`. A valid message is queued for [`Room::flush`]; the other
    /// frames are answered at once, unless something is queued already, in which case their answers
    /// queue up behind it (per-connection answers stay in order). A close (oversized frame, flooding)
    /// always happens at once: the connection is gone, its answers no longer matter.
    pub fn receive(&mut self, conn_id: &str, frame: Incoming<'_>, now_ms: u64) -> Vec<Effect> {
        let effects = self.read_frame(conn_id, frame, now_ms);
        let closes = || effects.iter().any(|e| matches!(e, Effect::Close { .. }));
        if self.queue.is_empty() || effects.is_empty() || closes() {
            return effects;
        }
        self.queue.push(Queued::Effects(effects));
        Vec::new()
    }

    /// Stores every queued message in arrival order (assigning `seq`s, answering repeated ids with the
    /// original), and returns the frames of all of it — acks, broadcasts, errors and the held-back
    /// effects — in that order. The caller sends them after the writes, in the same turn, so the
    /// runtime's output gate releases them only once the one commit covering the batch is durable.
    pub fn flush(&mut self, history: &mut dyn History, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        let messages = self.drain(history, now_ms, &mut effects);
        self.count_turn(messages);
        effects
    }

    pub fn commits(&self) -> Commits {
        self.commits
    }

    /// Empties the queue into `effects` (see [`Room::flush`]); returns how many messages it wrote.
    fn drain(&mut self, history: &mut dyn History, now_ms: u64, effects: &mut Vec<Effect>) -> u64 {
        let mut messages = 0;
        for queued in std::mem::take(&mut self.queue) {
            match queued {
                Queued::Op { conn_id, from, op } => {
                    if matches!(op, ClientFrame::Message { .. }) {
                        messages += 1;
                    }
                    let id = op.id().map(str::to_string);
                    let at = effects.len();
                    match self.carry_out(&conn_id, from, op, history, now_ms, effects) {
                        Ok(Some(done)) => effects.insert(
                            at,
                            Effect::Send {
                                to: conn_id,
                                frame: ServerFrame::Ack {
                                    id: id.as_deref(),
                                    seq: done.seq,
                                    ts: done.ts,
                                    rev: done.rev,
                                }
                                .to_json(),
                            },
                        ),
                        Ok(None) => {}
                        Err(p) => {
                            effects.push(error_to(&conn_id, p.code, &p.message, id.as_deref()))
                        }
                    }
                }
                Queued::Effects(queued) => effects.extend(queued),
            }
        }
        messages
    }

    /// Carries out one queued frame; `Some` when it is to be acknowledged (with the returned `seq`,
    /// `ts` and `rev`).
    fn carry_out(
        &mut self,
        conn_id: &str,
        from: User,
        op: ClientFrame,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Option<Accepted>, Problem> {
        match op {
            ClientFrame::Message { text, id, reply_to } => {
                if let Some(target) = reply_to {
                    self.live_message(history, target)?;
                }
                let msg = ChatMessage {
                    reply_to,
                    ..ChatMessage::new(0, id, from, text, now_ms)
                };
                self.submit(msg, history, effects).map(Some)
            }
            ClientFrame::Edit { seq, text, .. } => {
                self.edit(&from, seq, text, history, now_ms, effects)
            }
            ClientFrame::Delete { seq, .. } => {
                let moderator = self.is_moderator(conn_id);
                self.delete(&from, moderator, seq, history, now_ms, effects)
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
            ClientFrame::Read { seq } => {
                self.mark_read(conn_id, from, seq, history, now_ms, effects)?;
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
                    }
                    .to_json(),
                });
                Ok(None)
            }
            // Typing and roster pages never wait in the queue.
            ClientFrame::Typing | ClientFrame::Roster { .. } => Ok(None),
        }
    }

    /// Messages with a `seq` up to this one are past `HISTORY_LIMIT`: hidden from every read, even
    /// before the batched trim deletes them.
    fn oldest_kept_after(&self) -> u64 {
        self.last_seq.saturating_sub(self.limits.history_limit)
    }

    /// The stored message `seq` (a tombstone included), unless it is past the history limit.
    fn kept(&self, history: &dyn History, seq: u64) -> Result<Option<ChatMessage>, Problem> {
        if seq <= self.oldest_kept_after() {
            return Ok(None);
        }
        history.get(seq).map_err(storage)
    }

    /// The stored, not deleted message `seq`, or `not_found`.
    fn live_message(&self, history: &dyn History, seq: u64) -> Result<ChatMessage, Problem> {
        match self.kept(history, seq)? {
            Some(m) if !m.deleted => Ok(m),
            _ => Err(not_found(seq)),
        }
    }

    /// The author's own live message `seq`: `forbidden` for an anonymous connection or another
    /// author's message.
    fn own_message(
        &self,
        from: &User,
        seq: u64,
        history: &dyn History,
    ) -> Result<ChatMessage, Problem> {
        let uid = identified(from)?;
        let msg = self.live_message(history, seq)?;
        authored_by(&msg, uid)?;
        Ok(msg)
    }

    fn edit(
        &mut self,
        from: &User,
        seq: u64,
        text: String,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Option<Accepted>, Problem> {
        let msg = self.own_message(from, seq, history)?;
        if msg.text == text {
            // Nothing to change (a retry of an edit already made): acknowledged as it stands.
            return Ok(Some(Accepted {
                seq,
                ts: msg.edited_at.unwrap_or(msg.ts),
                rev: msg.rev,
                fresh: false,
            }));
        }
        let previous = Version {
            version: msg.version,
            text: msg.text.clone(),
            at: msg.edited_at.unwrap_or(msg.ts),
        };
        let rev = self.rev + 1;
        let edited = ChatMessage {
            text,
            version: msg.version + 1,
            edited_at: Some(now_ms),
            rev,
            ..msg
        };
        history.edit(&edited, &previous).map_err(storage)?;
        self.rev = rev;
        effects.push(updated(&edited));
        self.event(EventKind::MessageUpdated, &edited, now_ms, None, effects);
        Ok(Some(Accepted {
            seq,
            ts: now_ms,
            rev,
            fresh: true,
        }))
    }

    fn delete(
        &mut self,
        from: &User,
        moderator: bool,
        seq: u64,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Option<Accepted>, Problem> {
        // The HTTP API deletes as a moderator without an author id of its own.
        let uid = match from.uid.as_deref() {
            None if moderator => "",
            _ => identified(from)?,
        };
        // One read serves both cases: a tombstone of one's own is a retry (acknowledged, nothing
        // changes); otherwise the message must be live and one's own.
        let msg = match self.kept(history, seq)? {
            Some(gone) if gone.deleted && (moderator || gone.from.uid.as_deref() == Some(uid)) => {
                return Ok(Some(Accepted {
                    seq,
                    ts: gone.edited_at.unwrap_or(gone.ts),
                    rev: gone.rev,
                    fresh: false,
                }));
            }
            Some(live) if !live.deleted => live,
            _ => return Err(not_found(seq)),
        };
        let by_moderator = msg.from.uid.as_deref() != Some(uid);
        if !moderator {
            authored_by(&msg, uid)?;
        }
        let rev = self.rev + 1;
        // `edited_at` stays what it was: a deletion is not an edit (`deleted` says what happened).
        let tombstone = ChatMessage {
            text: String::new(),
            deleted: true,
            reactions: Default::default(),
            rev,
            ..msg
        };
        history.delete(&tombstone).map_err(storage)?;
        self.rev = rev;
        effects.push(updated(&tombstone));
        self.event(EventKind::MessageDeleted, &tombstone, now_ms, None, effects);
        if by_moderator {
            let record = Record {
                action: "delete",
                uid: tombstone.from.uid.clone(),
                seq: Some(seq),
                seconds: None,
                reason: None,
                by: from.clone(),
                at: now_ms,
            };
            let json = serde_json::to_string(&record).unwrap_or_default();
            history.log_moderation(&json, now_ms).map_err(storage)?;
        }
        Ok(Some(Accepted {
            seq,
            ts: now_ms,
            rev,
            fresh: true,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn react(
        &mut self,
        from: &User,
        seq: u64,
        emoji: &str,
        on: bool,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Option<Accepted>, Problem> {
        let uid = identified(from)?;
        let msg = self.live_message(history, seq)?;
        if on && !msg.reactions.contains_key(emoji) && msg.reactions.len() >= MAX_REACTIONS {
            return Err(Problem::new(
                ErrorCode::TooLarge,
                format!("message {seq} already has {MAX_REACTIONS} different reactions"),
            ));
        }
        let rev = self.rev + 1;
        let Some(counts) = history.react(seq, emoji, uid, on, rev).map_err(storage)? else {
            return Ok(Some(Accepted {
                seq,
                ts: now_ms,
                rev: msg.rev,
                fresh: false,
            }));
        };
        self.rev = rev;
        effects.push(Effect::Broadcast {
            except: None,
            frame: ServerFrame::Reaction {
                seq,
                emoji,
                user: from,
                on,
                counts: &counts,
                rev,
            }
            .to_json(),
        });
        if self.webhooks {
            let kind = if on {
                EventKind::ReactionAdded
            } else {
                EventKind::ReactionRemoved
            };
            let reacted = ChatMessage {
                reactions: counts,
                rev,
                ..msg
            };
            let change = ReactionChange { emoji, user: from };
            self.event(kind, &reacted, now_ms, Some(change), effects);
        }
        Ok(Some(Accepted {
            seq,
            ts: now_ms,
            rev,
            fresh: true,
        }))
    }

    /// Stores a read mark (never backwards) and announces it to the others, at most once per author
    /// per [`READ_ANNOUNCE_MS`]: a newer mark within that time is held back and announced by
    /// [`Room::tick`].
    fn mark_read(
        &mut self,
        conn_id: &str,
        from: User,
        seq: u64,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Problem> {
        let uid = identified(&from)?.to_string();
        let seq = seq.min(self.last_seq);
        if seq <= history.read_mark(&uid).map_err(storage)? {
            return Ok(());
        }
        history.set_read_mark(&uid, seq).map_err(storage)?;
        let shown = self.reads_shown.entry(uid).or_default();
        if shown.at_ms == 0 || now_ms >= shown.at_ms + READ_ANNOUNCE_MS {
            shown.at_ms = now_ms;
            shown.pending = None;
            effects.push(read_announcement(conn_id, &from, seq));
        } else {
            if shown.pending.is_none() {
                effects.push(Effect::Wake {
                    after_ms: shown.at_ms + READ_ANNOUNCE_MS - now_ms,
                });
            }
            shown.pending = Some((conn_id.to_string(), from, seq));
        }
        Ok(())
    }

    /// Announces the read marks held back whose time has come (the Durable Object calls this when an
    /// [`Effect::Wake`] is due).
    pub fn tick(&mut self, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut next: Option<u64> = None;
        for shown in self.reads_shown.values_mut() {
            let due = shown.at_ms + READ_ANNOUNCE_MS;
            if shown.pending.is_some() && now_ms >= due {
                if let Some((conn_id, reader, seq)) = shown.pending.take() {
                    effects.push(read_announcement(&conn_id, &reader, seq));
                    shown.at_ms = now_ms;
                }
            } else if shown.pending.is_some() {
                next = Some(next.map_or(due - now_ms, |n| n.min(due - now_ms)));
            }
        }
        if let Some(after_ms) = next {
            effects.push(Effect::Wake { after_ms });
        }
        effects.extend(self.tell_presence(now_ms));
        effects
    }

    /// A page of older messages: the newest `limit` before `before` (default: all), oldest first, and
    /// whether there are older ones still.
    fn scroll_back(
        &self,
        history: &dyn History,
        before: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<ChatMessage>, bool), Problem> {
        let before = before.unwrap_or(u64::MAX).min(self.last_seq + 1);
        let oldest_kept_after = self.oldest_kept_after();
        let mut page: Vec<ChatMessage> = history
            .before(before, limit + 1)
            .map_err(storage)?
            .into_iter()
            .filter(|m| m.seq > oldest_kept_after)
            .collect();
        let has_more = page.len() > limit;
        if has_more {
            page.remove(0);
        }
        Ok((page, has_more))
    }

    /// A search of the kept history (`GET …/search` and the `search` frame alike): the best matches
    /// among the newest [`crate::search::SEARCH_WINDOW`] matching messages before `request.before`, at
    /// most `request.limit`, each with its HTML snippet; whether more matched, and where to search on
    /// when older messages may match too. Messages past the history limit are hidden here as in every
    /// read, also while the batched trim has not deleted them yet; deleted ones have no text left.
    pub fn search(
        &self,
        history: &dyn History,
        request: &SearchRequest,
    ) -> Result<SearchPage, Problem> {
        let before = request.before.unwrap_or(u64::MAX).min(self.last_seq + 1);
        let Found { mut hits, older } = history
            .search(
                &request.query,
                self.oldest_kept_after(),
                before,
                request.limit + 1,
            )
            .map_err(storage)?;
        let has_more = hits.len() > request.limit || older.is_some();
        hits.truncate(request.limit);
        let results = hits
            .into_iter()
            .map(|(message, raw)| SearchHit {
                message,
                snippet: snippet_html(&raw),
            })
            .collect();
        Ok(SearchPage {
            results,
            has_more,
            next_before: older,
        })
    }

    /// Every text message `seq` has had, oldest first, the current one last (`[]` once deleted), and
    /// whether it is deleted; `not_found` when there is no such message.
    pub fn versions(
        &self,
        history: &dyn History,
        seq: u64,
    ) -> Result<(bool, Vec<Version>), Problem> {
        let msg = match self.kept(history, seq)? {
            Some(m) => m,
            None => {
                return Err(Problem::new(
                    ErrorCode::NotFound,
                    format!("message {seq} does not exist"),
                ))
            }
        };
        if msg.deleted {
            return Ok((true, Vec::new()));
        }
        let mut versions = history.versions(seq).map_err(storage)?;
        versions.push(Version {
            version: msg.version,
            at: msg.edited_at.unwrap_or(msg.ts),
            text: msg.text,
        });
        Ok((false, versions))
    }

    /// Counts one turn that wrote `messages` messages (none: no write, no commit).
    fn count_turn(&mut self, messages: u64) {
        if messages > 0 {
            self.commits.turns += 1;
            self.commits.messages += messages;
        }
    }

    /// Reads one frame: the size and rate checks, decoding, and what to do with it.
    fn read_frame(&mut self, conn_id: &str, frame: Incoming<'_>, now_ms: u64) -> Vec<Effect> {
        let Some(member) = self.members.get_mut(conn_id) else {
            return vec![Effect::Close {
                to: conn_id.to_string(),
                code: CLOSE_INTERNAL,
                reason: "unknown connection",
            }];
        };
        let size = match frame {
            Incoming::Text(t) => t.len(),
            Incoming::Binary(n) => n,
        };
        if size > MAX_FRAME_BYTES {
            return self.close(conn_id, CLOSE_TOO_BIG, "frame larger than 64 KiB", now_ms);
        }
        // Every frame that reaches the room takes a token, valid or not: each one costs the room the same
        // work, and the room handles one event at a time for all of its sockets. A client that keeps
        // sending after being refused is closed: the runtime queues incoming frames without limit, so
        // refusing them one by one cannot keep a flood from delaying everyone else's messages, while a
        // close makes the runtime drop the flooder's queued frames.
        member.seen_ms = now_ms;
        let allowed = member.bucket.take(&self.limits.rate, now_ms as f64);
        if allowed {
            member.strikes = 0;
        } else {
            member.strikes += 1;
            if member.strikes > FLOOD_STRIKES {
                return self.close(
                    conn_id,
                    CLOSE_FLOODING,
                    "flooding: too many frames over the rate limit",
                    now_ms,
                );
            }
        }
        let text = match frame {
            Incoming::Text(t) => t,
            Incoming::Binary(_) => {
                return vec![error_to(
                    conn_id,
                    ErrorCode::BadRequest,
                    "binary frames are not supported; send JSON text",
                    None,
                )]
            }
        };
        let decoded = match ClientFrame::decode(text) {
            Ok(f) => f,
            Err(e) => {
                return vec![error_to(
                    conn_id,
                    e.problem.code,
                    &e.problem.message,
                    e.id.as_deref(),
                )]
            }
        };
        match decoded {
            // Typing hints past the rate limit are dropped without a word: they are only hints.
            ClientFrame::Typing if allowed => vec![Effect::Broadcast {
                except: Some(conn_id.to_string()),
                frame: ServerFrame::Typing { user: &member.user }.to_json(),
            }],
            ClientFrame::Typing => Vec::new(),
            ClientFrame::Auth { token, id } if allowed => vec![Effect::Authenticate {
                to: conn_id.to_string(),
                token,
                id,
            }],
            // A read mark past the limit is dropped too: the next one carries it.
            ClientFrame::Read { .. } if !allowed => Vec::new(),
            // Answered from memory at once; behind queued work the answer waits its turn (receive).
            ClientFrame::Roster { after, limit, id } if allowed => {
                let (members, next) = self.page(after.as_deref(), limit);
                vec![Effect::Send {
                    to: conn_id.to_string(),
                    frame: ServerFrame::Roster {
                        id: id.as_deref(),
                        online: self.members.len(),
                        members,
                        next,
                    }
                    .to_json(),
                }]
            }
            // A search takes a token of the connection's search bucket too: refused here, on arrival,
            // a refused search costs the room nothing but this answer. (Not a flood strike: the frame
            // token was there.)
            op if !allowed
                || (matches!(op, ClientFrame::Search { .. })
                    && !member.searches.take(&self.limits.search, now_ms as f64)) =>
            {
                let message = if allowed {
                    "too many searches; this one was dropped"
                } else {
                    "too many frames; this one was dropped, slow down"
                };
                vec![error_to(conn_id, ErrorCode::RateLimited, message, op.id())]
            }
            op => {
                if let Err(p) = obeys_rules(&mut self.rules, member, &op, now_ms) {
                    return vec![error_to(conn_id, p.code, &p.message, op.id())];
                }
                let from = member.user.clone();
                self.queue.push(Queued::Op {
                    conn_id: conn_id.to_string(),
                    from,
                    op,
                });
                Vec::new()
            }
        }
    }

    /// A message posted over HTTP (a bot): validated, stored and broadcast to every socket exactly like
    /// a socket message. The caller answers the HTTP request with the returned `seq`/`ts`, so it is
    /// stored at once, after flushing what was queued before it (which keeps `seq` in arrival order).
    pub fn post(
        &mut self,
        from: User,
        text: String,
        id: Option<String>,
        history: &mut dyn History,
        now_ms: u64,
    ) -> (Result<Accepted, Problem>, Vec<Effect>) {
        let mut effects = Vec::new();
        let flushed = self.drain(history, now_ms, &mut effects);
        if let Err(p) = validate::check_text(&text) {
            self.count_turn(flushed);
            return (Err(p), effects);
        }
        // this message shares the turn (and the commit) of what was just flushed
        self.count_turn(flushed + 1);
        let msg = ChatMessage::new(0, id, from, text, now_ms);
        let result = self.submit(msg, history, &mut effects);
        (result, effects)
    }

    /// A moderator's action through the HTTP API (`by` names the moderator): carried out after what
    /// was queued before it, like [`Room::post`]. Returns the record.
    pub fn moderate_api(
        &mut self,
        by: User,
        action: Action,
        history: &mut dyn History,
        now_ms: u64,
    ) -> (Result<Record, Problem>, Vec<Effect>) {
        let mut effects = Vec::new();
        let flushed = self.drain(history, now_ms, &mut effects);
        self.count_turn(flushed);
        let record = action.record(&by, now_ms);
        let result = self
            .moderate(&by, action, history, now_ms, &mut effects)
            .map(|_| record);
        (result, effects)
    }

    /// A moderator's deletion of message `seq` through the HTTP API.
    pub fn delete_api(
        &mut self,
        by: User,
        seq: u64,
        history: &mut dyn History,
        now_ms: u64,
    ) -> (Result<Accepted, Problem>, Vec<Effect>) {
        let mut effects = Vec::new();
        let flushed = self.drain(history, now_ms, &mut effects);
        self.count_turn(flushed);
        let result = self
            .delete(&by, true, seq, history, now_ms, &mut effects)
            .and_then(|done| done.ok_or_else(|| not_found(seq)));
        (result, effects)
    }

    /// The `moderation_log` frame: log entries before `before` (newest first) and the rules in force.
    pub fn moderation_log(
        &self,
        history: &dyn History,
        before: Option<u64>,
        limit: usize,
        id: Option<&str>,
        now_ms: u64,
    ) -> Result<String, Problem> {
        let mut entries = history
            .moderation_log(before.unwrap_or(u64::MAX), limit + 1)
            .map_err(storage)?;
        let has_more = entries.len() > limit;
        entries.truncate(limit);
        let records: Vec<serde_json::Value> = entries
            .into_iter()
            .map(|(log_id, json)| {
                let mut v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
                v["log_id"] = log_id.into();
                v
            })
            .collect();
        Ok(ServerFrame::ModerationLog {
            id,
            records: &records,
            has_more,
            rules: self.rules.view(now_ms),
        }
        .to_json())
    }

    fn require_moderator(&self, conn_id: &str) -> Result<(), Problem> {
        if self.is_moderator(conn_id) {
            Ok(())
        } else {
            Err(Problem::new(
                ErrorCode::Forbidden,
                "only a moderator may do that (a token with role \"moderator\")",
            ))
        }
    }

    /// Carries out a moderation action: stores it (rule and record, in this turn's commit), puts it
    /// in force, tells every connection (`moderation`), and closes the target's connections for a ban
    /// or a kick (an `error` frame saying why, then close 4403).
    fn moderate(
        &mut self,
        by: &User,
        action: Action,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Accepted, Problem> {
        let record = action.record(by, now_ms);
        let json = serde_json::to_string(&record).unwrap_or_default();
        let log_id = history.moderate(&action, &json, now_ms).map_err(storage)?;
        self.rules.apply(&action, now_ms);
        effects.push(Effect::Broadcast {
            except: None,
            frame: ServerFrame::Moderation(&record).to_json(),
        });
        let closing = match &action {
            Action::Ban { .. } => {
                Some((ErrorCode::Banned, "a moderator banned you from this room"))
            }
            Action::Kick { .. } => {
                Some((ErrorCode::Kicked, "a moderator removed you from this room"))
            }
            _ => None,
        };
        if let (Some((code, message)), Some(uid)) = (closing, action.uid()) {
            let targets: Vec<String> = self
                .members
                .values()
                .filter(|m| m.user.uid.as_deref() == Some(uid))
                .map(|m| m.user.id.clone())
                .collect();
            for conn in targets {
                effects.push(error_to(&conn, code, message, None));
                effects.extend(self.close(&conn, code.close_code(), code.as_str(), now_ms));
            }
        }
        if self.webhooks {
            effects.push(Effect::Event {
                body: webhook::moderation_body(&self.name, &record, log_id),
            });
        }
        Ok(Accepted {
            seq: 0,
            ts: now_ms,
            rev: self.rev,
            fresh: true,
        })
    }

    /// Stored messages after `after` (at most `limit`, oldest first), hiding any past the history
    /// limit that are not yet trimmed.
    pub fn messages(
        &self,
        history: &dyn History,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, Problem> {
        self.read(history, after, limit, false)
    }

    fn read(
        &self,
        history: &dyn History,
        after: u64,
        limit: usize,
        newest: bool,
    ) -> Result<Vec<ChatMessage>, Problem> {
        history
            .range(after.max(self.oldest_kept_after()), limit, newest)
            .map_err(storage)
    }

    /// The one path every message takes: dedupe by `(sender, id)`, assign `seq` and `rev`, store, then
    /// broadcast.
    fn submit(
        &mut self,
        msg: ChatMessage,
        history: &mut dyn History,
        effects: &mut Vec<Effect>,
    ) -> Result<Accepted, Problem> {
        let msg = ChatMessage {
            seq: self.last_seq + 1,
            rev: self.rev + 1,
            ..msg
        };
        let appended = history
            .append(&msg)
            .map_err(|e| Problem::new(ErrorCode::Internal, format!("could not store: {e}")))?;
        match appended {
            Appended::Stored => {}
            Appended::Duplicate { seq, ts, rev } => {
                return Ok(Accepted {
                    seq,
                    ts,
                    rev,
                    fresh: false,
                })
            }
            Appended::Conflict => {
                return Err(Problem::new(
                    ErrorCode::IdConflict,
                    format!(
                        "id {:?} was already used by {:?} for another message; send this one with a new id",
                        msg.id.as_deref().unwrap_or_default(),
                        msg.from.name
                    ),
                ))
            }
        }
        self.last_seq = msg.seq;
        self.rev = msg.rev;
        if msg.seq > self.limits.history_limit && msg.seq.is_multiple_of(TRIM_EVERY) {
            history.trim(msg.seq - self.limits.history_limit, self.rev);
        }
        effects.push(Effect::Broadcast {
            except: Some(msg.from.id.clone()),
            frame: ServerFrame::Message(&msg).to_json(),
        });
        self.event(EventKind::MessageCreated, &msg, msg.ts, None, effects);
        Ok(Accepted {
            seq: msg.seq,
            ts: msg.ts,
            rev: msg.rev,
            fresh: true,
        })
    }
}

/// Whether `member` may do `op` under the room's rules: a muted author changes nothing (messages,
/// edits, reactions), and slow mode holds each author's messages apart. Moderators are not held by
/// slow mode. Checked on arrival, like the rate limit, so a refusal is answered at once.
fn obeys_rules<S>(
    rules: &mut Rules,
    member: &Member<S>,
    op: &ClientFrame,
    now_ms: u64,
) -> Result<(), Problem> {
    match op {
        ClientFrame::Message { .. } | ClientFrame::Edit { .. } | ClientFrame::React { .. } => {
            rules.check_not_muted(member.user.uid.as_deref(), now_ms)?;
        }
        _ => return Ok(()),
    }
    if matches!(op, ClientFrame::Message { .. }) && member.role != Role::Moderator {
        rules.check_slow_mode(&crate::history::sender_key(&member.user), now_ms)?;
    }
    Ok(())
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

/// `forbidden` unless `msg` was written by the author `uid`.
fn authored_by(msg: &ChatMessage, uid: &str) -> Result<(), Problem> {
    if msg.from.uid.as_deref() == Some(uid) {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorCode::Forbidden,
            format!("message {} is not yours", msg.seq),
        ))
    }
}

/// The author id of `from`, or `forbidden`: editing, deleting, reacting and read state need one.
fn identified(from: &User) -> Result<&str, Problem> {
    from.uid.as_deref().ok_or_else(|| {
        Problem::new(
            ErrorCode::Forbidden,
            "connect with a key= (or a signed token) to edit, delete, react or keep read state",
        )
    })
}

/// `message_updated` with the whole current message, to every connection (the author's own included,
/// so each of its tabs shows the change).
fn updated(msg: &ChatMessage) -> Effect {
    Effect::Broadcast {
        except: None,
        frame: ServerFrame::MessageUpdated {
            message: msg,
            rev: msg.rev,
        }
        .to_json(),
    }
}

fn read_announcement(conn_id: &str, reader: &User, seq: u64) -> Effect {
    Effect::Broadcast {
        except: Some(conn_id.to_string()),
        frame: ServerFrame::Read { user: reader, seq }.to_json(),
    }
}

fn error_to(conn_id: &str, code: ErrorCode, message: &str, id: Option<&str>) -> Effect {
    Effect::Send {
        to: conn_id.to_string(),
        frame: ServerFrame::Error { code, message, id }.to_json(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::MemoryHistory;
    use crate::rate::Rate;
    use serde_json::Value;

    fn user(id: &str, name: &str) -> User {
        User {
            id: id.into(),
            name: name.into(),
            uid: None,
        }
    }

    fn room() -> Room<()> {
        Room::new("lobby", Limits::default(), 0)
    }

    /// A socket held here (`None`) or on shard `k`.
    #[derive(Debug, Clone, Copy)]
    struct At(Option<u16>);

    impl Place for At {
        fn shard(&self) -> Option<u16> {
            self.0
        }
    }

    #[test]
    fn the_room_keeps_its_own_sockets_apart_and_counts_each_shards() {
        let h = MemoryHistory::default();
        let mut r: Room<At> = Room::new("lobby", Limits::default(), 0);
        for (id, at) in [
            ("a", None),
            ("b", Some(1)),
            ("c", Some(1)),
            ("d", None),
            ("e", Some(3)),
        ] {
            r.join(user(id, id), At(at), None, &h, 0).unwrap();
        }
        let mut local: Vec<&str> = r.local_members().map(|(id, _)| id).collect();
        local.sort_unstable();
        assert_eq!(local, ["a", "d"]);
        assert_eq!(r.local_count(), 2);
        assert_eq!(r.shard_counts(), [2, 0, 1]);
        assert_eq!(r.on_shard(1).collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(
            r.info().online,
            5,
            "presence counts every socket, wherever it is"
        );
        // A leave on a shard, a leave here, and a connection id that joins again on a shard.
        r.leave("c", 1);
        r.leave("a", 1);
        r.join(user("d", "d"), At(Some(2)), None, &h, 2).unwrap();
        assert_eq!(r.local_count(), 0);
        assert_eq!(r.local_members().count(), 0);
        assert_eq!(r.shard_counts(), [1, 1, 1]);
        assert_eq!(r.info().online, 3);
    }

    /// A room where ann (`a`) and bob (`b`) are connected.
    fn ann_and_bob(h: &MemoryHistory) -> Room<()> {
        let mut r = room();
        r.join(user("a", "ann"), (), None, h, 0).unwrap();
        r.join(user("b", "bob"), (), None, h, 0).unwrap();
        r
    }

    fn parse(frame: &str) -> Value {
        serde_json::from_str(frame).expect("frames are JSON")
    }

    /// The frames sent to `to` (directly or by broadcast), parsed.
    fn frames_for(effects: &[Effect], to: &str) -> Vec<Value> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { to: t, frame } if t == to => Some(parse(frame)),
                Effect::Broadcast { except, frame } if except.as_deref() != Some(to) => {
                    Some(parse(frame))
                }
                _ => None,
            })
            .collect()
    }

    /// A frame received and the queue flushed straight after, as the Durable Object does when no other
    /// frame arrives before its flush timer fires.
    fn deliver(
        r: &mut Room<()>,
        conn_id: &str,
        frame: Incoming<'_>,
        h: &mut MemoryHistory,
        now_ms: u64,
    ) -> Vec<Effect> {
        let mut effects = r.receive(conn_id, frame, now_ms);
        effects.extend(r.flush(h, now_ms));
        effects
    }

    fn say(id: Option<&str>, text: &str) -> String {
        serde_json::json!({"type": "message", "text": text, "id": id}).to_string()
    }

    #[test]
    fn welcome_lists_members_and_recent_history_then_others_hear_the_join() {
        let mut h = MemoryHistory::default();
        let mut r = room();
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        for i in 0..60 {
            deliver(
                &mut r,
                "a",
                Incoming::Text(&say(None, &format!("m{i}"))),
                &mut h,
                i * 1000,
            );
        }
        let effects = r.join(user("b", "bob"), (), None, &h, 60_000).unwrap();
        let welcome = &frames_for(&effects, "b")[0];
        assert_eq!(welcome["type"], "welcome");
        assert_eq!(welcome["you"]["name"], "bob");
        assert_eq!(welcome["members"].as_array().unwrap().len(), 2);
        assert_eq!(welcome["history"].as_array().unwrap().len(), 50);
        assert_eq!(welcome["history"][0]["seq"], 11);
        assert_eq!(welcome["last_seq"], 60);
        assert_eq!(welcome["truncated"], true);
        let to_ann = frames_for(&effects, "a");
        assert_eq!(to_ann.len(), 1);
        assert_eq!(to_ann[0]["type"], "join");
        assert_eq!(to_ann[0]["user"]["name"], "bob");
    }

    #[test]
    fn a_message_is_stored_acked_to_the_sender_and_broadcast_to_the_others() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        let effects = deliver(
            &mut r,
            "a",
            Incoming::Text(&say(Some("x1"), "hello")),
            &mut h,
            5,
        );
        assert_eq!(h.messages.len(), 1);
        let to_a = frames_for(&effects, "a");
        assert_eq!(to_a.len(), 1);
        assert_eq!(to_a[0]["type"], "ack");
        assert_eq!(to_a[0]["id"], "x1");
        assert_eq!(to_a[0]["seq"], 1);
        let to_b = frames_for(&effects, "b");
        assert_eq!(to_b.len(), 1);
        assert_eq!(to_b[0]["type"], "message");
        assert_eq!(to_b[0]["text"], "hello");
        assert_eq!(to_b[0]["from"]["name"], "ann");
        assert_eq!(to_b[0]["ts"], 5);
    }

    #[test]
    fn seqs_increase_without_gaps_even_when_frames_fail() {
        let mut h = MemoryHistory::default();
        let mut r = room();
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        deliver(&mut r, "a", Incoming::Text(&say(None, "one")), &mut h, 0);
        deliver(&mut r, "a", Incoming::Text("not json"), &mut h, 0);
        deliver(&mut r, "a", Incoming::Text(&say(None, "")), &mut h, 0);
        deliver(&mut r, "a", Incoming::Text(&say(None, "two")), &mut h, 0);
        let seqs: Vec<u64> = h.messages.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![1, 2]);
        assert_eq!(r.last_seq(), 2);
    }

    #[test]
    fn a_repeated_id_is_acked_with_the_original_seq_and_not_stored_or_broadcast_again() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        deliver(
            &mut r,
            "a",
            Incoming::Text(&say(Some("k"), "hi")),
            &mut h,
            1,
        );
        deliver(&mut r, "a", Incoming::Text(&say(None, "other")), &mut h, 2);
        // ann reconnects as a new connection and retries
        r.leave("a", 0);
        r.join(user("a2", "ann"), (), Some(2), &h, 3).unwrap();
        let effects = deliver(
            &mut r,
            "a2",
            Incoming::Text(&say(Some("k"), "hi")),
            &mut h,
            4,
        );
        assert_eq!(h.messages.len(), 2);
        let ack = &frames_for(&effects, "a2")[0];
        assert_eq!(
            (
                ack["type"].as_str(),
                ack["seq"].as_u64(),
                ack["ts"].as_u64()
            ),
            (Some("ack"), Some(1), Some(1))
        );
        assert!(frames_for(&effects, "b").is_empty());
        // the same id from someone else is a different message
        deliver(
            &mut r,
            "b",
            Incoming::Text(&say(Some("k"), "mine")),
            &mut h,
            5,
        );
        assert_eq!(h.messages.len(), 3);
    }

    #[test]
    fn nothing_is_visible_when_storing_fails() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        h.fail_with = Some("disk on fire".into());
        let effects = deliver(
            &mut r,
            "a",
            Incoming::Text(&say(Some("k"), "hi")),
            &mut h,
            1,
        );
        assert!(frames_for(&effects, "b").is_empty());
        let to_a = frames_for(&effects, "a");
        assert_eq!(to_a[0]["type"], "error");
        assert_eq!(to_a[0]["code"], "internal");
        assert_eq!(to_a[0]["id"], "k");
        assert_eq!(r.last_seq(), 0);
    }

    #[test]
    fn resume_returns_exactly_what_was_missed() {
        let mut h = MemoryHistory::default();
        let mut r = room();
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        for i in 0..10 {
            deliver(
                &mut r,
                "a",
                Incoming::Text(&say(None, &format!("m{i}"))),
                &mut h,
                i,
            );
        }
        let effects = r.join(user("b", "bob"), (), Some(7), &h, 100).unwrap();
        let welcome = &frames_for(&effects, "b")[0];
        let seqs: Vec<u64> = welcome["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, vec![8, 9, 10]);
        assert_eq!(welcome["truncated"], false);
    }

    #[test]
    fn resume_past_the_page_cap_is_truncated_to_the_newest() {
        let mut h = MemoryHistory::default();
        let mut r = Room::new(
            "lobby",
            Limits {
                rate: Rate {
                    burst: 1e9,
                    per_sec: 10.0,
                },
                ..Limits::default()
            },
            0,
        );
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        for i in 0..1005 {
            deliver(&mut r, "a", Incoming::Text(&say(None, "m")), &mut h, i);
        }
        let effects = r.join(user("b", "bob"), (), Some(0), &h, 0).unwrap();
        let welcome = &frames_for(&effects, "b")[0];
        let history = welcome["history"].as_array().unwrap();
        assert_eq!(history.len(), 1000);
        assert_eq!(history[0]["seq"], 6);
        assert_eq!(welcome["truncated"], true);
    }

    #[test]
    fn history_keeps_only_the_newest_limit_messages() {
        let mut h = MemoryHistory::default();
        let limits = Limits {
            history_limit: 100,
            rate: Rate {
                burst: 1e9,
                per_sec: 10.0,
            },
            ..Limits::default()
        };
        let mut r = Room::new("lobby", limits, 0);
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        for i in 0..250 {
            deliver(&mut r, "a", Incoming::Text(&say(None, "m")), &mut h, i);
        }
        // storage is trimmed in batches, but reads never show more than the limit
        assert!(h.messages.len() < 100 + TRIM_EVERY as usize);
        let all = r.messages(&h, 0, 1000).unwrap();
        assert_eq!(all.len(), 100);
        assert_eq!(all[0].seq, 151);
        let effects = r.join(user("b", "bob"), (), Some(0), &h, 0).unwrap();
        assert_eq!(frames_for(&effects, "b")[0]["truncated"], true);
    }

    #[test]
    fn the_rate_limit_drops_messages_but_keeps_the_socket() {
        let mut h = MemoryHistory::default();
        let mut r = room();
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        let mut limited = 0;
        for i in 0..25 {
            let effects = deliver(
                &mut r,
                "a",
                Incoming::Text(&say(Some(&format!("i{i}")), "x")),
                &mut h,
                0,
            );
            let f = &frames_for(&effects, "a")[0];
            if f["code"] == "rate_limited" {
                assert_eq!(f["id"], format!("i{i}"));
                limited += 1;
            }
            assert!(!effects.iter().any(|e| matches!(e, Effect::Close { .. })));
        }
        assert_eq!(limited, 5);
        assert_eq!(h.messages.len(), 20);
        // a second later, ten more fit
        let ok = (0..12)
            .filter(|_| {
                let effects = deliver(&mut r, "a", Incoming::Text(&say(None, "x")), &mut h, 1000);
                frames_for(&effects, "a")[0]["type"] == "ack"
            })
            .count();
        assert_eq!(ok, 10);
    }

    #[test]
    fn a_client_that_keeps_flooding_past_the_limit_is_closed_with_1008() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        // burst (20) accepted, then FLOOD_STRIKES refusals with rate_limited, the socket kept
        for i in 0..20 + FLOOD_STRIKES {
            let effects = deliver(&mut r, "a", Incoming::Text(&say(None, "spam")), &mut h, 0);
            assert!(
                !effects.iter().any(|e| matches!(e, Effect::Close { .. })),
                "frame {i}"
            );
        }
        // invalid frames count as well: the next refused frame of any kind closes the socket
        let effects = deliver(&mut r, "a", Incoming::Text("{junk"), &mut h, 0);
        assert!(effects.contains(&Effect::Close {
            to: "a".into(),
            code: CLOSE_FLOODING,
            reason: "flooding: too many frames over the rate limit"
        }));
        assert_eq!(frames_for(&effects, "b")[0]["type"], "leave");
        assert!(!r.has("a"));
        assert_eq!(h.messages.len(), 20);
    }

    #[test]
    fn refusals_are_forgiven_once_a_frame_gets_through() {
        let mut h = MemoryHistory::default();
        let mut r = room();
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        // far over the limit for a long time, but every 100 ms one frame gets through (10/s): the
        // refusals in a row never pass FLOOD_STRIKES, so the socket is kept
        for tick in 0..50 {
            for _ in 0..FLOOD_STRIKES / 2 {
                deliver(
                    &mut r,
                    "a",
                    Incoming::Text(&say(None, "x")),
                    &mut h,
                    tick * 100,
                );
            }
        }
        assert!(r.has("a"));
        assert_eq!(h.messages.len(), 20 + 49);
    }

    #[test]
    fn invalid_frames_take_a_token_too() {
        let mut h = MemoryHistory::default();
        let mut r = room();
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        for _ in 0..20 {
            let effects = deliver(&mut r, "a", Incoming::Text("{oops"), &mut h, 0);
            assert_eq!(frames_for(&effects, "a")[0]["code"], "bad_json");
        }
        let effects = deliver(
            &mut r,
            "a",
            Incoming::Text(&say(Some("m"), "hi")),
            &mut h,
            0,
        );
        assert_eq!(frames_for(&effects, "a")[0]["code"], "rate_limited");
    }

    #[test]
    fn error_codes_for_bad_frames() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        let cases: [(Incoming<'_>, &str); 4] = [
            (Incoming::Text("{oops"), "bad_json"),
            (Incoming::Text(r#"{"type":"dance"}"#), "bad_request"),
            (Incoming::Binary(10), "bad_request"),
            (Incoming::Text(&"x".repeat(0)), "bad_json"),
        ];
        for (frame, code) in cases {
            let effects = deliver(&mut r, "a", frame, &mut h, 0);
            assert!(frames_for(&effects, "b").is_empty());
            assert_eq!(frames_for(&effects, "a")[0]["code"], code);
        }
        let long = say(None, &"x".repeat(4001));
        let effects = deliver(&mut r, "a", Incoming::Text(&long), &mut h, 0);
        assert_eq!(frames_for(&effects, "a")[0]["code"], "too_large");
    }

    #[test]
    fn an_oversized_frame_closes_with_1009_and_the_others_hear_the_leave() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        let huge = "x".repeat(64 * 1024 + 1);
        let effects = deliver(&mut r, "a", Incoming::Text(&huge), &mut h, 0);
        assert!(effects.contains(&Effect::Close {
            to: "a".into(),
            code: 1009,
            reason: "frame larger than 64 KiB"
        }));
        assert_eq!(frames_for(&effects, "b")[0]["type"], "leave");
        assert_eq!(r.info().online, 1);
        // the close event that follows is a no-op
        assert!(r.leave("a", 0).is_empty());
    }

    #[test]
    fn typing_goes_to_the_others_and_is_never_stored() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        let effects = deliver(
            &mut r,
            "a",
            Incoming::Text(r#"{"type":"typing"}"#),
            &mut h,
            0,
        );
        assert!(frames_for(&effects, "a").is_empty());
        assert_eq!(frames_for(&effects, "b")[0]["type"], "typing");
        assert_eq!(frames_for(&effects, "b")[0]["user"]["name"], "ann");
        assert!(h.messages.is_empty());
    }

    /// The frames in `effects` as (recipient or "all but x", type, seq), in order: enough to read a
    /// batch's order at a glance.
    fn trace(effects: &[Effect]) -> Vec<(String, String, Option<u64>)> {
        effects
            .iter()
            .map(|e| match e {
                Effect::Send { to, frame } => (to.clone(), parse(frame)),
                Effect::Broadcast { except, frame } => (
                    format!("all but {}", except.as_deref().unwrap_or("-")),
                    parse(frame),
                ),
                Effect::Close { to, code, .. } => (to.clone(), serde_json::json!({"type": code})),
                Effect::Wake { after_ms } => (
                    "room".into(),
                    serde_json::json!({"type": "wake", "seq": after_ms}),
                ),
                Effect::Event { body } => ("outbox".into(), parse(body)),
                Effect::Authenticate { to, .. } => {
                    (to.clone(), serde_json::json!({"type": "authenticate"}))
                }
            })
            .map(|(to, v)| {
                (
                    to,
                    v["type"].to_string().replace('"', ""),
                    v["seq"].as_u64(),
                )
            })
            .collect()
    }

    fn t(to: &str, kind: &str, seq: Option<u64>) -> (String, String, Option<u64>) {
        (to.to_string(), kind.to_string(), seq)
    }

    #[test]
    fn messages_wait_for_the_flush_then_a_batch_is_stored_and_announced_in_arrival_order() {
        let mut h = MemoryHistory::default();
        let mut r = room();
        for (id, name) in [("a", "ann"), ("b", "bob"), ("c", "cy")] {
            r.join(user(id, name), (), None, &h, 0).unwrap();
        }
        assert!(!r.has_pending());
        for (conn, text) in [("a", "one"), ("b", "two"), ("a", "three")] {
            assert!(r
                .receive(conn, Incoming::Text(&say(None, text)), 1)
                .is_empty());
        }
        assert!(r.has_pending());
        assert!(h.messages.is_empty(), "nothing is stored before the flush");
        assert_eq!(r.last_seq(), 0);
        let effects = r.flush(&mut h, 7);
        assert!(!r.has_pending());
        let stored: Vec<(u64, &str, u64)> = h
            .messages
            .iter()
            .map(|m| (m.seq, m.text.as_str(), m.ts))
            .collect();
        assert_eq!(stored, vec![(1, "one", 7), (2, "two", 7), (3, "three", 7)]);
        assert_eq!(
            trace(&effects),
            vec![
                t("a", "ack", Some(1)),
                t("all but a", "message", Some(1)),
                t("b", "ack", Some(2)),
                t("all but b", "message", Some(2)),
                t("a", "ack", Some(3)),
                t("all but a", "message", Some(3)),
            ]
        );
        assert!(
            r.flush(&mut h, 8).is_empty(),
            "a second flush has nothing to do"
        );
        assert_eq!(
            r.commits(),
            Commits {
                turns: 1,
                messages: 3
            }
        );
    }

    #[test]
    fn while_a_message_is_queued_later_answers_wait_behind_it() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        // with nothing queued, a bad frame is answered at once
        let now = r.receive("a", Incoming::Text("{junk"), 0);
        assert_eq!(trace(&now), vec![t("a", "error", None)]);
        // behind a queued message, the error and a typing hint wait for the flush, after its ack
        assert!(r
            .receive("a", Incoming::Text(&say(Some("m"), "hi")), 0)
            .is_empty());
        assert!(r.receive("a", Incoming::Text("{junk"), 0).is_empty());
        assert!(r
            .receive("b", Incoming::Text(r#"{"type":"typing"}"#), 0)
            .is_empty());
        assert_eq!(
            trace(&r.flush(&mut h, 0)),
            vec![
                t("a", "ack", Some(1)),
                t("all but a", "message", Some(1)),
                t("a", "error", None),
                t("all but b", "typing", None),
            ]
        );
    }

    #[test]
    fn a_close_happens_at_once_even_behind_a_queued_message() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        r.receive("b", Incoming::Text(&say(None, "hi")), 0);
        let huge = "x".repeat(64 * 1024 + 1);
        assert_eq!(
            trace(&r.receive("a", Incoming::Text(&huge), 0)),
            vec![t("a", "1009", None), t("all but a", "leave", None)]
        );
        assert_eq!(r.info().online, 1);
        assert_eq!(trace(&r.flush(&mut h, 0)).len(), 2, "b's ack and message");
    }

    #[test]
    fn a_flooder_behind_a_queued_message_is_told_rate_limited_before_it_is_closed() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        // everything a floods with arrives before any flush: the first message is queued, and every
        // answer after it is held behind it
        let mut effects = Vec::new();
        for i in 0..20 + FLOOD_STRIKES + 1 {
            effects.extend(r.receive("a", Incoming::Text(&say(Some(&format!("f{i}")), "spam")), 0));
        }
        let to_a: Vec<(String, String)> = trace(&effects)
            .into_iter()
            .filter(|(to, _, _)| to == "a")
            .map(|(to, kind, _)| (to, kind))
            .collect();
        assert_eq!(to_a.len(), FLOOD_STRIKES as usize + 1);
        assert!(to_a[..FLOOD_STRIKES as usize]
            .iter()
            .all(|(_, kind)| kind == "error"));
        assert_eq!(to_a.last().map(|(_, k)| k.as_str()), Some("1008"));
        assert!(frames_for(&effects, "a")
            .iter()
            .all(|f| f["code"] == "rate_limited"));
        // the messages it sent within its limit are still stored at the flush; bob hears them
        let flushed = r.flush(&mut h, 0);
        assert_eq!(h.messages.len(), 20);
        assert_eq!(frames_for(&flushed, "b").len(), 20);
    }

    #[test]
    fn a_repeated_id_within_one_batch_is_stored_once_and_acked_twice_with_one_seq() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        r.receive("a", Incoming::Text(&say(Some("k"), "hi")), 0);
        r.receive("a", Incoming::Text(&say(Some("k"), "hi")), 0);
        r.receive("b", Incoming::Text(&say(Some("k"), "mine")), 0);
        assert_eq!(
            trace(&r.flush(&mut h, 0)),
            vec![
                t("a", "ack", Some(1)),
                t("all but a", "message", Some(1)),
                t("a", "ack", Some(1)),
                t("b", "ack", Some(2)),
                t("all but b", "message", Some(2)),
            ]
        );
        assert_eq!(h.messages.len(), 2);
    }

    #[test]
    fn the_same_name_and_id_with_another_text_is_refused_not_acked_as_the_other_message() {
        let mut h = MemoryHistory::default();
        let mut r = room();
        r.join(user("a", "dan"), (), None, &h, 0).unwrap();
        r.join(user("b", "dan"), (), None, &h, 0).unwrap();
        deliver(
            &mut r,
            "a",
            Incoming::Text(&say(Some("1"), "mine")),
            &mut h,
            0,
        );
        let effects = deliver(
            &mut r,
            "b",
            Incoming::Text(&say(Some("1"), "his")),
            &mut h,
            0,
        );
        let to_b = frames_for(&effects, "b");
        assert_eq!(to_b.len(), 1);
        assert_eq!(to_b[0]["type"], "error");
        assert_eq!(to_b[0]["code"], "id_conflict");
        assert_eq!(to_b[0]["id"], "1");
        assert!(frames_for(&effects, "a").is_empty(), "nothing was stored");
        assert_eq!(h.messages.len(), 1);
        // a true retry (same text) is still acked with the original seq
        let effects = deliver(
            &mut r,
            "b",
            Incoming::Text(&say(Some("1"), "mine")),
            &mut h,
            0,
        );
        assert_eq!(frames_for(&effects, "b")[0]["seq"], 1);
        // and a bot reusing the name and id with another text gets the same refusal
        let (res, effects) = r.post(
            user("api", "dan"),
            "bot".into(),
            Some("1".into()),
            &mut h,
            0,
        );
        assert_eq!(res.unwrap_err().code, ErrorCode::IdConflict);
        assert!(effects.is_empty());
    }

    #[test]
    fn identified_senders_are_deduplicated_by_uid_not_by_name() {
        let mut h = MemoryHistory::default();
        let mut r = room();
        let with_uid = |id: &str, name: &str, uid: &str| User {
            uid: Some(uid.into()),
            ..user(id, name)
        };
        r.join(with_uid("a", "dan", "u-1"), (), None, &h, 0)
            .unwrap();
        r.join(with_uid("b", "dan", "u-2"), (), None, &h, 0)
            .unwrap();
        r.join(with_uid("c", "daniel", "u-1"), (), None, &h, 0)
            .unwrap();
        deliver(
            &mut r,
            "a",
            Incoming::Text(&say(Some("1"), "hi")),
            &mut h,
            0,
        );
        // another person called dan with the same id: their own message, stored
        let effects = deliver(
            &mut r,
            "b",
            Incoming::Text(&say(Some("1"), "hi")),
            &mut h,
            0,
        );
        assert_eq!(frames_for(&effects, "b")[0]["seq"], 2);
        // the first dan under another name (another tab, renamed): a retry of his own message
        let effects = deliver(
            &mut r,
            "c",
            Incoming::Text(&say(Some("1"), "hi")),
            &mut h,
            0,
        );
        assert_eq!(frames_for(&effects, "c")[0]["type"], "ack");
        assert_eq!(frames_for(&effects, "c")[0]["seq"], 1);
        assert_eq!(h.messages.len(), 2);
        assert_eq!(h.messages[0].from.uid.as_deref(), Some("u-1"));
    }

    /// A room where ann (`a`, uid `u-ann`) and bob (`b`, uid `u-bob`) are connected, plus anonymous
    /// cy (`c`), and ann has said "hello" (seq 1).
    fn living(h: &mut MemoryHistory) -> Room<()> {
        let mut r = room();
        for (id, name, uid) in [
            ("a", "ann", Some("u-ann")),
            ("b", "bob", Some("u-bob")),
            ("c", "cy", None),
        ] {
            let u = User {
                uid: uid.map(String::from),
                ..user(id, name)
            };
            r.join(u, (), None, h, 0).unwrap();
        }
        deliver(&mut r, "a", Incoming::Text(&say(Some("m1"), "hello")), h, 1);
        r
    }

    fn send(
        r: &mut Room<()>,
        conn: &str,
        frame: Value,
        h: &mut MemoryHistory,
        now: u64,
    ) -> Vec<Effect> {
        deliver(r, conn, Incoming::Text(&frame.to_string()), h, now)
    }

    #[test]
    fn an_author_edits_their_message_every_connection_hears_it_and_the_versions_are_kept() {
        let mut h = MemoryHistory::default();
        let mut r = living(&mut h);
        let effects = send(
            &mut r,
            "a",
            serde_json::json!({"type":"edit","seq":1,"text":"hello all","id":"e1"}),
            &mut h,
            5,
        );
        let to_a = frames_for(&effects, "a");
        assert_eq!(to_a[0]["type"], "ack");
        assert_eq!(to_a[0]["id"], "e1");
        assert_eq!(to_a[0]["rev"], 2);
        for conn in ["a", "b", "c"] {
            let update = frames_for(&effects, conn)
                .into_iter()
                .find(|f| f["type"] == "message_updated")
                .unwrap();
            assert_eq!(update["message"]["text"], "hello all");
            assert_eq!(update["message"]["version"], 2);
            assert_eq!(update["message"]["edited_at"], 5);
            assert_eq!(update["rev"], 2);
        }
        let (deleted, versions) = r.versions(&h, 1).unwrap();
        assert!(!deleted);
        let texts: Vec<&str> = versions.iter().map(|v| v.text.as_str()).collect();
        assert_eq!(texts, vec!["hello", "hello all"]);
        assert_eq!((versions[0].at, versions[1].at), (1, 5));
        // the same edit again is a retry: acked at the same rev, nothing broadcast
        let effects = send(
            &mut r,
            "a",
            serde_json::json!({"type":"edit","seq":1,"text":"hello all"}),
            &mut h,
            6,
        );
        assert_eq!(frames_for(&effects, "b").len(), 0);
        assert_eq!(frames_for(&effects, "a")[0]["rev"], 2);
        assert_eq!(r.rev(), 2);
    }

    #[test]
    fn only_the_author_may_edit_or_delete_and_anonymous_connections_may_not_change_anything() {
        let mut h = MemoryHistory::default();
        let mut r = living(&mut h);
        for (conn, frame, code) in [
            (
                "b",
                serde_json::json!({"type":"edit","seq":1,"text":"mine now","id":"x"}),
                "forbidden",
            ),
            (
                "b",
                serde_json::json!({"type":"delete","seq":1,"id":"x"}),
                "forbidden",
            ),
            (
                "c",
                serde_json::json!({"type":"edit","seq":1,"text":"x","id":"x"}),
                "forbidden",
            ),
            (
                "c",
                serde_json::json!({"type":"react","seq":1,"emoji":"👍","id":"x"}),
                "forbidden",
            ),
            ("c", serde_json::json!({"type":"read","seq":1}), "forbidden"),
            (
                "a",
                serde_json::json!({"type":"edit","seq":99,"text":"x","id":"x"}),
                "not_found",
            ),
            (
                "a",
                serde_json::json!({"type":"react","seq":99,"emoji":"👍","id":"x"}),
                "not_found",
            ),
            (
                "a",
                serde_json::json!({"type":"message","text":"re","reply_to":99,"id":"x"}),
                "not_found",
            ),
            (
                "a",
                serde_json::json!({"type":"react","seq":1,"emoji":"lol","id":"x"}),
                "bad_request",
            ),
        ] {
            let effects = send(&mut r, conn, frame.clone(), &mut h, 9);
            let answer = &frames_for(&effects, conn)[0];
            assert_eq!(answer["code"], code, "{frame}");
            let others: Vec<_> = ["a", "b", "c"]
                .into_iter()
                .filter(|c| *c != conn)
                .flat_map(|c| frames_for(&effects, c))
                .collect();
            assert!(others.is_empty(), "{frame}: nothing reaches the others");
        }
        assert_eq!(h.messages.len(), 1);
        assert_eq!(h.messages[0].text, "hello");
        assert_eq!(r.rev(), 1, "nothing was stored");
    }

    #[test]
    fn deleting_erases_the_text_every_version_and_the_reactions_but_keeps_the_tombstone() {
        let mut h = MemoryHistory::default();
        let mut r = living(&mut h);
        send(
            &mut r,
            "a",
            serde_json::json!({"type":"edit","seq":1,"text":"oops","id":"e"}),
            &mut h,
            2,
        );
        send(
            &mut r,
            "b",
            serde_json::json!({"type":"react","seq":1,"emoji":"👍","id":"r"}),
            &mut h,
            3,
        );
        let effects = send(
            &mut r,
            "a",
            serde_json::json!({"type":"delete","seq":1,"id":"d"}),
            &mut h,
            4,
        );
        let update = &frames_for(&effects, "b")[0];
        assert_eq!(update["type"], "message_updated");
        assert_eq!(update["message"]["deleted"], true);
        assert_eq!(update["message"]["text"], "");
        assert_eq!(update["message"]["reactions"], serde_json::json!({}));
        assert_eq!(update["message"]["from"]["name"], "ann");
        assert!(h.versions.is_empty() && h.reactions.is_empty());
        assert!(!h.messages[0].text.contains("oops") && !h.messages[0].text.contains("hello"));
        assert_eq!(r.versions(&h, 1).unwrap(), (true, vec![]));
        // deleting again is a retry; editing or reacting to a tombstone is not_found
        let again = send(
            &mut r,
            "a",
            serde_json::json!({"type":"delete","seq":1,"id":"d"}),
            &mut h,
            5,
        );
        assert_eq!(frames_for(&again, "a")[0]["type"], "ack");
        let edit = send(
            &mut r,
            "a",
            serde_json::json!({"type":"edit","seq":1,"text":"back","id":"e2"}),
            &mut h,
            5,
        );
        assert_eq!(frames_for(&edit, "a")[0]["code"], "not_found");
    }

    #[test]
    fn reactions_toggle_per_author_idempotently_with_counts_for_everyone() {
        let mut h = MemoryHistory::default();
        let mut r = living(&mut h);
        let on = |r: &mut Room<()>, h: &mut MemoryHistory, conn: &str, on: bool| {
            send(
                r,
                conn,
                serde_json::json!({"type":"react","seq":1,"emoji":"👍","on":on,"id":"r"}),
                h,
                3,
            )
        };
        let effects = on(&mut r, &mut h, "a", true);
        let seen = frames_for(&effects, "c")
            .into_iter()
            .find(|f| f["type"] == "reaction")
            .unwrap();
        assert_eq!(seen["counts"], serde_json::json!({"👍": 1}));
        assert_eq!(seen["user"]["name"], "ann");
        assert_eq!(seen["on"], true);
        let effects = on(&mut r, &mut h, "b", true);
        assert_eq!(
            frames_for(&effects, "a")
                .into_iter()
                .find(|f| f["type"] == "reaction")
                .unwrap()["counts"],
            serde_json::json!({"👍": 2})
        );
        // the same reaction again changes nothing and tells nobody
        let effects = on(&mut r, &mut h, "b", true);
        assert!(frames_for(&effects, "a").is_empty());
        assert_eq!(frames_for(&effects, "b")[0]["type"], "ack");
        let effects = on(&mut r, &mut h, "a", false);
        assert_eq!(
            frames_for(&effects, "b")
                .into_iter()
                .find(|f| f["type"] == "reaction")
                .unwrap()["counts"],
            serde_json::json!({"👍": 1})
        );
        assert_eq!(h.messages[0].reactions.get("👍"), Some(&1));
    }

    #[test]
    fn replies_name_an_existing_message() {
        let mut h = MemoryHistory::default();
        let mut r = living(&mut h);
        let effects = send(
            &mut r,
            "b",
            serde_json::json!({"type":"message","text":"hi ann","reply_to":1,"id":"b1"}),
            &mut h,
            2,
        );
        assert_eq!(frames_for(&effects, "a")[0]["reply_to"], 1);
        assert_eq!(h.messages[1].reply_to, Some(1));
    }

    #[test]
    fn a_resume_with_since_brings_the_changes_to_messages_already_seen() {
        let mut h = MemoryHistory::default();
        let mut r = living(&mut h);
        deliver(
            &mut r,
            "b",
            Incoming::Text(&say(Some("b1"), "two")),
            &mut h,
            2,
        );
        // a client that saw seq 2 at rev 2 goes away; then message 1 is edited, 2 reacted to, 3 said
        send(
            &mut r,
            "a",
            serde_json::json!({"type":"edit","seq":1,"text":"hello!","id":"e"}),
            &mut h,
            3,
        );
        send(
            &mut r,
            "a",
            serde_json::json!({"type":"react","seq":2,"emoji":"🎉","id":"r"}),
            &mut h,
            4,
        );
        deliver(
            &mut r,
            "b",
            Incoming::Text(&say(Some("b2"), "three")),
            &mut h,
            5,
        );
        let back = User {
            uid: Some("u-cy2".into()),
            ..user("d", "dee")
        };
        let effects = r
            .join(
                back,
                (),
                Joining {
                    after: Some(2),
                    since: Some(2),
                    ..Joining::default()
                },
                &h,
                6,
            )
            .unwrap();
        let welcome = &frames_for(&effects, "d")[0];
        assert_eq!(welcome["rev"], 5);
        let history: Vec<u64> = welcome["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(history, vec![3]);
        let changes = welcome["changes"].as_array().unwrap();
        let changed: Vec<(u64, u64)> = changes
            .iter()
            .map(|m| (m["seq"].as_u64().unwrap(), m["rev"].as_u64().unwrap()))
            .collect();
        assert_eq!(changed, vec![(1, 3), (2, 4)]);
        assert_eq!(changes[0]["text"], "hello!");
        assert_eq!(welcome["truncated"], false);
        // without since, no changes field at all (v1 clients see the v1 welcome plus new fields)
        let effects = r.join(user("e", "eve"), (), Some(2), &h, 6).unwrap();
        assert!(frames_for(&effects, "e")[0].get("changes").is_none());
    }

    #[test]
    fn read_marks_move_forward_only_count_unread_and_are_announced_at_most_once_a_second() {
        let mut h = MemoryHistory::default();
        let mut r = living(&mut h);
        for i in 0..4 {
            deliver(
                &mut r,
                "a",
                Incoming::Text(&say(Some(&format!("n{i}")), "more")),
                &mut h,
                2,
            );
        }
        let effects = send(
            &mut r,
            "b",
            serde_json::json!({"type":"read","seq":2}),
            &mut h,
            10_000,
        );
        assert!(
            frames_for(&effects, "b").is_empty(),
            "no answer to a read mark"
        );
        let shown = frames_for(&effects, "a");
        assert_eq!(
            (shown[0]["type"].as_str(), shown[0]["seq"].as_u64()),
            (Some("read"), Some(2))
        );
        // within the second: stored, held back, announced by tick
        let effects = send(
            &mut r,
            "b",
            serde_json::json!({"type":"read","seq":4}),
            &mut h,
            10_200,
        );
        assert_eq!(effects, vec![Effect::Wake { after_ms: 800 }]);
        assert!(
            send(
                &mut r,
                "b",
                serde_json::json!({"type":"read","seq":3}),
                &mut h,
                10_300
            )
            .is_empty(),
            "never backwards"
        );
        assert!(r
            .tick(10_500)
            .iter()
            .all(|e| matches!(e, Effect::Wake { .. })));
        let later = r.tick(11_000);
        assert_eq!(frames_for(&later, "a")[0]["seq"], 4);
        assert!(r.tick(12_500).is_empty());
        // bob's next welcome knows where he is: 5 messages, he read 4, none are his
        let bob_again = User {
            uid: Some("u-bob".into()),
            ..user("b2", "bob")
        };
        let effects = r.join(bob_again, (), None, &h, 13_000).unwrap();
        let welcome = &frames_for(&effects, "b2")[0];
        assert_eq!(
            (welcome["read_seq"].as_u64(), welcome["unread"].as_u64()),
            (Some(4), Some(1))
        );
        let anon = r.join(user("c2", "cy"), (), None, &h, 13_000).unwrap();
        assert!(frames_for(&anon, "c2")[0]["read_seq"].is_null());
    }

    #[test]
    fn history_pages_scroll_back_with_has_more() {
        let mut h = MemoryHistory::default();
        let mut r = living(&mut h);
        for i in 0..9 {
            deliver(
                &mut r,
                "a",
                Incoming::Text(&say(None, &format!("m{i}"))),
                &mut h,
                2,
            );
        }
        let effects = send(
            &mut r,
            "c",
            serde_json::json!({"type":"history","before":8,"limit":4,"id":"h1"}),
            &mut h,
            3,
        );
        let page = &frames_for(&effects, "c")[0];
        assert_eq!(page["type"], "history");
        assert_eq!(page["id"], "h1");
        let seqs: Vec<u64> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, vec![4, 5, 6, 7]);
        assert_eq!(page["has_more"], true);
        let effects = send(
            &mut r,
            "c",
            serde_json::json!({"type":"history","before":4,"id":"h2"}),
            &mut h,
            3,
        );
        let page = &frames_for(&effects, "c")[0];
        assert_eq!(page["messages"].as_array().unwrap().len(), 3);
        assert_eq!(page["has_more"], false);
        let effects = send(
            &mut r,
            "c",
            serde_json::json!({"type":"history","limit":101,"id":"h3"}),
            &mut h,
            3,
        );
        assert_eq!(frames_for(&effects, "c")[0]["code"], "bad_limit");
    }

    fn results(effects: &[Effect], to: &str) -> (Vec<u64>, Value) {
        let frame = frames_for(effects, to).pop().unwrap();
        let seqs = frame["results"]
            .as_array()
            .map(|r| r.iter().map(|m| m["seq"].as_u64().unwrap()).collect())
            .unwrap_or_default();
        (seqs, frame)
    }

    #[test]
    fn a_search_answers_the_asker_alone_with_escaped_snippets_and_respects_before_and_limit() {
        let mut h = MemoryHistory::default();
        let mut r = living(&mut h);
        for text in ["lunch at <noon>?", "no lunch", "dinner", "lunch & tea"] {
            send(
                &mut r,
                "a",
                serde_json::json!({"type":"message","text":text}),
                &mut h,
                1,
            );
        }
        let ask = |r: &mut Room<()>, h: &mut MemoryHistory, frame: Value| {
            let effects = send(r, "c", frame, h, 2);
            assert!(frames_for(&effects, "a").is_empty(), "only the asker hears");
            results(&effects, "c")
        };
        let (seqs, frame) = ask(
            &mut r,
            &mut h,
            serde_json::json!({"type":"search","q":"LUNCH","id":"s1"}),
        );
        assert_eq!(frame["type"], "search_results");
        assert_eq!(frame["id"], "s1");
        // `living` stored message 1; these are 2..=5.
        assert_eq!(seqs, vec![5, 3, 2]);
        assert_eq!(frame["has_more"], false);
        assert_eq!(frame["results"][0]["text"], "lunch & tea");
        assert_eq!(
            frame["results"][0]["snippet"],
            "<mark>lunch</mark> &amp; tea"
        );
        assert_eq!(
            frame["results"][2]["snippet"],
            "<mark>lunch</mark> at &lt;noon&gt;?"
        );
        assert_eq!(frame["results"][2]["from"]["name"], "ann");
        let (seqs, frame) = ask(
            &mut r,
            &mut h,
            serde_json::json!({"type":"search","q":"lunch","before":5,"limit":1}),
        );
        assert_eq!(seqs, vec![3]);
        assert_eq!(frame["has_more"], true);
    }

    #[test]
    fn a_connections_searches_draw_on_a_bucket_of_their_own_and_never_hold_up_its_messages() {
        let mut h = MemoryHistory::default();
        let limits = Limits {
            search: Rate {
                burst: 2.0,
                per_sec: 0.5,
            },
            ..Limits::default()
        };
        let mut r: Room<()> = Room::new("lobby", limits, 0);
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        r.join(user("b", "bob"), (), None, &h, 0).unwrap();
        let search = |r: &mut Room<()>, h: &mut MemoryHistory, conn: &str, id: &str, now| {
            let frame = serde_json::json!({"type":"search","q":"hello","id":id});
            let effects = send(r, conn, frame, h, now);
            let answer = frames_for(&effects, conn).pop().unwrap();
            (answer["type"].clone(), answer["code"].clone())
        };
        let ok = (Value::from("search_results"), Value::Null);
        let limited = (Value::from("error"), Value::from("rate_limited"));
        // Within the frame rate (20 at once), but the third search at once is one too many.
        assert_eq!(search(&mut r, &mut h, "a", "s1", 0), ok);
        assert_eq!(search(&mut r, &mut h, "a", "s2", 0), ok);
        assert_eq!(search(&mut r, &mut h, "a", "s3", 0), limited);
        // Messages pass all the same, and another connection's searches are its own.
        let effects = send(
            &mut r,
            "a",
            serde_json::json!({"type":"message","text":"hello","id":"m1"}),
            &mut h,
            0,
        );
        assert_eq!(frames_for(&effects, "a")[0]["type"], "ack");
        assert_eq!(search(&mut r, &mut h, "b", "s4", 0), ok);
        // One search back every 2 s (0.5 a second).
        assert_eq!(search(&mut r, &mut h, "a", "s5", 1_000), limited);
        assert_eq!(search(&mut r, &mut h, "a", "s6", 2_000), ok);
    }

    #[test]
    fn a_search_ranks_the_newest_matches_and_says_where_to_search_on() {
        let mut h = MemoryHistory::default();
        let limits = Limits {
            rate: Rate {
                burst: 1000.0,
                per_sec: 1000.0,
            },
            ..Limits::default()
        };
        let mut r: Room<()> = Room::new("lobby", limits, 0);
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        let window = crate::search::SEARCH_WINDOW as u64;
        for i in 1..=window + 5 {
            let text = format!("apple {i}");
            send(
                &mut r,
                "a",
                serde_json::json!({"type":"message","text":text}),
                &mut h,
                1,
            );
        }
        let ask = |r: &mut Room<()>, h: &mut MemoryHistory, frame: Value| {
            results(&send(r, "a", frame, h, 2), "a")
        };
        let (seqs, frame) = ask(
            &mut r,
            &mut h,
            serde_json::json!({"type":"search","q":"apple","limit":3}),
        );
        assert_eq!(seqs, vec![window + 5, window + 4, window + 3]);
        // The window held the newest 200 (seqs 6..=205): older ones may match too.
        assert_eq!(
            (frame["has_more"].clone(), frame["next_before"].clone()),
            (true.into(), 6.into())
        );
        let (seqs, frame) = ask(
            &mut r,
            &mut h,
            serde_json::json!({"type":"search","q":"apple","before":6}),
        );
        assert_eq!(seqs, vec![5, 4, 3, 2, 1]);
        assert_eq!(
            (frame["has_more"].clone(), frame["next_before"].clone()),
            (false.into(), Value::Null)
        );
    }

    #[test]
    fn a_search_never_finds_deleted_or_trimmed_messages_and_bad_queries_are_refused() {
        let mut h = MemoryHistory::default();
        let mut r: Room<()> = Room::new(
            "lobby",
            Limits {
                history_limit: 2,
                ..Limits::default()
            },
            0,
        );
        let ann = User {
            uid: Some("u-ann".into()),
            ..user("a", "ann")
        };
        r.join(ann, (), None, &h, 0).unwrap();
        for text in ["apple one", "apple two", "apple three"] {
            send(
                &mut r,
                "a",
                serde_json::json!({"type":"message","text":text}),
                &mut h,
                1,
            );
        }
        let search = |r: &mut Room<()>, h: &mut MemoryHistory| {
            let effects = send(
                r,
                "a",
                serde_json::json!({"type":"search","q":"apple"}),
                h,
                2,
            );
            results(&effects, "a").0
        };
        // Seq 1 is past the history limit of 2 (not trimmed yet: trims come in batches).
        assert_eq!(search(&mut r, &mut h), vec![3, 2]);
        send(
            &mut r,
            "a",
            serde_json::json!({"type":"delete","seq":3}),
            &mut h,
            3,
        );
        assert_eq!(search(&mut r, &mut h), vec![2]);
        for (q, code) in [("", "bad_query"), ("(\"*", "bad_query")] {
            let effects = send(
                &mut r,
                "a",
                serde_json::json!({"type":"search","q":q,"id":"s"}),
                &mut h,
                4,
            );
            let frame = &frames_for(&effects, "a")[0];
            assert_eq!(
                (frame["code"].as_str(), frame["id"].as_str()),
                (Some(code), Some("s"))
            );
        }
        let effects = send(
            &mut r,
            "a",
            serde_json::json!({"type":"search","q":"a","limit":51}),
            &mut h,
            4,
        );
        assert_eq!(frames_for(&effects, "a")[0]["code"], "bad_limit");
        let effects = send(&mut r, "a", serde_json::json!({"type":"search"}), &mut h, 4);
        assert_eq!(frames_for(&effects, "a")[0]["code"], "bad_request");
    }

    #[test]
    fn a_token_renewal_is_handed_to_the_object_and_the_welcome_says_the_role_and_expiry() {
        let h = MemoryHistory::default();
        let mut r = room();
        let resume = Joining {
            role: Role::Moderator,
            expires: Some(1_764_083_600),
            ..Joining::default()
        };
        let effects = r.join(user("a", "ann"), (), resume, &h, 0).unwrap();
        let welcome = &frames_for(&effects, "a")[0];
        assert_eq!(welcome["role"], "moderator");
        assert_eq!(welcome["expires"], 1_764_083_600u64);
        let effects = r.join(user("b", "bob"), (), None, &h, 0).unwrap();
        let welcome = &frames_for(&effects, "b")[0];
        assert_eq!(welcome["role"], "member");
        assert_eq!(welcome["expires"], Value::Null);
        let effects = r.receive(
            "a",
            Incoming::Text(r#"{"type":"auth","token":"t0k","id":"a-1"}"#),
            1,
        );
        assert_eq!(
            effects,
            vec![Effect::Authenticate {
                to: "a".into(),
                token: "t0k".into(),
                id: Some("a-1".into())
            }]
        );
    }

    #[test]
    fn welcome_announces_the_limits_the_room_enforces() {
        let h = MemoryHistory::default();
        let limits = Limits {
            rate: Rate {
                burst: 3.0,
                per_sec: 0.5,
            },
            ..Limits::default()
        };
        let mut r: Room<()> = Room::new("lobby", limits, 0);
        let effects = r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        let announced = &frames_for(&effects, "a")[0]["limits"];
        assert_eq!(
            *announced,
            serde_json::json!({"text": 4000, "name": 32, "id": 64, "frame_bytes": 65536,
                "burst": 3.0, "per_sec": 0.5, "page": 1000, "query": 200, "results": 50,
                "search_burst": 5.0, "search_per_sec": 1.0, "presence": 100, "roster_page": 500, "silent_after": 120})
        );
    }

    #[test]
    fn a_join_that_cannot_read_history_is_refused_and_adds_nobody() {
        let mut h = MemoryHistory::default();
        let mut r = room();
        h.fail_with = Some("disk on fire".into());
        let e = r.join(user("a", "ann"), (), None, &h, 0).unwrap_err();
        assert_eq!(e.code, ErrorCode::Internal);
        assert!(!r.has("a"));
    }

    #[test]
    fn the_room_keeps_the_socket_of_a_connection_it_closes_until_the_object_closes_it() {
        let mut h = MemoryHistory::default();
        let mut r: Room<&str> = Room::new("lobby", Limits::default(), 0);
        r.join(user("a", "ann"), "socket-a", None, &h, 0).unwrap();
        r.join(user("b", "bob"), "socket-b", None, &h, 0).unwrap();
        assert_eq!(r.socket("a"), Some(&"socket-a"));
        let huge = "x".repeat(64 * 1024 + 1);
        r.receive("a", Incoming::Text(&huge), 0);
        assert!(!r.has("a"), "off the roster at once");
        assert_eq!(r.sockets().collect::<Vec<_>>(), vec![("b", &"socket-b")]);
        assert_eq!(
            r.socket("a"),
            Some(&"socket-a"),
            "still reachable for its last answers"
        );
        assert_eq!(r.take_closing("a"), Some("socket-a"));
        assert_eq!(r.take_closing("a"), None);
        assert_eq!(r.socket("a"), None);
        r.flush(&mut h, 0);
    }

    #[test]
    fn a_message_whose_sender_left_before_the_flush_is_still_stored_and_announced() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        r.receive("a", Incoming::Text(&say(Some("k"), "bye")), 0);
        assert_eq!(trace(&r.leave("a", 0)), vec![t("all but a", "leave", None)]);
        let effects = r.flush(&mut h, 0);
        assert_eq!(h.messages.len(), 1);
        assert_eq!(frames_for(&effects, "b")[0]["text"], "bye");
        // a newcomer during the wait is welcomed up to the stored log, then hears the message
        r.receive("b", Incoming::Text(&say(None, "later")), 0);
        let welcome = r.join(user("c", "cy"), (), None, &h, 0).unwrap();
        assert_eq!(frames_for(&welcome, "c")[0]["last_seq"], 1);
        assert_eq!(frames_for(&r.flush(&mut h, 0), "c")[0]["seq"], 2);
    }

    #[test]
    fn a_post_flushes_what_was_queued_before_it() {
        let mut h = MemoryHistory::default();
        let mut r = room();
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        r.receive("a", Incoming::Text(&say(Some("x"), "first")), 0);
        let (res, effects) = r.post(user("api", "bot"), "second".into(), None, &mut h, 0);
        assert_eq!(res.map(|a| a.seq), Ok(2));
        assert_eq!(
            r.commits(),
            Commits {
                turns: 1,
                messages: 2
            },
            "the post shares the flush's turn"
        );
        assert_eq!(
            trace(&effects),
            vec![
                t("a", "ack", Some(1)),
                t("all but a", "message", Some(1)),
                t("all but api", "message", Some(2)),
            ]
        );
        assert!(!r.has_pending());
    }

    #[test]
    fn when_the_batch_cannot_be_stored_every_message_in_it_gets_internal() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        h.fail_with = Some("disk on fire".into());
        r.receive("a", Incoming::Text(&say(Some("1"), "one")), 0);
        r.receive("b", Incoming::Text(&say(Some("2"), "two")), 0);
        let effects = r.flush(&mut h, 0);
        assert_eq!(
            trace(&effects),
            vec![t("a", "error", None), t("b", "error", None)]
        );
        assert!(frames_for(&effects, "a")
            .iter()
            .all(|f| f["code"] == "internal" && f["id"] == "1"));
        assert_eq!(r.last_seq(), 0);
    }

    #[test]
    fn restore_rebuilds_the_roster_after_a_wake() {
        let h = MemoryHistory::default();
        let mut r = Room::new("lobby", Limits::default(), 42);
        r.restore(
            [
                (user("a", "ann"), Framing::Single, ()),
                (user("b", "bob"), Framing::Batch, ()),
                (user("a", "ann"), Framing::Batch, ()),
            ],
            0,
        );
        assert_eq!(r.info().online, 2);
        assert_eq!(r.info().last_seq, 42);
        assert!(
            !r.is_batched("a"),
            "the first attachment of a connection counts"
        );
        assert!(r.is_batched("b"));
        assert_eq!(r.batched(), 1);
        r.leave("b", 0);
        assert_eq!(r.batched(), 0);
        let effects = r.join(user("c", "cy"), (), None, &h, 0).unwrap();
        assert_eq!(
            frames_for(&effects, "c")[0]["members"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn the_connection_cap_is_enforced() {
        let h = MemoryHistory::default();
        let mut r = Room::new(
            "lobby",
            Limits {
                max_connections: 2,
                ..Limits::default()
            },
            0,
        );
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        assert!(r.admit().is_ok());
        r.join(user("b", "bob"), (), None, &h, 0).unwrap();
        assert_eq!(r.admit().unwrap_err().code, ErrorCode::RoomFull);
    }

    #[test]
    fn a_post_reaches_every_socket_and_is_idempotent() {
        let mut h = MemoryHistory::default();
        let mut r = room();
        r.join(user("a", "ann"), (), None, &h, 0).unwrap();
        let (res, effects) = r.post(
            user("api", "bot"),
            "deploy done".into(),
            Some("d1".into()),
            &mut h,
            9,
        );
        assert_eq!(
            res,
            Ok(Accepted {
                seq: 1,
                ts: 9,
                rev: 1,
                fresh: true
            })
        );
        assert_eq!(frames_for(&effects, "a")[0]["text"], "deploy done");
        let (res, effects) = r.post(
            user("api", "bot"),
            "deploy done".into(),
            Some("d1".into()),
            &mut h,
            10,
        );
        assert_eq!(
            res,
            Ok(Accepted {
                seq: 1,
                ts: 9,
                rev: 1,
                fresh: false
            })
        );
        assert!(effects.is_empty());
        let (res, _) = r.post(user("api", "bot"), " ".into(), None, &mut h, 10);
        assert_eq!(res.unwrap_err().code, ErrorCode::BadRequest);
    }

    fn crowd_room(threshold: u32) -> Room<()> {
        Room::new(
            "big",
            Limits {
                presence_threshold: threshold,
                ..Limits::default()
            },
            0,
        )
    }

    #[test]
    fn small_rooms_keep_join_and_leave_and_the_whole_roster() {
        let h = MemoryHistory::default();
        let mut r = crowd_room(3);
        for i in 0..3 {
            let effects = r
                .join(user(&format!("c{i}"), "u"), (), None, &h, 0)
                .unwrap();
            let welcome = &frames_for(&effects, &format!("c{i}"))[0];
            assert_eq!(welcome["members"].as_array().unwrap().len(), i + 1);
            assert!(
                welcome.get("online").is_none(),
                "small rooms: welcome as in v1"
            );
            assert_eq!(
                trace(&effects)[1],
                t(&format!("all but c{i}"), "join", None)
            );
        }
    }

    #[test]
    fn above_the_threshold_welcome_is_bounded_and_joins_are_coalesced_into_presence() {
        let h = MemoryHistory::default();
        let mut r = crowd_room(10);
        let mut frames = 0;
        let mut presence = Vec::new();
        for i in 0..300u64 {
            // 300 joins over 3 seconds
            let now = i * 10;
            let effects = r
                .join(user(&format!("c{i:03}"), "u"), (), None, &h, now)
                .unwrap();
            let welcome = &frames_for(&effects, &format!("c{i:03}"))[0];
            if i >= 10 {
                assert_eq!(welcome["online"], i + 1);
                assert!(welcome["members"].as_array().unwrap().len() <= WELCOME_MEMBERS);
                assert!(
                    !trace(&effects).iter().any(|(_, kind, _)| kind == "join"),
                    "no join frame above the threshold"
                );
            }
            for e in &effects {
                match e {
                    Effect::Broadcast { frame, .. } if frame.contains(r#""type":"presence""#) => {
                        presence.push((now, parse(frame)))
                    }
                    Effect::Broadcast { .. } => frames += 1,
                    _ => {}
                }
            }
        }
        assert_eq!(
            frames, 10,
            "a join frame for each join up to the threshold only"
        );
        assert!(
            presence.len() <= 4,
            "at most one a second: {}",
            presence.len()
        );
        assert!(presence.windows(2).all(|w| w[1].0 - w[0].0 >= 1000));
        let told: u64 = presence
            .iter()
            .map(|(_, p)| p["joins"].as_u64().unwrap())
            .sum();
        let (_, last) = presence.last().unwrap();
        assert!(last["joined"].as_array().unwrap().len() <= crate::presence::PRESENCE_SAMPLE);
        // what is still waiting goes out at the next tick that is due
        let rest = r.tick(10_000);
        let (_, p) = rest
            .iter()
            .find_map(|e| match e {
                Effect::Broadcast { frame, .. } => Some(((), parse(frame))),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            told + p["joins"].as_u64().unwrap(),
            290,
            "every join above 10 counted"
        );
        assert_eq!(p["online"], 300);
        // leaves too, and a leave names who went
        let effects = r.leave("c005", 20_000);
        let p = parse(match &effects[..] {
            [Effect::Broadcast { frame, .. }] => frame,
            other => panic!("{other:?}"),
        });
        assert_eq!(
            (p["online"].as_u64(), p["leaves"].as_u64()),
            (Some(299), Some(1))
        );
        assert_eq!(p["left"][0]["id"], "c005");
        assert!(matches!(
            r.leave("c006", 20_100)[..],
            [Effect::Wake { after_ms: 900 }]
        ));
    }

    #[test]
    fn a_socket_that_pinged_and_fell_silent_is_dropped_one_that_never_pings_is_kept() {
        let h = MemoryHistory::default();
        let mut r: Room<u64> = Room::new(
            "r",
            Limits {
                silent_after_secs: 60,
                ..Limits::default()
            },
            0,
        );
        // the socket handle stands for the runtime's last ping time (0: never pinged)
        r.join(user("gone", "ann"), 10_000, None, &h, 0).unwrap();
        r.join(user("here", "bob"), 100_000, None, &h, 0).unwrap();
        r.join(user("v1", "cy"), 0, None, &h, 0).unwrap();
        r.join(user("talks", "dan"), 10_000, None, &h, 0).unwrap();
        r.receive("talks", Incoming::Text(r#"{"type":"typing"}"#), 90_000);
        let ping = |t: &u64| (*t > 0).then_some(*t);
        assert!(r.sweep_due(100_000));
        let effects = r.sweep(100_000, ping);
        assert_eq!(
            trace(&effects),
            vec![t("gone", "1001", None), t("all but gone", "leave", None)]
        );
        assert!(!r.has("gone"));
        assert!(r.has("here") && r.has("v1") && r.has("talks"));
        assert!(
            !r.sweep_due(110_000),
            "at most every quarter of SILENT_AFTER"
        );
        assert!(r.sweep_due(115_000));
        assert_eq!(r.take_closing("gone"), Some(10_000));
    }

    #[test]
    fn the_roster_pages_over_the_socket_in_id_order_and_completely() {
        let h = MemoryHistory::default();
        let mut r = crowd_room(5);
        for i in 0..237 {
            r.join(user(&format!("c{i:03}"), "u"), (), None, &h, 0)
                .unwrap();
        }
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let frame = match &after {
                Some(a) => format!(r#"{{"type":"roster","after":"{a}","limit":100,"id":"p"}}"#),
                None => r#"{"type":"roster","limit":100,"id":"p"}"#.to_string(),
            };
            let effects = r.receive("c000", Incoming::Text(&frame), 0);
            let page = &frames_for(&effects, "c000")[0];
            assert_eq!(page["type"], "roster");
            assert_eq!(page["online"], 237);
            for m in page["members"].as_array().unwrap() {
                seen.push(m["id"].as_str().unwrap().to_string());
            }
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_string()),
                None => break,
            }
        }
        let expected: Vec<String> = (0..237).map(|i| format!("c{i:03}")).collect();
        assert_eq!(seen, expected, "every member once, in id order");
        let http = r.roster(Some("c235"), 10);
        assert_eq!(http["members"].as_array().unwrap().len(), 1);
        assert_eq!(http["next"], Value::Null);
        let bad = r.receive(
            "c000",
            Incoming::Text(r#"{"type":"roster","limit":501}"#),
            0,
        );
        assert_eq!(frames_for(&bad, "c000")[0]["code"], "bad_limit");
        let bad = r.receive(
            "c000",
            Incoming::Text(r#"{"type":"roster","after":"X;"}"#),
            0,
        );
        assert_eq!(frames_for(&bad, "c000")[0]["code"], "bad_request");
    }

    /// The webhook events among `effects`, parsed.
    fn events(effects: &[Effect]) -> Vec<Value> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Event { body } => Some(parse(body)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn with_webhooks_on_every_change_and_only_a_change_produces_one_event() {
        let mut h = MemoryHistory::default();
        let mut r = living(&mut h);
        assert!(
            h.messages.len() == 1,
            "living() said hello before events were on"
        );
        r.set_webhooks(true);
        let created = send(
            &mut r,
            "a",
            serde_json::json!({"type":"message","text":"hi","id":"m2"}),
            &mut h,
            2,
        );
        let e = events(&created);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0]["type"], "message.created");
        assert_eq!(e[0]["room"], "lobby");
        assert_eq!(e[0]["message"]["seq"], 2);
        assert_eq!(e[0]["event_id"], "lobby/2");
        // a retry of the same message is no new change
        let retry = send(
            &mut r,
            "a",
            serde_json::json!({"type":"message","text":"hi","id":"m2"}),
            &mut h,
            3,
        );
        assert!(events(&retry).is_empty());
        let edited = send(
            &mut r,
            "a",
            serde_json::json!({"type":"edit","seq":2,"text":"hi all"}),
            &mut h,
            4,
        );
        let e = events(&edited);
        assert_eq!(
            (e[0]["type"].as_str(), e[0]["message"]["text"].as_str()),
            (Some("message.updated"), Some("hi all"))
        );
        assert_eq!(e[0]["at"], 4);
        let reacted = send(
            &mut r,
            "b",
            serde_json::json!({"type":"react","seq":2,"emoji":"👍","on":true}),
            &mut h,
            5,
        );
        let e = events(&reacted);
        assert_eq!(e[0]["type"], "reaction.added");
        assert_eq!(e[0]["message"]["reactions"]["👍"], 1);
        assert_eq!(e[0]["reaction"]["user"]["uid"], "u-bob");
        let unreacted = send(
            &mut r,
            "b",
            serde_json::json!({"type":"react","seq":2,"emoji":"👍","on":false}),
            &mut h,
            6,
        );
        assert_eq!(events(&unreacted)[0]["type"], "reaction.removed");
        let refused = send(
            &mut r,
            "b",
            serde_json::json!({"type":"delete","seq":2}),
            &mut h,
            7,
        );
        assert!(
            events(&refused).is_empty(),
            "a refused change reports nothing"
        );
        let deleted = send(
            &mut r,
            "a",
            serde_json::json!({"type":"delete","seq":2}),
            &mut h,
            8,
        );
        let e = events(&deleted);
        assert_eq!(e[0]["type"], "message.deleted");
        assert_eq!(e[0]["message"]["text"], "");
        assert_eq!(e[0]["message"]["deleted"], true);
        let ids: std::collections::BTreeSet<String> =
            [&created, &edited, &reacted, &unreacted, &deleted]
                .iter()
                .map(|fx| events(fx)[0]["event_id"].as_str().unwrap().to_string())
                .collect();
        assert_eq!(ids.len(), 5, "each change has its own event id");
        let (_, posted) = r.post(user("api", "bot"), "from the API".into(), None, &mut h, 9);
        assert_eq!(events(&posted)[0]["message"]["text"], "from the API");
    }

    #[test]
    fn without_webhooks_no_events_are_built() {
        let mut h = MemoryHistory::default();
        let mut r = living(&mut h);
        let effects = send(
            &mut r,
            "a",
            serde_json::json!({"type":"edit","seq":1,"text":"x"}),
            &mut h,
            2,
        );
        assert!(events(&effects).is_empty());
    }

    const ANN: &str = "u-ann";
    const BOB: &str = "u-bob";

    /// `living()` with bob made a moderator.
    fn moderated(h: &mut MemoryHistory) -> Room<()> {
        let mut r = living(h);
        r.set_role("b", Role::Moderator);
        r
    }

    fn sayv(id: Option<&str>, text: &str) -> Value {
        serde_json::json!({"type": "message", "text": text, "id": id})
    }

    fn uid_frame(kind: &str, uid: &str) -> Value {
        // uids in these tests are short; moderation frames check the uid's characters only
        serde_json::json!({"type": kind, "uid": uid, "id": kind})
    }

    #[test]
    fn only_a_moderator_may_moderate() {
        let mut h = MemoryHistory::default();
        let mut r = moderated(&mut h);
        let effects = send(&mut r, "a", uid_frame("kick", BOB), &mut h, 2);
        assert_eq!(frames_for(&effects, "a")[0]["code"], "forbidden");
        assert!(r.has("b"));
        let effects = send(
            &mut r,
            "a",
            serde_json::json!({"type":"moderation_log"}),
            &mut h,
            2,
        );
        assert_eq!(frames_for(&effects, "a")[0]["code"], "forbidden");
    }

    #[test]
    fn a_ban_closes_the_authors_sockets_refuses_its_return_and_is_logged() {
        let mut h = MemoryHistory::default();
        let mut r = moderated(&mut h);
        let mut frame = uid_frame("ban", ANN);
        frame["reason"] = "spam".into();
        let effects = send(&mut r, "b", frame, &mut h, 2);
        let to_a = frames_for(&effects, "a");
        assert!(to_a
            .iter()
            .any(|f| f["type"] == "error" && f["code"] == "banned"));
        assert!(effects
            .iter()
            .any(|e| matches!(e, Effect::Close { to, code: 4403, reason: "banned" } if to == "a")));
        assert!(!r.has("a"));
        let to_c = frames_for(&effects, "c");
        let seen = to_c.iter().find(|f| f["type"] == "moderation").unwrap();
        assert_eq!(
            (seen["action"].as_str(), seen["uid"].as_str()),
            (Some("ban"), Some(ANN))
        );
        assert_eq!(seen["by"]["name"], "bob");
        assert_eq!(seen["reason"], "spam");
        assert!(frames_for(&effects, "b")
            .iter()
            .any(|f| f["type"] == "ack" && f["id"] == "ban"));
        assert!(h.bans.contains(ANN));
        let back = User {
            uid: Some(ANN.into()),
            ..user("a2", "ann")
        };
        assert_eq!(
            r.join(back.clone(), (), None, &h, 3).unwrap_err().code,
            ErrorCode::Banned
        );
        send(&mut r, "b", uid_frame("unban", ANN), &mut h, 4);
        assert!(r.join(back, (), None, &h, 5).is_ok());
        let effects = send(
            &mut r,
            "b",
            serde_json::json!({"type":"moderation_log","limit":1}),
            &mut h,
            6,
        );
        let log = &frames_for(&effects, "b")[0];
        assert_eq!(log["type"], "moderation_log");
        assert_eq!(log["records"][0]["action"], "unban");
        assert_eq!(log["has_more"], true);
        assert_eq!(log["rules"]["bans"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn a_kick_closes_once_and_the_author_may_come_back() {
        let mut h = MemoryHistory::default();
        let mut r = moderated(&mut h);
        let effects = send(&mut r, "b", uid_frame("kick", ANN), &mut h, 2);
        assert!(effects
            .iter()
            .any(|e| matches!(e, Effect::Close { to, code: 4403, reason: "kicked" } if to == "a")));
        let back = User {
            uid: Some(ANN.into()),
            ..user("a2", "ann")
        };
        assert!(r.join(back, (), None, &h, 3).is_ok());
    }

    #[test]
    fn a_muted_author_changes_nothing_until_the_mute_ends() {
        let mut h = MemoryHistory::default();
        let mut r = moderated(&mut h);
        let mut frame = uid_frame("mute", ANN);
        frame["seconds"] = 10.into();
        send(&mut r, "b", frame, &mut h, 1_000);
        for op in [
            serde_json::json!({"type":"message","text":"hi","id":"m"}),
            serde_json::json!({"type":"edit","seq":1,"text":"x","id":"m"}),
            serde_json::json!({"type":"react","seq":1,"emoji":"👍","id":"m"}),
        ] {
            let effects = send(&mut r, "a", op, &mut h, 2_000);
            let err = &frames_for(&effects, "a")[0];
            assert_eq!(err["code"], "muted");
            assert_eq!(err["id"], "m");
        }
        assert_eq!(h.messages.len(), 1);
        let back = User {
            uid: Some(ANN.into()),
            ..user("a2", "ann")
        };
        let welcome = &frames_for(&r.join(back, (), None, &h, 3_000).unwrap(), "a2")[0];
        assert_eq!(welcome["muted_until"], 11_000);
        let effects = send(&mut r, "a", sayv(Some("later"), "back"), &mut h, 11_000);
        assert_eq!(frames_for(&effects, "a")[0]["type"], "ack");
    }

    #[test]
    fn slow_mode_holds_members_apart_but_not_moderators() {
        let mut h = MemoryHistory::default();
        let mut r = moderated(&mut h);
        send(
            &mut r,
            "b",
            serde_json::json!({"type":"slow_mode","seconds":30}),
            &mut h,
            0,
        );
        assert_eq!(
            frames_for(
                &send(&mut r, "a", sayv(Some("1"), "one"), &mut h, 1_000),
                "a"
            )[0]["type"],
            "ack"
        );
        let refused = &frames_for(
            &send(&mut r, "a", sayv(Some("2"), "two"), &mut h, 2_000),
            "a",
        )[0];
        assert_eq!(refused["code"], "slow_mode");
        assert!(refused["message"]
            .as_str()
            .unwrap()
            .contains("wait 29 more"));
        for i in 0..3 {
            let effects = send(
                &mut r,
                "b",
                sayv(Some(&format!("b{i}")), "mod"),
                &mut h,
                2_000,
            );
            assert_eq!(frames_for(&effects, "b")[0]["type"], "ack");
        }
        let welcome = &frames_for(&r.join(user("d", "dee"), (), None, &h, 3_000).unwrap(), "d")[0];
        assert_eq!(welcome["slow_mode"], 30);
    }

    #[test]
    fn a_moderator_deletes_anyones_message_and_the_deletion_is_logged() {
        let mut h = MemoryHistory::default();
        let mut r = moderated(&mut h);
        let effects = send(
            &mut r,
            "b",
            serde_json::json!({"type":"delete","seq":1,"id":"d"}),
            &mut h,
            2,
        );
        assert_eq!(frames_for(&effects, "b")[0]["type"], "ack");
        assert!(h.messages[0].deleted);
        let logged: Value = serde_json::from_str(&h.moderation[0].1).unwrap();
        assert_eq!(
            (logged["action"].as_str(), logged["seq"].as_u64()),
            (Some("delete"), Some(1))
        );
        assert_eq!(logged["uid"], ANN);
        // and through the API, without an author id
        deliver(
            &mut r,
            "a",
            Incoming::Text(&say(Some("m2"), "again")),
            &mut h,
            3,
        );
        let (done, _) = r.delete_api(user("api", "backend"), 2, &mut h, 4);
        assert_eq!(done.unwrap().seq, 2);
        let (gone, _) = r.delete_api(user("api", "backend"), 99, &mut h, 5);
        assert_eq!(gone.unwrap_err().code, ErrorCode::NotFound);
    }

    #[test]
    fn the_api_moderates_and_webhooks_hear_of_it() {
        let mut h = MemoryHistory::default();
        let mut r = living(&mut h);
        r.set_webhooks(true);
        let (record, effects) = r.moderate_api(
            user("api", "backend"),
            Action::Kick { uid: ANN.into() },
            &mut h,
            9,
        );
        assert_eq!(record.unwrap().action, "kick");
        assert!(!r.has("a"));
        let e = events(&effects);
        assert_eq!(e[0]["type"], "member.kicked");
        assert_eq!(e[0]["moderation"]["uid"], ANN);
        assert_eq!(e[0]["event_id"], "lobby/mod-1");
    }
}
