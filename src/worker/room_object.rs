//! A room's own object: the `ChatRoom` kind ([`super::object`]) that holds the room's sockets with the
//! WebSocket Hibernation API, turns each runtime event into calls on the pure [`Room`] and carries
//! out the [`Effect`]s ([`super::room_state`]); for a large room it is also the sequencer of its shards
//! ([`super::sequencing`]).
//!
//! What survives hibernation: the messages (SQLite), and each socket's member (an [`Attachment`],
//! versioned apart from the wire `User`; its connection id is also the socket's tag). The constructor
//! rebuilds the roster from `get_websockets()` after every wake, so nothing that matters lives only in
//! memory.
//!
//! Group commit: a message is queued by the room and stored by [`flush_now`], which runs on a
//! zero-delay timer set by the first message that finds the queue empty. Every message that arrives
//! before the timer fires is written in that one turn, so the runtime commits them in one SQLite
//! transaction (one `fsync`), and the frames sent after the writes are held by the output gate until
//! that commit is durable.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::json;
use wasm_bindgen::prelude::*;
use worker::{Env, Method, Request, Response, Result, State, WebSocket, WebSocketPair};

use super::bucket;
use super::doomed::{self, Doomed};
use super::hop;
use super::links::{self, Line, Links};
use super::previews;
use super::renewal;
use super::room_inboxes::{self, Inboxes};
use super::room_state::{
    apply, close_expired, flush_now, flush_soon, schedule_alarm, screen, set_timeout, sweep, tick,
    Inner,
};
use super::screener;
use super::sequencing;
use super::store::{Store, INDEX_BATCH};
use super::webhooks::{self, Hooks};
use super::{
    hex, internal, json_response, load_config, now_ms, problem_response, random_bytes,
    read_attachment, refuse_socket, write_attachment,
};
use crate::access::Join;
use crate::api::Post;
use crate::attachment::Attachment;
use crate::call::RoomCall;
use crate::config::Config;
use crate::domain::User;
use crate::effect::{Effect, CLOSE_INTERNAL};
use crate::error::Problem;
use crate::export;
use crate::files::log::FileLog;
use crate::room::{post_answer, Draft, Hook, Incoming, Joining, Room};
use crate::routes::Target;
use crate::shard;
use crate::shard::call::ShardCall;
use crate::shard::sequencer::{Placed, Sequencer};

/// How long after a wake connects wait for the shards' rosters, at most (then placement goes on
/// without the shards it knows nothing of), and how often they look.
const ROSTER_WAIT_MS: u64 = 2_000;
const ROSTER_LOOK_MS: u32 = 20;

/// The room kind of `ChatRoom` object.
pub struct RoomObject {
    state: State,
    /// Random per construction: changes when the object is rebuilt after hibernation or eviction.
    instance: String,
    started_at: u64,
    /// Shared with the timers' callbacks and the tasks.
    inner: Rc<RefCell<Inner>>,
    /// The flush timer's callback, made once: a JS closure per timer would cost a wrapper to create
    /// and one to drop for every batch. Only owned here, to keep it alive: the timers reach it through
    /// the JS function kept in `Inner::flush`.
    _flush_callback: Closure<dyn FnMut()>,
    /// The callback of the room's own timers ([`Effect::Wake`]: held-back read marks). Only owned here,
    /// to keep it alive: the timers reach it through the JS function kept in `Inner::tick`.
    _tick_callback: Rc<Closure<dyn FnMut()>>,
    /// While a room from before the search index still has messages to index: the callback of the
    /// timer that indexes them a batch per turn ([`start_indexing`]). Only owned here.
    _index_callback: Option<Closure<dyn FnMut()>>,
}

impl RoomObject {
    pub fn new(state: State, env: Env, name: String) -> Self {
        let now = now_ms();
        let config = load_config(&env).unwrap_or_else(|p| {
            worker::console_error!("bad configuration, using the defaults: {}", p.message);
            Config::default()
        });
        let instance = random_bytes::<8>()
            .map(|b| hex(&b))
            .unwrap_or_else(|_| format!("t{now}"));
        let limits = config.limits.clone();
        let webhook = config.webhook.clone();
        let store = Store::open(state.storage().sql());
        store.keep_name(&name);
        let hooks = webhook.and_then(|w| Hooks::open(w, &store));
        let (last_seq, rev, shards) = store.head().unwrap_or_else(|e| {
            worker::console_error!("could not read the last seq and rev: {e}");
            (0, 0, 0)
        });
        let mut room = Room::new(name, limits, last_seq);
        room.set_rev(rev);
        room.set_webhooks(hooks.is_some());
        room.set_hook(config.moderation.as_ref().map(|m| Hook {
            timeout_ms: m.timeout_ms,
            fail: m.fail,
        }));
        // A socket whose token expires at `exp` is closed once the clock skew a token is allowed at
        // the door has passed too, so a token is never let in only to be closed at once.
        room.set_expiry_grace(config.jwt.leeway_secs);
        match store.rules(now) {
            Ok(rules) => room.set_rules(rules),
            Err(e) => worker::console_error!("could not read the moderation rules: {e}"),
        }
        // After the rules: the room's own retention setting is one of them.
        let expired_upto = store.expired_upto().unwrap_or_else(|e| {
            worker::console_error!("could not read how far retention erased: {e}");
            0
        });
        room.restore_retention(expired_upto, &store);
        match store.erasures() {
            Ok(jobs) => room.restore_erasures(jobs),
            Err(e) => worker::console_error!("could not read the erasures: {e}"),
        }
        // Unused uploads have a sweep due; doomed ones an earlier incarnation did not purge wait.
        match store.oldest_unused() {
            Ok(oldest) => room.set_oldest_upload(oldest),
            Err(e) => worker::console_error!("could not read the unused uploads: {e}"),
        }
        let files_bucket = bucket::bucket(&env).ok();
        let mut doomed = Doomed::default();
        if store.doomed_files(1).is_ok_and(|d| !d.is_empty()) {
            doomed.want();
        }
        let mut members = Vec::new();
        for ws in state.get_websockets() {
            match read_attachment(&ws)
                .as_ref()
                .and_then(|a| Some((a.user()?, a.joining())))
            {
                Some((user, kept)) => members.push((user, Line::Local(ws), kept)),
                None => {
                    let _ = ws.close(Some(CLOSE_INTERNAL), Some("lost its attachment"));
                }
            }
        }
        room.restore(members, now);
        room_inboxes::woke(&mut room, &store, rev);
        let inner = Rc::new(RefCell::new(Inner {
            room,
            sequencer: Sequencer::woke(shards),
            inboxes: Inboxes::new(env.clone(), config.limits.inbox_push_max),
            links: Links::new(env, instance.clone(), shards, rev),
            store,
            hooks,
            flush_due: false,
            flush: None,
            tick_due: false,
            tick: None,
            tick_at: None,
            raw_state: AsRef::<JsValue>::as_ref(state.as_raw()).clone(),
            alarm_at: None,
            renewals: Vec::new(),
            questions: Vec::new(),
            replies: Vec::new(),
            next_call: 0,
            config: Rc::new(config),
            storage: Rc::new(state.storage()),
            previews: Vec::new(),
            doomed,
            bucket: files_bucket,
        }));
        let shared = Rc::clone(&inner);
        let ticking = Rc::clone(&inner);
        let tick_callback: Rc<Closure<dyn FnMut()>> = Rc::new(Closure::new(move || {
            tick(&mut ticking.borrow_mut());
            start_tasks(&ticking);
        }));
        inner.borrow_mut().tick = Some(tick_callback.as_ref().as_ref().clone());
        let index_callback = start_indexing(&inner);
        let flush_callback: Closure<dyn FnMut()> = Closure::new(move || {
            flush_now(&mut shared.borrow_mut());
            // The flush's webhook events, and one push per shard for the whole flush.
            start_tasks(&shared);
        });
        inner.borrow_mut().flush = Some(flush_callback.as_ref().clone());
        keep_retention_alarm(&inner);
        RoomObject {
            state,
            instance,
            started_at: now,
            inner,
            _flush_callback: flush_callback,
            _tick_callback: tick_callback,
            _index_callback: index_callback,
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Starts what the last event left for tasks of their own (see [`start_tasks`]).
    pub fn start_tasks(&self) {
        start_tasks(&self.inner);
    }

    /// The room's steps for one event, the same whatever the event: close the sockets whose token has
    /// run out (a post or a join is broadcast, and such a socket must not hear it), the `hook`'s call
    /// on the room (given the time), carry out its effects, drop the
    /// sockets that fell silent, and set the flush timer if the room queued messages. The object's
    /// handler then starts the tasks ([`super::object`]).
    fn turn<R>(&self, hook: impl FnOnce(&mut Inner, u64) -> (R, Vec<Effect>)) -> R {
        let inner = &mut *self.inner.borrow_mut();
        close_expired(inner);
        let now = now_ms();
        let (out, effects) = hook(inner, now);
        self.close_turn(inner, effects, now);
        out
    }

    /// The steps of a turn after the room's call (apart from [`RoomObject::turn`], which is made once
    /// per kind of event, so that they are in the wasm once): carry out its effects, look at what the
    /// moderation hook must be asked, drop silent sockets, set the flush timer.
    #[inline(never)]
    fn close_turn(&self, inner: &mut Inner, effects: Vec<Effect>, now: u64) {
        apply(inner, effects);
        screen(inner, now);
        sweep(inner, now);
        flush_soon(inner);
    }

    /// A call from the Worker (a connect, the HTTP API) or from one of the room's shards.
    pub async fn request(&self, mut req: Request) -> Result<Response> {
        let url = req.inner().url();
        let target = Target::split(&url);
        let body = match req.method() {
            Method::Post => Some(req.text().await?),
            _ => None,
        };
        if let Some(call) = ShardCall::parse(target.path, target.query) {
            return match call {
                Ok(ShardCall::Up {
                    room,
                    shard,
                    session,
                    sync,
                }) => self.turn(|inner, now| {
                    let body = body.as_deref().unwrap_or("");
                    let response = sequencing::up(inner, &room, shard, session, sync, body, now);
                    (response, Vec::new())
                }),
                Ok(call @ (ShardCall::Info { .. } | ShardCall::Restart { .. })) => {
                    let stub = sequencing::to_shard(&self.inner.borrow(), &call);
                    match stub {
                        Ok(stub) => {
                            let method = match call {
                                ShardCall::Info { .. } => "GET",
                                _ => "POST",
                            };
                            hop::call(&stub?, method, &call.url(), None, None).await
                        }
                        Err(p) => problem_response(&p),
                    }
                }
                Ok(ShardCall::Push { .. }) => problem_response(&Problem::new(
                    crate::error::ErrorCode::NotFound,
                    "not a sequencer call",
                )),
                Err(p) => problem_response(&p),
            };
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
            inner.store.keep_name(call.room().as_str());
        }
        let reader = crate::inbox::person::reader_of(target.query);
        if let Err(p) = room_inboxes::admit(&mut *self.inner.borrow_mut(), &call, reader.as_deref())
        {
            return match call {
                RoomCall::Connect { .. } => refuse_socket(&p),
                _ => problem_response(&p),
            };
        }
        if matches!(call, RoomCall::Connect { .. }) {
            self.await_rosters().await;
        }
        if let RoomCall::Post { post, .. } = call {
            return self.post(post).await;
        }
        self.turn(|inner, now| self.call(inner, call, now))
    }

    /// `Post`: a bot's message, checked by [`Post::parse`] on both sides of the hop; its text is
    /// checked by the room. Stored at once (after what was queued before it) — or, with a moderation
    /// hook, held like a socket's message until its verdict, the request waiting for the room's
    /// [`Effect::Reply`].
    async fn post(&self, post: Post) -> Result<Response> {
        if !self.inner.borrow().room.screens() {
            return self.turn(|inner, now| post_api(inner, post, now));
        }
        let waiting = self.turn(|inner, now| {
            inner.next_call += 1;
            let call = inner.next_call;
            let mut resolve = None;
            let promise = js_sys::Promise::new(&mut |res, _| resolve = Some(res));
            if let Some(resolve) = resolve {
                inner.replies.push((call, resolve));
            }
            let effects = inner.room.hold_post(call, post_draft(post), now);
            (promise, effects)
        });
        // Its question goes out now: the handler's own tasks start only after it answers.
        start_tasks(&self.inner);
        let answer = wasm_bindgen_futures::JsFuture::from(waiting).await;
        let answer: Option<(u16, String)> = answer.ok().and_then(|a| {
            let a: js_sys::Array = a.dyn_into().ok()?;
            Some((a.get(0).as_f64()? as u16, a.get(1).as_string()?))
        });
        match answer {
            Some((status, body)) => json_response(body, status),
            None => problem_response(&internal("a held post got no answer")),
        }
    }

    /// A call from the Worker, and the effects it leaves for [`RoomObject::turn`] to carry out.
    fn call(&self, inner: &mut Inner, call: RoomCall, now: u64) -> (Result<Response>, Vec<Effect>) {
        let mut effects = Vec::new();
        if let Some(answer) = room_inboxes::answer(inner, &call, now) {
            return (answer, effects);
        }
        let response = match call {
            RoomCall::Connect { room, join } => match sequencing::place(inner, &room, now) {
                Ok(Placed::Here) => match self.open_socket(inner, join, now) {
                    Ok((socket, joined)) => {
                        effects = joined;
                        socket.or_else(|p| refuse_socket(&p))
                    }
                    Err(p) => refuse_socket(&p),
                },
                Ok(Placed::On(k) | Placed::Opened(k)) => placed_response(k),
                Err(p) => refuse_socket(&p),
            },
            RoomCall::Info { operator, .. } => self.info(inner, operator),
            RoomCall::Messages { after, limit, .. } => {
                match inner.room.messages(&inner.store, after, limit) {
                    Ok(messages) => json_response(
                        json!({"messages": messages, "last_seq": inner.room.last_seq()})
                            .to_string(),
                        200,
                    ),
                    Err(p) => problem_response(&p),
                }
            }
            // Answered by `post` (it may wait for the moderation hook); kept total all the same.
            RoomCall::Post { post, .. } => {
                let (response, done) = post_api(inner, post, now);
                effects = done;
                response
            }
            RoomCall::Erase { uid, .. } => {
                let (result, done) = inner.room.erase_author(&uid, &mut inner.store, now);
                effects = done;
                erasure_response(result)
            }
            RoomCall::ErasePerson { uid, .. } => {
                // Their inbox is being emptied: the room stops telling it first.
                if let Err(e) = room_inboxes::forget_person(inner, &uid) {
                    return (problem_response(&internal(e)), effects);
                }
                let (result, done) = inner.room.erase_person(&uid, &mut inner.store, now);
                effects = done;
                erasure_response(result)
            }
            RoomCall::Export { cursor, .. } => match inner.room.export(&inner.store, cursor, now) {
                Ok(page) => ndjson_response(page),
                Err(p) => problem_response(&p),
            },
            RoomCall::ExportAuthor { uid, after, .. } => {
                match inner.room.export_author(&inner.store, &uid, after) {
                    Ok(page) => ndjson_response(page),
                    Err(p) => problem_response(&p),
                }
            }
            RoomCall::Search { request, .. } => match inner.room.search(&inner.store, &request) {
                Ok(page) => json_response(
                    json!({"results": page.results, "has_more": page.has_more,
                            "next_before": page.next_before, "next_offset": page.next_offset})
                    .to_string(),
                    200,
                ),
                Err(p) => problem_response(&p),
            },
            RoomCall::Reactors { request, .. } => match inner.room.reactors(&inner.store, &request) {
                Ok((users, next)) => json_response(
                    json!({"seq": request.seq, "emoji": request.emoji, "users": users, "next": next})
                        .to_string(),
                    200,
                ),
                Err(p) => problem_response(&p),
            },
            RoomCall::Roster { after, limit, .. } => {
                json_response(inner.room.roster(after.as_deref(), limit).to_string(), 200)
            }
            RoomCall::Thread {
                root, after, limit, ..
            } => match inner.room.thread_page(&inner.store, root, after, limit) {
                Ok(page) => json_response(
                    json!({"root": page.root, "replies": page.replies, "has_more": page.has_more})
                        .to_string(),
                    200,
                ),
                Err(p) => problem_response(&p),
            },
            RoomCall::Threads { before, limit, .. } => {
                match inner.room.threads(&inner.store, before, limit) {
                    Ok((threads, next)) => {
                        json_response(json!({"threads": threads, "next": next}).to_string(), 200)
                    }
                    Err(p) => problem_response(&p),
                }
            }
            RoomCall::Versions {
                seq, before, limit, ..
            } => {
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
            RoomCall::Delete { seq, reason, .. } => {
                let by = User::api(crate::api::DEFAULT_MODERATOR);
                let (result, done) = inner.room.delete_api(by, seq, reason, &mut inner.store, now);
                effects = done;
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
                    Err(p) => return (problem_response(&p), effects),
                };
                let by = User::api(request.by());
                let (result, done) = inner.room.moderate_api(by, action, &mut inner.store, now);
                effects = done;
                match result {
                    Ok(record) => json_response(json!({ "record": record }).to_string(), 200),
                    Err(p) => problem_response(&p),
                }
            }
            RoomCall::Upload { id, uploader, .. } => {
                let admitted = inner
                    .room
                    .admit_upload(&id, &uploader, &mut inner.store, now);
                // The sweep of an upload that never completes is due in an hour.
                schedule_alarm(inner);
                answer(admitted.map(|()| json!({ "id": id.as_str() })), 200)
            }
            RoomCall::Uploaded { file, .. } => {
                let done = inner.room.uploaded(&file, &mut inner.store);
                answer(done.map(|()| json!({ "file": file })), 201)
            }
            RoomCall::Thumb { id, uploader, .. } => {
                let allowed = inner.room.may_thumb(&id, &uploader, &inner.store);
                answer(allowed.map(|()| json!({})), 200)
            }
            RoomCall::Thumbed { id, .. } => {
                let file = inner.room.thumbed(&id, &mut inner.store);
                answer(file.map(|file| json!({ "file": file })), 201)
            }
            RoomCall::ModerationLog { before, limit, .. } => {
                match inner
                    .room
                    .moderation_log(&inner.store, before, limit, None, now)
                {
                    Ok(frame) => json_response(frame, 200),
                    Err(p) => problem_response(&p),
                }
            }
            // Answered by `room_inboxes::answer` above.
            RoomCall::OpenDm { .. }
            | RoomCall::Forget { .. }
            | RoomCall::Entry { .. }
            | RoomCall::Here { .. } => problem_response(&Problem::new(
                crate::error::ErrorCode::Internal,
                "an inbox call went astray",
            )),
        };
        (response, effects)
    }

    /// `GET /api/rooms/{room}`: the room's figures, its shards', and (to an operator) its webhooks'.
    fn info(&self, inner: &mut Inner, operator: bool) -> Result<Response> {
        let mut info = serde_json::to_value(inner.room.info())?;
        info["instance"] = json!(self.instance);
        info["started_at"] = json!(self.started_at);
        info["sockets"] = json!(self.state.get_websockets().len());
        let mut shards = vec![json!({"shard": 0, "sockets": inner.room.local_count()})];
        let counts = inner.room.shard_counts();
        for k in 1..=inner.sequencer.count() {
            let sockets = counts.get(usize::from(k) - 1).copied().unwrap_or(0);
            shards.push(json!({"shard": k, "sockets": sockets}));
        }
        info["shards"] = json!(shards);
        info["shard_calls"] = json!(inner.links.calls);
        info["shard_frames"] = json!(inner.links.frames);
        info["commits"] = serde_json::to_value(inner.room.commits())?;
        info["rev"] = json!(inner.room.rev());
        info["storage_bytes"] = json!(self.state.storage().sql().database_size());
        info["inboxes"] = inner.inboxes.figures(&inner.store);
        let policy = inner.room.retention();
        info["retention"] = json!({
            "days": policy.days,
            "source": policy.source,
            "upto": inner.room.expired_upto(),
            "max_days": inner.config.limits.retention.max_days,
        });
        // The receiver's failures and last error are the operator's business, not every
        // reader's (the error may name the app's hosts).
        if let (Some(hooks), true) = (&inner.hooks, operator) {
            info["webhooks"] = hooks.info(&inner.store);
        }
        if let (Some(hook), true) = (inner.room.screening_info(), operator) {
            info["moderation_hook"] = hook;
        }
        json_response(info.to_string(), 200)
    }

    /// The storage alarm, set for the earliest of the next token expiry, the webhook outbox's next
    /// delivery, the sweep of unused uploads and a retry of deleting doomed ones: closes the sockets whose token has
    /// expired (the turn's first step), delivers the outbox, sweeps. The runtime wakes a hibernating room for it, which is the one wake-up a token's expiry
    /// (or an undelivered event) costs; a room with neither never sets it.
    pub fn alarm(&self) {
        self.inner.borrow_mut().alarm_at = None;
        self.turn(|inner, now| {
            if let Some(hooks) = inner.hooks.as_mut() {
                hooks.alarm(now);
            }
            // One bounded batch per alarm, in this turn's commit; when more is due, the alarm is set
            // for now and the runtime comes back at once (the sockets are served in between).
            let mut effects = Vec::new();
            if inner.room.retention_due(now) {
                match inner.room.sweep_expired(&mut inner.store, now) {
                    Ok(swept) => effects = swept,
                    Err(p) => worker::console_error!("retention sweep failed: {}", p.message),
                }
            }
            match inner.room.erase_some(&mut inner.store, now) {
                Ok(erased) => effects.extend(erased),
                Err(p) => worker::console_error!("an erasure step failed: {}", p.message),
            }
            inner.doomed.alarm(now);
            let swept = match inner.room.sweep_uploads(&mut inner.store, now) {
                Ok(effects) => effects,
                Err(p) => {
                    worker::console_error!("sweeping unused uploads failed: {}", p.message);
                    Vec::new()
                }
            };
            effects.extend(swept);
            // Delivery runs as a task of its own, never awaited here (see `webhooks::start`).
            schedule_alarm(inner);
            ((), effects)
        })
    }

    /// A frame from connection `conn`, one of the room's own sockets.
    pub fn message(&self, conn: String, ws: &WebSocket, message: &JsValue) {
        let text = message.as_string();
        let frame = match &text {
            Some(t) => Incoming::Text(t),
            None => Incoming::Binary(js_sys::Uint8Array::new(message).length() as usize),
        };
        if !self.readmit(&conn, ws) {
            let _ = ws.close(Some(CLOSE_INTERNAL), Some("unknown connection"));
            return;
        }
        self.turn(|inner, now| {
            // A socket whose token has run out (closed by the turn's first step) hears nothing more,
            // and says nothing more.
            if !inner.room.has(&conn) {
                return ((), Vec::new());
            }
            ((), inner.room.receive(&conn, frame, now))
        })
    }

    /// Connection `conn` closed or failed: drop it and tell the others.
    pub fn gone(&self, conn: &str) {
        self.turn(|inner, now| ((), inner.room.leave(conn, now)))
    }

    /// Makes sure the roster holds connection `conn` of socket `ws`: a socket missing from it (an
    /// earlier incarnation accepted it and the rebuild missed it) is restored from its attachment, all
    /// of it, as the constructor restores it (a moderator stays one, a token still expires). Only an
    /// open socket is restored; one the room has closed (1009) is on its way out.
    fn readmit(&self, conn: &str, ws: &WebSocket) -> bool {
        let inner = &mut *self.inner.borrow_mut();
        if inner.room.has(conn) {
            return true;
        }
        if ws.as_ref().ready_state() != worker::web_sys::WebSocket::OPEN {
            return false;
        }
        let Some(attachment) = read_attachment(ws) else {
            return false;
        };
        let kept = attachment.joining();
        let Some(user) = attachment.into_user().filter(|u| u.id == conn) else {
            return false;
        };
        inner
            .room
            .restore([(user, Line::Local(ws.clone()), kept)], now_ms());
        if kept.expires.is_some() {
            schedule_alarm(inner);
        }
        true
    }

    /// After a wake the sequencer does not know who is on its shards until each has answered the
    /// hello push with its roster, a few milliseconds. Placement counts such a shard as full; so that
    /// a connect storm after a deploy does not open new shards needlessly, connects in the first
    /// moments wait for the rosters (other events go on meanwhile). A shard that never answers costs
    /// only those moments, not every connect.
    async fn await_rosters(&self) {
        while now_ms() < self.started_at + ROSTER_WAIT_MS {
            if self.inner.borrow().sequencer.all_known() {
                return;
            }
            links::start(&self.inner);
            hop::sleep(ROSTER_LOOK_MS).await;
        }
    }

    /// `Connect`, placed here: the Worker has checked room, name, access, origin and `after`. Accept
    /// the socket as hibernatable, remember who it is, and welcome it (the effects) — or say why not
    /// (`room_full`, …), on a socket the caller refuses.
    #[allow(clippy::type_complexity)]
    fn open_socket(
        &self,
        inner: &mut Inner,
        join: Join,
        now: u64,
    ) -> std::result::Result<(std::result::Result<Response, Problem>, Vec<Effect>), Problem> {
        // Before the welcome: its roster and count leave out whoever has silently gone.
        sweep(inner, now);
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
            &mut inner.store,
            now,
        )?;
        self.state
            .accept_websocket_with_tags(&pair.server, &[user.id.as_str()]);
        let attachment = Attachment::of(&user, join.role, join.expires)
            .framed(join.framing)
            .from_address(join.address);
        if let Err(e) = write_attachment(&pair.server, &attachment) {
            inner.room.leave(&user.id, now);
            let _ = pair
                .server
                .close(Some(CLOSE_INTERNAL), Some("could not attach"));
            return Err(internal(e));
        }
        if join.expires.is_some() {
            schedule_alarm(inner);
        }
        Ok((
            Response::from_websocket(pair.client).map_err(internal),
            effects,
        ))
    }
}

/// `body` with `status`, or the refusal.
fn answer(
    result: std::result::Result<serde_json::Value, Problem>,
    status: u16,
) -> Result<Response> {
    match result {
        Ok(body) => json_response(body.to_string(), status),
        Err(p) => problem_response(&p),
    }
}

/// The answer to a connect placed on shard `k`: the Worker then takes the socket there.
fn placed_response(k: u16) -> Result<Response> {
    let headers = worker::Headers::new();
    headers.set(shard::PLACED_HEADER, &k.to_string())?;
    Ok(Response::empty()?.with_status(200).with_headers(headers))
}

/// A bot's post stored at once (no moderation hook): after what was queued before it; its text and
/// thread are checked by the room.
fn post_api(inner: &mut Inner, post: Post, now: u64) -> (Result<Response>, Vec<Effect>) {
    let (result, effects) = inner.room.post(post_draft(post), &mut inner.store, now);
    let (status, body) = post_answer(&result, None);
    (json_response(body, status), effects)
}

/// An erasure's report: 202 while the job goes on (on the room's alarm), 200 once it is done.
fn erasure_response(
    result: std::result::Result<crate::erasure::Erasure, Problem>,
) -> Result<Response> {
    match result {
        Ok(job) => json_response(
            json!({ "erasure": job.report() }).to_string(),
            if job.done() { 200 } else { 202 },
        ),
        Err(p) => problem_response(&p),
    }
}

/// A page of a room's export, as NDJSON.
pub(super) fn ndjson_response(page: String) -> Result<Response> {
    let headers = worker::Headers::new();
    headers.set("content-type", export::CONTENT_TYPE)?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::ok(page)?.with_headers(headers))
}

/// What a bot's post asks of the room: a message from the API, in a thread if it names one; the API
/// is the app's backend, so it may mention `@room`.
fn post_draft(post: Post) -> Draft {
    Draft {
        thread: post.thread,
        also_in_room: post.also_in_room,
        moderator: true,
        ..Draft::new(User::api(&post.name), post.text, post.id)
    }
}

/// Starts what the last event left for tasks of their own: token checks (`auth` frames), the
/// moderation hook's questions, link previews, webhook delivery, deleting doomed uploads from the
/// bucket, pushes to the shards. Each does nothing when nothing waits, and no handler awaits them.
fn start_tasks(shared: &Rc<RefCell<Inner>>) {
    start_renewals(shared);
    screener::start(shared, start_tasks);
    start_previews(shared);
    webhooks::start(shared);
    doomed::start(shared);
    links::start(shared);
    room_inboxes::start(shared);
}

/// Starts a fetch task for every preview the last event asked for ([`previews::fetch`]); what the
/// page said is handed to the room when it answers ([`previews::fetched`]), in a turn of its own.
fn start_previews(shared: &Rc<RefCell<Inner>>) {
    let wanted = std::mem::take(&mut shared.borrow_mut().previews);
    for (seq, link) in wanted {
        let shared = Rc::clone(shared);
        let config = Rc::clone(&shared.borrow().config);
        wasm_bindgen_futures::spawn_local(async move {
            let preview = previews::fetch(&link, &config.preview_allow_hosts).await;
            previews::fetched(&mut shared.borrow_mut(), seq, &link, preview);
            start_tasks(&shared);
        });
    }
}

/// After a wake with a retention policy in force or an erasure unfinished: makes sure the stored
/// alarm comes no later than the work is due (a room whose policy predates this incarnation, an alarm
/// an older build set, a restart half-way through an erasure). It reads the alarm first, so a wake
/// costs a write only when the alarm must move.
fn keep_retention_alarm(inner: &Rc<RefCell<Inner>>) {
    let due = {
        let room = &inner.borrow().room;
        let erasing = room.erasing().then(now_ms);
        [room.retention_sweep_at(), erasing]
            .into_iter()
            .flatten()
            .min()
    };
    let Some(due) = due else {
        return;
    };
    let storage = Rc::clone(&inner.borrow().storage);
    wasm_bindgen_futures::spawn_local(async move {
        let set = storage.get_alarm().await.ok().flatten();
        if set.is_some_and(|at| at.max(0) as u64 <= due) {
            return;
        }
        let at = js_sys::Date::new(&JsValue::from_f64(due as f64));
        if let Err(e) = storage.set_alarm(worker::ScheduledTime::new(at)).await {
            worker::console_error!("could not set the retention alarm: {e}");
        }
    });
}

/// Starts a verification task for every `auth` frame the last event produced: the token is checked
/// exactly as at the door ([`renewal::check`]), then the verdict carried out ([`renewal::renewed`]);
/// a socket on a shard gets its answer (and its new attachment) through the shard's outbox.
fn start_renewals(shared: &Rc<RefCell<Inner>>) {
    let renewals = std::mem::take(&mut shared.borrow_mut().renewals);
    for (conn_id, token, id) in renewals {
        let shared = Rc::clone(shared);
        wasm_bindgen_futures::spawn_local(async move {
            let checked = renewal::check(&shared, &conn_id, &token).await;
            renewal::renewed(&mut shared.borrow_mut(), &conn_id, checked, id);
            start_tasks(&shared);
        });
    }
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
