//! The `ChatRoom` Durable Object: one per room, holding its sockets with the WebSocket Hibernation
//! API. It turns runtime events into calls on the pure [`Room`] and carries out the [`Effect`]s.
//!
//! What survives hibernation: the messages (SQLite), and each socket's member (an [`Attachment`],
//! versioned apart from the wire `User`; its connection id is also the socket's tag). The constructor
//! rebuilds the roster from `get_websockets()` after every wake, so nothing that matters lives only in
//! memory. A text `ping` is answered `pong` by the runtime itself without waking the object.
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

use serde_json::json;
use wasm_bindgen::prelude::*;
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, State, WebSocket,
    WebSocketPair,
};

use super::store::{Store, INDEX_BATCH};
use super::{
    hex, json_response, load_config, now_ms, problem_response, random_bytes, refuse_socket,
};
use crate::access::Join;
use crate::api::Post;
use crate::attachment::Attachment;
use crate::call::RoomCall;
use crate::config::Limits;
use crate::delivery;
use crate::error::Problem;
use crate::protocol::User;
use crate::room::{Effect, Framing, Incoming, Joining, Room, CLOSE_INTERNAL};
use crate::routes::Target;

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
    /// The callback of the room's own timers ([`Effect::Wake`]: held-back read marks). Only owned here,
    /// to keep it alive: the timers reach it through the JS function kept in `Inner::tick`.
    _tick_callback: Rc<Closure<dyn FnMut()>>,
    /// While a room from before the search index still has messages to index: the callback of the
    /// timer that indexes them a batch per turn ([`start_indexing`]). Only owned here.
    _index_callback: Option<Closure<dyn FnMut()>>,
}

struct Inner {
    /// The roster, with each member's socket: the one map of who is connected.
    room: Room<WebSocket>,
    store: Store,
    /// A flush timer is set and has not fired yet.
    flush_due: bool,
    /// A tick timer is set and has not fired yet.
    tick_due: bool,
    /// The JS function the tick timer calls (shared with [`ChatRoom`]).
    tick: Option<JsValue>,
    /// When the tick timer that is set will fire (ms), so an earlier wake-up sets another one.
    tick_at: Option<u64>,
    /// The runtime's `DurableObjectState`, for what workers-rs does not wrap (the time of a socket's
    /// last auto-answered ping), also from the timers' callbacks.
    raw_state: JsValue,
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
        let (last_seq, rev) = store.head().unwrap_or_else(|e| {
            worker::console_error!("could not read the last seq and rev: {e}");
            (0, 0)
        });
        let name = state.id().name().unwrap_or_default();
        let mut room = Room::new(name, limits, last_seq);
        room.set_rev(rev);
        let mut members = Vec::new();
        for ws in state.get_websockets() {
            match member_of(&ws) {
                Some((user, framing)) => members.push((user, framing, ws)),
                None => {
                    let _ = ws.close(Some(CLOSE_INTERNAL), Some("lost its attachment"));
                }
            }
        }
        room.restore(members, now);
        let inner = Rc::new(RefCell::new(Inner {
            room,
            store,
            flush_due: false,
            tick_due: false,
            tick: None,
            tick_at: None,
            raw_state: AsRef::<JsValue>::as_ref(state.as_raw()).clone(),
        }));
        let shared = Rc::clone(&inner);
        let ticking = Rc::clone(&inner);
        let tick_callback: Rc<Closure<dyn FnMut()>> = Rc::new(Closure::new(move || tick(&ticking)));
        inner.borrow_mut().tick = Some(tick_callback.as_ref().as_ref().clone());
        let index_callback = start_indexing(&inner);
        ChatRoom {
            state,
            instance: random_bytes::<8>()
                .map(|b| hex(&b))
                .unwrap_or_else(|_| format!("t{now}")),
            started_at: now,
            inner,
            flush_callback: Closure::new(move || flush(&shared)),
            _tick_callback: tick_callback,
            _index_callback: index_callback,
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.inner().url();
        let target = Target::split(&url);
        let body = match req.method() {
            Method::Post => Some(req.text().await?),
            _ => None,
        };
        let call = match RoomCall::parse(
            req.method().as_ref(),
            target.path,
            target.query,
            body.as_deref(),
        ) {
            Ok(call) => call,
            Err(p) => return problem_response(&p),
        };
        self.inner.borrow_mut().room.set_name(call.room().as_str());
        match call {
            RoomCall::Connect { join, .. } => match self.open_socket(join) {
                Ok(response) => Ok(response),
                Err(p) => refuse_socket(&p),
            },
            RoomCall::Info { .. } => {
                let inner = self.inner.borrow();
                let mut info = serde_json::to_value(inner.room.info())?;
                info["instance"] = json!(self.instance);
                info["started_at"] = json!(self.started_at);
                info["sockets"] = json!(self.state.get_websockets().len());
                info["commits"] = serde_json::to_value(inner.room.commits())?;
                info["rev"] = json!(inner.room.rev());
                info["storage_bytes"] = json!(self.state.storage().sql().database_size());
                json_response(info.to_string(), 200)
            }
            RoomCall::Messages { after, limit, .. } => {
                let inner = self.inner.borrow();
                match inner.room.messages(&inner.store, after, limit) {
                    Ok(messages) => json_response(
                        json!({"messages": messages, "last_seq": inner.room.last_seq()})
                            .to_string(),
                        200,
                    ),
                    Err(p) => problem_response(&p),
                }
            }
            RoomCall::Post { post, .. } => self.post(post),
            RoomCall::Search { request, .. } => {
                let inner = self.inner.borrow();
                match inner.room.search(&inner.store, &request) {
                    Ok((results, has_more)) => json_response(
                        json!({"results": results, "has_more": has_more}).to_string(),
                        200,
                    ),
                    Err(p) => problem_response(&p),
                }
            }
            RoomCall::Roster { after, limit, .. } => {
                let inner = self.inner.borrow();
                json_response(inner.room.roster(after.as_deref(), limit).to_string(), 200)
            }
            RoomCall::Versions { seq, .. } => {
                let inner = self.inner.borrow();
                match inner.room.versions(&inner.store, seq) {
                    Ok((deleted, versions)) => json_response(
                        json!({"seq": seq, "deleted": deleted, "versions": versions}).to_string(),
                        200,
                    ),
                    Err(p) => problem_response(&p),
                }
            }
        }
    }
}

/// The member a socket's attachment describes (`None`: missing, unreadable, or a newer version).
fn member_of(ws: &WebSocket) -> Option<(User, Framing)> {
    ws.deserialize_attachment::<Attachment>()
        .ok()
        .flatten()
        .and_then(Attachment::into_user)
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
        let Some(conn_id) = identify(&self.state, &mut inner.room, &ws) else {
            let _ = ws.close(Some(CLOSE_INTERNAL), Some("unknown connection"));
            return;
        };
        let now = now_ms();
        let effects = inner.room.receive(&conn_id, frame, now);
        apply(inner, effects);
        sweep(inner, now);
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
    /// `Connect`: the Worker has checked room, name, access, origin and `after`. Accept the socket as
    /// hibernatable, remember who it is, and welcome it — or say why not (`room_full`, …), on a socket
    /// the caller refuses.
    fn open_socket(&self, join: Join) -> std::result::Result<Response, Problem> {
        let inner = &mut *self.inner.borrow_mut();
        // Before the welcome: its roster and count leave out whoever has silently gone.
        sweep(inner, now_ms());
        inner.room.admit()?;
        let user = User {
            id: hex(&random_bytes::<8>()?),
            name: join.name.into_string(),
            uid: join.uid,
        };
        let pair = WebSocketPair::new().map_err(internal)?;
        let resume = Joining {
            after: join.after,
            since: join.since,
            framing: join.framing,
        };
        let effects = inner.room.join(
            user.clone(),
            pair.server.clone(),
            resume,
            &inner.store,
            now_ms(),
        )?;
        self.state
            .accept_websocket_with_tags(&pair.server, &[user.id.as_str()]);
        if let Err(e) = pair
            .server
            .serialize_attachment(Attachment::of(&user, join.framing))
        {
            inner.room.leave(&user.id, now_ms());
            let _ = pair
                .server
                .close(Some(CLOSE_INTERNAL), Some("could not attach"));
            return Err(internal(e));
        }
        apply(inner, effects);
        Response::from_websocket(pair.client).map_err(internal)
    }

    /// `Post`: a bot's message, checked by [`Post::parse`] on both sides of the hop; its text is checked
    /// by the room.
    fn post(&self, post: Post) -> Result<Response> {
        let from = User {
            id: API_USER_ID.to_string(),
            name: post.name,
            uid: None,
        };
        let inner = &mut *self.inner.borrow_mut();
        let (result, effects) =
            inner
                .room
                .post(from, post.text, post.id, &mut inner.store, now_ms());
        apply(inner, effects);
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
        let now = now_ms();
        let effects = inner.room.leave(&conn_id, now);
        apply(inner, effects);
        sweep(inner, now);
    }
}

fn internal(e: impl std::fmt::Display) -> Problem {
    worker::console_error!("{e}");
    Problem::new(crate::error::ErrorCode::Internal, "internal error")
}

/// The connection id of `ws`: its tag (set by `accept_websocket_with_tags`, kept by the runtime across
/// hibernation), one call into the runtime. A connection is never identified by comparing `WebSocket`
/// values, which would cost one JS call per open socket. A socket missing from the roster (an earlier
/// incarnation accepted it and the rebuild missed it) is re-added from its attachment.
fn identify(state: &State, room: &mut Room<WebSocket>, ws: &WebSocket) -> Option<String> {
    let id = state.get_tags(ws).into_iter().next()?;
    if !room.has(&id) {
        // Only an open socket is re-admitted; one the room has closed (1009) is on its way out.
        if ws.as_ref().ready_state() != worker::web_sys::WebSocket::OPEN {
            return None;
        }
        let (user, framing) = member_of(ws)?;
        if user.id != id {
            return None;
        }
        room.restore([(user, framing, ws.clone())], now_ms());
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
    apply(inner, effects);
}

/// A room whose messages predate the search index (schema v4) indexes them after its wake, a batch
/// of [`INDEX_BATCH`] per zero-delay timer turn: each turn is short, and the events that arrive
/// meanwhile (messages, searches) are handled between turns. Nothing to do (the common case): no
/// timer, no callback. The timer keeps the object awake until the work is done; if it is evicted
/// anyway, the next wake resumes where `meta` says it stopped.
fn start_indexing(inner: &Rc<RefCell<Inner>>) -> Option<Closure<dyn FnMut()>> {
    match inner.borrow().store.unindexed() {
        Ok(0) => return None,
        Ok(_) => {}
        Err(e) => {
            worker::console_error!("could not read the search index's progress: {e}");
            return None;
        }
    }
    // The callback sets its own next timer, so it needs its own JS function: kept here once made.
    let itself: Rc<RefCell<Option<JsValue>>> = Rc::new(RefCell::new(None));
    let again = Rc::clone(&itself);
    let shared = Rc::clone(inner);
    let callback: Closure<dyn FnMut()> = Closure::new(move || {
        let more = shared.borrow().store.index_some(INDEX_BATCH);
        match more {
            Ok(true) => {
                if let Some(f) = again.borrow().as_ref() {
                    let _ = set_timeout(f, 0);
                }
            }
            Ok(false) => {}
            Err(e) => worker::console_error!("indexing older messages failed: {e}"),
        }
    });
    let function: JsValue = callback.as_ref().clone();
    if set_timeout(&function, 0).is_err() {
        worker::console_error!(
            "setTimeout failed; older messages stay unindexed until the next wake"
        );
    }
    *itself.borrow_mut() = Some(function);
    Some(callback)
}

/// The room's own timer ([`Effect::Wake`]): announces what it held back.
fn tick(inner: &RefCell<Inner>) {
    let inner = &mut *inner.borrow_mut();
    inner.tick_due = false;
    inner.tick_at = None;
    let now = now_ms();
    let effects = inner.room.tick(now);
    apply(inner, effects);
    sweep(inner, now);
}

/// Drops the sockets that fell silent ([`Room::sweep`]), when it is time to look. Runs only on events
/// the room has anyway: an idle room is left to hibernate.
fn sweep(inner: &mut Inner, now: u64) {
    if !inner.room.sweep_due(now) {
        return;
    }
    let state: &StateExt = inner.raw_state.unchecked_ref();
    let effects = inner.room.sweep(now, |ws| last_ping_ms(state, ws.as_ref()));
    apply(inner, effects);
}

/// When the runtime last answered `ping` on `ws` by itself (`getWebSocketAutoResponseTimestamp`: a
/// `Date`, or `null` if it never has).
fn last_ping_ms(state: &StateExt, ws: &worker::web_sys::WebSocket) -> Option<u64> {
    let at = state.auto_response_timestamp(ws).ok()?;
    if at.is_null() || at.is_undefined() {
        return None;
    }
    let ms = at.unchecked_ref::<js_sys::Date>().get_time();
    ms.is_finite().then_some(ms as u64)
}

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (`catch`: never expected to throw, but a throw must not panic).
    #[wasm_bindgen(js_name = setTimeout, catch)]
    fn set_timeout(callback: &JsValue, ms: i32) -> std::result::Result<JsValue, JsValue>;

    /// The runtime's `DurableObjectState`, seen only for what workers-rs does not wrap yet.
    type StateExt;
    /// The time of the last ping the runtime answered by itself on `ws` (the auto-response set in
    /// the constructor), kept by the runtime across hibernation. `catch`: an older runtime lacks it.
    #[wasm_bindgen(method, catch, js_name = getWebSocketAutoResponseTimestamp)]
    fn auto_response_timestamp(
        this: &StateExt,
        ws: &worker::web_sys::WebSocket,
    ) -> std::result::Result<JsValue, JsValue>;

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
///
/// With batched connections on the roster, [`delivery::arrange`] packs the turn's frames for them
/// first (one `send` each, the common batch converted to a JS string once); the effects then go out
/// one by one to the v1 connections only. Closes come after the batches, so a batched connection the
/// room closes still gets its last frames.
fn apply(inner: &mut Inner, effects: Vec<Effect>) {
    let room = &mut inner.room;
    let batched = room.batched() > 0;
    if batched {
        let turn = delivery::arrange(&effects, |id| room.is_batched(id));
        for (id, frame) in &turn.own {
            if let (Some(frame), Some(ws)) = (frame, room.socket(id)) {
                let _ = ws.send_with_str(frame);
            }
        }
        if let Some(common) = &turn.common {
            let common = JsValue::from_str(common);
            for (id, member) in room.members() {
                if member.framing == Framing::Batch && !turn.own.contains_key(id) {
                    let _ = member
                        .socket
                        .as_ref()
                        .unchecked_ref::<Socket>()
                        .send(&common);
                }
            }
        }
    }
    for effect in effects {
        match effect {
            Effect::Send { to, frame } => {
                if batched && room.is_batched(&to) {
                    continue;
                }
                if let Some(ws) = room.socket(&to) {
                    let _ = ws.send_with_str(&frame);
                }
            }
            Effect::Broadcast { except, frame } => {
                let frame = JsValue::from_str(&frame);
                for (id, member) in room.members() {
                    if Some(id) != except.as_deref() && member.framing == Framing::Single {
                        let _ = member
                            .socket
                            .as_ref()
                            .unchecked_ref::<Socket>()
                            .send(&frame);
                    }
                }
            }
            Effect::Close { to, code, reason } => {
                if let Some(ws) = room.take_closing(&to) {
                    let _ = ws.close(Some(code), Some(reason));
                }
            }
            // One tick timer at a time, unless a wake-up is wanted before it fires (a read mark held
            // for a second, while presence waits for several): the tick asks again for what is still
            // held back, and a tick with nothing due does nothing.
            Effect::Wake { after_ms } => {
                let at = now_ms() + after_ms;
                if !inner.tick_due || inner.tick_at.is_some_and(|t| at < t) {
                    if let Some(callback) = &inner.tick {
                        let delay = after_ms.min(i32::MAX as u64) as i32;
                        if set_timeout(callback, delay).is_ok() {
                            inner.tick_due = true;
                            inner.tick_at = Some(at);
                        }
                    }
                }
            }
        }
    }
}
