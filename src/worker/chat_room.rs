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

use super::chat_shard::ChatShard;
use super::hop;
use super::keys;
use super::links::{self, Line, Links};
use super::store::{Store, INDEX_BATCH};
use super::webhooks::{self, Hooks};
use super::{
    hex, json_response, load_config, now_ms, problem_response, random_bytes, read_attachment,
    refuse_socket, write_attachment,
};
use crate::access::{self, Credentials, Join};
use crate::api::Post;
use crate::attachment::Attachment;
use crate::call::RoomCall;
use crate::config::Config;
use crate::delivery;
use crate::domain::{Framing, User};
use crate::effect::{Effect, CLOSE_INTERNAL};
use crate::error::{ErrorCode, Problem};
use crate::protocol::ServerFrame;
use crate::room::{Incoming, Joining, Room};
use crate::routes::Target;
use crate::session::Expiries;
use crate::shard;
use crate::shard::call::ShardCall;
use crate::shard::placement::{check_placed, Placement};
use crate::shard::records::{read_up, Op, Up};
use crate::validate::RoomName;

/// How long after a wake connects wait for the shards' rosters, at most (then placement goes on
/// without the shards it knows nothing of), and how often they look.
const ROSTER_WAIT_MS: u64 = 2_000;
const ROSTER_LOOK_MS: u32 = 20;

/// `fetch` and `alarm` (webhook delivery): the socket events are the synchronous exports in the
/// `#[wasm_bindgen] impl` below.
#[durable_object(alarm)]
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
    /// When this object is a shard of a room (named `{room}#{k}`): it does all the work, and the rest
    /// of this struct stays empty and unused.
    shard: Option<ChatShard>,
}

pub(super) struct Inner {
    /// The roster, with each member's socket (here or on a shard): the one map of who is connected.
    pub(super) room: Room<Line>,
    /// The room's shards, when it has outgrown this object (`SHARD_SOCKETS`).
    pub(super) links: Links,
    /// Where the next sockets go.
    placement: Placement,
    pub(super) store: Store,
    /// The webhook outbox and receiver, when the deployment has a `WEBHOOK_URL`.
    pub(super) hooks: Option<Hooks>,
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
    /// When each connection's token expires: the sockets to close with 4401 `token_expired`.
    expiries: Expiries,
    /// The storage alarm as this incarnation set it (ms): for the next token expiry or the webhook
    /// outbox, whichever is first.
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
        let instance = random_bytes::<8>()
            .map(|b| hex(&b))
            .unwrap_or_else(|_| format!("t{now}"));
        let name = state.id().name().unwrap_or_default();
        if shard::parse_shard_name(&name).is_some() {
            return ChatRoom::hollow(state, env, config, instance);
        }
        let limits = config.limits.clone();
        let webhook = config.webhook.clone();
        let store = Store::open(state.storage().sql());
        let hooks = webhook.and_then(|w| Hooks::open(w, &store));
        let (last_seq, rev, shards) = store.head().unwrap_or_else(|e| {
            worker::console_error!("could not read the last seq and rev: {e}");
            (0, 0, 0)
        });
        let mut room = Room::new(name, limits, last_seq);
        room.set_rev(rev);
        room.set_webhooks(hooks.is_some());
        match store.rules(now) {
            Ok(rules) => room.set_rules(rules),
            Err(e) => worker::console_error!("could not read the moderation rules: {e}"),
        }
        let mut members = Vec::new();
        let mut expiries = Expiries::default();
        for ws in state.get_websockets() {
            let attachment = attachment_of(&ws);
            match attachment
                .as_ref()
                .and_then(|a| Some((a.user()?, a.joining())))
            {
                Some((user, kept)) => {
                    if let Some(exp) = kept.expires {
                        expiries.set(&user.id, closes_at(&config, exp));
                    }
                    members.push((user, Line::Local(ws), kept))
                }
                None => {
                    let _ = ws.close(Some(CLOSE_INTERNAL), Some("lost its attachment"));
                }
            }
        }
        room.restore(members, now);
        let inner = Rc::new(RefCell::new(Inner {
            room,
            links: Links::new(env, instance.clone(), shards, rev),
            placement: Placement::default(),
            store,
            hooks,
            flush_due: false,
            tick_due: false,
            tick: None,
            tick_at: None,
            raw_state: AsRef::<JsValue>::as_ref(state.as_raw()).clone(),
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
            start_tasks(&ticking);
        }));
        inner.borrow_mut().tick = Some(tick_callback.as_ref().as_ref().clone());
        let index_callback = start_indexing(&inner);
        // Events an earlier incarnation left undelivered (a crash, an eviction mid-delivery), and a
        // greeting for each shard of a room that has them (they answer with their rosters).
        start_tasks(&inner);
        ChatRoom {
            state,
            instance,
            started_at: now,
            inner,
            flush_callback: Closure::new(move || {
                flush(&shared);
                // The flush's webhook events, and one push per shard for the whole flush.
                start_tasks(&shared);
            }),
            _tick_callback: tick_callback,
            _index_callback: index_callback,
            shard: None,
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if let Some(shard) = &self.shard {
            return shard.fetch(req).await;
        }
        let url = req.inner().url();
        let target = Target::split(&url);
        let body = match req.method() {
            Method::Post => Some(req.text().await?),
            _ => None,
        };
        if let Some(call) = ShardCall::parse(target.path, target.query) {
            let response = match call {
                Ok(ShardCall::Up {
                    room,
                    shard,
                    session,
                    sync,
                }) => self.shard_up(&room, shard, session, sync, body.as_deref().unwrap_or("")),
                Ok(call @ (ShardCall::Info { .. } | ShardCall::Restart { .. })) => {
                    self.to_shard(&call).await
                }
                Ok(ShardCall::Push { .. }) => {
                    problem_response(&Problem::new(ErrorCode::NotFound, "not a sequencer call"))
                }
                Err(p) => problem_response(&p),
            };
            start_tasks(&self.inner);
            return response;
        }
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
        if matches!(call, RoomCall::Connect { .. }) {
            self.await_rosters().await;
        }
        let response = match call {
            RoomCall::Connect { room, join } => match self.place(&room) {
                Ok(0) => match self.open_socket(join) {
                    Ok(response) => Ok(response),
                    Err(p) => refuse_socket(&p),
                },
                Ok(k) => {
                    let headers = worker::Headers::new();
                    headers.set(shard::PLACED_HEADER, &k.to_string())?;
                    Ok(Response::empty()?.with_status(200).with_headers(headers))
                }
                Err(p) => refuse_socket(&p),
            },
            RoomCall::Info { operator, .. } => {
                let inner = self.inner.borrow();
                let mut info = serde_json::to_value(inner.room.info())?;
                info["instance"] = json!(self.instance);
                info["started_at"] = json!(self.started_at);
                info["sockets"] = json!(self.state.get_websockets().len());
                let mut shards = vec![json!({"shard": 0, "sockets": inner.room.local_count()})];
                let counts = inner.room.shard_counts();
                for k in 1..=inner.links.count() {
                    let sockets = counts.get(usize::from(k) - 1).copied().unwrap_or(0);
                    shards.push(json!({"shard": k, "sockets": sockets}));
                }
                info["shards"] = json!(shards);
                info["shard_calls"] = json!(inner.links.calls);
                info["shard_frames"] = json!(inner.links.frames);
                info["commits"] = serde_json::to_value(inner.room.commits())?;
                info["rev"] = json!(inner.room.rev());
                info["storage_bytes"] = json!(self.state.storage().sql().database_size());
                // The receiver's failures and last error are the operator's business, not every
                // reader's (the error may name the app's hosts).
                if let (Some(hooks), true) = (&inner.hooks, operator) {
                    info["webhooks"] = hooks.info(&inner.store);
                }
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
                    Ok(page) => json_response(
                        json!({"results": page.results, "has_more": page.has_more,
                            "next_before": page.next_before})
                        .to_string(),
                        200,
                    ),
                    Err(p) => problem_response(&p),
                }
            }
            RoomCall::Roster { after, limit, .. } => {
                let inner = self.inner.borrow();
                json_response(inner.room.roster(after.as_deref(), limit).to_string(), 200)
            }
            RoomCall::Versions {
                seq, before, limit, ..
            } => {
                let inner = self.inner.borrow();
                match inner.room.versions(&inner.store, seq, before, limit) {
                    Ok((deleted, versions, next)) => {
                        let mut page =
                            json!({"seq": seq, "deleted": deleted, "versions": versions});
                        // `next`: the `before=` of the older page, only when there is one.
                        if let Some(next) = next {
                            page["next"] = json!(next);
                        }
                        json_response(page.to_string(), 200)
                    }
                    Err(p) => problem_response(&p),
                }
            }
            RoomCall::Delete { seq, .. } => {
                let inner = &mut *self.inner.borrow_mut();
                let by = User::api(crate::api::DEFAULT_MODERATOR);
                let (result, effects) = inner.room.delete_api(by, seq, &mut inner.store, now_ms());
                apply(inner, effects);
                match result {
                    Ok(done) => json_response(
                        json!({"seq": done.seq, "rev": done.rev, "deleted": true}).to_string(),
                        200,
                    ),
                    Err(p) => problem_response(&p),
                }
            }
            RoomCall::Moderate { request, .. } => {
                let action = match request.action() {
                    Ok(action) => action,
                    Err(p) => return problem_response(&p),
                };
                let inner = &mut *self.inner.borrow_mut();
                let by = User::api(request.by());
                let (result, effects) =
                    inner
                        .room
                        .moderate_api(by, action, &mut inner.store, now_ms());
                apply(inner, effects);
                match result {
                    Ok(record) => json_response(json!({ "record": record }).to_string(), 200),
                    Err(p) => problem_response(&p),
                }
            }
            RoomCall::ModerationLog { before, limit, .. } => {
                let inner = self.inner.borrow();
                match inner
                    .room
                    .moderation_log(&inner.store, before, limit, None, now_ms())
                {
                    Ok(frame) => json_response(frame, 200),
                    Err(p) => problem_response(&p),
                }
            }
        };
        // A post, a deletion or a moderation may have recorded webhook events.
        start_tasks(&self.inner);
        response
    }

    /// The storage alarm, set for the earliest of the next token expiry and the webhook outbox's next
    /// delivery: closes the sockets whose token has expired, then delivers the outbox. The runtime
    /// wakes a hibernating room for it, which is the one wake-up a token's expiry (or an undelivered
    /// event) costs; a room with neither never sets it.
    async fn alarm(&self) -> Result<Response> {
        if self.shard.is_some() {
            return Response::empty();
        }
        {
            let inner = &mut *self.inner.borrow_mut();
            inner.alarm_at = None;
            close_expired(inner);
            if let Some(hooks) = inner.hooks.as_mut() {
                hooks.alarm(now_ms());
            }
            schedule_alarm(inner);
        }
        // Delivery runs as a task of its own, never awaited here (see `webhooks::start`).
        start_tasks(&self.inner);
        Response::empty()
    }
}

/// A socket's attachment (`None`: missing or unreadable).
fn attachment_of(ws: &WebSocket) -> Option<Attachment> {
    read_attachment(ws)
}

#[wasm_bindgen]
impl ChatRoom {
    /// A frame from one of the room's sockets.
    #[wasm_bindgen(js_name = webSocketMessage)]
    pub fn websocket_message(&self, ws: worker::web_sys::WebSocket, message: JsValue) {
        let ws = WebSocket::from(ws);
        if let Some(shard) = &self.shard {
            return shard.websocket_message(ws, message);
        }
        let text = message.as_string();
        let frame = match &text {
            Some(t) => Incoming::Text(t),
            None => Incoming::Binary(js_sys::Uint8Array::new(&message).length() as usize),
        };
        {
            let inner = &mut *self.inner.borrow_mut();
            let Some(conn_id) = identify(&self.state, inner, &ws) else {
                let _ = ws.close(Some(CLOSE_INTERNAL), Some("unknown connection"));
                return;
            };
            // A socket whose token has run out hears nothing more, and says nothing more.
            if close_expired(inner).contains(&conn_id) {
                return;
            }
            let now = now_ms();
            let effects = inner.room.receive(&conn_id, frame, now);
            apply(inner, effects);
            sweep(inner, now);
            self.flush_soon(inner);
        }
        start_tasks(&self.inner);
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
        if let Some(shard) = &self.shard {
            return shard.websocket_gone(&ws);
        }
        self.gone(&ws);
        start_tasks(&self.inner);
    }

    /// A socket failed.
    #[wasm_bindgen(js_name = webSocketError)]
    pub fn websocket_error(&self, ws: worker::web_sys::WebSocket, error: JsValue) {
        worker::console_log!("socket error: {error:?}");
        let ws = WebSocket::from(ws);
        if let Some(shard) = &self.shard {
            return shard.websocket_gone(&ws);
        }
        self.gone(&ws);
        start_tasks(&self.inner);
    }
}

impl ChatRoom {
    /// The object of a room's shard: a [`ChatShard`] does the work. The room's own parts are built
    /// empty (no schema, no queries): they only fill the struct.
    fn hollow(state: State, env: Env, config: Config, instance: String) -> ChatRoom {
        // A second handle on the same runtime state, for the shard to own.
        let raw = AsRef::<JsValue>::as_ref(state.as_raw()).clone();
        let own = State::from(raw.unchecked_into::<worker::worker_sys::DurableObjectState>());
        let shard = ChatShard::new(own, env.clone());
        let inner = Rc::new(RefCell::new(Inner {
            room: Room::new("", config.limits.clone(), 0),
            links: Links::new(env, instance.clone(), 0, 0),
            placement: Placement::default(),
            store: Store::unopened(state.storage().sql()),
            hooks: None,
            flush_due: false,
            tick_due: false,
            tick: None,
            tick_at: None,
            raw_state: JsValue::UNDEFINED,
            expiries: Expiries::default(),
            alarm_at: None,
            renewals: Vec::new(),
            config: Rc::new(config),
            storage: Rc::new(state.storage()),
        }));
        ChatRoom {
            state,
            instance,
            started_at: now_ms(),
            inner,
            flush_callback: Closure::new(|| {}),
            _tick_callback: Rc::new(Closure::new(|| {})),
            _index_callback: None,
            shard: Some(shard),
        }
    }

    /// Sets the flush timer when the room has queued work and none is set.
    fn flush_soon(&self, inner: &mut Inner) {
        if inner.room.has_pending() && !inner.flush_due {
            inner.flush_due = true;
            // setTimeout(0): the runtime delivers the events already waiting before the timer fires.
            if set_timeout(self.flush_callback.as_ref(), 0).is_err() {
                worker::console_error!("setTimeout failed; flushing at once");
                flush_now(inner);
            }
        }
    }

    /// After a wake the sequencer does not know who is on its shards until each has answered the
    /// hello push with its roster, a few milliseconds. Placement counts such a shard as full; so that
    /// a connect storm after a deploy does not open new shards needlessly, connects in the first
    /// moments wait for the rosters (other events go on meanwhile). A shard that never answers costs
    /// only those moments, not every connect.
    async fn await_rosters(&self) {
        while now_ms() < self.started_at + ROSTER_WAIT_MS {
            if self.inner.borrow().links.all_known() {
                return;
            }
            links::start(&self.inner);
            hop::sleep(ROSTER_LOOK_MS).await;
        }
    }

    /// Where a new socket goes: 0 for this object, `k` for shard `k` (the Worker then takes it there).
    fn place(&self, room: &RoomName) -> std::result::Result<u16, Problem> {
        let inner = &mut *self.inner.borrow_mut();
        inner.room.set_name(room.as_str());
        inner.room.admit()?;
        let links = &inner.links;
        let k = inner.placement.place(
            inner.room.local_count(),
            inner.room.shard_counts(),
            |k| links.known(k),
            inner.config.limits.shard_sockets,
            now_ms(),
        )?;
        if k > 0 {
            ensure_shard(inner, k);
        }
        Ok(k)
    }

    /// A shard's diagnostics or restart, passed on to a shard placement opened; `not_found` for any
    /// other (whose object is then never created).
    async fn to_shard(&self, call: &ShardCall) -> Result<Response> {
        let stub = {
            let inner = self.inner.borrow();
            if let Err(p) = check_placed(call.shard(), inner.links.count()) {
                return problem_response(&p);
            }
            inner.links.stub(call.room(), call.shard())?
        };
        let method = match call {
            ShardCall::Info { .. } => "GET",
            _ => "POST",
        };
        hop::call(&stub, method, &call.url(), None, None).await
    }

    /// Shard `k`'s up records: its sockets' joins, frames and leaves, in their order (and first, in a
    /// `sync`, its whole roster). Refused with 409 when the sequencer does not hold the roster of the
    /// shard's incarnation `session`: the shard then sends it.
    fn shard_up(
        &self,
        room: &RoomName,
        k: u16,
        session: String,
        sync: bool,
        body: &str,
    ) -> Result<Response> {
        let records = match read_up(body) {
            Ok(records) => records,
            Err(p) => return problem_response(&p),
        };
        let inner = &mut *self.inner.borrow_mut();
        inner.room.set_name(room.as_str());
        // Only placement opens a shard: an object that calls itself shard k of this room without
        // having been placed is refused, and the room does not grow (the shard then gives up).
        if let Err(p) = check_placed(k, inner.links.count()) {
            return problem_response(&p);
        }
        if !sync && inner.links.session(k) != Some(session.as_str()) {
            return json_response(r#"{"sync":true}"#.to_string(), 409);
        }
        inner.links.frames += records.len() as u64;
        let now = now_ms();
        let expired = close_expired(inner);
        let member = |attachment: &str| -> Option<Attachment> {
            serde_json::from_str::<Attachment>(attachment)
                .ok()
                .filter(|a| a.user().is_some())
        };
        if sync {
            // Every N and J record of a sync is the shard's roster: whoever the sequencer placed on
            // it and is not there any more is gone (the shard restarted without them).
            let ids: Vec<String> = records
                .iter()
                .filter_map(|r| match r {
                    Up::Member { attachment } | Up::Join { attachment, .. } => {
                        member(attachment).map(|a| a.id)
                    }
                    _ => None,
                })
                .collect();
            // `Vec<&str>`: its sort is the one the moderation view already has in the wasm.
            let mut listed: Vec<&str> = ids.iter().map(String::as_str).collect();
            listed.sort_unstable();
            let gone: Vec<String> = inner
                .room
                .on_shard(k)
                .filter(|id| listed.binary_search(id).is_err())
                .map(str::to_string)
                .collect();
            for conn_id in gone {
                inner.expiries.remove(&conn_id);
                let effects = inner.room.leave(&conn_id, now);
                apply(inner, effects);
            }
            inner.links.set_session(k, session);
        }
        let mut expiry_set = false;
        for record in records {
            match record {
                Up::Member { attachment } => {
                    let Some(a) = member(attachment) else {
                        continue;
                    };
                    if inner.room.has(&a.id) {
                        continue;
                    }
                    let kept = a.joining();
                    if let Some(user) = a.into_user() {
                        let id = user.id.clone();
                        inner.room.restore([(user, Line::Shard(k), kept)], now);
                        if let Some(exp) = kept.expires {
                            inner.expiries.set(&id, closes_at(&inner.config, exp));
                            expiry_set = true;
                        }
                    }
                }
                Up::Join {
                    attachment,
                    after,
                    since,
                } => {
                    let Some(a) = member(attachment) else {
                        continue;
                    };
                    // A join this incarnation has already taken is a repeat: a sync names the sockets
                    // still waiting for their welcome again, and an up request that failed after it
                    // was carried out is sent again. Its welcome is on the way, and its place was
                    // counted: joining it twice would send a second welcome and free a place that is
                    // still taken. (Connection ids are random per socket: only a repeat names one again.)
                    if inner.room.has(&a.id) {
                        continue;
                    }
                    inner.placement.arrived(k);
                    let joining = Joining {
                        after,
                        since,
                        framing: a.framing,
                        role: a.role,
                        expires: a.exp,
                        address: a.address(),
                    };
                    let Some(user) = a.into_user() else { continue };
                    let id = user.id.clone();
                    match inner
                        .room
                        .join(user, Line::Shard(k), joining, &inner.store, now)
                    {
                        Ok(effects) => {
                            apply(inner, effects);
                            if let Some(exp) = joining.expires {
                                inner.expiries.set(&id, closes_at(&inner.config, exp));
                                expiry_set = true;
                            }
                        }
                        Err(p) => {
                            refuse(&mut inner.links, &Line::Shard(k), &id, p.code, &p.message)
                        }
                    }
                }
                Up::Text { conn, .. } | Up::Binary { conn, .. }
                    if expired.iter().any(|e| e == conn) => {}
                Up::Text { conn, .. } | Up::Binary { conn, .. } if !inner.room.has(conn) => {
                    inner.links.queue(
                        k,
                        &Op::Close {
                            to: conn,
                            code: CLOSE_INTERNAL,
                            reason: "unknown connection",
                        },
                    );
                }
                Up::Text { conn, text } => {
                    let effects = inner.room.receive(conn, Incoming::Text(text), now);
                    apply(inner, effects);
                }
                Up::Binary { conn, len } => {
                    let effects = inner.room.receive(conn, Incoming::Binary(len), now);
                    apply(inner, effects);
                }
                Up::Leave { conn } => {
                    inner.expiries.remove(conn);
                    let effects = inner.room.leave(conn, now);
                    apply(inner, effects);
                }
            }
        }
        if expiry_set {
            schedule_alarm(inner);
        }
        sweep(inner, now);
        self.flush_soon(inner);
        json_response(r#"{"ok":true}"#.to_string(), 200)
    }

    /// `Connect`: the Worker has checked room, name, access, origin and `after`. Accept the socket as
    /// hibernatable, remember who it is, and welcome it — or say why not (`room_full`, …), on a socket
    /// the caller refuses.
    fn open_socket(&self, join: Join) -> std::result::Result<Response, Problem> {
        let inner = &mut *self.inner.borrow_mut();
        // Before the welcome: its roster and count leave out whoever has silently gone.
        sweep(inner, now_ms());
        inner.room.admit()?;
        let user = User::connection(
            hex(&random_bytes::<8>()?),
            join.name.into_string(),
            join.uid,
        );
        let pair = WebSocketPair::new().map_err(internal)?;
        let resume = Joining {
            after: join.after,
            since: join.since,
            framing: join.framing,
            role: join.role,
            expires: join.expires,
            address: join.address,
        };
        let effects = inner.room.join(
            user.clone(),
            Line::Local(pair.server.clone()),
            resume,
            &inner.store,
            now_ms(),
        )?;
        self.state
            .accept_websocket_with_tags(&pair.server, &[user.id.as_str()]);
        let attachment = Attachment::of(&user, join.role, join.expires)
            .framed(join.framing)
            .from_address(join.address);
        if let Err(e) = write_attachment(&pair.server, &attachment) {
            inner.room.leave(&user.id, now_ms());
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
        let from = User::api(&post.name);
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
fn identify(state: &State, inner: &mut Inner, ws: &WebSocket) -> Option<String> {
    let id = state.get_tags(ws).into_iter().next()?;
    if !inner.room.has(&id) {
        // Only an open socket is re-admitted; one the room has closed (1009) is on its way out.
        if ws.as_ref().ready_state() != worker::web_sys::WebSocket::OPEN {
            return None;
        }
        let attachment = attachment_of(ws)?;
        let kept = attachment.joining();
        let user = attachment.into_user()?;
        if user.id != id {
            return None;
        }
        // All of it, as the constructor restores it: a moderator stays one, a token still expires.
        inner
            .room
            .restore([(user, Line::Local(ws.clone()), kept)], now_ms());
        if let Some(exp) = kept.expires {
            inner.expiries.set(&id, closes_at(&inner.config, exp));
            schedule_alarm(inner);
        }
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
    let effects = inner.room.sweep(now, |line| match line {
        Line::Local(ws) => last_ping_ms(state, ws.as_ref()),
        // A shard's sockets: the shard would have to ask the runtime (not done; see SCALING.md).
        Line::Shard(_) => None,
    });
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
///
/// Sockets on shards are not this object's to send to: their effects go into the shards' outboxes
/// as they are (a broadcast once per shard), and [`links::start`] pushes them after the turn. Only
/// this object's own sockets are walked, so a broadcast costs O(own sockets + shards).
fn apply(inner: &mut Inner, effects: Vec<Effect>) {
    let room = &mut inner.room;
    let local = |room: &Room<Line>, id: &str| matches!(room.socket(id), Some(Line::Local(_)));
    let batched = room.batched() > 0;
    if batched {
        let turn = delivery::arrange(&effects, |id| room.is_batched(id) && local(room, id));
        for (id, frame) in &turn.own {
            if let (Some(frame), Some(Line::Local(ws))) = (frame, room.socket(id)) {
                let _ = ws.send_with_str(frame);
            }
        }
        if let Some(common) = &turn.common {
            let common = JsValue::from_str(common);
            for (id, member) in room.local_members() {
                if member.framing == Framing::Batch && !turn.own.contains_key(id) {
                    if let Line::Local(ws) = &member.socket {
                        let _ = ws.as_ref().unchecked_ref::<Socket>().send(&common);
                    }
                }
            }
        }
    }
    let mut outbox_grew = false;
    for effect in effects {
        match &effect {
            Effect::Send { to, frame } => match room.socket(to) {
                Some(Line::Local(ws)) if !(batched && room.is_batched(to)) => {
                    let _ = ws.send_with_str(frame);
                }
                Some(Line::Local(_)) => {}
                Some(Line::Shard(k)) => links::route(&mut inner.links, *k, &effect),
                None => {}
            },
            Effect::Broadcast { except, frame } => {
                if room.local_count() > 0 {
                    let frame = JsValue::from_str(frame);
                    for (id, member) in room.local_members() {
                        if Some(id) != except.as_deref() && member.framing == Framing::Single {
                            if let Line::Local(ws) = &member.socket {
                                let _ = ws.as_ref().unchecked_ref::<Socket>().send(&frame);
                            }
                        }
                    }
                }
                if inner.links.count() > 0 {
                    let counts = room.shard_counts();
                    let placement = &inner.placement;
                    inner.links.broadcast(except.as_deref(), frame, |k| {
                        counts.get(usize::from(k) - 1).is_some_and(|&n| n > 0)
                            || placement.expects(k)
                    });
                }
            }
            Effect::Close { to, code, reason } => match room.take_closing(to) {
                Some(Line::Local(ws)) => {
                    let _ = ws.close(Some(*code), Some(*reason));
                }
                Some(Line::Shard(k)) => links::route(&mut inner.links, k, &effect),
                None => {}
            },
            Effect::Event { body } => {
                if let Some(hooks) = inner.hooks.as_mut() {
                    hooks.record(&inner.store, body);
                    outbox_grew = true;
                }
            }
            Effect::Authenticate { to, token, id } => {
                inner.renewals.push((to.clone(), token.clone(), id.clone()))
            }
            // One tick timer at a time, unless a wake-up is wanted before it fires (a read mark held
            // for a second, while presence waits for several): the tick asks again for what is still
            // held back, and a tick with nothing due does nothing.
            Effect::Wake { after_ms } => {
                let at = now_ms() + after_ms;
                if !inner.tick_due || inner.tick_at.is_some_and(|t| at < t) {
                    if let Some(callback) = &inner.tick {
                        let delay = (*after_ms).min(i32::MAX as u64) as i32;
                        if set_timeout(callback, delay).is_ok() {
                            inner.tick_due = true;
                            inner.tick_at = Some(at);
                        }
                    }
                }
            }
        }
    }
    if outbox_grew {
        schedule_alarm(inner);
    }
}

/// Makes sure the room knows shard `k`, recording a new one in storage (a wake must still reach it).
fn ensure_shard(inner: &mut Inner, k: u16) {
    if inner.links.ensure(k) {
        if let Err(e) = inner.store.set_shards(k) {
            worker::console_error!("could not record shard {k}: {e}");
        }
    }
}

/// Sends `frame` to connection `conn_id`, wherever its socket is.
fn send_to(inner: &mut Inner, conn_id: &str, frame: &str) {
    match inner.room.socket(conn_id) {
        Some(Line::Local(ws)) => {
            let _ = ws.send_with_str(frame);
        }
        Some(Line::Shard(k)) => {
            let k = *k;
            inner.links.queue(k, &Op::Send { to: conn_id, frame });
        }
        None => {}
    }
}

/// Refuses connection `conn_id` on `line`: an `error` frame with `code` and `message`, then a close
/// with the code's close code — on this object's socket, or through its shard's outbox.
fn refuse(links: &mut Links, line: &Line, conn_id: &str, code: ErrorCode, message: &str) {
    let frame = ServerFrame::Error {
        code,
        message,
        id: None,
    }
    .to_json();
    match line {
        Line::Local(ws) => {
            let _ = ws.send_with_str(&frame);
            // From the alarm handler the close frame goes out at once, but local workerd ends the
            // TCP connection only ~10 s later (when the object hibernates); a client sees the close
            // frame (CLOSING) at once, and the page acts on the error frame without waiting.
            let _ = ws.close(Some(code.close_code()), Some(code.as_str()));
        }
        Line::Shard(k) => {
            links.queue(
                *k,
                &Op::Send {
                    to: conn_id,
                    frame: &frame,
                },
            );
            links.queue(
                *k,
                &Op::Close {
                    to: conn_id,
                    code: code.close_code(),
                    reason: code.as_str(),
                },
            );
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
        if let Some(line) = inner.room.socket(conn_id).cloned() {
            refuse(
                &mut inner.links,
                &line,
                conn_id,
                ErrorCode::TokenExpired,
                "your token has expired; reconnect with a fresh one",
            );
        }
        let effects = inner.room.leave(conn_id, now_ms());
        apply(inner, effects);
    }
    // Only when something expired: this runs on every event, and finding the next expiry is a scan.
    if !expired.is_empty() {
        schedule_alarm(inner);
    }
    expired
}

/// Sets the storage alarm for the earliest of the next token expiry and the webhook outbox's next
/// delivery, when that differs from the alarm set. One alarm serves both: a Durable Object has only
/// one. An alarm that is no longer needed is not deleted: it fires once, finds nothing to do and sets
/// no other.
pub(super) fn schedule_alarm(inner: &mut Inner) {
    let expiry = inner
        .expiries
        .next_expiry()
        .map(|secs| secs.saturating_mul(1000));
    let outbox = inner.hooks.as_ref().and_then(Hooks::due_at);
    let next = match (expiry, outbox) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if next == inner.alarm_at {
        return;
    }
    inner.alarm_at = next;
    let Some(ms) = next else {
        return;
    };
    let storage = Rc::clone(&inner.storage);
    // `setAlarm` returns a promise; the call itself happens when the task first runs, in a microtask
    // of this same turn. (A plain number would be an offset from now: a time needs a `Date`.)
    wasm_bindgen_futures::spawn_local(async move {
        let at = js_sys::Date::new(&JsValue::from_f64(ms as f64));
        if let Err(e) = storage.set_alarm(worker::ScheduledTime::new(at)).await {
            worker::console_error!("could not set the alarm: {e}");
        }
    });
}

/// Starts what the last event left for tasks of their own: token checks (`auth` frames), webhook
/// delivery, pushes to the shards. Each does nothing when nothing waits, and no handler awaits them.
fn start_tasks(shared: &Rc<RefCell<Inner>>) {
    start_renewals(shared);
    webhooks::start(shared);
    links::start(shared);
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
    renewed(&mut shared.borrow_mut(), &conn_id, checked, id);
    // A socket on a shard gets its answer (and its new attachment) through the shard's outbox.
    start_tasks(&shared);
}

/// Carries out a renewal's verdict on connection `conn_id`.
fn renewed(
    inner: &mut Inner,
    conn_id: &str,
    checked: std::result::Result<crate::session::Session, Problem>,
    id: Option<String>,
) {
    let conn_id = conn_id.to_string();
    let (Some(line), Some(user)) = (
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
            inner.room.set_role(&conn_id, session.role);
            let attachment = Attachment::of(&user, session.role, Some(session.exp)).framed(
                if inner.room.is_batched(&conn_id) {
                    Framing::Batch
                } else {
                    Framing::Single
                },
            );
            match &line {
                Line::Local(ws) => {
                    if let Err(e) = write_attachment(ws, &attachment) {
                        worker::console_error!("could not update the attachment: {e}");
                    }
                }
                Line::Shard(k) => {
                    if let Ok(json) = serde_json::to_string(&attachment) {
                        inner.links.queue(
                            *k,
                            &Op::Attach {
                                to: &conn_id,
                                attachment: &json,
                            },
                        );
                    }
                }
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
    send_to(inner, &conn_id, &frame);
}
