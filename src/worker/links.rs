//! The sequencer's side of a room spread over shards ([`crate::shard`]): per shard, the ops waiting to
//! be pushed, the push in flight (at most one, so a shard gets its pushes in order), and what the
//! sequencer knows of the shard's incarnation. A push runs as a task, never awaited by a handler: the
//! room goes on taking frames while it travels, and what arrives meanwhile goes in the next push.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use super::chat_room::Inner;
use super::hop::{self, RawStub};
use crate::effect::Effect;
use crate::room::Place;
use crate::shard;
use crate::shard::call::ShardCall;
use crate::shard::records::{Op, Records};
use crate::validate::RoomName;

/// A socket of the room: held by this object, or by one of its shards.
#[derive(Debug, Clone)]
pub enum Line {
    Local(worker::WebSocket),
    Shard(u16),
}

impl Place for Line {
    fn shard(&self) -> Option<u16> {
        match self {
            Line::Local(_) => None,
            Line::Shard(k) => Some(*k),
        }
    }
}

/// Attempts of one push before it is given up (the shard then finds a number skipped and has its
/// sockets resume), and the wait before the first retry (doubling).
const PUSH_ATTEMPTS: u32 = 4;
const RETRY_MS: u32 = 50;

/// One shard, as the sequencer sees it.
#[derive(Debug, Default)]
struct Link {
    /// Ops waiting for the next push.
    outbox: Records,
    /// A push is on its way.
    in_flight: bool,
    /// Push even with nothing to say (to learn the shard's incarnation after a restart).
    hello: bool,
    /// The shard incarnation whose roster the sequencer holds (`None`: it must sync).
    session: Option<String>,
    /// The number of the last push built for it.
    n: u64,
    /// Whether the sequencer knows who is on it: a shard this incarnation opened (it starts empty),
    /// or one that has sent its roster since. Placement counts a shard it knows nothing of as full.
    known: bool,
}

/// Every shard of the room.
pub struct Links {
    links: Vec<Link>,
    env: Env,
    /// This sequencer incarnation (sent with every push).
    pub instance: String,
    /// The room's revision when this incarnation started (sent with each shard's first push).
    base: u64,
    /// Pushes made, and up records received (diagnostics).
    pub calls: u64,
    pub frames: u64,
}

impl Links {
    /// The links of a room that has used shards 1 ..= `shards`. None is synced yet, and who is on them
    /// is unknown: each gets an empty push, which has it send its roster.
    pub fn new(env: Env, instance: String, shards: u16, base: u64) -> Links {
        let links = (0..shards)
            .map(|_| Link {
                hello: true,
                ..Link::default()
            })
            .collect();
        Links {
            links,
            env,
            instance,
            base,
            calls: 0,
            frames: 0,
        }
    }

    /// How many shards the room has used.
    pub fn count(&self) -> u16 {
        self.links.len() as u16
    }

    /// The Durable Object of shard `k` (which placement opened: see [`crate::shard::placement::check_placed`]).
    pub fn stub(&self, room: &RoomName, k: u16) -> worker::Result<RawStub> {
        shard_stub(&self.env, room, k)
    }

    /// Makes sure shard `k` exists; returns whether it is new (to be recorded in storage). Only
    /// placement calls this: a shard exists because the sequencer put a socket on it.
    pub fn ensure(&mut self, k: u16) -> bool {
        let grew = usize::from(k) > self.links.len();
        while self.links.len() < usize::from(k) {
            self.links.push(Link {
                known: true,
                ..Link::default()
            });
        }
        grew
    }

    /// Whether the sequencer knows who is on shard `k` (one past the last is a new, empty shard).
    pub fn known(&self, k: u16) -> bool {
        match usize::from(k).checked_sub(1) {
            Some(i) => self.links.get(i).is_none_or(|l| l.known),
            None => true,
        }
    }

    /// Whether it knows who is on every shard (not so after a wake, until each has sent its roster).
    pub fn all_known(&self) -> bool {
        self.links.iter().all(|l| l.known)
    }

    fn link(&mut self, k: u16) -> Option<&mut Link> {
        self.links.get_mut(usize::from(k).checked_sub(1)?)
    }

    /// The session the sequencer holds shard `k`'s roster for.
    pub fn session(&self, k: u16) -> Option<&str> {
        self.links
            .get(usize::from(k).checked_sub(1)?)?
            .session
            .as_deref()
    }

    /// Records that the sequencer holds shard `k`'s roster for `session` (it has just taken a sync).
    pub fn set_session(&mut self, k: u16, session: String) {
        if let Some(link) = self.link(k) {
            link.session = Some(session);
            link.known = true;
        }
    }

    /// Queues `op` for shard `k`.
    pub fn queue(&mut self, k: u16, op: &Op<'_>) {
        if let Some(link) = self.link(k) {
            link.outbox.op(op);
        }
    }

    /// Queues a broadcast for every shard that may hold sockets: one with members, or sockets on the
    /// way, or whose roster the sequencer does not know.
    pub fn broadcast(&mut self, except: Option<&str>, frame: &str, live: impl Fn(u16) -> bool) {
        let op = Op::Broadcast { except, frame };
        for (i, link) in self.links.iter_mut().enumerate() {
            let k = (i + 1) as u16;
            if link.session.is_none() || live(k) {
                link.outbox.op(&op);
            }
        }
    }
}

/// Routes one effect for a socket on a shard: the sequencer's `apply` hands over what is not its own.
pub fn route(links: &mut Links, k: u16, effect: &Effect) {
    let op = match effect {
        Effect::Send { to, frame } => Op::Send { to, frame },
        Effect::Close { to, code, reason } => Op::Close {
            to,
            code: *code,
            reason,
        },
        _ => return,
    };
    links.queue(k, &op);
}

/// Starts a push task for every shard with something to push and none in flight.
pub fn start(shared: &Rc<RefCell<Inner>>) {
    let ready: Vec<u16> = {
        let inner = shared.borrow();
        inner
            .links
            .links
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.in_flight && (l.hello || !l.outbox.is_empty()))
            .map(|(i, _)| (i + 1) as u16)
            .collect()
    };
    for k in ready {
        if let Some(link) = shared.borrow_mut().links.link(k) {
            link.in_flight = true;
        }
        wasm_bindgen_futures::spawn_local(push(Rc::clone(shared), k));
    }
}

/// Pushes shard `k`'s outbox, again and again while more waits, then lets the next event start a
/// new task. The frames in it were produced after their messages were written: the runtime's output
/// gate holds this request until that write is durable, as it holds a socket's frames.
async fn push(shared: Rc<RefCell<Inner>>, k: u16) {
    loop {
        let (url, body, stub) = {
            let inner = &mut *shared.borrow_mut();
            let room = inner.room.info().room.to_string();
            let rev = inner.room.rev();
            let links = &mut inner.links;
            let base = links.base;
            let from = links.instance.clone();
            let Some(link) = links.link(k) else {
                return;
            };
            if !link.hello && link.outbox.is_empty() {
                link.in_flight = false;
                return;
            }
            link.hello = false;
            link.n += 1;
            let body = std::mem::take(&mut link.outbox).into_body();
            let session = link.session.clone();
            let n = link.n;
            let Ok(room) = RoomName::parse(&room) else {
                link.in_flight = false;
                return;
            };
            let call = ShardCall::Push {
                room: room.clone(),
                shard: k,
                session,
                from,
                n,
                base,
                rev,
            };
            links.calls += 1;
            (call.url(), body, shard_stub(&links.env, &room, k))
        };
        let mut delay = RETRY_MS;
        for attempt in 1..=PUSH_ATTEMPTS {
            match hop::post(&stub, &url, &body).await {
                Ok(status) if (200..300).contains(&status) => break,
                Ok(status) if attempt == PUSH_ATTEMPTS => {
                    worker::console_error!("push to shard {k} refused: {status}");
                }
                Err(e) if attempt == PUSH_ATTEMPTS => {
                    // Given up: the shard will see this push's number skipped and have its sockets
                    // resume from the history, which has everything that was in it.
                    worker::console_error!("push to shard {k} failed {attempt} times: {e}");
                }
                _ => {
                    hop::sleep(delay).await;
                    delay *= 4;
                }
            }
        }
    }
}

/// The Durable Object of shard `k` of `room`.
pub fn shard_stub(env: &Env, room: &RoomName, k: u16) -> worker::Result<RawStub> {
    hop::stub(env, "ROOMS", &shard::shard_name(room.as_str(), k))
}
