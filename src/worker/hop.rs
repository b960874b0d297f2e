//! Calls from one of edge-chat's own pieces to a Durable Object (Worker → room, room ↔ shard), made on
//! the runtime's stub directly. `worker::Request::new_with_init` converts a `RequestInit` through its
//! `cf` options (~12 KB of wasm) that these calls never set; a plain JS object does the same here.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use worker::{Env, Headers, Response};

#[wasm_bindgen]
extern "C" {
    /// A Durable Object stub, seen only for `fetch(url, init)`.
    pub type RawStub;
    #[wasm_bindgen(method, catch)]
    fn fetch(this: &RawStub, url: &str, init: &js_sys::Object) -> Result<js_sys::Promise, JsValue>;

    /// A Durable Object namespace binding, seen for `idFromName` and `get`.
    type Namespace;
    #[wasm_bindgen(method, catch, js_name = idFromName)]
    fn id_from_name(this: &Namespace, name: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn get(this: &Namespace, id: &JsValue) -> Result<RawStub, JsValue>;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: u32) -> JsValue;

    /// A fetch `Response`, seen only for its status and to read its body to the end.
    type Answer;
    #[wasm_bindgen(method, getter)]
    fn status(this: &Answer) -> u16;
    #[wasm_bindgen(method, catch)]
    fn text(this: &Answer) -> Result<js_sys::Promise, JsValue>;
}

/// The stub of the object named `name` in the namespace bound as `binding` (reached on the env
/// object directly, like the rate limiters: workers-rs's typed wrappers add code and checks of the
/// binding's JS class name that a name lookup does not need).
pub fn stub(env: &Env, binding: &str, name: &str) -> worker::Result<RawStub> {
    let namespace = js_sys::Reflect::get(env.as_ref(), &binding.into()).map_err(error)?;
    if namespace.is_undefined() {
        return Err(worker::Error::JsError(format!("no binding {binding}")));
    }
    let namespace: Namespace = namespace.unchecked_into();
    let id = namespace.id_from_name(name).map_err(error)?;
    namespace.get(&id).map_err(error)
}

/// Waits `ms` milliseconds (a timer, not a busy wait: the object serves other events meanwhile).
pub async fn sleep(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

fn error(e: JsValue) -> worker::Error {
    worker::Error::JsError(e.as_string().unwrap_or_else(|| format!("{e:?}")))
}

/// Sends `method url` (with `body` and `headers`, if any) to `stub`: the runtime's `Response`.
async fn request(
    stub: &RawStub,
    method: &str,
    url: &str,
    body: Option<&str>,
    headers: Option<&Headers>,
) -> Result<JsValue, JsValue> {
    let init = js_sys::Object::new();
    let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&init, &key.into(), value);
    set("method", &method.into())?;
    if let Some(body) = body {
        set("body", &body.into())?;
    }
    if let Some(headers) = headers {
        set("headers", headers.0.as_ref())?;
    }
    JsFuture::from(stub.fetch(url, &init)?).await
}

/// Sends `method url` (with `body` and `headers`, if any) to `stub`; the object's answer as it is.
pub async fn call(
    stub: &RawStub,
    method: &str,
    url: &str,
    body: Option<&str>,
    headers: Option<&Headers>,
) -> worker::Result<Response> {
    let answer = request(stub, method, url, body, headers)
        .await
        .map_err(error)?;
    Ok(Response::from(
        answer.unchecked_into::<worker::web_sys::Response>(),
    ))
}

/// POSTs `body` to `stub` and reads the answer to its end (an unread body costs the runtime more than
/// reading it): its HTTP status.
pub async fn post(stub: &worker::Result<RawStub>, url: &str, body: &str) -> Result<u16, String> {
    let stub = stub.as_ref().map_err(|e| e.to_string())?;
    exchange(stub, "POST", url, Some(body))
        .await
        .map(|(status, _)| status)
}

/// Sends `method url` (with `body`, if any) to `stub` and reads the answer to its end: its HTTP
/// status and text (the calls between rooms and inboxes, whose answers are small).
pub async fn exchange(
    stub: &RawStub,
    method: &str,
    url: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let answer: Answer = request(stub, method, url, body, None)
        .await
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    let status = answer.status();
    let text = match answer.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok((status, text))
}
