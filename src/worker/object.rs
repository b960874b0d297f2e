//! The `ChatRoom` Durable Object class: the runtime's handlers, written once for every kind of object
//! the class hosts. An object's name says its kind, chosen at construction: a room (`lobby`: the
//! room's own object, its sequencer, [`RoomObject`]), one of a large room's shards (`lobby#3`,
//! [`ShardObject`]), or a person's inbox (`@<uid>`, [`InboxObject`]). One class, so no second class
//! (and its glue, its binding) in the wasm and no migration: a new class would need a
//! `new_sqlite_classes` migration in every deployment's `wrangler.toml`, and would gain nothing — the
//! runtime's handlers are the same for each kind, and the names cannot collide (`#` and `@` are in no
//! room name).
//!
//! Every runtime event runs the same steps here (partyserver's split: the runtime's handlers in one
//! place, each kind's hooks in its own file): who the socket is (its tag), the kind's hook, then the
//! tasks the event left ([`Kind::settle`]: token checks, webhook delivery and pushes for a room, the up
//! pipe for a shard). Inside a room's hooks, [`RoomObject::turn`] is the room's own ritual (expire,
//! the room's call, apply, sweep, the flush timer). No handler awaits a task it starts.
//!
//! The socket events (`webSocketMessage`, `webSocketClose`, `webSocketError`) are exported as plain
//! synchronous methods rather than through `#[durable_object]`'s async ones: none of them waits for
//! anything, and an async export costs every event a Promise, a queued microtask and a resolve — about
//! a sixth of the room's CPU time at saturation (docs/PERFORMANCE.md). A text `ping` is answered `pong`
//! by the runtime itself without waking the object.

use wasm_bindgen::prelude::*;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State, WebSocket};

use super::inbox_object::InboxObject;
use super::own_name;
use super::room_object::RoomObject;
use super::shard_object::ShardObject;
use crate::effect::CLOSE_INTERNAL;
use crate::inbox;
use crate::shard;

/// `fetch` and `alarm`: the socket events are the synchronous exports in the `#[wasm_bindgen] impl`
/// below.
#[durable_object(alarm)]
pub struct ChatRoom {
    kind: Kind,
}

/// The kinds of object the class hosts.
enum Kind {
    Room(RoomObject),
    Shard(ShardObject),
    Inbox(InboxObject),
}

impl Kind {
    fn state(&self) -> &State {
        match self {
            Kind::Room(room) => room.state(),
            Kind::Shard(shard) => shard.state(),
            Kind::Inbox(inbox) => inbox.state(),
        }
    }

    /// After every event: starts what it left for tasks of their own (an inbox starts its own).
    fn settle(&self) {
        match self {
            Kind::Room(room) => room.start_tasks(),
            Kind::Shard(shard) => shard.start_up(),
            Kind::Inbox(_) => {}
        }
    }
}

impl DurableObject for ChatRoom {
    fn new(state: State, env: Env) -> Self {
        match worker::WebSocketRequestResponsePair::new("ping", "pong") {
            Ok(pair) => state.set_websocket_auto_response(&pair),
            Err(e) => worker::console_error!("auto-response not set: {e:?}"),
        }
        // An object woken by its alarm is not told its name: it kept it (see `own_name`).
        let name = state
            .id()
            .name()
            .filter(|name| !name.is_empty())
            .or_else(|| own_name::recall(&state.storage().sql()))
            .unwrap_or_default();
        let kind = match (shard::parse_shard_name(&name), inbox::uid_of_object(&name)) {
            (Some(_), _) => Kind::Shard(ShardObject::new(state, env)),
            (None, Some(uid)) => {
                let uid = uid.to_string();
                Kind::Inbox(InboxObject::new(state, env, uid))
            }
            (None, None) => Kind::Room(RoomObject::new(state, env, name)),
        };
        // A room starts what an earlier incarnation left undelivered (a crash, an eviction
        // mid-delivery) and greets each of its shards (they answer with their rosters). A shard waits
        // for its first event.
        if let Kind::Room(room) = &kind {
            room.start_tasks();
        }
        ChatRoom { kind }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let response = match &self.kind {
            Kind::Room(room) => room.request(req).await,
            Kind::Shard(shard) => shard.request(req).await,
            Kind::Inbox(inbox) => inbox.request(req).await,
        };
        self.kind.settle();
        response
    }

    /// The storage alarm: a room's token expiries and webhook outbox, an inbox's offline grace and
    /// erasure steps (a shard never sets one).
    async fn alarm(&self) -> Result<Response> {
        match &self.kind {
            Kind::Room(room) => room.alarm(),
            Kind::Inbox(inbox) => inbox.alarm().await,
            Kind::Shard(_) => {}
        }
        self.kind.settle();
        Response::empty()
    }
}

#[wasm_bindgen]
impl ChatRoom {
    /// A frame from one of the object's sockets.
    #[wasm_bindgen(js_name = webSocketMessage)]
    pub fn websocket_message(&self, ws: worker::web_sys::WebSocket, message: JsValue) {
        let ws = WebSocket::from(ws);
        let Some(conn) = self.connection(&ws) else {
            let _ = ws.close(Some(CLOSE_INTERNAL), Some("unknown connection"));
            return;
        };
        match &self.kind {
            Kind::Room(room) => room.message(conn, &ws, &message),
            Kind::Shard(shard) => shard.message(conn, &ws, &message),
            Kind::Inbox(inbox) => inbox.message(&ws),
        }
        self.kind.settle();
    }

    /// A socket closed.
    #[wasm_bindgen(js_name = webSocketClose)]
    pub fn websocket_close(&self, ws: worker::web_sys::WebSocket, code: u32, reason: String) {
        let ws = WebSocket::from(ws);
        // Complete the closing handshake (echo the peer's code), so a clean close is clean on both ends.
        // Codes 1005/1006 only describe a close and may not be sent; newer runtimes reply by
        // themselves, in which case this second close is refused and ignored.
        let echo = match code {
            1000 | 1001 | 1003 | 1007..=1014 | 3000..=4999 => code as u16,
            _ => 1000,
        };
        let _ = ws.close(Some(echo), Some(reason));
        self.gone(&ws);
    }

    /// A socket failed.
    #[wasm_bindgen(js_name = webSocketError)]
    pub fn websocket_error(&self, ws: worker::web_sys::WebSocket, error: JsValue) {
        worker::console_log!("socket error: {error:?}");
        self.gone(&WebSocket::from(ws));
    }
}

impl ChatRoom {
    /// The connection id of `ws`: its tag (set by `accept_websocket_with_tags`, kept by the runtime
    /// across hibernation), one call into the runtime. A connection is never identified by comparing
    /// `WebSocket` values, which would cost one JS call per open socket.
    fn connection(&self, ws: &WebSocket) -> Option<String> {
        self.kind.state().get_tags(ws).into_iter().next()
    }

    /// A socket closed or failed: the kind drops it (by its tag only: a socket that is closing must
    /// not be re-admitted from its attachment).
    fn gone(&self, ws: &WebSocket) {
        let Some(conn) = self.connection(ws) else {
            return;
        };
        match &self.kind {
            Kind::Room(room) => room.gone(&conn),
            Kind::Shard(shard) => shard.gone(conn),
            Kind::Inbox(inbox) => inbox.gone(),
        }
        self.kind.settle();
    }
}
