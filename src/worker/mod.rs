//! The thin shell around the pure core, compiled only for wasm: the Worker's `fetch` handler
//! ([`entry`]) and the `ChatRoom` Durable Object class ([`object`]: the runtime's handlers, written
//! once), whose kinds are a room's own object ([`room_object`], its state and effects in
//! [`room_state`], token renewal in [`renewal`], and as its shards' sequencer [`sequencing`] and
//! [`links`]) and a shard ([`shard_object`]); its SQL history ([`store`]), its webhook delivery
//! ([`webhooks`]), the calls between objects ([`hop`]), and the JWKS fetch and Web Crypto signature
//! check of RS256/ES256 tokens ([`keys`]). Files: the Worker's upload and download endpoints
//! ([`files`]) over the R2 bucket ([`bucket`]), the room's record of its uploads ([`file_store`]) and
//! the deletion of doomed ones from the bucket ([`doomed`]); link previews fetched by the room
//! ([`previews`]). An object's own name, kept for the wakes the runtime does not name it in
//! ([`own_name`]); a person's export and erasure, carried out by their inbox ([`inbox_data`]).
//! Everything here carries out decisions made in `routes`, `access`, `call`, `room`, `shard` and
//! `config`.

mod bucket;
mod doomed;
mod entry;
mod file_store;
mod files;
mod hop;
mod inbox_data;
mod inbox_object;
mod inbox_store;
mod keys;
mod links;
mod object;
mod own_name;
mod previews;
mod push_store;
mod renewal;
mod room_inboxes;
mod room_object;
mod room_state;
mod screener;
mod sequencing;
mod shard_object;
mod store;
mod subtle;
mod web;
mod webhooks;
mod webpush;

use wasm_bindgen::JsCast;
use worker::{Env, Headers, Request, Response, Result, WebSocketPair};

use crate::attachment::Attachment;
use crate::call::RoomCall;
use crate::config::Config;
use crate::error::{ErrorCode, Problem};
use crate::protocol::ServerFrame;

/// Reads the configuration from `[vars]`, `.dev.vars` and secrets (all are string bindings on `env`).
fn load_config(env: &Env) -> std::result::Result<Config, Problem> {
    Config::parse(|key| {
        env.secret(key)
            .map(|s| s.to_string())
            .or_else(|_| env.var(key).map(|v| v.to_string()))
            .ok()
    })
}

/// A runtime failure as the client hears of it: `internal`, with the detail in the log only.
fn internal(e: impl std::fmt::Display) -> Problem {
    worker::console_error!("{e}");
    Problem::new(ErrorCode::Internal, "internal error")
}

/// A JSON response with `status`.
fn json_response(body: String, status: u16) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::ok(body)?
        .with_status(status)
        .with_headers(headers))
}

/// The HTTP refusal for `problem`: its status and `{"error":{"code","message"}}`.
fn problem_response(problem: &Problem) -> Result<Response> {
    json_response(problem.to_http_body(), problem.code.http_status())
}

/// Refuses a WebSocket upgrade so that a browser can read why: accept the socket, send the `error`
/// frame, close with 4000 + the HTTP status. (A browser sees a refused upgrade only as a bare 1006, with
/// neither status nor body.) The socket is accepted the plain way, not as hibernatable: it lives for
/// one frame. The runtime sends the queued frame and the close once the 101 response is returned.
fn refuse_socket(problem: &Problem) -> Result<Response> {
    let pair = WebSocketPair::new()?;
    pair.server.accept()?;
    let frame = ServerFrame::Error {
        code: problem.code,
        message: &problem.message,
        id: None,
    };
    pair.server.send_with_str(frame.to_json())?;
    pair.server
        .close(Some(problem.code.close_code()), Some(problem.code.as_str()))?;
    Response::from_websocket(pair.client)
}

/// Milliseconds since the Unix epoch, from the runtime's clock. (In Workers, `Date.now()` advances
/// only across I/O, which is all a chat timestamp needs.)
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// `N` random bytes from the runtime's CSPRNG (`crypto.getRandomValues`). A failure is an `internal`
/// error, never a buffer of zeros: ids made from it must not collide (a repeated connection id would
/// evict a member).
fn random_bytes<const N: usize>() -> std::result::Result<[u8; N], Problem> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).map_err(|e| {
        worker::console_error!("getrandom failed: {e}");
        Problem::new(ErrorCode::Internal, "no randomness available")
    })?;
    Ok(buf)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A socket's attachment (`None`: missing or unreadable). Read as JSON (`JSON.stringify` of what the
/// runtime kept, then serde_json, which the wasm has anyway): the same attachments as workers-rs's
/// `deserialize_attachment` reads, without a second serde format (serde-wasm-bindgen) in the wasm.
fn read_attachment(ws: &worker::WebSocket) -> Option<Attachment> {
    let socket: &Attached = ws.as_ref().unchecked_ref();
    let value = socket.deserialize_attachment().ok()?;
    if value.is_null() || value.is_undefined() {
        return None;
    }
    let json = js_sys::JSON::stringify(&value).ok()?.as_string()?;
    serde_json::from_str(&json).ok()
}

/// Keeps `attachment` with the socket, as a plain object (what older builds read).
fn write_attachment(
    ws: &worker::WebSocket,
    attachment: &Attachment,
) -> std::result::Result<(), String> {
    let json = serde_json::to_string(attachment).map_err(|e| e.to_string())?;
    let value = js_sys::JSON::parse(&json).map_err(|e| format!("{e:?}"))?;
    let socket: &Attached = ws.as_ref().unchecked_ref();
    socket
        .serialize_attachment(&value)
        .map_err(|e| format!("{e:?}"))
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The runtime's `WebSocket`, seen for the attachment it keeps across hibernation.
    type Attached;
    #[wasm_bindgen(method, catch, js_name = serializeAttachment)]
    fn serialize_attachment(
        this: &Attached,
        value: &wasm_bindgen::JsValue,
    ) -> std::result::Result<(), wasm_bindgen::JsValue>;
    #[wasm_bindgen(method, catch, js_name = deserializeAttachment)]
    fn deserialize_attachment(
        this: &Attached,
    ) -> std::result::Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>;

    /// A Workers Rate Limiting binding (`[[ratelimits]]` in wrangler.toml), seen only for `limit`.
    /// Reached through the env object rather than `Env::rate_limiter`, which checks the binding's JS
    /// class name — a name local dev and the edge need not share.
    type RateLimitBinding;
    #[wasm_bindgen(method, catch)]
    fn limit(
        this: &RateLimitBinding,
        options: &wasm_bindgen::JsValue,
    ) -> std::result::Result<js_sys::Promise, wasm_bindgen::JsValue>;
}

/// Takes one unit of the per-client limit `binding` for `client`. Without the binding (a deployment
/// that removed it) nothing is limited; a failing binding lets the request through too, since refusing
/// every user because the limiter is down would be worse than a flood it cannot see.
async fn client_limit(env: &Env, binding: &str, client: &str) -> std::result::Result<(), Problem> {
    let Ok(value) = js_sys::Reflect::get(env.as_ref(), &binding.into()) else {
        return Ok(());
    };
    if value.is_undefined() || value.is_null() {
        return Ok(());
    }
    let limiter: &RateLimitBinding = value.unchecked_ref();
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"key".into(), &client.into());
    let outcome = match limiter.limit(&options) {
        Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    let success = match outcome {
        Ok(result) => js_sys::Reflect::get(&result, &"success".into())
            .map(|s| s.as_bool() != Some(false))
            .unwrap_or(true),
        Err(e) => {
            worker::console_error!("rate limiter {binding} failed: {e:?}");
            true
        }
    };
    if success {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorCode::RateLimited,
            "too many requests from your address; wait a minute and try again",
        ))
    }
}

/// Sends `call` to its room's Durable Object (with `headers`, for an upgrade).
async fn call_room(env: &Env, call: &RoomCall, headers: Option<Headers>) -> Result<Response> {
    let request = call.to_request();
    let stub = hop::stub(env, "ROOMS", call.room().as_str())?;
    hop::call(
        &stub,
        request.method,
        &request.url,
        request.body.as_deref(),
        headers.as_ref(),
    )
    .await
}

/// The client's address as Cloudflare reports it (`CF-Connecting-IP`), for the per-client limits.
fn client_address(req: &Request) -> String {
    req.headers()
        .get("cf-connecting-ip")
        .ok()
        .flatten()
        .unwrap_or_else(|| "unknown".to_string())
}

/// Takes a unit of the per-client limit `binding`, unless `RATE_LIMIT_EXEMPT` lists the client.
async fn limit_client(
    req: &Request,
    binding: &str,
    config: &Config,
    env: &Env,
) -> std::result::Result<(), Problem> {
    let client = client_address(req);
    if !config.limits_client(&client) {
        return Ok(());
    }
    client_limit(env, binding, &client).await
}
