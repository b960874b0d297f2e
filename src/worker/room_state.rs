//! The room object's state and the carrying out of what the room decides: [`Inner`] (the roster with
//! its sockets, the shards' outboxes, the store, the webhook outbox, the timers, the moderation
//! hook's questions and held HTTP calls), [`apply`] (the room's effects onto sockets, outboxes, the
//! webhook outbox and those), the token expiry, the silent-socket sweep, the flush timer and the
//! storage alarm. [`super::room_object`] runs every event through these steps.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::bucket::Bucket;
use super::doomed::{self, Doomed};
use super::links::{self, Line, Links};
use super::now_ms;
use super::room_inboxes::{Inboxes, Rounds};
use super::store::Store;
use super::webhooks::{self, Hooks};
use crate::config::Config;
use crate::delivery;
use crate::domain::Framing;
use crate::effect::Effect;
use crate::error::ErrorCode;
use crate::protocol::ServerFrame;
use crate::room::Room;
use crate::shard::records::Op;
use crate::shard::sequencer::Sequencer;

/// The room object's state, shared by its handlers, its timers' callbacks and its tasks.
pub(super) struct Inner {
    /// The roster, with each member's socket (here or on a shard) and its token's expiry: the one map
    /// of who is connected.
    pub(super) room: Room<Line>,
    /// What the room knows of its shards and decides about them (placement, sessions, syncs).
    pub(super) sequencer: Sequencer,
    /// The shards' outboxes and push tasks, when the room has outgrown this object (`SHARD_SOCKETS`).
    pub(super) links: Links,
    pub(super) store: Store,
    /// The webhook outbox and receiver, when the deployment has a `WEBHOOK_URL`.
    pub(super) hooks: Option<Hooks>,
    /// A flush timer is set and has not fired yet.
    pub(super) flush_due: bool,
    /// The JS function the flush timer calls (made once by the room object), so that any task (a
    /// verdict, a tick) can set the timer.
    pub(super) flush: Option<JsValue>,
    /// A tick timer is set and has not fired yet.
    pub(super) tick_due: bool,
    /// The JS function the tick timer calls (made once by the room object).
    pub(super) tick: Option<JsValue>,
    /// When the tick timer that is set will fire (ms), so an earlier wake-up sets another one.
    pub(super) tick_at: Option<u64>,
    /// The runtime's `DurableObjectState`, for what workers-rs does not wrap (the time of a socket's
    /// last auto-answered ping), also from the timers' callbacks.
    pub(super) raw_state: JsValue,
    /// The storage alarm as this incarnation set it (ms): for the next token expiry or the webhook
    /// outbox, whichever is first.
    pub(super) alarm_at: Option<u64>,
    /// `auth` frames waiting to be verified (connection, token, frame id): verification may fetch
    /// the JWKS, so it runs as a task after the event that produced it.
    pub(super) renewals: Vec<(String, String, Option<String>)>,
    /// Questions for the moderation hook (ticket, body, timeout in ms), each asked by a task of its
    /// own after the event that produced it ([`super::screener`]).
    pub(super) questions: Vec<(u64, String, u64)>,
    /// HTTP calls waiting in the room's queue (a bot's post held for its verdict): the `resolve` of
    /// the promise each awaits, by call number, and the next number.
    pub(super) replies: Vec<(u64, js_sys::Function)>,
    pub(super) next_call: u64,
    pub(super) config: Rc<Config>,
    /// Shared with the renewal tasks, which set the alarm for a renewed token.
    pub(super) storage: Rc<worker::Storage>,
    /// Its members' inboxes: who they are, and the rounds that tell them.
    pub(super) inboxes: Inboxes,
    /// Link previews to fetch after this event (message seq, link).
    pub(super) previews: Vec<(u64, String)>,
    /// The deletion of doomed uploads from the bucket.
    pub(super) doomed: Doomed,
    /// The `FILES` bucket, if the deployment binds one.
    pub(super) bucket: Option<Bucket>,
}

impl Rounds for Inner {
    fn parts(&mut self) -> (&mut Room<Line>, &Store, &mut Inboxes) {
        (&mut self.room, &self.store, &mut self.inboxes)
    }

    fn wake(&mut self, after_ms: u64) {
        apply(self, vec![Effect::Wake { after_ms }]);
    }
}

impl doomed::Bin for Inner {
    fn bin(&mut self) -> (&mut Doomed, &Store, Option<&Bucket>, &str) {
        (
            &mut self.doomed,
            &self.store,
            self.bucket.as_ref(),
            self.room.name(),
        )
    }

    fn schedule_alarm(&mut self) {
        schedule_alarm(self)
    }
}

impl links::Sequencing for Inner {
    fn head(&self, k: u16) -> (&str, u64, Option<&str>) {
        (
            self.room.info().room,
            self.room.rev(),
            self.sequencer.session(k),
        )
    }

    fn links(&mut self) -> &mut Links {
        &mut self.links
    }
}

impl webhooks::Outbox for Inner {
    fn outbox(&mut self) -> Option<(&mut Hooks, &Store)> {
        Some((self.hooks.as_mut()?, &self.store))
    }

    fn schedule_alarm(&mut self) {
        schedule_alarm(self)
    }
}

/// The flush timer's work: stores what the room has queued (one turn, so one commit) and sends the
/// frames that follow from it.
pub(super) fn flush_now(inner: &mut Inner) {
    inner.flush_due = false;
    let effects = inner.room.flush(&mut inner.store, now_ms());
    apply(inner, effects);
}

/// Sets the flush timer when the room has queued work and none is set.
pub(super) fn flush_soon(inner: &mut Inner) {
    if !inner.room.has_pending() || inner.flush_due {
        return;
    }
    inner.flush_due = true;
    // setTimeout(0): the runtime delivers the events already waiting before the timer fires.
    let set = match &inner.flush {
        Some(callback) => set_timeout(callback, 0).is_ok(),
        None => false,
    };
    if !set {
        worker::console_error!("setTimeout failed; flushing at once");
        flush_now(inner);
    }
}

/// Looks at the frames the room holds for the moderation hook since the last look: the questions to
/// ask go to [`Inner::questions`], what needs none goes on to the flush's queue.
pub(super) fn screen(inner: &mut Inner, now: u64) {
    if inner.room.wants_screening() {
        let effects = inner.room.screen(&inner.store, now);
        apply(inner, effects);
    }
}

/// The room's own timer ([`Effect::Wake`]): announces what it held back, carries a purge on by a
/// batch, and decides the moderation hook's questions past their deadline (what that releases is
/// flushed).
pub(super) fn tick(inner: &mut Inner) {
    inner.tick_due = false;
    inner.tick_at = None;
    let now = now_ms();
    let mut effects = inner.room.tick(now);
    effects.extend(inner.room.continue_purges(&mut inner.store, now));
    apply(inner, effects);
    sweep(inner, now);
    flush_soon(inner);
}

/// Drops the sockets that fell silent ([`Room::sweep`]), when it is time to look. Runs only on events
/// the room has anyway: an idle room is left to hibernate.
pub(super) fn sweep(inner: &mut Inner, now: u64) {
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
    pub(super) fn set_timeout(callback: &JsValue, ms: i32)
        -> std::result::Result<JsValue, JsValue>;

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
pub(super) fn apply(inner: &mut Inner, effects: Vec<Effect>) {
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
                if inner.links.any() {
                    let counts = room.shard_counts();
                    let sequencer = &inner.sequencer;
                    inner.links.broadcast(except.as_deref(), frame, |k| {
                        sequencer.reaches(k, counts.get(usize::from(k) - 1).copied().unwrap_or(0))
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
                }
            }
            Effect::Authenticate { to, token, id } => {
                inner.renewals.push((to.clone(), token.clone(), id.clone()))
            }
            Effect::Screen {
                ticket,
                body,
                timeout_ms,
            } => inner.questions.push((*ticket, body.clone(), *timeout_ms)),
            Effect::Reply { call, status, body } => {
                if let Some(i) = inner.replies.iter().position(|(c, _)| c == call) {
                    let (_, resolve) = inner.replies.swap_remove(i);
                    let answer = js_sys::Array::of2(&(*status).into(), &body.as_str().into());
                    let _ = resolve.call1(&JsValue::NULL, &answer);
                }
            }
            Effect::Preview { seq, link } => inner.previews.push((*seq, link.clone())),
            Effect::DeleteFiles => inner.doomed.want(),
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
    // The outbox grew, a token came or went, a message stored made a retention sweep due: the alarm
    // may have to move. When nothing did (the common case) this costs three comparisons.
    schedule_alarm(inner);
}

/// Sends `frame` to connection `conn_id`, wherever its socket is.
pub(super) fn send_to(inner: &mut Inner, conn_id: &str, frame: &str) {
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
pub(super) fn refuse(
    links: &mut Links,
    line: &Line,
    conn_id: &str,
    code: ErrorCode,
    message: &str,
) {
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

/// Closes every socket whose token has expired ([`Room::expire`]: an `error` frame `token_expired`,
/// then close 4401, so the page renews its token and reconnects; the others hear it leave). Then sets
/// the alarm for the next expiry. They are off the roster at once. O(1) while nothing is due.
pub(super) fn close_expired(inner: &mut Inner) {
    let now = now_ms();
    let bound = inner.room.next_expiry();
    let effects = inner.room.expire(now / 1000, now);
    // The room's next expiry is a bound made exact by a due `expire`: when it moved (a renewal or a
    // leave had made it early) the alarm must move too, even if nobody was closed.
    if effects.is_empty() && inner.room.next_expiry() == bound {
        return;
    }
    apply(inner, effects);
    schedule_alarm(inner);
}

/// Sets the storage alarm for the earliest of the next token expiry, the webhook outbox's next
/// delivery, the next retention sweep, the sweep of unused uploads and a retry of deleting doomed uploads,
/// when that differs from the alarm set. One alarm serves them all: a Durable Object has only one. An alarm that is no longer needed is not deleted: it fires once, finds nothing to do and sets
/// no other.
pub(super) fn schedule_alarm(inner: &mut Inner) {
    let expiry = inner
        .room
        .next_expiry()
        .map(|secs| secs.saturating_mul(1000));
    let outbox = inner.hooks.as_ref().and_then(Hooks::due_at);
    let retention = inner.room.retention_sweep_at();
    // An erasure goes on at once, a step per turn of the alarm.
    let erasing = inner.room.erasing().then(now_ms);
    let next = [
        expiry,
        outbox,
        retention,
        erasing,
        inner.room.uploads_due(),
        inner.doomed.due_at(),
    ]
    .into_iter()
    .flatten()
    .min();
    if next == inner.alarm_at {
        return;
    }
    // An alarm already due (an erasure's next step) need not be set again for another due time: it
    // fires at once anyway, and setting it on every event would be a write each.
    let now = now_ms();
    if inner.alarm_at.is_some_and(|at| at <= now) && next.is_some_and(|n| n <= now) {
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
