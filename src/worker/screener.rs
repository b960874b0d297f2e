//! Asking the moderation hook (see `crate::screening`): one task per question the room produced,
//! each a signed POST to `MODERATION_URL` with its own deadline, whose answer — read no further than
//! [`MAX_ANSWER_BYTES`] — goes back to the room as a verdict.
//!
//! A task, never awaited by the handler that made the question: while a Durable Object's handler
//! awaits, the runtime holds back the room's other events (see `super::webhooks`), and the other
//! senders' frames must keep arriving — they are held by the room, in order, not by the runtime. The
//! deadline is enforced twice: `AbortSignal.timeout` ends the request, and the room decides the
//! question at its deadline anyway (its tick), so a request that outlives its signal changes nothing.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::now_ms;
use super::room_state::{apply, flush_soon, Inner};
use super::web::{abort_after, fetch, js_error};
use crate::config::ModerationHook;
use crate::screening::{self, Failure, Verdict, MAX_ANSWER_BYTES};
use crate::webhook::{self, SIGNATURE_HEADER};

/// Starts a task for each question the last event produced; `then` starts the tasks its verdict
/// leaves (the room object's, passed in so that this module needs none of its own).
pub fn start(shared: &Rc<RefCell<Inner>>, then: fn(&Rc<RefCell<Inner>>)) {
    let (questions, hook) = {
        let inner = &mut *shared.borrow_mut();
        if inner.questions.is_empty() {
            return;
        }
        (
            std::mem::take(&mut inner.questions),
            inner.config.moderation.clone(),
        )
    };
    let Some(hook) = hook else {
        return;
    };
    for (ticket, body, timeout_ms) in questions {
        let shared = Rc::clone(shared);
        let hook = hook.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = ask(&hook, &body, timeout_ms).await;
            if let Err(failure) = &answer {
                worker::console_warn!("moderation hook: {}", failure.describe());
            }
            {
                let inner = &mut *shared.borrow_mut();
                let effects = inner.room.verdict(ticket, answer, now_ms());
                apply(inner, effects);
                flush_soon(inner);
            }
            then(&shared);
        });
    }
}

/// POSTs one question, signed, and reads the verdict (or why there is none).
async fn ask(hook: &ModerationHook, body: &str, timeout_ms: u64) -> Result<Verdict, Failure> {
    let network = |e: JsValue| Failure::Network(js_error(e));
    let headers = js_sys::Object::new();
    let init = js_sys::Object::new();
    let set = |object: &js_sys::Object, key: &str, value: &JsValue| {
        js_sys::Reflect::set(object, &JsValue::from_str(key), value)
            .map(drop)
            .map_err(network)
    };
    set(&headers, "content-type", &"application/json".into())?;
    let signature = webhook::signature(&hook.secret, now_ms() / 1000, body);
    set(&headers, SIGNATURE_HEADER, &signature.into())?;
    set(&init, "method", &"POST".into())?;
    set(&init, "headers", &headers)?;
    set(&init, "body", &body.into())?;
    // The signal ends the request and the reading of its body alike.
    let signal = abort_after(timeout_ms.min(u32::MAX as u64) as u32).map_err(network)?;
    set(&init, "signal", &signal)?;
    let promise = fetch(&hook.url, &init).map_err(network)?;
    let answer: Answer = JsFuture::from(promise)
        .await
        .map_err(failure)?
        .unchecked_into();
    let status = answer.status();
    let Some(stream) = answer.body() else {
        return screening::read_answer(status, "");
    };
    if !(200..=299).contains(&status) {
        // Not read: nothing in it counts. Cancelled, so its connection is not kept busy.
        let _ = stream.cancel();
        return Err(Failure::Status(status));
    }
    let text = read_bounded(&stream).await?;
    screening::read_answer(status, &text)
}

/// The body as text, read chunk by chunk and given up (the stream cancelled) past
/// [`MAX_ANSWER_BYTES`]: a hostile endpoint cannot make the room hold a huge answer.
async fn read_bounded(stream: &Stream) -> Result<String, Failure> {
    let reader = stream.get_reader().map_err(failure)?;
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read().map_err(failure)?)
            .await
            .map_err(failure)?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).map_err(failure)?;
        if done.is_truthy() {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(failure)?;
        let Some(part) = value.dyn_ref::<js_sys::Uint8Array>() else {
            return Err(Failure::Malformed("the answer is not bytes".into()));
        };
        if bytes.len() + part.length() as usize > MAX_ANSWER_BYTES {
            let _ = reader.cancel();
            return Err(Failure::TooLarge);
        }
        let at = bytes.len();
        bytes.resize(at + part.length() as usize, 0);
        part.copy_to(&mut bytes[at..]);
    }
    String::from_utf8(bytes).map_err(|_| Failure::Malformed("the answer is not UTF-8".into()))
}

/// A rejected fetch or read: the signal's timeout, or a network error.
fn failure(e: JsValue) -> Failure {
    match js_error(e) {
        e if e.contains("TimeoutError") || e.contains("timed out") || e.contains("AbortError") => {
            Failure::Timeout
        }
        e => Failure::Network(e),
    }
}

#[wasm_bindgen]
extern "C" {
    /// A fetch `Response`, seen for its status and its body stream.
    type Answer;
    #[wasm_bindgen(method, getter)]
    fn status(this: &Answer) -> u16;
    #[wasm_bindgen(method, getter)]
    fn body(this: &Answer) -> Option<Stream>;

    /// A `ReadableStream` of bytes, seen to read it in chunks or give it up.
    type Stream;
    #[wasm_bindgen(method, catch, js_name = getReader)]
    fn get_reader(this: &Stream) -> Result<Reader, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn cancel(this: &Stream) -> Result<js_sys::Promise, JsValue>;

    type Reader;
    #[wasm_bindgen(method, catch)]
    fn read(this: &Reader) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn cancel(this: &Reader) -> Result<js_sys::Promise, JsValue>;
}
