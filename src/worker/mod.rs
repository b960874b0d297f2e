//! The thin shell around the pure core, compiled only for wasm: the Worker's `fetch` handler
//! ([`entry`]), the `ChatRoom` Durable Object ([`chat_room`]) and its SQL history ([`store`]).
//! Everything here carries out decisions made in `routes`, `room`, `auth` and `config`.

mod chat_room;
mod entry;
mod store;

use worker::{Env, Headers, Response, Result};

use crate::config::Config;
use crate::protocol::Problem;

/// Reads the configuration from `[vars]`, `.dev.vars` and secrets (all are string bindings on `env`).
fn load_config(env: &Env) -> std::result::Result<Config, Problem> {
    Config::parse(|key| {
        env.secret(key)
            .map(|s| s.to_string())
            .or_else(|_| env.var(key).map(|v| v.to_string()))
            .ok()
    })
}

/// The decoded `key=value` pairs of a URL's query, in order.
fn query_pairs(url: &worker::Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
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

/// Milliseconds since the Unix epoch, from the runtime's clock. (In Workers, `Date.now()` advances
/// only across I/O, which is all a chat timestamp needs.)
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// `n` random bytes from the runtime's CSPRNG (`crypto.getRandomValues`).
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // getrandom's "js" backend calls crypto.getRandomValues, which cannot fail in workerd; an
    // all-zero buffer would still be a valid (if guessable) id rather than a panic.
    let _ = getrandom::getrandom(&mut buf);
    buf
}
