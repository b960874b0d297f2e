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

use super::keys;
use super::store::Store;
use super::{
    hex, json_response, load_config, now_ms, problem_response, random_bytes, refuse_socket,
};
use crate::access::{self, Credentials, Join};
use crate::api::Post;
use crate::attachment::Attachment;
use crate::call::RoomCall;
use crate::config::Config;
use crate::error::{ErrorCode, Problem};
use crate::protocol::{ServerFrame, User};
use crate::room::{Effect, Incoming, Resume, Room, CLOSE_INTERNAL};
use crate::routes::Target;
use crate::session::Expiries;
use crate::validate::RoomName;

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
    /// When each connection's token expires: the sockets to close with 4401 `token_expired`.
    expiries: Expiries,
    /// The storage alarm set for the next expiry (Unix seconds), as far as this incarnation knows.
    alarm_at: Option<u64>,
    /// `auth` frames waiting to be verified (connection, token, frame id): verification may fetch
    /// the JWKS, so it runs as a task after the event that produced it.
    renewals: Vec<(String, String, Option<String>)>,
    config: Rc<Config>,
    /// Shared with the renewal tasks, which set the alarm for a renewed token.
    storage: Rc<worker::Storage>,
}

impl DurableObject for ChatRoom {
    fn new(state: State, env: Env) -> Self {
        let now = now_ms();
        match worker::WebSocketRequestResponsePair::new("ping", "pong") {
            Ok(pair) => state.set_websocket_auto_response(&pair),
            Err(e) => worker::console_error!("auto-response not set: {e:?}"),
        }
        let config = load_config(&env).unwrap_or_else(|p| {
            worker::console_error!("bad configuration, using the defaults: {}", p.message);
            Config::default()
        });
        let limits = config.limits.clone();
        let store = Store::open(state.storage().sql());
        let (last_seq, rev) = store.head().unwrap_or_else(|e| {
            worker::console_error!("could not read the last seq and rev: {e}");
            (0, 0)
        });
        let name = state.id().name().unwrap_or_default();
        let mut room = Room::new(name, limits, last_seq);
        room.set_rev(rev);
        let mut members = Vec::new();
        let mut expiries = Expiries::default();
        for ws in state.get_websockets() {
            let attachment = attachment_of(&ws);
            match attachment.as_ref().and_then(Attachment::user) {
                Some(user) => {
                    if let Some(exp) = attachment.and_then(|a| a.exp) {
                        expiries.set(&user.id, closes_at(&config, exp));
                    }
                    members.push((user, ws))
                }
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
            expiries,
            alarm_at: None,
            renewals: Vec::new(),
            config: Rc::new(config),
            storage: Rc::new(state.storage()),
        }));
        let shared = Rc::clone(&inner);
        let ticking = Rc::clone(&inner);
        let tick_callback: Rc<Closure<dyn FnMut()>> = Rc::new(Closure::new(move || {
            tick(&ticking);
            start_renewals(&ticking);
        }));
        inner.borrow_mut().tick = Some(tick_callback.as_ref().as_ref().clone());
        ChatRoom {
            state,
            instance: random_bytes::<8>()
                .map(|b| hex(&b))
                .unwrap_or_else(|_| format!("t{now}")),
            started_at: now,
            inner,
            flush_callback: Closure::new(move || {
                flush(&shared);
                start_renewals(&shared);
            }),
            _tick_callback: tick_callback,
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
        {
            let inner = &mut *self.inner.borrow_mut();
            inner.room.set_name(call.room().as_str());
            // A post or a join is broadcast: a socket whose token has run out must not hear it.
            close_expired(inner);
        }
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

/// A socket's attachment (`None`: missing or unreadable).
fn attachment_of(ws: &WebSocket) -> Option<Attachment> {
    ws.deserialize_attachment::<Attachment>().ok().flatten()
}

/// The member a socket's attachment describes (`None`: missing, unreadable, or a newer version).
fn member_of(ws: &WebSocket) -> Option<User> {
    attachment_of(ws).and_then(Attachment::into_user)
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
        {
            let inner = &mut *self.inner.borrow_mut();
            let Some(conn_id) = identify(&self.state, &mut inner.room, &ws) else {
                let _ = ws.close(Some(CLOSE_INTERNAL), Some("unknown connection"));
                return;
            };
            // A socket whose token has run out hears nothing more, and says nothing more.
            if close_expired(inner).contains(&conn_id) {
                return;
            }
            let effects = inner.room.receive(&conn_id, frame, now_ms());
            apply(inner, effects);
            if inner.room.has_pending() && !inner.flush_due {
                inner.flush_due = true;
                // setTimeout(0): the runtime delivers the events already waiting before the timer fires.
                if set_timeout(self.flush_callback.as_ref(), 0).is_err() {
                    worker::console_error!("setTimeout failed; flushing at once");
                    flush_now(inner);
                }
            }
        }
        start_renewals(&self.inner);
    }

    /// The storage alarm, set for the earliest token expiry: closes the sockets whose token has
    /// expired and sets the alarm for the next one. The runtime wakes a hibernating room for it, which
    /// is the one wake-up a token's expiry costs; a room without tokens never sets it.
    #[wasm_bindgen(js_name = alarm)]
    pub fn alarm(&self) {
        let inner = &mut *self.inner.borrow_mut();
        inner.alarm_at = None;
        close_expired(inner);
        // Also when nothing expired (a renewal moved the expiry): the next one needs its alarm.
        schedule_alarm(inner);
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
        inner.room.admit()?;
        let user = User {
            id: hex(&random_bytes::<8>()?),
            name: join.name.into_string(),
            uid: join.uid,
        };
        let pair = WebSocketPair::new().map_err(internal)?;
        let resume = Resume {
            after: join.after,
            since: join.since,
            role: join.role,
            expires: join.expires,
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
        let attachment = Attachment::of(&user, join.role, join.expires);
        if let Err(e) = pair.server.serialize_attachment(attachment) {
            inner.room.leave(&user.id);
            let _ = pair
                .server
                .close(Some(CLOSE_INTERNAL), Some("could not attach"));
            return Err(internal(e));
        }
        apply(inner, effects);
        if let Some(exp) = join.expires {
            inner.expiries.set(&user.id, closes_at(&inner.config, exp));
            schedule_alarm(inner);
        }
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
        inner.expiries.remove(&conn_id);
        let effects = inner.room.leave(&conn_id);
        apply(inner, effects);
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
        let user = member_of(ws)?;
        if user.id != id {
            return None;
        }
        room.restore([(user, ws.clone())], now_ms());
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

/// The room's own timer ([`Effect::Wake`]): announces what it held back.
fn tick(inner: &RefCell<Inner>) {
    let inner = &mut *inner.borrow_mut();
    inner.tick_due = false;
    let effects = inner.room.tick(now_ms());
    apply(inner, effects);
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
fn apply(inner: &mut Inner, effects: Vec<Effect>) {
    let room = &mut inner.room;
    for effect in effects {
        match effect {
            Effect::Send { to, frame } => {
                if let Some(ws) = room.socket(&to) {
                    let _ = ws.send_with_str(&frame);
                }
            }
            Effect::Broadcast { except, frame } => {
                let frame = JsValue::from_str(&frame);
                for (id, ws) in room.sockets() {
                    if Some(id) != except.as_deref() {
                        let _ = ws.as_ref().unchecked_ref::<Socket>().send(&frame);
                    }
                }
            }
            Effect::Close { to, code, reason } => {
                if let Some(ws) = room.take_closing(&to) {
                    let _ = ws.close(Some(code), Some(reason));
                }
            }
            Effect::Authenticate { to, token, id } => inner.renewals.push((to, token, id)),
            // One tick timer at a time: the tick itself asks again for what is still held back.
            Effect::Wake { after_ms } => {
                if !inner.tick_due {
                    if let Some(callback) = &inner.tick {
                        let delay = after_ms.min(i32::MAX as u64) as i32;
                        inner.tick_due = set_timeout(callback, delay).is_ok();
                    }
                }
            }
        }
    }
}

/// When a socket whose token expires at `exp` is closed: once the clock skew a token is allowed at the
/// door (`JWT_LEEWAY_SECS`) has passed too, so a token is never let in only to be closed at once.
fn closes_at(config: &Config, exp: u64) -> u64 {
    exp.saturating_add(config.jwt.leeway_secs)
}

/// Closes every socket whose token has expired: an `error` frame `token_expired`, then close 4401 (the
/// page renews its token and reconnects); the others hear it leave. Then sets the alarm for the next
/// expiry. Returns the connections it closed. Cheap when nothing expired (no scan).
fn close_expired(inner: &mut Inner) -> Vec<String> {
    let expired = inner.expiries.take_expired(now_ms() / 1000);
    for conn_id in &expired {
        if let Some(ws) = inner.room.socket(conn_id).cloned() {
            let frame = ServerFrame::Error {
                code: ErrorCode::TokenExpired,
                message: "your token has expired; reconnect with a fresh one",
                id: None,
            };
            let _ = ws.send_with_str(frame.to_json());
            // From the alarm handler the close frame goes out at once, but local workerd ends the
            // TCP connection only ~10 s later (when the object hibernates); a client sees the close
            // frame (CLOSING) at once, and the page renews on the error frame without waiting.
            let code = ErrorCode::TokenExpired;
            let _ = ws.close(Some(code.close_code()), Some(code.as_str()));
        }
        let effects = inner.room.leave(conn_id);
        apply(inner, effects);
    }
    // Only when something expired: this runs on every event, and finding the next expiry is a scan.
    if !expired.is_empty() {
        schedule_alarm(inner);
    }
    expired
}

/// Sets the storage alarm for the earliest token expiry, when it differs from the one set. An alarm
/// that is no longer needed (every socket with a token left) is not deleted: it fires once, finds
/// nothing expired and sets no other.
fn schedule_alarm(inner: &mut Inner) {
    let next = inner.expiries.next_expiry();
    if next == inner.alarm_at {
        return;
    }
    inner.alarm_at = next;
    let Some(secs) = next else {
        return;
    };
    let storage = Rc::clone(&inner.storage);
    wasm_bindgen_futures::spawn_local(async move {
        let at = js_sys::Date::new(&JsValue::from_f64(secs as f64 * 1000.0));
        if let Err(e) = storage.set_alarm(worker::ScheduledTime::new(at)).await {
            worker::console_error!("could not set the expiry alarm: {e}");
        }
    });
}

/// Starts a verification task for every `auth` frame the last event produced.
fn start_renewals(shared: &Rc<RefCell<Inner>>) {
    let renewals = std::mem::take(&mut shared.borrow_mut().renewals);
    for (conn_id, token, id) in renewals {
        wasm_bindgen_futures::spawn_local(renew(Rc::clone(shared), conn_id, token, id));
    }
}

/// Verifies a token a live socket presented (`auth`), exactly as at the door, for the same author;
/// then moves the socket's expiry (memory, attachment, alarm) and answers `auth_ok`, or answers the
/// error and leaves the socket as it was (its current token still runs until it expires).
async fn renew(shared: Rc<RefCell<Inner>>, conn_id: String, token: String, id: Option<String>) {
    let (config, room, uid) = {
        let inner = shared.borrow();
        let uid = inner.room.user(&conn_id).and_then(|u| u.uid.clone());
        (
            Rc::clone(&inner.config),
            inner.room.info().room.to_string(),
            uid,
        )
    };
    let checked = async {
        let room = RoomName::parse(&room)?;
        let credentials = Credentials::token(&token);
        let admission = access::may_enter(&config, &room, &credentials, false, now_ms() / 1000)?;
        let entry = keys::settle(&config, admission).await?;
        access::check_renewal(uid.as_deref(), &entry)
    }
    .await;
    let inner = &mut *shared.borrow_mut();
    let (Some(ws), Some(user)) = (
        inner.room.socket(&conn_id).cloned(),
        inner.room.user(&conn_id).cloned(),
    ) else {
        return; // it left meanwhile
    };
    let frame = match checked {
        Ok(session) => {
            inner
                .expiries
                .set(&conn_id, closes_at(&inner.config, session.exp));
            let attachment = Attachment::of(&user, session.role, Some(session.exp));
            if let Err(e) = ws.serialize_attachment(attachment) {
                worker::console_error!("could not update the attachment: {e}");
            }
            schedule_alarm(inner);
            ServerFrame::AuthOk {
                id: id.as_deref(),
                role: session.role,
                expires: session.exp,
            }
            .to_json()
        }
        Err(p) => ServerFrame::Error {
            code: p.code,
            message: &p.message,
            id: id.as_deref(),
        }
        .to_json(),
    };
    let _ = ws.send_with_str(&frame);
}
