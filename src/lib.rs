//! edge-chat: real-time chat at the edge. A Rust Cloudflare Worker routes each room's WebSockets to
//! one Durable Object, which holds them with the WebSocket Hibernation API, relays every message to
//! the room's other sockets and keeps the history in its SQLite storage.
//!
//! # Layout
//! - [`protocol`] — wire frames and error codes (pure; `docs/PROTOCOL.md` is its contract).
//! - [`room`] — the room as a state machine: event in, [`room::Effect`]s out (pure).
//! - [`limits`] — validation newtypes and the token-bucket rate limiter (pure).
//! - [`routes`] — path → route, and the checks before a request reaches a room (pure).
//! - [`auth`] — bearer and signed-token checks (pure).
//! - [`config`] — every environment knob, parsed once (pure).
//! - `worker/` (wasm only) — the thin shell: `entry.rs` (the `fetch` handler), `chat_room.rs` (the
//!   Durable Object), `store.rs` (SQL history). It carries out what the pure modules decide.

pub mod auth;
pub mod config;
pub mod limits;
pub mod protocol;
pub mod room;
pub mod routes;

#[cfg(target_arch = "wasm32")]
mod worker;
