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

use futures_util::future::join_all;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::chat_room::{schedule_alarm, Inner};
use super::now_ms;
use super::store::{Pending, Store};
use crate::config::Webhook;
use crate::webhook::{self, BATCH, SIGNATURE_HEADER, TIMEOUT_MS};

/// Delivery rounds per alarm: past them the alarm re-arms itself at once, so one invocation stays short
/// even when a busy room's backlog is long.
const ROUNDS_PER_ALARM: usize = 25;

/// The room's webhook state: where events go, and how the outbox stands.
pub struct Hooks {
    webhook: Webhook,
    /// Events in the outbox.
    pending: u64,
    /// Delivery rounds that failed in a row (0 while the receiver is well).
    failures: u32,
    last_error: Option<String>,
    /// When the outbox wants the alarm (ms): `None` while it is empty or a delivery is running (which
    /// decides the next time when it ends).
    due_at: Option<u64>,
    delivering: bool,
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
            // Events left by an earlier incarnation: their alarm is stored and will fire, but asking
            // for it again costs nothing and covers a crash between the write and the arming.
            due_at: (pending > 0).then(now_ms),
            delivering: false,
        })
    }

    /// When the outbox wants the object's alarm (ms since the epoch), if at all.
    pub fn due_at(&self) -> Option<u64> {
        self.due_at
    }

    /// Puts one event into the outbox (same turn as the change, so the same commit) and asks for an
    /// alarm to deliver it (the caller then calls `schedule_alarm`). A full outbox drops its oldest
    /// events. While the receiver fails, a new event waits for the retry already scheduled.
    pub fn record(&mut self, store: &Store, body: &str) {
        let now = now_ms();
        if let Err(e) = store.outbox_add(body, now) {
            worker::console_error!("webhook event not recorded: {e}");
            return;
        }
        self.pending += 1;
        let (_, over) = webhook::overflow(self.pending, now);
        if over > 0 {
            self.dropped(store.outbox_drop(0, over));
        }
        if self.due_at.is_none() && !self.delivering {
            self.due_at = Some(now);
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

/// One delivery round's work, taken from the outbox while the room is borrowed.
enum Round {
    Idle,
    Send {
        webhook: Webhook,
        batch: Vec<Pending>,
    },
}

/// The alarm: delivers the outbox oldest first, [`BATCH`] events at a time, until it is empty, a round
/// fails (then the whole queue backs off) or [`ROUNDS_PER_ALARM`] rounds are done (then it goes on in
/// a fresh alarm).
pub async fn deliver(inner: &RefCell<Inner>) {
    {
        let inner = &mut *inner.borrow_mut();
        let Some(hooks) = inner.hooks.as_mut() else {
            return;
        };
        // The alarm may fire for a token's expiry while a delivery is still awaiting the receiver.
        if hooks.delivering {
            return;
        }
        hooks.delivering = true;
        hooks.due_at = None;
    }
    let next = rounds(inner).await;
    let inner = &mut *inner.borrow_mut();
    if let Some(hooks) = inner.hooks.as_mut() {
        hooks.delivering = false;
        hooks.due_at = next;
    }
    schedule_alarm(inner);
}

/// The delivery rounds of one alarm; returns when the outbox wants the alarm next.
async fn rounds(inner: &RefCell<Inner>) -> Option<u64> {
    for _ in 0..ROUNDS_PER_ALARM {
        let round = {
            let inner = &mut *inner.borrow_mut();
            let hooks = inner.hooks.as_mut()?;
            let (expired_before, _) = webhook::overflow(hooks.pending, now_ms());
            hooks.dropped(inner.store.outbox_drop(expired_before, 0));
            match inner.store.outbox_next(BATCH) {
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
                    Round::Idle
                }
            }
        };
        let Round::Send { webhook, batch } = round else {
            return None;
        };
        let outcomes = join_all(batch.iter().map(|event| post(&webhook, event))).await;
        let inner = &mut *inner.borrow_mut();
        let hooks = inner.hooks.as_mut()?;
        let mut failed = None;
        for (event, outcome) in batch.iter().zip(outcomes) {
            let written = match outcome {
                Ok(status) if webhook::delivered(Some(status)) => {
                    hooks.pending = hooks.pending.saturating_sub(1);
                    inner.store.outbox_done(event.id)
                }
                Ok(status) => {
                    failed = Some(format!("HTTP {status}"));
                    inner.store.outbox_failed(event.id)
                }
                Err(e) => {
                    failed = Some(e);
                    inner.store.outbox_failed(event.id)
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
    // More than one alarm's worth: go on in a fresh one.
    Some(now_ms())
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
    Ok(response.status())
}

fn js_error(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| format!("{}: {}", e.name(), e.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

#[wasm_bindgen]
extern "C" {
    /// The global `fetch(url, init)`, called directly: `worker::Fetch` and `worker::Request` link a URL
    /// parser (the `url` crate and its IDNA tables, ~12 KB of wasm) for a URL the runtime parses anyway.
    #[wasm_bindgen(js_name = fetch, catch)]
    fn fetch(url: &str, init: &js_sys::Object) -> Result<js_sys::Promise, JsValue>;

    /// `AbortSignal.timeout(ms)`: a signal that aborts a request after `ms`.
    #[wasm_bindgen(js_namespace = AbortSignal, js_name = timeout, catch)]
    fn abort_after(ms: u32) -> Result<JsValue, JsValue>;

    /// A fetch `Response`, seen only for its status (the body is not read: any 2xx will do).
    type Answer;
    #[wasm_bindgen(method, getter)]
    fn status(this: &Answer) -> u16;
}
