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
//! Hibernation wipes this struct. What must survive lives elsewhere — messages in SQLite, each member
//! in its socket's attachment — and [`Room::restore`] rebuilds the roster after a wake. Rate-limit
//! buckets restart full after a wake; that loses nothing, because the runtime only hibernates a room
//! after ~10 s without events, by which time every bucket has refilled anyway.

use std::collections::HashMap;

use crate::config::Limits;
use crate::error::{ErrorCode, Problem};
use crate::protocol::{Announced, ChatMessage, ClientFrame, ServerFrame, User};
use crate::rate::{TokenBucket, FLOOD_STRIKES};
use crate::validate::{self, MAX_FRAME_BYTES, MAX_PAGE, WELCOME_HISTORY};

/// WebSocket close code for a frame over the size limit ("message too big").
pub const CLOSE_TOO_BIG: u16 = 1009;
/// WebSocket close code for a server-side fault.
pub const CLOSE_INTERNAL: u16 = 1011;
/// WebSocket close code for a connection that keeps flooding past its rate limit ("policy violation").
pub const CLOSE_FLOODING: u16 = 1008;
/// Old messages beyond `HISTORY_LIMIT` are deleted in batches, every this many messages; reads hide
/// them in between, so the limit is exact from a client's point of view.
pub const TRIM_EVERY: u64 = 64;

/// What [`History::append`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored under the `seq` the room assigned.
    Stored,
    /// Not stored: a stored message has the same sender ([`sender_key`]), client `id` and text (a
    /// retry); these are its `seq` and `ts`.
    Duplicate { seq: u64, ts: u64 },
    /// Not stored: a stored message has the same sender ([`sender_key`]) and client `id` but another
    /// text. It is somebody else's message (or a client reusing an id), so it must not be acknowledged
    /// as this one.
    Conflict,
}

/// Whose client ids a message's `id` is unique among: an identified sender's (`u:<uid>`, whatever name
/// it uses), else an anonymous sender name's (`n:<name>`, as in protocol v1).
pub fn sender_key(from: &User) -> String {
    match &from.uid {
        Some(uid) => format!("u:{uid}"),
        None => format!("n:{}", from.name),
    }
}

/// The room's persistent message log.
pub trait History {
    /// Stores a message whose `seq` the room has assigned, unless a stored message has the same
    /// sender ([`sender_key`]) and client `id`. One step, so the common case (a new message) costs one
    /// statement: the check for a duplicate is the store's unique index, not a separate lookup.
    fn append(&mut self, msg: &ChatMessage) -> Result<Appended, String>;
    /// Messages with `seq > after`, oldest first, at most `limit` of them: the oldest such messages
    /// when `newest` is false (paging forward), the newest when it is true (catching up).
    fn range(&self, after: u64, limit: usize, newest: bool) -> Result<Vec<ChatMessage>, String>;
    /// Deletes every message with `seq <= upto`.
    fn trim(&mut self, upto: u64);
}

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
}

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
    /// False when the `id` was seen before and the original was acknowledged again.
    pub fresh: bool,
}

/// One open connection: who it is, its socket, and its rate-limit state.
#[derive(Debug, Clone)]
pub struct Member<S> {
    pub user: User,
    pub socket: S,
    bucket: TokenBucket,
    /// Frames refused by the rate limit since the last one it let through.
    strikes: u32,
}

/// Work waiting for the next [`Room::flush`], in arrival order.
#[derive(Debug)]
enum Queued {
    /// A valid message that passed the rate limit, to store and announce.
    Message {
        conn_id: String,
        from: User,
        text: String,
        id: Option<String>,
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

/// A chat room's in-memory state: who is here (with their sockets), the last `seq` handed out, and
/// what awaits a flush.
#[derive(Debug)]
pub struct Room<S> {
    name: String,
    limits: Limits,
    last_seq: u64,
    members: HashMap<String, Member<S>>,
    /// Sockets the room has closed (flooding, oversized frame) and dropped from the roster, waiting for
    /// the Durable Object to carry out their [`Effect::Close`].
    closing: Vec<(String, S)>,
    queue: Vec<Queued>,
    commits: Commits,
}

/// A snapshot for `GET /api/rooms/{room}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoomInfo<'a> {
    pub room: &'a str,
    pub online: usize,
    pub members: Vec<&'a User>,
    pub last_seq: u64,
}

impl<S> Room<S> {
    /// A room whose stored log ends at `last_seq` (0 for a new room).
    pub fn new(name: impl Into<String>, limits: Limits, last_seq: u64) -> Self {
        Room {
            name: name.into(),
            limits,
            last_seq,
            members: HashMap::new(),
            closing: Vec::new(),
            queue: Vec::new(),
            commits: Commits::default(),
        }
    }

    /// Rebuilds the roster from the open sockets and the users kept in their attachments (after a
    /// wake). A connection already on the roster keeps its state.
    pub fn restore(&mut self, members: impl IntoIterator<Item = (User, S)>, now_ms: u64) {
        for (user, socket) in members {
            if !self.members.contains_key(&user.id) {
                self.members
                    .insert(user.id.clone(), self.member(user, socket, now_ms));
            }
        }
    }

    fn member(&self, user: User, socket: S, now_ms: u64) -> Member<S> {
        Member {
            user,
            socket,
            bucket: TokenBucket::full(&self.limits.rate, now_ms as f64),
            strikes: 0,
        }
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

    /// The socket of connection `conn_id`, if it is on the roster.
    pub fn socket(&self, conn_id: &str) -> Option<&S> {
        self.members.get(conn_id).map(|m| &m.socket)
    }

    /// Every open connection's id and socket.
    pub fn sockets(&self) -> impl Iterator<Item = (&str, &S)> {
        self.members.iter().map(|(id, m)| (id.as_str(), &m.socket))
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
        after: Option<u64>,
        history: &dyn History,
        now_ms: u64,
    ) -> Result<Vec<Effect>, Problem> {
        let (from, cap) = match after {
            Some(after) => (after, MAX_PAGE),
            None => (0, WELCOME_HISTORY),
        };
        let messages = self.read(history, from, cap, true)?;
        let missed = self.last_seq.saturating_sub(from);
        let truncated = missed > messages.len() as u64;
        let member = self.member(user.clone(), socket, now_ms);
        self.members.insert(user.id.clone(), member);
        let welcome = ServerFrame::Welcome {
            room: &self.name,
            you: &user,
            members: self.members.values().map(|m| &m.user).collect(),
            history: &messages,
            last_seq: self.last_seq,
            truncated,
            limits: Announced::of(&self.limits),
        }
        .to_json();
        Ok(vec![
            Effect::Send {
                to: user.id.clone(),
                frame: welcome,
            },
            Effect::Broadcast {
                except: Some(user.id.clone()),
                frame: ServerFrame::Join { user: &user }.to_json(),
            },
        ])
    }

    /// A connection closed or failed: drop it from the roster and tell the others. A no-op for a
    /// connection the room no longer has (its close was already handled).
    pub fn leave(&mut self, conn_id: &str) -> Vec<Effect> {
        match self.members.remove(conn_id) {
            Some(gone) => vec![Effect::Broadcast {
                except: Some(gone.user.id.clone()),
                frame: ServerFrame::Leave { user: &gone.user }.to_json(),
            }],
            None => Vec::new(),
        }
    }

    /// The room closes `conn_id` itself: it leaves the roster at once (the others hear it), and its
    /// socket waits in `closing` for the Durable Object to close it.
    fn close(&mut self, conn_id: &str, code: u16, reason: &'static str) -> Vec<Effect> {
        let mut effects = vec![Effect::Close {
            to: conn_id.to_string(),
            code,
            reason,
        }];
        if let Some(gone) = self.members.remove(conn_id) {
            effects.push(Effect::Broadcast {
                except: Some(conn_id.to_string()),
                frame: ServerFrame::Leave { user: &gone.user }.to_json(),
            });
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
                Queued::Message {
                    conn_id,
                    from,
                    text,
                    id,
                } => {
                    messages += 1;
                    let at = effects.len();
                    match self.submit(from, text, id.clone(), history, now_ms, effects) {
                        Ok(accepted) => effects.insert(
                            at,
                            Effect::Send {
                                to: conn_id,
                                frame: ServerFrame::Ack {
                                    id: id.as_deref(),
                                    seq: accepted.seq,
                                    ts: accepted.ts,
                                }
                                .to_json(),
                            },
                        ),
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
            return self.close(conn_id, CLOSE_TOO_BIG, "frame larger than 64 KiB");
        }
        // Every frame that reaches the room takes a token, valid or not: each one costs the room the same
        // work, and the room handles one event at a time for all of its sockets. A client that keeps
        // sending after being refused is closed: the runtime queues incoming frames without limit, so
        // refusing them one by one cannot keep a flood from delaying everyone else's messages, while a
        // close makes the runtime drop the flooder's queued frames.
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
            ClientFrame::Message { id, .. } if !allowed => vec![error_to(
                conn_id,
                ErrorCode::RateLimited,
                "too many messages; this one was dropped, slow down",
                id.as_deref(),
            )],
            ClientFrame::Message { text, id } => {
                let from = member.user.clone();
                self.queue.push(Queued::Message {
                    conn_id: conn_id.to_string(),
                    from,
                    text,
                    id,
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
        let result = self.submit(from, text, id, history, now_ms, &mut effects);
        (result, effects)
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
        let oldest_kept_after = self.last_seq.saturating_sub(self.limits.history_limit);
        history
            .range(after.max(oldest_kept_after), limit, newest)
            .map_err(|e| Problem::new(ErrorCode::Internal, format!("could not read history: {e}")))
    }

    /// The one path every message takes: dedupe by `(sender, id)`, assign `seq`, store, then broadcast.
    fn submit(
        &mut self,
        from: User,
        text: String,
        id: Option<String>,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Accepted, Problem> {
        let msg = ChatMessage {
            seq: self.last_seq + 1,
            id,
            from,
            text,
            ts: now_ms,
        };
        let appended = history
            .append(&msg)
            .map_err(|e| Problem::new(ErrorCode::Internal, format!("could not store: {e}")))?;
        match appended {
            Appended::Stored => {}
            Appended::Duplicate { seq, ts } => {
                return Ok(Accepted {
                    seq,
                    ts,
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
        if msg.seq > self.limits.history_limit && msg.seq.is_multiple_of(TRIM_EVERY) {
            history.trim(msg.seq - self.limits.history_limit);
        }
        effects.push(Effect::Broadcast {
            except: Some(msg.from.id.clone()),
            frame: ServerFrame::Message(&msg).to_json(),
        });
        Ok(Accepted {
            seq: msg.seq,
            ts: msg.ts,
            fresh: true,
        })
    }
}

fn error_to(conn_id: &str, code: ErrorCode, message: &str, id: Option<&str>) -> Effect {
    Effect::Send {
        to: conn_id.to_string(),
        frame: ServerFrame::Error { code, message, id }.to_json(),
    }
}

/// An in-memory [`History`], for tests and benchmarks of the pure core.
#[derive(Debug, Default)]
pub struct MemoryHistory {
    pub messages: Vec<ChatMessage>,
    /// When set, `append` and `range` fail with this error (to test storage faults).
    pub fail_with: Option<String>,
}

impl History for MemoryHistory {
    fn append(&mut self, msg: &ChatMessage) -> Result<Appended, String> {
        if let Some(e) = &self.fail_with {
            return Err(e.clone());
        }
        if msg.id.is_some() {
            if let Some(m) = self
                .messages
                .iter()
                .find(|m| sender_key(&m.from) == sender_key(&msg.from) && m.id == msg.id)
            {
                return Ok(if m.text == msg.text {
                    Appended::Duplicate {
                        seq: m.seq,
                        ts: m.ts,
                    }
                } else {
                    Appended::Conflict
                });
            }
        }
        self.messages.push(msg.clone());
        Ok(Appended::Stored)
    }

    fn range(&self, after: u64, limit: usize, newest: bool) -> Result<Vec<ChatMessage>, String> {
        if let Some(e) = &self.fail_with {
            return Err(e.clone());
        }
        let all: Vec<&ChatMessage> = self.messages.iter().filter(|m| m.seq > after).collect();
        let skip = if newest {
            all.len().saturating_sub(limit)
        } else {
            0
        };
        Ok(all.into_iter().skip(skip).take(limit).cloned().collect())
    }

    fn trim(&mut self, upto: u64) {
        self.messages.retain(|m| m.seq > upto);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        r.leave("a");
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
        assert!(r.leave("a").is_empty());
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
                "burst": 3.0, "per_sec": 0.5, "page": 1000})
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
        assert_eq!(r.socket("a"), None);
        assert_eq!(r.sockets().collect::<Vec<_>>(), vec![("b", &"socket-b")]);
        assert_eq!(r.take_closing("a"), Some("socket-a"));
        assert_eq!(r.take_closing("a"), None);
        r.flush(&mut h, 0);
    }

    #[test]
    fn a_message_whose_sender_left_before_the_flush_is_still_stored_and_announced() {
        let mut h = MemoryHistory::default();
        let mut r = ann_and_bob(&h);
        r.receive("a", Incoming::Text(&say(Some("k"), "bye")), 0);
        assert_eq!(trace(&r.leave("a")), vec![t("all but a", "leave", None)]);
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
                (user("a", "ann"), ()),
                (user("b", "bob"), ()),
                (user("a", "ann"), ()),
            ],
            0,
        );
        assert_eq!(r.info().online, 2);
        assert_eq!(r.info().last_seq, 42);
        let effects = r.join(user("c", "cy"), (), None, &h, 0).unwrap();
        assert_eq!(
            frames_for(&effects, "c")[0]["members"]
                .as_array()
                .unwrap()
                .len(),
            3
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
                fresh: false
            })
        );
        assert!(effects.is_empty());
        let (res, _) = r.post(user("api", "bot"), " ".into(), None, &mut h, 10);
        assert_eq!(res.unwrap_err().code, ErrorCode::BadRequest);
    }
}
