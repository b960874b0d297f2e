//! Fetching a link's preview for the room: [`fetch`] carries out `crate::preview`'s decisions —
//! each URL checked before it is asked (the link, every redirect), redirects followed by hand
//! (`redirect: "manual"`, so none is followed unchecked), one timeout over the whole of it, at most
//! `MAX_PAGE_BYTES` read — and [`fetched`] hands what the page said to the room, which records it as
//! a change of the message. A task of its own per link, started after the turn that stored the
//! message: the message's ack and broadcast never wait for a page.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::bucket::{self, Body};
use super::now_ms;
use super::room_state::{apply, Inner};
use super::web::{self, abort_after};
use crate::domain::Preview;
use crate::preview::{html, Fetch, Step, MAX_PAGE_BYTES, TIMEOUT_MS};

#[wasm_bindgen]
extern "C" {
    /// A fetch `Response`, seen for its status, two headers and its body.
    type Page;
    #[wasm_bindgen(method, getter)]
    fn status(this: &Page) -> u16;
    #[wasm_bindgen(method, getter)]
    fn headers(this: &Page) -> worker::web_sys::Headers;
    #[wasm_bindgen(method, getter)]
    fn body(this: &Page) -> JsValue;
}

/// What the page `link` says of itself, if the rules let it be fetched and it answered in time with
/// an HTML page that has a title or a description. `allow` is `PREVIEW_ALLOW_HOSTS`.
pub async fn fetch(link: &str, allow: &[String]) -> Option<Preview> {
    let mut fetch = Fetch::start(link, allow).ok()?;
    let signal = abort_after(TIMEOUT_MS).ok()?;
    let headers = js_sys::Object::new();
    let set = |o: &js_sys::Object, k: &str, v: &JsValue| js_sys::Reflect::set(o, &k.into(), v);
    set(
        &headers,
        "accept",
        &"text/html,application/xhtml+xml".into(),
    )
    .ok()?;
    set(&headers, "user-agent", &"edge-chat link preview".into()).ok()?;
    let init = js_sys::Object::new();
    set(&init, "redirect", &"manual".into()).ok()?;
    set(&init, "signal", &signal).ok()?;
    set(&init, "headers", &headers).ok()?;
    loop {
        let promise = web::fetch(&fetch.url.to_string(), &init).ok()?;
        let page: Page = JsFuture::from(promise).await.ok()?.unchecked_into();
        let header = |name: &str| page.headers().get(name).ok().flatten();
        let step = fetch.answered(
            page.status(),
            header("location").as_deref(),
            header("content-type").as_deref(),
            allow,
        );
        let body = page.body();
        let body: Option<Body> =
            (!body.is_null() && !body.is_undefined()).then(|| body.unchecked_into());
        match step {
            Step::Read => {
                let bytes = bucket::read_some(body?, MAX_PAGE_BYTES).await.ok()?;
                let text = String::from_utf8_lossy(&bytes);
                return html::read(link, &fetch.url, &text, allow);
            }
            Step::Follow => {
                // An unread body holds its connection: let it go.
                if let Some(body) = body {
                    let _ = body.cancel();
                }
            }
            Step::Stop(_) => {
                if let Some(body) = body {
                    let _ = body.cancel();
                }
                return None;
            }
        }
    }
}

/// The fetch of `link` for message `seq` is over: the room records the preview (or forgets it was
/// waiting for one), and its effects are carried out.
pub fn fetched(inner: &mut Inner, seq: u64, link: &str, preview: Option<Preview>) {
    match inner
        .room
        .previewed(seq, link, preview, &mut inner.store, now_ms())
    {
        Ok(effects) => apply(inner, effects),
        Err(p) => worker::console_error!("preview of message {seq} not recorded: {}", p.message),
    }
}
