//! The `ChatRoom` Durable Object: one per room, holding its sockets with the WebSocket Hibernation
//! API. It turns runtime events into calls on the pure [`Room`] and carries out the [`Effect`]s.
//!
//! What survives hibernation: the messages (SQLite), and each socket's member (`User`, serialized as
//! the socket's attachment; its connection id is also the socket's tag). The constructor rebuilds the
//! roster and the socket cache from `get_websockets()` after every wake, so nothing that matters lives
//! only in memory. A text `ping` is answered `pong` by the runtime itself without waking the object.
//!
//! Group commit: a message is queued by the room and stored by [`flush`], which runs on a zero-delay
//! timer set by the first message that finds the queue empty. Every message that arrives before the
//! timer fires is written in that one turn, so the runtime commits them in one SQLite transaction (one
//! `fsync`), and the frames sent after the writes are held by the output gate until that commit is
//! durable.
//!
//! The socket events (`webSocketMessage`, `webSocketClose`, `webSocketError`) are exported here as
//! plain synchronous methods rather than through `#[durable_object]`'s async ones: none of them waits
//! for anything, and an async export costs every event a Promise, a queued microtask and a resolve —
//! about a sixth of the room's CPU time at saturation (docs/PERFORMANCE.md).

use std::cell::RefCell;
use std::rc::Rc;

use serde::Deserialize;
use serde_json::json;
use wasm_bindgen::prelude::*;
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, State, WebSocket, WebSocketPair,
};

use super::store::Store;
use super::{json_response, load_config, now_ms, problem_response, query_pairs, random_bytes};
use crate::limits::{self, Limits, MAX_PAGE};
use crate::protocol::{ErrorCode, Problem, User};
use crate::room::{Effect, Incoming, Room, CLOSE_INTERNAL};
use crate::routes;

/// The user id of messages posted over the HTTP API.
const API_USER_ID: &str = "api";

/// `fetch` only: the socket events are the synchronous exports in the `#[wasm_bindgen] impl` below.
#[durable_object(fetch)]
pub struct ChatRoom {
    state: State,
    /// Random per construction: changes when the object is rebuilt after hibernation or eviction.
    instance: String,
    started_at: u64,
    /// Shared with the flush timer's callback.
    inner: Rc<RefCell<Inner>>,
    /// The flush timer's callback, made once: a JS closure per timer would cost a wrapper to create
    /// and one to drop for every batch.
    flush_callback: Closure<dyn FnMut()>,
}

struct Inner {
    room: Room,
    store: Store,
    /// Open sockets by connection id; a cache of `state.get_websockets()`, rebuilt after a wake.
    sockets: Vec<(String, WebSocket)>,
    /// A flush timer is set and has not fired yet.
    flush_due: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl DurableObject for ChatRoom {
    fn new(state: State, env: Env) -> Self {
        let now = now_ms();
        match worker::WebSocketRequestResponsePair::new("ping", "pong") {
            Ok(pair) => state.set_websocket_auto_response(&pair),
            Err(e) => worker::console_error!("auto-response not set: {e:?}"),
        }
        let limits = load_config(&env).map(|c| c.limits).unwrap_or_else(|p| {
            worker::console_error!("bad configuration, using default limits: {}", p.message);
            Limits::default()
        });
        let store = Store::open(state.storage().sql());
        let last_seq = store.last_seq().unwrap_or_else(|e| {
            worker::console_error!("could not read the last seq: {e}");
            0
        });
        let name = state.id().name().unwrap_or_default();
        let mut room = Room::new(name, limits, last_seq);
        let mut sockets = Vec::new();
        let mut users = Vec::new();
        for ws in state.get_websockets() {
            match ws.deserialize_attachment::<User>() {
                Ok(Some(user)) => {
                    sockets.push((user.id.clone(), ws));
                    users.push(user);
                }
                _ => {
                    let _ = ws.close(Some(CLOSE_INTERNAL), Some("lost its attachment"));
                }
            }
        }
        room.restore(users, now);
        let inner = Rc::new(RefCell::new(Inner {
            room,
            store,
            sockets,
            flush_due: false,
        }));
        let shared = Rc::clone(&inner);
        ChatRoom {
            state,
            instance: hex(&random_bytes::<8>()),
            started_at: now,
            inner,
            flush_callback: Closure::new(move || flush(&shared)),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.url()?;
        let query = query_pairs(&url);
        let get = |key: &str| routes::query_value(&query, key);
        if let Some(room) = get("room") {
            self.inner.borrow_mut().room.set_name(room);
        }
        match url.path() {
            "/ws" => self.open_socket(get("name").unwrap_or(""), get("after")),
            "/info" => {
                let inner = self.inner.borrow();
                let mut info = serde_json::to_value(inner.room.info())?;
                info["instance"] = json!(self.instance);
                info["started_at"] = json!(self.started_at);
                info["sockets"] = json!(self.state.get_websockets().len());
                info["commits"] = serde_json::to_value(inner.room.commits())?;
                json_response(info.to_string(), 200)
            }
            "/messages" => {
                let after = get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
                let limit = get("limit")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(MAX_PAGE)
                    .min(MAX_PAGE);
                let inner = self.inner.borrow();
                let messages = inner.room.messages(&inner.store, after, limit);
                let body = json!({"messages": messages, "last_seq": inner.room.last_seq()});
                json_response(body.to_string(), 200)
            }
            "/post" => {
                let body = req.text().await?;
                self.post(&body)
            }
            _ => problem_response(&Problem::new(ErrorCode::NotFound, "no such room action")),
        }
    }
}

#[wasm_bindgen]
impl ChatRoom {
    /// A frame from one of the room's sockets.
    #[wasm_bindgen(js_name = webSocketMessage)]
    pub fn websocket_message(&self, ws: worker::web_sys::WebSocket, message: JsValue) {
        let ws = WebSocket::from(ws);
        let text = message.as_string();
        let frame = match &text {
            Some(t) => Incoming::Text(t),
            None => Incoming::Binary(js_sys::Uint8Array::new(&message).length() as usize),
        };
        let inner = &mut *self.inner.borrow_mut();
        let Some(conn_id) = identify(&self.state, inner, &ws) else {
            let _ = ws.close(Some(CLOSE_INTERNAL), Some("unknown connection"));
            return;
        };
        let effects = inner.room.receive(&conn_id, frame, now_ms());
        apply(&mut inner.sockets, effects);
        if inner.room.has_pending() && !inner.flush_due {
            inner.flush_due = true;
            // setTimeout(0): the runtime delivers the events already waiting before the timer fires.
            if set_timeout(self.flush_callback.as_ref(), 0).is_err() {
                worker::console_error!("setTimeout failed; flushing at once");
                flush_now(inner);
            }
        }
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
    /// `/ws`: the Worker has validated room, name, origin and `after`; accept the socket as
    /// hibernatable, remember who it is, and welcome it.
    fn open_socket(&self, name: &str, after: Option<&str>) -> Result<Response> {
        let name = match limits::UserName::parse(name) {
            Ok(n) => n,
            Err(p) => return problem_response(&p),
        };
        let after = match after.map(limits::parse_seq).transpose() {
            Ok(a) => a,
            Err(p) => return problem_response(&p),
        };
        let inner = &mut *self.inner.borrow_mut();
        if let Err(p) = inner.room.admit() {
            return problem_response(&p);
        }
        let user = User {
            id: hex(&random_bytes::<8>()),
            name: name.into_string(),
        };
        let pair = WebSocketPair::new()?;
        self.state
            .accept_websocket_with_tags(&pair.server, &[user.id.as_str()]);
        pair.server.serialize_attachment(&user)?;
        inner.sockets.push((user.id.clone(), pair.server));
        let effects = inner.room.join(user, after, &inner.store, now_ms());
        apply(&mut inner.sockets, effects);
        Response::from_websocket(pair.client)
    }

    /// `/post`: a message from the HTTP API, already validated by the Worker except its text.
    fn post(&self, body: &str) -> Result<Response> {
        #[derive(Deserialize)]
        struct Post {
            name: String,
            text: String,
            id: Option<String>,
        }
        let post: Post = match serde_json::from_str(body) {
            Ok(p) => p,
            Err(_) => {
                return problem_response(&Problem::new(ErrorCode::BadRequest, "bad post"));
            }
        };
        let from = User {
            id: API_USER_ID.to_string(),
            name: post.name,
        };
        let inner = &mut *self.inner.borrow_mut();
        let (result, effects) =
            inner
                .room
                .post(from, post.text, post.id, &mut inner.store, now_ms());
        apply(&mut inner.sockets, effects);
        match result {
            Ok(accepted) => json_response(
                json!({"seq": accepted.seq, "ts": accepted.ts, "duplicate": !accepted.fresh})
                    .to_string(),
                if accepted.fresh { 201 } else { 200 },
            ),
            Err(p) => problem_response(&p),
        }
    }

    /// A socket closed or failed: drop it and tell the others.
    fn gone(&self, ws: &WebSocket) {
        // Only the tag: a socket that is closing must not be re-admitted from its attachment (it may
        // already have left, e.g. after a 1009 close the room initiated).
        let Some(conn_id) = self.state.get_tags(ws).into_iter().next() else {
            return;
        };
        let inner = &mut *self.inner.borrow_mut();
        inner.sockets.retain(|(id, _)| *id != conn_id);
        let effects = inner.room.leave(&conn_id);
        apply(&mut inner.sockets, effects);
    }
}

/// The connection id of `ws`: its tag (set by `accept_websocket_with_tags`, kept by the runtime across
/// hibernation), one call into the runtime. A connection is never identified by comparing `WebSocket`
/// values, which would cost one JS call per open socket. A socket missing from the cache or roster (an
/// earlier incarnation accepted it and the rebuild missed it) is re-added from its attachment.
fn identify(state: &State, inner: &mut Inner, ws: &WebSocket) -> Option<String> {
    let id = state.get_tags(ws).into_iter().next()?;
    if !inner.sockets.iter().any(|(known, _)| *known == id) {
        // Only an open socket is re-admitted; one the room has closed (1009) is on its way out.
        if ws.as_ref().ready_state() != worker::web_sys::WebSocket::OPEN {
            return None;
        }
        let user: User = ws.deserialize_attachment().ok().flatten()?;
        if user.id != id {
            return None;
        }
        if !inner.room.has(&id) {
            inner.room.restore([user], now_ms());
        }
        inner.sockets.push((id.clone(), ws.clone()));
    }
    Some(id)
}

/// The flush timer: stores what the room has queued (one turn, so one commit) and sends the frames that
/// follow from it.
fn flush(inner: &RefCell<Inner>) {
    flush_now(&mut inner.borrow_mut());
}

fn flush_now(inner: &mut Inner) {
    inner.flush_due = false;
    let effects = inner.room.flush(&mut inner.store, now_ms());
    apply(&mut inner.sockets, effects);
}

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (`catch`: never expected to throw, but a throw must not panic).
    #[wasm_bindgen(js_name = setTimeout, catch)]
    fn set_timeout(callback: &JsValue, ms: i32) -> std::result::Result<JsValue, JsValue>;

    /// The runtime's `WebSocket`, seen only for `send(data)` with a JS value. `send_with_str` copies the
    /// Rust string into a new JS string on every call (a UTF-8 decode per socket); a broadcast converts
    /// its frame once and hands the same JS string to every socket.
    type Socket;
    /// `catch`: a socket that is closing throws.
    #[wasm_bindgen(method, catch)]
    fn send(this: &Socket, data: &JsValue) -> std::result::Result<(), JsValue>;
}

/// Carries out the room's effects. A send to a socket that is already closing fails; its close
/// event will remove it, so such errors are ignored.
fn apply(sockets: &mut Vec<(String, WebSocket)>, effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Send { to, frame } => {
                if let Some((_, ws)) = sockets.iter().find(|(id, _)| *id == to) {
                    let _ = ws.send_with_str(&frame);
                }
            }
            Effect::Broadcast { except, frame } => {
                let frame = JsValue::from_str(&frame);
                for (id, ws) in sockets.iter() {
                    if Some(id.as_str()) != except.as_deref() {
                        let _ = ws.as_ref().unchecked_ref::<Socket>().send(&frame);
                    }
                }
            }
            Effect::Close { to, code, reason } => {
                if let Some(pos) = sockets.iter().position(|(id, _)| *id == to) {
                    let (_, ws) = sockets.remove(pos);
                    let _ = ws.close(Some(code), Some(reason));
                }
            }
        }
    }
}
