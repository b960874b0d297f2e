//! One room spread over several Durable Objects: what the room's own object (the *sequencer*) and its
//! *shards* say to each other, where a new socket goes, and how a shard fans a push out to its
//! sockets. Pure: the Durable Objects in `worker/` carry it out. docs/SCALING.md has the whole design.
//!
//! The sequencer stays the room's one authority: it validates, assigns `seq`, stores, acks, and owns
//! history and presence. It holds sockets itself up to `SHARD_SOCKETS`; beyond that each new socket
//! is placed on shard 1, 2, … ([`Placement`]), a Durable Object that only holds sockets.
//!
//! Two pipes per shard, each with at most one request in flight, so each is in order:
//! - **up** (shard → sequencer): what the shard's sockets did, as [`Up`] records, in the order they
//!   did it — a socket accepted (`J`), a frame (`M`, `Y`), a socket gone (`L`). Records that arrive
//!   while a request is in flight wait and go in the next one.
//! - **down** (sequencer → shard): what the shard's sockets must get, as [`Op`]s — the room's effects
//!   as they are, `Broadcast` included, so a flush costs the sequencer one call per shard, never one
//!   per socket. The shard's [`Shard::deliver`] fans them out (packing `batch=1` connections the same
//!   way the sequencer does for its own).
//!
//! Each shard incarnation has a random `session`. The sequencer knows its shards' members only by what
//! the up pipe told it; when it does not know a shard's current session (the shard or the sequencer
//! restarted or woke), it answers the up request with 409 and the shard sends its whole roster first
//! (`sync`), in the same pipe, so the roster and the joins and leaves around it stay in order.
//!
//! Records are a header line (`kind`, arguments, and the payload's byte length, separated by spaces)
//! and then the payload's bytes: frames pass through without being escaped or parsed again.

use crate::delivery;
use crate::domain::Framing;
use crate::effect::Effect;
use crate::error::{ErrorCode, Problem};
use crate::validate::RoomName;

/// The most shards one room may use (beyond: `room_full`).
pub const MAX_SHARDS: u16 = 4_096;
/// How long a placed socket counts on its shard before it has joined there: a client that was placed
/// and never connected frees its place after this.
pub const RESERVATION_MS: u64 = 30_000;

/// The name of shard `k`'s Durable Object for `room`: a `ChatRoom` like the room's own, under a name
/// no room can have (`#` is not allowed in room names), so the two never meet.
pub fn shard_name(room: &str, k: u16) -> String {
    format!("{room}#{k}")
}

/// The room and index a shard's name stands for (`None`: not a shard name).
pub fn parse_shard_name(name: &str) -> Option<(&str, u16)> {
    let (room, k) = name.rsplit_once('#')?;
    let k: u16 = k.parse().ok()?;
    (k >= 1 && !room.is_empty()).then_some((room, k))
}

/// A shard index from a path or query (1 ..= [`MAX_SHARDS`]).
pub fn parse_shard(raw: &str) -> Result<u16, Problem> {
    raw.parse::<u16>()
        .ok()
        .filter(|k| (1..=MAX_SHARDS).contains(k))
        .ok_or_else(|| {
            Problem::new(
                ErrorCode::NotFound,
                format!("a shard is a number from 1 to {MAX_SHARDS}"),
            )
        })
}

/// Whether shard `k` exists: the sequencer's own placement opened it (the room has used shards
/// 1 ..= `shards`). Nothing else may bring a shard into the room: a shard the room lists costs a push
/// on every flush and a greeting on every wake, so a diagnostic read of `shards/4096` that made its
/// object report in grew the room by 4,096 shards, for good. A read of one that does not exist is
/// `not_found`, and a shard object the room never opened is refused when it reports in.
pub fn check_placed(k: u16, shards: u16) -> Result<(), Problem> {
    if (1..=shards).contains(&k) {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorCode::NotFound,
            "no such shard: this room has placed no sockets on it",
        ))
    }
}

/// The header with which the sequencer answers a connect it places on a shard (the shard's index):
/// the Worker then takes the socket to that shard.
pub const PLACED_HEADER: &str = "x-edge-chat-shard";

/// A call between the room's objects (never from outside: the Worker only forwards typed calls it
/// built itself). The records go in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardCall {
    /// Shard → sequencer: [`Up`] records. `sync`: the body starts with the shard's whole roster.
    Up {
        room: RoomName,
        shard: u16,
        session: String,
        sync: bool,
    },
    /// Sequencer → shard: [`Op`]s. `session` is the shard's session as the sequencer knows it
    /// (none: it does not know the shard's roster, so the shard must sync); `from` the sequencer's
    /// own incarnation, `n` the push's number from it to this shard (1, 2, …: a shard that sees a
    /// number skipped knows it missed frames), `base` (with `n` = 1) the revision the sequencer
    /// started from, and `rev` the room's revision once these ops are carried out. See
    /// [`Continuity`].
    Push {
        room: RoomName,
        shard: u16,
        session: Option<String>,
        from: String,
        n: u64,
        base: u64,
        rev: u64,
    },
    /// The shard's diagnostics.
    Info { room: RoomName, shard: u16 },
    /// Restart the shard (an operator's call): it drops every socket (they reconnect and resume) and
    /// forgets everything it held, as a crashed object would, under a new session.
    Restart { room: RoomName, shard: u16 },
}

const SHARD_BASE: &str = "https://shard";

/// A session or incarnation id: a short hex string.
fn check_session(raw: &str) -> Result<&str, Problem> {
    if !raw.is_empty() && raw.len() <= 32 && raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(raw)
    } else {
        Err(Problem::new(ErrorCode::BadRequest, "bad session"))
    }
}

impl ShardCall {
    pub fn room(&self) -> &RoomName {
        match self {
            ShardCall::Up { room, .. }
            | ShardCall::Push { room, .. }
            | ShardCall::Info { room, .. }
            | ShardCall::Restart { room, .. } => room,
        }
    }

    /// The URL of the call (its method is POST, except `Info`'s GET). Written by hand: room names,
    /// sessions and numbers are all URL-safe as they are.
    pub fn url(&self) -> String {
        let room = self.room().as_str();
        match self {
            ShardCall::Up {
                shard,
                session,
                sync,
                ..
            } => format!(
                "{SHARD_BASE}/shard-up?room={room}&shard={shard}&session={session}{}",
                if *sync { "&sync=1" } else { "" }
            ),
            ShardCall::Push {
                shard,
                session,
                from,
                n,
                base,
                rev,
                ..
            } => format!(
                "{SHARD_BASE}/shard-push?room={room}&shard={shard}{}{}&from={from}&n={n}&base={base}&rev={rev}",
                if session.is_some() { "&session=" } else { "" },
                session.as_deref().unwrap_or("")
            ),
            ShardCall::Info { shard, .. } => {
                format!("{SHARD_BASE}/shard-info?room={room}&shard={shard}")
            }
            ShardCall::Restart { shard, .. } => {
                format!("{SHARD_BASE}/shard-restart?room={room}&shard={shard}")
            }
        }
    }

    /// The shard the call is for or from.
    pub fn shard(&self) -> u16 {
        match self {
            ShardCall::Up { shard, .. }
            | ShardCall::Push { shard, .. }
            | ShardCall::Info { shard, .. }
            | ShardCall::Restart { shard, .. } => *shard,
        }
    }

    /// Reads a call back (`None`: the path is not a shard call).
    pub fn parse(path: &str, raw_query: &str) -> Option<Result<ShardCall, Problem>> {
        let action = path.strip_prefix("/shard-")?;
        let query = crate::query::query_pairs(raw_query);
        let get = |key: &str| crate::query::query_value(&query, key);
        let parsed = (|| {
            let room = RoomName::parse(get("room").unwrap_or(""))?;
            let shard = parse_shard(get("shard").unwrap_or(""))?;
            Ok(match action {
                "up" => ShardCall::Up {
                    room,
                    shard,
                    session: check_session(get("session").unwrap_or(""))?.to_string(),
                    sync: get("sync") == Some("1"),
                },
                "push" => ShardCall::Push {
                    room,
                    shard,
                    session: get("session")
                        .map(|s| check_session(s).map(str::to_string))
                        .transpose()?,
                    from: check_session(get("from").unwrap_or(""))?.to_string(),
                    n: crate::validate::parse_rev(get("n").unwrap_or(""))?,
                    base: crate::validate::parse_rev(get("base").unwrap_or(""))?,
                    rev: crate::validate::parse_rev(get("rev").unwrap_or(""))?,
                },
                "info" => ShardCall::Info { room, shard },
                "restart" => ShardCall::Restart { room, shard },
                _ => {
                    return Err(Problem::new(
                        ErrorCode::NotFound,
                        format!("no such shard call: {path}"),
                    ))
                }
            })
        })();
        Some(parsed)
    }
}

/// What a shard tells the sequencer, in the order its sockets did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Up<'a> {
    /// A socket the shard accepted, waiting for its welcome: its attachment (JSON), and where it
    /// resumes.
    Join {
        attachment: &'a str,
        after: Option<u64>,
        since: Option<u64>,
    },
    /// A socket the shard holds, already welcomed (only in a `sync`).
    Member { attachment: &'a str },
    /// A text frame from connection `conn`.
    Text { conn: &'a str, text: &'a str },
    /// A binary frame of `len` bytes (refused by the room; only its size travels).
    Binary { conn: &'a str, len: usize },
    /// Connection `conn` closed or failed.
    Leave { conn: &'a str },
}

/// What the sequencer tells a shard: the room's effects for the shard's sockets. It borrows its
/// strings: the sequencer encodes an op straight from the effect it routes, and the shard reads one
/// straight out of the push's body, so a frame is never copied on the way in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    /// `frame` to connection `to`.
    Send { to: &'a str, frame: &'a str },
    /// `frame` to every socket of the shard except `except`.
    Broadcast {
        except: Option<&'a str>,
        frame: &'a str,
    },
    /// Close connection `to` (after the frames before it).
    Close {
        to: &'a str,
        code: u16,
        reason: &'a str,
    },
    /// Replace connection `to`'s attachment (a renewed token: new role and expiry).
    Attach { to: &'a str, attachment: &'a str },
}

/// Builds a body of records.
#[derive(Debug, Default)]
pub struct Records {
    body: String,
    count: usize,
}

impl Records {
    fn push(&mut self, kind: char, args: &[&str], payload: &str) {
        self.body.push(kind);
        for arg in args {
            self.body.push(' ');
            self.body.push_str(arg);
        }
        self.body.push(' ');
        self.body.push_str(&payload.len().to_string());
        self.body.push('\n');
        self.body.push_str(payload);
        self.count += 1;
    }

    pub fn up(&mut self, record: &Up<'_>) {
        match record {
            Up::Join {
                attachment,
                after,
                since,
            } => self.push('J', &[&optional(*after), &optional(*since)], attachment),
            Up::Member { attachment } => self.push('N', &[], attachment),
            Up::Text { conn, text } => self.push('M', &[conn], text),
            Up::Binary { conn, len } => self.push('Y', &[conn, &len.to_string()], ""),
            Up::Leave { conn } => self.push('L', &[conn], ""),
        }
    }

    pub fn op(&mut self, op: &Op<'_>) {
        match *op {
            Op::Send { to, frame } => self.push('S', &[to], frame),
            Op::Broadcast { except, frame } => self.push('B', &[except.unwrap_or("-")], frame),
            Op::Close { to, code, reason } => self.push('C', &[to, &code.to_string()], reason),
            Op::Attach { to, attachment } => self.push('A', &[to], attachment),
        }
    }

    /// Appends another body's records after these.
    pub fn append(&mut self, other: Records) {
        self.body.push_str(&other.body);
        self.count += other.count;
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn into_body(self) -> String {
        self.body
    }
}

fn optional(n: Option<u64>) -> String {
    n.map_or_else(|| "-".to_string(), |n| n.to_string())
}

fn bad(what: &str) -> Problem {
    Problem::new(ErrorCode::BadRequest, format!("bad shard record: {what}"))
}

/// One record: its kind, its arguments and its payload.
struct Record<'a> {
    kind: char,
    args: Vec<&'a str>,
    payload: &'a str,
}

/// Reads a body of records.
fn records(body: &str) -> Result<Vec<Record<'_>>, Problem> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (header, after) = rest.split_once('\n').ok_or_else(|| bad("no header"))?;
        let mut fields: Vec<&str> = header.split(' ').collect();
        let len: usize = fields
            .pop()
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| bad("no length"))?;
        let mut kind = fields.first().copied().unwrap_or("").chars();
        let (Some(k), None) = (kind.next(), kind.next()) else {
            return Err(bad("no kind"));
        };
        if len > after.len() || !after.is_char_boundary(len) {
            return Err(bad("payload cut short"));
        }
        let (payload, next) = after.split_at(len);
        out.push(Record {
            kind: k,
            args: fields[1..].to_vec(),
            payload,
        });
        rest = next;
    }
    Ok(out)
}

fn parse_optional(raw: &str) -> Result<Option<u64>, Problem> {
    match raw {
        "-" => Ok(None),
        n => n.parse().map(Some).map_err(|_| bad("not a number")),
    }
}

/// Reads an up body.
pub fn read_up(body: &str) -> Result<Vec<Up<'_>>, Problem> {
    records(body)?
        .into_iter()
        .map(|r| {
            Ok(match (r.kind, r.args.as_slice()) {
                ('J', [after, since]) => Up::Join {
                    attachment: r.payload,
                    after: parse_optional(after)?,
                    since: parse_optional(since)?,
                },
                ('N', []) => Up::Member {
                    attachment: r.payload,
                },
                ('M', [conn]) => Up::Text {
                    conn,
                    text: r.payload,
                },
                ('Y', [conn, len]) => Up::Binary {
                    conn,
                    len: len.parse().map_err(|_| bad("not a number"))?,
                },
                ('L', [conn]) => Up::Leave { conn },
                _ => return Err(bad("unknown up record")),
            })
        })
        .collect()
}

/// Reads a down body.
pub fn read_ops(body: &str) -> Result<Vec<Op<'_>>, Problem> {
    records(body)?
        .into_iter()
        .map(|r| {
            Ok(match (r.kind, r.args.as_slice()) {
                ('S', [to]) => Op::Send {
                    to,
                    frame: r.payload,
                },
                ('B', [except]) => Op::Broadcast {
                    except: (*except != "-").then_some(*except),
                    frame: r.payload,
                },
                ('C', [to, code]) => Op::Close {
                    to,
                    code: code.parse().map_err(|_| bad("not a close code"))?,
                    reason: r.payload,
                },
                ('A', [to]) => Op::Attach {
                    to,
                    attachment: r.payload,
                },
                _ => return Err(bad("unknown op")),
            })
        })
        .collect()
}

/// Where new sockets go: the sequencer itself (0) until it holds `SHARD_SOCKETS`, then the
/// lowest-numbered shard with room. A socket placed on a shard counts there until it joins (or for
/// [`RESERVATION_MS`]), so a connect storm does not overfill one shard before its joins arrive. A shard
/// whose roster the sequencer does not know (it woke, and the shard has not sent it yet) counts as
/// full: after a deploy or an eviction every client reconnects at once, and shards that looked empty
/// would each take far more than their share.
#[derive(Debug, Default)]
pub struct Placement {
    /// (shard, until when) of sockets placed but not joined yet.
    reserved: Vec<(u16, u64)>,
}

impl Placement {
    /// The shard for the next socket: 0 for the sequencer, `k` ≥ 1 for shard `k`. `local` is how many
    /// sockets the sequencer holds, `counts` how many each shard holds (shard `k` at index `k - 1`),
    /// `known(k)` whether `counts` knows shard `k`'s roster.
    pub fn place(
        &mut self,
        local: usize,
        counts: &[usize],
        known: impl Fn(u16) -> bool,
        per_object: u32,
        now_ms: u64,
    ) -> Result<u16, Problem> {
        let cap = per_object as usize;
        if local < cap {
            return Ok(0);
        }
        self.reserved.retain(|&(_, until)| until > now_ms);
        let mut held: Vec<usize> = counts.to_vec();
        for &(k, _) in &self.reserved {
            let i = usize::from(k.max(1)) - 1;
            if held.len() <= i {
                held.resize(i + 1, 0);
            }
            held[i] += 1;
        }
        for k in 1..=MAX_SHARDS {
            let n = held.get(usize::from(k) - 1).copied().unwrap_or(0);
            if n < cap && known(k) {
                self.reserved.push((k, now_ms + RESERVATION_MS));
                return Ok(k);
            }
        }
        Err(Problem::new(
            ErrorCode::RoomFull,
            "room is full (every shard is full)",
        ))
    }

    /// Whether a socket placed on shard `k` is still on its way there.
    pub fn expects(&self, k: u16) -> bool {
        self.reserved.iter().any(|&(s, _)| s == k)
    }

    /// A socket placed on shard `k` has joined: it counts among the shard's members now.
    pub fn arrived(&mut self, k: u16) {
        if let Some(pos) = self.reserved.iter().position(|&(s, _)| s == k) {
            self.reserved.swap_remove(pos);
        }
    }
}

/// What a shard knows of the pushes it got, to tell a gap: frames it will never get, after which its
/// sockets must reconnect and resume (the history has everything; the shard cannot replay it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Continuity {
    /// The sequencer incarnation of the last push, its number, and the revision after it.
    last: Option<(String, u64, u64)>,
}

/// What to do with a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Carry it out.
    Next,
    /// A retry of a push already carried out: ignore it.
    Repeat,
    /// Something before it never arrived: close every socket (they resume), then carry it out.
    Gap,
}

impl Continuity {
    /// Checks push `n` from incarnation `from`, which started from revision `base`, and records it.
    /// Within one incarnation, numbers go 1, 2, 3…; a skipped number is a lost push. When the
    /// sequencer restarted, its first push says where it started (`base`): the shard lost nothing if
    /// it had already heard of every revision up to there. A shard that remembers nothing (it is new,
    /// or woke from hibernation, which it only does when idle) takes any push as the next.
    pub fn arrive(&mut self, from: &str, n: u64, base: u64, rev: u64) -> Arrival {
        let arrival = match &self.last {
            Some((f, last_n, _)) if f == from && n <= *last_n => return Arrival::Repeat,
            Some((f, last_n, _)) if f == from => {
                if n == last_n + 1 {
                    Arrival::Next
                } else {
                    Arrival::Gap
                }
            }
            Some((_, _, last_rev)) => {
                if n == 1 && *last_rev >= base {
                    Arrival::Next
                } else {
                    Arrival::Gap
                }
            }
            None => Arrival::Next,
        };
        self.last = Some((from.to_string(), n, rev));
        arrival
    }
}

/// Where a socket resumes: the `after` and `since` it connected with.
pub type Resume = (Option<u64>, Option<u64>);

/// A socket a shard holds.
#[derive(Debug, Clone)]
pub struct Held<S> {
    pub socket: S,
    pub framing: Framing,
    /// Accepted, and its welcome has not come yet (it hears nothing before it): where it resumes, to
    /// ask again if the sequencer restarts meanwhile.
    pub pending: Option<Resume>,
}

/// A shard's sockets, and the fan-out of a push to them.
///
/// The sockets are a `Vec` sorted by connection id: a lookup is a binary search, a fan-out walks
/// contiguous memory, and a join or leave moves part of it (cheap at a shard's few thousand sockets).
/// A map would be no faster here and costs its own code in the wasm.
#[derive(Debug)]
pub struct Shard<S> {
    held: Vec<(String, Held<S>)>,
    batched: usize,
}

impl<S> Default for Shard<S> {
    fn default() -> Self {
        Shard {
            held: Vec::new(),
            batched: 0,
        }
    }
}

/// What a push leaves for the shard to do after its frames went out.
#[derive(Debug)]
pub struct Pushed<S> {
    /// Sockets to close (code, reason): already off the shard's roster.
    pub closes: Vec<(S, u16, String)>,
    /// Connections whose attachment to replace.
    pub attachments: Vec<(String, String)>,
}

impl<S> Shard<S> {
    pub fn hold(&mut self, conn: String, socket: S, framing: Framing, pending: Option<Resume>) {
        if framing == Framing::Batch {
            self.batched += 1;
        }
        let held = Held {
            socket,
            framing,
            pending,
        };
        match self.find(&conn) {
            Ok(i) => {
                let old = std::mem::replace(&mut self.held[i].1, held);
                if old.framing == Framing::Batch {
                    self.batched -= 1;
                }
            }
            Err(i) => self.held.insert(i, (conn, held)),
        }
    }

    pub fn release(&mut self, conn: &str) -> Option<Held<S>> {
        let gone = self.held.remove(self.find(conn).ok()?).1;
        if gone.framing == Framing::Batch {
            self.batched -= 1;
        }
        Some(gone)
    }

    /// Takes every socket off the roster (a shard that starts over, or missed frames).
    pub fn release_all(&mut self) -> Vec<(String, Held<S>)> {
        self.batched = 0;
        std::mem::take(&mut self.held)
    }

    pub fn get(&self, conn: &str) -> Option<&Held<S>> {
        self.find(conn).ok().map(|i| &self.held[i].1)
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Held<S>)> {
        self.held.iter().map(|(id, h)| (id.as_str(), h))
    }

    fn find(&self, conn: &str) -> Result<usize, usize> {
        self.held.binary_search_by(|(id, _)| id.as_str().cmp(conn))
    }

    fn get_mut(&mut self, conn: &str) -> Option<&mut Held<S>> {
        let i = self.find(conn).ok()?;
        Some(&mut self.held[i].1)
    }

    /// Carries out one push: every frame for the shard's sockets through `send(socket, frame,
    /// shared)` (`shared`: the same frame goes to many sockets, worth converting once), in the order
    /// the ops give; `batch=1` sockets get their part as one frame. A socket waiting for its welcome
    /// hears nothing before it. Closes and attachment changes are left to the caller, after the frames.
    pub fn deliver(&mut self, ops: &[Op<'_>], mut send: impl FnMut(&S, &str, bool)) -> Pushed<S> {
        let mut pushed = Pushed {
            closes: Vec::new(),
            attachments: Vec::new(),
        };
        if self.batched > 0 {
            let effects: Vec<Effect> = ops
                .iter()
                .filter_map(|op| match *op {
                    Op::Send { to, frame } => Some(Effect::Send {
                        to: to.to_string(),
                        frame: frame.to_string(),
                    }),
                    Op::Broadcast { except, frame } => Some(Effect::Broadcast {
                        except: except.map(str::to_string),
                        frame: frame.to_string(),
                    }),
                    Op::Close { .. } | Op::Attach { .. } => None,
                })
                .collect();
            let this = &*self;
            let is = |id: &str, f: fn(&Held<S>) -> bool| this.get(id).is_some_and(f);
            let turn = delivery::arrange_from(
                &effects,
                |id| is(id, |h| h.framing == Framing::Batch),
                |id| is(id, |h| h.pending.is_some()),
            );
            for (id, frame) in &turn.own {
                if let (Some(frame), Some(h)) = (frame, this.get(id)) {
                    send(&h.socket, frame, false);
                }
            }
            if let Some(common) = &turn.common {
                for (id, h) in &this.held {
                    if h.framing == Framing::Batch
                        && h.pending.is_none()
                        && !turn.own.contains_key(id.as_str())
                    {
                        send(&h.socket, common, true);
                    }
                }
            }
            let named: Vec<String> = turn.own.keys().map(|id| id.to_string()).collect();
            for id in named {
                if let Some(h) = self.get_mut(&id) {
                    h.pending = None;
                }
            }
        }
        let singles = self.held.len() - self.batched;
        for op in ops {
            match *op {
                Op::Send { to, frame } => {
                    if let Some(h) = self.get_mut(to) {
                        if h.framing == Framing::Single {
                            send(&h.socket, frame, false);
                            h.pending = None;
                        }
                    }
                }
                Op::Broadcast { except, frame } => {
                    if singles == 0 {
                        continue;
                    }
                    for (id, h) in &self.held {
                        if h.framing == Framing::Single
                            && h.pending.is_none()
                            && Some(id.as_str()) != except
                        {
                            send(&h.socket, frame, true);
                        }
                    }
                }
                Op::Close { to, code, reason } => {
                    if let Some(h) = self.release(to) {
                        pushed.closes.push((h.socket, code, reason.to_string()));
                    }
                }
                Op::Attach { to, attachment } => pushed
                    .attachments
                    .push((to.to_string(), attachment.to_string())),
            }
        }
        pushed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_whatever_the_payload_holds() {
        let text = "line one\nline two 12\n{\"type\":\"message\"} ünï";
        let ups = [
            Up::Join {
                attachment: r#"{"v":3,"id":"c1","name":"ann"}"#,
                after: Some(5),
                since: None,
            },
            Up::Member {
                attachment: r#"{"v":3,"id":"c2","name":"bob"}"#,
            },
            Up::Text { conn: "c1", text },
            Up::Text {
                conn: "c1",
                text: "",
            },
            Up::Binary {
                conn: "c2",
                len: 70_000,
            },
            Up::Leave { conn: "c2" },
        ];
        let mut r = Records::default();
        for up in &ups {
            r.up(up);
        }
        assert_eq!(r.len(), 6);
        let body = r.into_body();
        assert_eq!(read_up(&body).unwrap(), ups);

        let ops = vec![
            Op::Send {
                to: "c1",
                frame: text,
            },
            Op::Broadcast {
                except: None,
                frame: "{}",
            },
            Op::Broadcast {
                except: Some("c1"),
                frame: "{\n}",
            },
            Op::Close {
                to: "c2",
                code: 4403,
                reason: "banned",
            },
            Op::Attach {
                to: "c1",
                attachment: "{}",
            },
        ];
        let mut r = Records::default();
        for op in &ops {
            r.op(op);
        }
        let body = r.into_body();
        assert_eq!(read_ops(&body).unwrap(), ops);
    }

    #[test]
    fn a_bad_body_is_an_error_never_a_panic() {
        for body in [
            "M c1 5\nabc",
            "M c1\nabc",
            "X c1 0\n",
            "M c1 x\n",
            "MM c1 0\n",
            "no newline",
            "M c1 1\nü",
            "J 1 0\n",
            "Y c1 z 0\n",
            " 0\n",
        ] {
            assert!(read_up(body).is_err(), "{body:?}");
        }
        assert!(read_ops("C c1 99999 0\n").is_err());
        assert!(read_ops("S 0\n").is_err());
        assert_eq!(read_up("").unwrap(), vec![]);
    }

    #[test]
    fn calls_round_trip() {
        let room = RoomName::parse("lobby").unwrap();
        let calls = [
            ShardCall::Up {
                room: room.clone(),
                shard: 2,
                session: "ab12".into(),
                sync: true,
            },
            ShardCall::Up {
                room: room.clone(),
                shard: 2,
                session: "ab12".into(),
                sync: false,
            },
            ShardCall::Push {
                room: room.clone(),
                shard: 3,
                session: None,
                from: "ff00".into(),
                n: 1,
                base: 40,
                rev: 42,
            },
            ShardCall::Push {
                room: room.clone(),
                shard: 3,
                session: Some("ab12".into()),
                from: "ff00".into(),
                n: 7,
                base: 0,
                rev: 0,
            },
            ShardCall::Info {
                room: room.clone(),
                shard: 1,
            },
            ShardCall::Restart { room, shard: 9 },
        ];
        for call in calls {
            let url = call.url();
            let rest = url.strip_prefix(SHARD_BASE).unwrap();
            let (path, query) = rest.split_once('?').unwrap();
            assert_eq!(ShardCall::parse(path, query), Some(Ok(call)), "{url}");
        }
        assert_eq!(ShardCall::parse("/connect", "room=x"), None);
        for (path, query) in [
            ("/shard-up", "room=x&shard=1"),
            ("/shard-up", "room=x&shard=0&session=ab"),
            ("/shard-up", "room=x&shard=1&session=a%20b"),
            ("/shard-push", "room=x&shard=1&from=ab"),
            ("/shard-nope", "room=x&shard=1"),
            ("/shard-info", "room=&shard=1"),
        ] {
            assert!(
                matches!(ShardCall::parse(path, query), Some(Err(_))),
                "{path}?{query}"
            );
        }
    }

    #[test]
    fn a_shard_tells_a_lost_push_from_a_retry_and_a_clean_restart_from_a_lossy_one() {
        let mut c = Continuity::default();
        assert_eq!(c.arrive("s1", 1, 10, 11), Arrival::Next);
        assert_eq!(c.arrive("s1", 2, 10, 12), Arrival::Next);
        assert_eq!(c.arrive("s1", 2, 10, 12), Arrival::Repeat);
        assert_eq!(c.arrive("s1", 4, 10, 14), Arrival::Gap);
        assert_eq!(c.arrive("s1", 5, 10, 15), Arrival::Next);
        // The sequencer restarted having stored nothing past what this shard heard: nothing lost.
        assert_eq!(c.arrive("s2", 1, 15, 16), Arrival::Next);
        // It restarted after storing revision 20, of which this shard heard only up to 16.
        assert_eq!(c.arrive("s3", 1, 20, 21), Arrival::Gap);
        // A first push that is not number 1 from a new incarnation: its first was lost.
        assert_eq!(c.arrive("s4", 2, 21, 22), Arrival::Gap);
        // A shard that remembers nothing takes what comes.
        assert_eq!(Continuity::default().arrive("s9", 7, 99, 99), Arrival::Next);
    }

    #[test]
    fn shard_names_round_trip() {
        assert_eq!(
            parse_shard_name(&shard_name("lobby", 3)),
            Some(("lobby", 3))
        );
        assert_eq!(parse_shard_name("lobby"), None);
        assert_eq!(parse_shard_name("lobby#0"), None);
        assert_eq!(parse_shard_name("#2"), None);
        assert_eq!(parse_shard("7"), Ok(7));
        for bad in ["0", "-1", "x", "99999", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_shard_placement_opened_exists() {
        assert!(check_placed(1, 1).is_ok());
        assert!(check_placed(3, 3).is_ok());
        for (k, shards) in [(1, 0), (4, 3), (MAX_SHARDS, 2), (0, 5)] {
            assert_eq!(
                check_placed(k, shards).unwrap_err().code,
                ErrorCode::NotFound,
                "{k} of {shards}"
            );
        }
    }

    #[test]
    fn placement_fills_the_sequencer_then_the_lowest_shard_with_room() {
        let all = |_| true;
        let mut p = Placement::default();
        let mut counts = vec![];
        assert_eq!(p.place(1, &counts, all, 2, 0), Ok(0));
        // The sequencer is full: shard 1 takes two (reserved until they join), then shard 2.
        assert_eq!(p.place(2, &counts, all, 2, 0), Ok(1));
        assert_eq!(p.place(2, &counts, all, 2, 0), Ok(1));
        assert_eq!(p.place(2, &counts, all, 2, 0), Ok(2));
        // Both joined shard 1; one of them leaves: shard 1 has room again.
        p.arrived(1);
        p.arrived(1);
        counts = vec![1];
        assert_eq!(p.place(2, &counts, all, 2, 0), Ok(1));
        // Reservations lapse: a placed socket that never came frees its place.
        let later = RESERVATION_MS + 1;
        counts = vec![2];
        assert_eq!(p.place(2, &counts, all, 2, later), Ok(2));
        assert_eq!(p.place(2, &counts, all, 2, later), Ok(2));
        assert_eq!(p.place(2, &counts, all, 2, later), Ok(3));
        // Every shard full: room_full.
        let full = vec![1; usize::from(MAX_SHARDS)];
        assert_eq!(
            p.place(1, &full, all, 1, later).unwrap_err().code,
            ErrorCode::RoomFull
        );
    }

    #[test]
    fn placement_counts_a_shard_whose_roster_is_unknown_as_full() {
        // A sequencer that just woke: shards 1 and 2 existed, 1 has sent its roster (one socket), 2
        // has not. Whatever `counts` says of shard 2, nobody goes there until its roster is in.
        let mut p = Placement::default();
        let known = |k| k != 2;
        assert_eq!(p.place(4, &[1], known, 4, 0), Ok(1));
        assert_eq!(p.place(4, &[1], known, 4, 0), Ok(1));
        assert_eq!(p.place(4, &[1], known, 4, 0), Ok(1));
        assert_eq!(p.place(4, &[1], known, 4, 0), Ok(3));
        assert_eq!(p.place(4, &[1, 0], known, 4, 0), Ok(3));
        // Its roster came: it takes what it has room for.
        assert_eq!(p.place(4, &[4, 2], |_| true, 4, 0), Ok(2));
        assert_eq!(p.place(4, &[4, 2], |_| true, 4, 0), Ok(2));
        assert_eq!(p.place(4, &[4, 2], |_| true, 4, 0), Ok(3));
    }

    fn send<'a>(to: &'a str, frame: &'a str) -> Op<'a> {
        Op::Send { to, frame }
    }

    fn broadcast<'a>(except: Option<&'a str>, frame: &'a str) -> Op<'a> {
        Op::Broadcast { except, frame }
    }

    /// Delivers `ops` and returns what each socket got, in order.
    fn deliver(
        shard: &mut Shard<&'static str>,
        ops: &[Op<'_>],
    ) -> std::collections::BTreeMap<&'static str, Vec<String>> {
        let mut got = std::collections::BTreeMap::<&'static str, Vec<String>>::new();
        shard.deliver(ops, |s, f, _| {
            got.entry(*s).or_default().push(f.to_string())
        });
        got
    }

    #[test]
    fn a_push_reaches_every_socket_once_in_order_and_a_pending_one_only_from_its_welcome() {
        for framing in [Framing::Single, Framing::Batch] {
            let mut shard = Shard::default();
            shard.hold("a".into(), "a", framing, None);
            shard.hold("b".into(), "b", framing, None);
            shard.hold("n".into(), "n", framing, Some((None, None)));
            let ops = [
                broadcast(Some("a"), "m1"),
                send("a", "ack1"),
                send("n", "welcome"),
                broadcast(None, "m2"),
                Op::Close {
                    to: "b",
                    code: 4403,
                    reason: "kicked",
                },
            ];
            let got = deliver(&mut shard, &ops);
            if framing == Framing::Single {
                assert_eq!(got["a"], ["ack1", "m2"]);
                assert_eq!(got["b"], ["m1", "m2"]);
                assert_eq!(got["n"], ["welcome", "m2"]);
            } else {
                // Batches hold JSON frames; these stand-ins are not JSON, so compare the packing.
                assert_eq!(got["a"].len(), 1, "{framing:?}");
                assert_eq!(got["b"].len(), 1);
                assert_eq!(got["n"].len(), 1);
                assert!(got["n"][0].contains("welcome,m2") && !got["n"][0].contains("m1"));
                assert!(got["a"][0].contains("ack1,m2"));
            }
            // The closed socket is off the roster; the welcomed one now hears broadcasts.
            assert!(shard.get("b").is_none());
            assert!(shard.get("n").unwrap().pending.is_none());
            let got = deliver(&mut shard, &[broadcast(None, "m3")]);
            assert_eq!(got.keys().copied().collect::<Vec<_>>(), ["a", "n"]);
        }
    }

    #[test]
    fn a_pending_socket_hears_nothing_until_its_welcome_comes() {
        let mut shard = Shard::default();
        shard.hold("n".into(), "n", Framing::Single, Some((None, None)));
        shard.hold("m".into(), "m", Framing::Batch, Some((Some(3), None)));
        let got = deliver(&mut shard, &[broadcast(None, "m1"), broadcast(None, "m2")]);
        assert!(got.is_empty(), "{got:?}");
        assert!(shard.get("n").unwrap().pending.is_some());
        assert_eq!(shard.get("m").unwrap().pending, Some((Some(3), None)));
        // Starting over empties the roster and its count of batched sockets: a v1 socket held
        // afterwards is the shard's only one and hears broadcasts.
        let all: Vec<String> = shard.release_all().into_iter().map(|(id, _)| id).collect();
        assert_eq!(all.len(), 2);
        assert!(shard.is_empty());
        shard.hold("v".into(), "v", Framing::Single, None);
        let got = deliver(&mut shard, &[broadcast(None, "m3")]);
        assert_eq!(got["v"], ["m3"]);
    }
}
