//! What the pure room decides and the Durable Object carries out: each [`Effect`] (send, broadcast,
//! close, wake, store a webhook event, verify a token, ask the moderation hook, answer a held HTTP
//! call, fetch a link's preview, delete files from the bucket), and the WebSocket close codes the server
//! uses, in one table. A leaf: the room produces effects, batched delivery and the shards route them,
//! and none of them imports another for the type.
//!
//! Close codes: a refusal closes with 4000 + its HTTP status ([`crate::error::ErrorCode::close_code`]);
//! the others are the standard codes below.

/// WebSocket close code for a frame over the size limit ("message too big").
pub const CLOSE_TOO_BIG: u16 = 1009;
/// WebSocket close code for a server-side fault.
pub const CLOSE_INTERNAL: u16 = 1011;
/// WebSocket close code for a connection that keeps flooding past its rate limit ("policy violation").
pub const CLOSE_FLOODING: u16 = 1008;
/// WebSocket close code for a socket the room takes for gone: silent past `SILENT_AFTER` ("going away").
pub const CLOSE_SILENT: u16 = 1001;
/// WebSocket close code for "come back and resume": a shard restarted or missed a push, so its
/// sockets reconnect with `after=`/`since=` ("service restart").
pub const CLOSE_RESUME: u16 = 1012;

/// What the Durable Object must do after an event. Frames are serialized once, here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send `frame` to the connection `to`.
    Send { to: String, frame: String },
    /// Send `frame` to every open connection of the room except `except`.
    Broadcast {
        except: Option<String>,
        frame: String,
    },
    /// Close the connection `to` with this code and reason. The room has already dropped it from the
    /// roster; its socket waits in [`crate::room::Room::take_closing`].
    Close {
        to: String,
        code: u16,
        reason: &'static str,
    },
    /// Call [`crate::room::Room::tick`] after this many milliseconds (announcements held back to coalesce them).
    Wake { after_ms: u64 },
    /// Put this webhook event (its JSON body) into the outbox, in the same turn as the change it
    /// reports so both commit together (only when [`crate::room::Room::set_webhooks`] switched events on).
    Event { body: String },
    /// Connection `to` presented a fresh token (`auth`): verify it (a signature check may need the
    /// JWKS, which only the Durable Object can fetch) and answer `auth_ok` or an error, echoing `id`.
    Authenticate {
        to: String,
        token: String,
        id: Option<String>,
    },
    /// Ask the moderation hook question `ticket` (its JSON `body`), giving up after `timeout_ms`;
    /// the answer goes back to [`crate::room::Room::verdict`] with the same ticket.
    Screen {
        ticket: u64,
        body: String,
        timeout_ms: u64,
    },
    /// Answer the HTTP call `call` that waited in the room's queue (a bot's post held for its verdict)
    /// with `status` and the JSON `body`.
    Reply {
        call: u64,
        status: u16,
        body: String,
    },
    /// Fetch the preview of `link` (the first link of message `seq`), and hand what the page says
    /// to [`crate::room::Room::previewed`]; after the turn, never holding up its frames.
    Preview { seq: u64, link: String },
    /// Uploads were doomed this turn ([`crate::files::log`]): delete them from the bucket once the
    /// turn is committed, then forget them.
    DeleteFiles,
}
