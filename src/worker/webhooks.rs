//! Carrying out `crate::webhook`'s rules in the Durable Object: writing events into the outbox as the
//! room produces them, arming the object's alarm, and the alarm's delivery rounds (signed POSTs to
//! `WEBHOOK_URL`, a few at once, each with a timeout).
//!
//! Why an alarm and not a timer: an alarm is stored with the object, so it fires even after a restart
//! or an eviction, and it wakes a hibernating room only when there is something to deliver. The
//! runtime runs one alarm handler at a time per object, and chat events keep flowing while it awaits
//! the receiver (the handler holds no borrow of the room across an `await`).
//! <https://developers.cloudflare.com/durable-objects/api/alarms/>

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::future::join_all;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::now_ms;
use super::store::Pending;
use super::store::Store;
use super::web::{abort_after, fetch, js_error};
use crate::config::Webhook;
use crate::webhook::{self, BATCH, SIGNATURE_HEADER, TIMEOUT_MS};

/// How long after events start waiting the alarm checks that they are being delivered (a task lost
/// with the object leaves them waiting). While a room is busy the alarm is moved once per this time.
const WATCHDOG_MS: u64 = TIMEOUT_MS;

/// Delivery rounds before the task hands back to its loop (which goes on while events wait).
const ROUNDS_PER_TASK: usize = 25;

/// The room's webhook state: where events go, and how the outbox stands.
pub struct Hooks {
    webhook: Webhook,
    /// Events in the outbox.
    pending: u64,
    /// Delivery rounds that failed in a row (0 while the receiver is well).
    failures: u32,
    last_error: Option<String>,
    /// While the receiver fails: when to try again (the alarm's time, so a waiting room may hibernate).
    retry_at: Option<u64>,
    /// The alarm that resumes delivery should a task be lost with the object (evicted, crashed): set
    /// once when events start waiting, kept while they keep coming, so busy rooms do not rewrite their
    /// alarm for every event.
    watchdog_at: Option<u64>,
    /// A delivery task is running.
    delivering: bool,
    /// Events wait and no task runs: the caller should [`start`] one.
    wants_task: bool,
    /// Delivered events not yet deleted from the outbox, and the highest id the running task has sent.
    /// Deleting them is left to a turn that writes anyway (the next event's), or to the task's end:
    /// a write of the task's own is a commit of its own, and commits in between the room's messages
    /// cost them latency. A delivered event still in the outbox after a crash is sent again, which at
    /// least once allows.
    delivered: Vec<u64>,
    cursor: u64,
}

impl Hooks {
    /// Opens the outbox; `None` (logged) if the table cannot be made, in which case the room runs
    /// without webhooks rather than failing chat.
    pub fn open(webhook: Webhook, store: &Store) -> Option<Hooks> {
        let pending = store
            .open_outbox()
            .map_err(|e| worker::console_error!("webhook outbox unavailable: {e}"))
            .ok()?;
        Some(Hooks {
            webhook,
            pending,
            failures: 0,
            last_error: None,
            retry_at: None,
            watchdog_at: None,
            delivering: false,
            delivered: Vec::new(),
            cursor: 0,
            // Events left by an earlier incarnation (their alarm is stored too, and fires anyway).
            wants_task: pending > 0,
        })
    }

    /// When the outbox wants the object's alarm (ms since the epoch), if at all: the retry time while
    /// the receiver fails, else the watchdog while events wait.
    pub fn due_at(&self) -> Option<u64> {
        match self.pending {
            0 => None,
            _ => self.retry_at.or(self.watchdog_at),
        }
    }

    /// Puts one event into the outbox (same turn as the change, so the same commit). A full outbox
    /// drops its oldest events. The caller then calls `schedule_alarm` and [`start`]: a task delivers
    /// at once, unless the receiver is failing (then the retry already scheduled takes it).
    pub fn record(&mut self, store: &Store, body: &str) {
        let now = now_ms();
        if let Err(e) = store.outbox_add(body, now) {
            worker::console_error!("webhook event not recorded: {e}");
            return;
        }
        self.pending += 1;
        self.forget_delivered(store);
        let (_, over) = webhook::overflow(self.pending, now);
        if over > 0 {
            self.dropped(store.outbox_drop(0, over));
        }
        self.watchdog_at.get_or_insert(now + WATCHDOG_MS);
        if self.retry_at.is_none() && !self.delivering {
            self.wants_task = true;
        }
    }

    /// The alarm fired: deliver what waits (a retry that is due, or a task the watchdog gave up on).
    pub fn alarm(&mut self, now: u64) {
        self.watchdog_at = None;
        if self.retry_at.is_some_and(|at| at <= now) {
            self.retry_at = None;
        }
        if self.pending > 0 && self.retry_at.is_none() {
            self.watchdog_at = Some(now + WATCHDOG_MS);
            self.wants_task = !self.delivering;
        }
    }

    /// Deletes the delivered events from the outbox.
    fn forget_delivered(&mut self, store: &Store) {
        if self.delivered.is_empty() {
            return;
        }
        match store.outbox_done(&self.delivered) {
            Ok(()) => self.delivered.clear(),
            Err(e) => worker::console_error!("webhook outbox not updated: {e}"),
        }
    }

    fn dropped(&mut self, dropped: Result<u64, String>) {
        match dropped {
            Ok(n) => self.pending = self.pending.saturating_sub(n),
            Err(e) => worker::console_error!("webhook outbox not trimmed: {e}"),
        }
    }

    /// For `GET /api/rooms/{room}`.
    pub fn info(&self, store: &Store) -> serde_json::Value {
        serde_json::json!({
            "pending": self.pending,
            "dropped": store.webhooks_dropped().unwrap_or(0),
            "failures": self.failures,
            "last_error": self.last_error,
        })
    }
}

/// What a delivery task needs of the object that owns the outbox: the outbox with the store it is
/// kept in, and the alarm (which serves token expiries too). A trait, so that delivery lives here
/// without this module knowing the room object's state.
pub trait Outbox {
    fn outbox(&mut self) -> Option<(&mut Hooks, &Store)>;
    fn schedule_alarm(&mut self);
}

/// Starts a delivery task if events wait and none runs. Delivery is a task of its own, never awaited
/// in an event handler: while a Durable Object's handler awaits (the alarm's, say), the runtime holds
/// back the room's other events — measured here, awaiting the receiver in the alarm handler took chat
/// latency at 100 messages/s from ~4 ms to over a second.
pub fn start<O: Outbox + 'static>(shared: &Rc<RefCell<O>>) {
    let wanted = {
        let inner = &mut *shared.borrow_mut();
        match inner.outbox() {
            Some((hooks, _)) if hooks.wants_task && !hooks.delivering => {
                hooks.wants_task = false;
                hooks.delivering = true;
                true
            }
            _ => false,
        }
    };
    if wanted {
        let shared = Rc::clone(shared);
        wasm_bindgen_futures::spawn_local(async move { deliver(&shared).await });
    }
}

/// One delivery round's work, taken from the outbox while the room is borrowed.
enum Round {
    Idle,
    Send {
        webhook: Webhook,
        batch: Vec<Pending>,
    },
}

/// A delivery task: the outbox oldest first, [`BATCH`] events at a time, until it is empty or a round
/// fails (then the whole queue backs off, by the alarm, so a room waiting for its receiver may
/// hibernate).
async fn deliver<O: Outbox>(shared: &RefCell<O>) {
    loop {
        let retry_at = rounds(shared).await;
        let inner = &mut *shared.borrow_mut();
        let Some((hooks, store)) = inner.outbox() else {
            return;
        };
        if retry_at.is_none() && hooks.pending > 0 {
            // A busy room: more came in while this task worked. It goes on.
            continue;
        }
        hooks.delivering = false;
        hooks.wants_task = false;
        hooks.retry_at = retry_at;
        hooks.cursor = 0;
        hooks.forget_delivered(store);
        if hooks.pending == 0 {
            hooks.watchdog_at = None;
        }
        inner.schedule_alarm();
        return;
    }
}

/// The delivery rounds of one task; returns when to retry if the receiver failed.
async fn rounds<O: Outbox>(inner: &RefCell<O>) -> Option<u64> {
    for _ in 0..ROUNDS_PER_TASK {
        let round = {
            let inner = &mut *inner.borrow_mut();
            let (hooks, store) = inner.outbox()?;
            let (expired_before, _) = webhook::overflow(hooks.pending, now_ms());
            hooks.dropped(store.outbox_drop(expired_before, 0));
            match store.outbox_next(hooks.cursor, BATCH) {
                Ok(batch) if batch.is_empty() => {
                    hooks.pending = 0;
                    hooks.failures = 0;
                    Round::Idle
                }
                Ok(batch) => Round::Send {
                    webhook: hooks.webhook.clone(),
                    batch,
                },
                Err(e) => {
                    worker::console_error!("webhook outbox unreadable: {e}");
                    hooks.failures = hooks.failures.saturating_add(1);
                    return Some(now_ms() + webhook::backoff_ms(hooks.failures, 0.0));
                }
            }
        };
        let Round::Send { webhook, batch } = round else {
            return None;
        };
        let outcomes = join_all(batch.iter().map(|event| post(&webhook, event))).await;
        let inner = &mut *inner.borrow_mut();
        let (hooks, store) = inner.outbox()?;
        let mut failed = None;
        for (event, outcome) in batch.iter().zip(outcomes) {
            hooks.cursor = hooks.cursor.max(event.id);
            let written = match outcome {
                Ok(status) if webhook::delivered(Some(status)) => {
                    hooks.pending = hooks.pending.saturating_sub(1);
                    hooks.delivered.push(event.id);
                    Ok(())
                }
                Ok(status) => {
                    failed = Some(format!("HTTP {status}"));
                    store.outbox_failed(event.id)
                }
                Err(e) => {
                    failed = Some(e);
                    store.outbox_failed(event.id)
                }
            };
            if let Err(e) = written {
                worker::console_error!("webhook outbox not updated: {e}");
            }
        }
        if let Some(error) = failed {
            hooks.failures = hooks.failures.saturating_add(1);
            hooks.last_error = Some(error);
            let wait = webhook::backoff_ms(hooks.failures, js_sys::Math::random());
            return Some(now_ms() + wait);
        }
        hooks.failures = 0;
    }
    // More than one task's worth: the caller lets a fresh task go on.
    None
}

/// POSTs one event, signed; its HTTP status, or why there is none (timeout, network).
async fn post(webhook: &Webhook, event: &Pending) -> Result<u16, String> {
    let t = now_ms() / 1000;
    let headers = js_sys::Object::new();
    let init = js_sys::Object::new();
    let set = |object: &js_sys::Object, key: &str, value: &JsValue| {
        js_sys::Reflect::set(object, &JsValue::from_str(key), value)
            .map(drop)
            .map_err(js_error)
    };
    set(&headers, "content-type", &"application/json".into())?;
    let signature = webhook::signature(&webhook.secret, t, &event.body);
    set(&headers, SIGNATURE_HEADER, &signature.into())?;
    set(
        &headers,
        "x-edge-chat-attempt",
        &(event.attempts + 1).to_string().into(),
    )?;
    set(&init, "method", &"POST".into())?;
    set(&init, "headers", &headers)?;
    set(&init, "body", &event.body.as_str().into())?;
    // The runtime aborts the request (and rejects the promise) when the signal fires.
    set(
        &init,
        "signal",
        &abort_after(TIMEOUT_MS as u32).map_err(js_error)?,
    )?;
    let promise = fetch(&webhook.url, &init).map_err(js_error)?;
    let response: Answer = JsFuture::from(promise)
        .await
        .map_err(|e| match js_error(e) {
            e if e.contains("TimeoutError") || e.contains("timed out") => {
                format!("no answer within {TIMEOUT_MS} ms")
            }
            e => e,
        })?
        .unchecked_into();
    let status = response.status();
    // Read the (short) answer to its end: a response dropped unread keeps its connection busy, and
    // the runtime warns about each one, which at a message rate costs the whole room its latency.
    if let Ok(text) = response.text() {
        let _ = JsFuture::from(text).await;
    }
    Ok(status)
}

#[wasm_bindgen]
extern "C" {
    /// A fetch `Response`, seen only for its status and to read its body to the end.
    type Answer;
    #[wasm_bindgen(method, getter)]
    fn status(this: &Answer) -> u16;
    #[wasm_bindgen(method, catch)]
    fn text(this: &Answer) -> Result<js_sys::Promise, JsValue>;
}
