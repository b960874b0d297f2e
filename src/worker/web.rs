//! The runtime's own `fetch` and `AbortSignal.timeout`, bound once for every outbound request the
//! objects make (webhooks, the moderation hook, link previews), and a rejected promise's reason as
//! text. Called directly rather than through `worker::Fetch` / `worker::Request`, which link a URL
//! parser (the `url` crate and its IDNA tables, ~12 KB of wasm) for a URL the runtime parses anyway.
//! What each caller reads of a `Response` differs, so each declares its own view of it.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch(url, init)`.
    #[wasm_bindgen(js_name = fetch, catch)]
    pub fn fetch(url: &str, init: &js_sys::Object) -> Result<js_sys::Promise, JsValue>;

    /// `AbortSignal.timeout(ms)`: a signal that aborts a request, and the reading of its body, after
    /// `ms` (the runtime then rejects with a `TimeoutError`).
    #[wasm_bindgen(js_namespace = AbortSignal, js_name = timeout, catch)]
    pub fn abort_after(ms: u32) -> Result<JsValue, JsValue>;
}

/// A thrown or rejected JS value as text: an `Error`'s name and message, a string as it is.
pub fn js_error(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| format!("{}: {}", e.name(), e.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}
