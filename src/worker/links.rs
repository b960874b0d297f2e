//! The sequencer's side of a room spread over shards ([`crate::shard`]): per shard, the ops waiting to
//! be pushed, the push in flight (at most one, so a shard gets its pushes in order), and what the
//! sequencer knows of the shard's incarnation. A push runs as a task, never awaited by a handler: the
//! room goes on taking frames while it travels, and what arrives meanwhile goes in the next push.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

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

/// One shard's pipe, as the sequencer holds it (what it knows of the shard is its
/// [`Sequencer`](crate::shard::sequencer::Sequencer)'s).
#[derive(Debug, Default)]
struct Link {
    /// Ops waiting for the next push.
    outbox: Records,
    /// A push is on its way.
    in_flight: bool,
    /// Push even with nothing to say (to learn the shard's incarnation after a restart).
    hello: bool,
    /// The number of the last push built for it.
    n: u64,
}

/// Every shard's outbox and push task.
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

/// What a push task needs of the object that owns the links: the room's name and revision and the
/// session the sequencer holds shard `k`'s roster for (sent with each push), and the links. A trait,
/// so that the tasks live here without this module knowing the room object's state.
pub trait Sequencing {
    fn head(&self, k: u16) -> (&str, u64, Option<&str>);
    fn links(&mut self) -> &mut Links;
}

impl Links {
    /// The links of a room that has used shards 1 ..= `shards`. Who is on them is unknown: each gets
    /// an empty push, which has it send its roster.
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

    /// The Durable Object of shard `k` (which placement opened: see
    /// [`crate::shard::placement::check_placed`]).
    pub fn stub(&self, room: &RoomName, k: u16) -> worker::Result<RawStub> {
        shard_stub(&self.env, room, k)
    }

    /// An outbox for every shard up to `k` (placement has just opened it).
    pub fn open(&mut self, k: u16) {
        while self.links.len() < usize::from(k) {
            self.links.push(Link::default());
        }
    }

    fn link(&mut self, k: u16) -> Option<&mut Link> {
        self.links.get_mut(usize::from(k).checked_sub(1)?)
    }

    /// Queues `op` for shard `k`.
    pub fn queue(&mut self, k: u16, op: &Op<'_>) {
        if let Some(link) = self.link(k) {
            link.outbox.op(op);
        }
    }

    /// Queues a broadcast for every shard it `reaches` (see
    /// [`Sequencer::reaches`](crate::shard::sequencer::Sequencer::reaches)).
    pub fn broadcast(&mut self, except: Option<&str>, frame: &str, reaches: impl Fn(u16) -> bool) {
        let op = Op::Broadcast { except, frame };
        for (i, link) in self.links.iter_mut().enumerate() {
            if reaches((i + 1) as u16) {
                link.outbox.op(&op);
            }
        }
    }

    /// Whether the room has any shard.
    pub fn any(&self) -> bool {
        !self.links.is_empty()
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
pub fn start<S: Sequencing + 'static>(shared: &Rc<RefCell<S>>) {
    let ready: Vec<u16> = {
        let mut inner = shared.borrow_mut();
        inner
            .links()
            .links
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.in_flight && (l.hello || !l.outbox.is_empty()))
            .map(|(i, _)| (i + 1) as u16)
            .collect()
    };
    for k in ready {
        if let Some(link) = shared.borrow_mut().links().link(k) {
            link.in_flight = true;
        }
        wasm_bindgen_futures::spawn_local(push(Rc::clone(shared), k));
    }
}

/// Pushes shard `k`'s outbox, again and again while more waits, then lets the next event start a
/// new task. The frames in it were produced after their messages were written: the runtime's output
/// gate holds this request until that write is durable, as it holds a socket's frames.
async fn push<S: Sequencing>(shared: Rc<RefCell<S>>, k: u16) {
    loop {
        let (url, body, stub) = {
            let inner = &mut *shared.borrow_mut();
            let (room, rev, session) = inner.head(k);
            let (room, session) = (room.to_string(), session.map(str::to_string));
            let links = inner.links();
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
