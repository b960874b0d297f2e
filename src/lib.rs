//! edge-chat: real-time chat at the edge. A Rust Cloudflare Worker routes each room's WebSockets to
//! one Durable Object, which holds them with the WebSocket Hibernation API, relays every message to
//! the room's other sockets and keeps the history in its SQLite storage.
//!
//! # Layout
//! The pure core (no `worker::`, tested with plain `cargo test`), from the edges in:
//! - [`error`] — every error code with its HTTP status and close code, and [`error::Problem`].
//! - [`domain`] — the types every feature speaks of: `User`, `ChatMessage`, `Version`, `Framing`.
//! - [`query`] — a URL's query string, decoded.
//! - [`effect`] — what the room decides and the object carries out, and the close codes.
//! - [`validate`] — checked input (room and user names, ids, texts, queries) and the fixed sizes.
//! - [`rate`] — the per-connection token bucket and the flood rule.
//! - [`config`] — every environment knob, parsed once, and the configurable [`config::Limits`].
//! - [`protocol`] — wire frames in and out (`docs/PROTOCOL.md` is its contract).
//! - [`presence`] — joins and leaves coalesced into counts above `PRESENCE_THRESHOLD` members.
//! - [`attachment`] — what a socket keeps across hibernation (a storage format, versioned).
//! - [`history`] — the storage the room needs, as a trait (SQLite in the DO, a `Vec` in tests).
//! - [`search`] — a search box's text → a safe FTS5 query; snippets → safe HTML.
//! - [`files`] — uploads: what one may be, its type sniffed from its bytes, how a file is served, and
//!   what the room records of each ([`files::log`]).
//! - [`preview`] — link previews: the link, which URLs may be fetched, what a page says of itself.
//! - [`thread`] — threads: which root a reply may go into, a root's summary, who takes part.
//! - [`mention`] — `@name`, `<@uid>` and `@room` in a text → the people it mentions.
//! - [`concern`] — whom a message concerns personally (mentioned, in its thread, or everyone).
//! - [`reactors`] — who reacted to a message with an emoji: the paged read, checked once.
//! - [`room`] — the room as a state machine: event in, [`room::Effect`]s out; the roster with its sockets.
//! - [`delivery`] — one turn's frames packed per connection for `batch=1` connections.
//! - [`shard`] — one room over several objects: the calls and records between them, placement, the
//!   sequencer's decisions ([`shard::sequencer`]), a shard's fan-out.
//! - [`auth`] — signed tokens (HMAC-SHA256) and the constant-time bearer check.
//! - [`jwt`] — standard JWTs (HS256, RS256, ES256): parsing, algorithm and claims checks.
//! - [`jwks`] — an identity provider's published keys, and when to fetch them again.
//! - [`session`] — what a token makes of a connection: its role and expiry.
//! - [`subprotocol`] — a socket's key or token in `Sec-WebSocket-Protocol`, out of its URL.
//! - [`identity`] — a client's secret `key` → its public author id, `uid`.
//! - [`moderation`] — bans, kicks, mutes and slow mode: the actions and the rules in force.
//! - [`access`] — who may join or read a room, and who may write through the API: one place.
//! - [`api`] — the HTTP API's request bodies, read and checked.
//! - [`call`] — every Worker → Durable Object call as one typed value, encoded and parsed.
//! - [`routes`] — path → route, and the `Origin` check.
//! - [`webhook`] — events for the app's backend: bodies, signatures, retry and outbox rules.
//! - [`retention`] — how long a room keeps messages, and which ones a sweep erases.
//! - [`screening`] — the moderation hook: the question a room asks before storing, the verdicts.
//! - [`blocklist`] — a room's blocked words, checked on arrival without any network.
//! - [`letters`] — letter case and word characters without Unicode's tables (for the blocked words).
//! - [`erasure`] — one author's words erased from one room: a durable job in bounded windows.
//! - [`export`] — a room's export, and a person's: NDJSON lines, their order and the cursors that resume them.
//!
//! `worker/` (wasm only) is the thin shell that carries out what the core decides: `entry.rs` (the
//! Worker's `fetch`), `object.rs` (the Durable Object class: the runtime's handlers once, over the
//! kinds `room_object.rs` and `shard_object.rs`), `store.rs` (SQL history).

pub mod access;
pub mod api;
pub mod attachment;
pub mod auth;
pub mod blocklist;
pub mod call;
pub mod concern;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod effect;
pub mod erasure;
pub mod error;
pub mod export;
pub mod files;
pub mod history;
pub mod identity;
pub mod inbox;
pub mod jwks;
pub mod jwt;
pub mod letters;
pub mod mention;
pub mod moderation;
pub mod presence;
pub mod preview;
pub mod protocol;
pub mod push;
pub mod query;
pub mod rate;
pub mod reactors;
pub mod retention;
pub mod room;
pub mod routes;
pub mod screening;
pub mod search;
pub mod session;
pub mod shard;
pub mod subprotocol;
pub mod thread;
pub mod validate;
pub mod webhook;

#[cfg(target_arch = "wasm32")]
mod worker;
