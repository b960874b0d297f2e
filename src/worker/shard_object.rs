//! A room's shard: one of the objects a large room's sockets live on once the room's own object (the
//! sequencer, [`super::room_object`]) holds `SHARD_SOCKETS` of them. It is a `ChatRoom` object named
//! `{room}#{k}` (a name no room can have), whose kind is this [`ShardObject`] ([`super::object`]):
//! the same class, so no second class (and its glue) in the wasm and no storage migration. It
//! decides nothing: it holds its sockets with the Hibernation API, forwards what they say to the
//! sequencer in order (the up pipe), and fans out what the sequencer pushes ([`Shard::deliver`]). See
//! [`crate::shard`] and docs/SCALING.md.
//!
//! What survives hibernation: each socket's attachment (the same [`Attachment`] the sequencer writes
//! for its own sockets) and its tag (the connection id). The constructor rebuilds the roster from
//! them, under a new `session`, so its first call to the sequencer sends the whole roster again.

use crate::effect::CLOSE_RESUME;
use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use worker::{Env, Method, Request, Response, Result, State, WebSocket, WebSocketPair};

use super::hop;
use super::{
    hex, internal, json_response, now_ms, problem_response, random_bytes, read_attachment,
    refuse_socket, write_attachment,
};
use crate::access::Join;
use crate::attachment::Attachment;
use crate::call::RoomCall;
use crate::domain::User;
use crate::effect::CLOSE_INTERNAL;
use crate::error::{ErrorCode, Problem};
use crate::routes::Target;
use crate::shard;
use crate::shard::call::ShardCall;
use crate::shard::continuity::{Arrival, Continuity};
use crate::shard::fanout::Shard;
use crate::shard::records::{read_ops, Records, Up};
use crate::validate::RoomName;

/// The longest wait between two tries of the up pipe while the sequencer does not answer.
const UP_RETRY_MAX_MS: u32 = 2_000;

/// A shard, as the `ChatRoom` object named for it runs it.
pub struct ShardObject {
    state: State,
    inner: Rc<RefCell<ShardInner>>,
}

/// Something a socket did, waiting for the up pipe.
enum Queued {
    Join {
        attachment: String,
        after: Option<u64>,
        since: Option<u64>,
    },
    Text {
        conn: String,
        text: String,
    },
    Binary {
        conn: String,
        len: usize,
    },
    Leave {
        conn: String,
    },
}

struct ShardInner {
    /// The room and this shard's index, from the object's name (`None` until known: an object
    /// reached by id rather than by name).
    room: Option<(RoomName, u16)>,
    env: Env,
    shard: Shard<WebSocket>,
    queue: Vec<Queued>,
    /// The up pipe has a request in flight.
    in_flight: bool,
    /// The next up request must carry the whole roster.
    sync_wanted: bool,
    /// This incarnation (random per construction).
    session: String,
    continuity: Continuity,
    started_at: u64,
    /// Frames forwarded, pushes received, up requests made (diagnostics).
    forwarded: u64,
    calls_in: u64,
    calls_out: u64,
}

impl ShardObject {
    pub fn new(state: State, env: Env) -> Self {
        let now = now_ms();
        let name = state.id().name().unwrap_or_default();
        let room = shard::parse_shard_name(&name)
            .and_then(|(room, k)| RoomName::parse(room).ok().map(|r| (r, k)));
        let mut held = Shard::default();
        for ws in state.get_websockets() {
            let attachment = read_attachment(&ws);
            match attachment {
                Some(a) if a.user().is_some() => {
                    let framing = a.framing;
                    held.hold(a.id, ws, framing, None);
                }
                _ => {
                    let _ = ws.close(Some(CLOSE_INTERNAL), Some("lost its attachment"));
                }
            }
        }
        let session = random_bytes::<8>()
            .map(|b| hex(&b))
            .unwrap_or_else(|_| format!("t{now}"));
        let inner = ShardInner {
            room,
            env,
            shard: held,
            queue: Vec::new(),
            in_flight: false,
            // A new incarnation: the sequencer does not know this session's roster yet.
            sync_wanted: true,
            session,
            continuity: Continuity::default(),
            started_at: now,
            forwarded: 0,
            calls_in: 0,
            calls_out: 0,
        };
        ShardObject {
            state,
            inner: Rc::new(RefCell::new(inner)),
        }
    }

    /// A call from the sequencer (a push, an operator's info or restart, passed on) or a connect the
    /// Worker brings here because the sequencer placed it here.
    pub async fn request(&self, mut req: Request) -> Result<Response> {
        let url = req.inner().url();
        let target = Target::split(&url);
        let body = match req.method() {
            Method::Post => req.text().await?,
            _ => String::new(),
        };
        if let Some(call) = ShardCall::parse(target.path, target.query) {
            let call = match call {
                Ok(call) => call,
                Err(p) => return problem_response(&p),
            };
            self.learn(call.room());
            return match call {
                ShardCall::Push {
                    session,
                    from,
                    n,
                    base,
                    rev,
                    ..
                } => self.push(session, &from, n, base, rev, &body),
                ShardCall::Info { shard, .. } => {
                    let i = self.inner.borrow();
                    json_response(
                        format!(
                            r#"{{"shard":{shard},"sockets":{},"instance":"{}","started_at":{},"forwarded":{},"calls_in":{},"calls_out":{}}}"#,
                            i.shard.len(),
                            i.session,
                            i.started_at,
                            i.forwarded,
                            i.calls_in,
                            i.calls_out
                        ),
                        200,
                    )
                }
                ShardCall::Restart {
                    shard: call_shard, ..
                } => {
                    // The next up request carries the (empty) roster: the sequencer drops every
                    // socket it had here, and the others hear them leave.
                    self.restart();
                    json_response(
                        format!(r#"{{"shard":{},"restarted":true}}"#, call_shard),
                        202,
                    )
                }
                ShardCall::Up { .. } => {
                    problem_response(&Problem::new(ErrorCode::NotFound, "not a shard call"))
                }
            };
        }
        let call = match RoomCall::parse(req.method().as_ref(), target.path, target.query, None) {
            Ok(call) => call,
            Err(p) => return problem_response(&p),
        };
        self.learn(call.room());
        match call {
            RoomCall::Connect { join, .. } => match self.open_socket(join) {
                Ok(response) => Ok(response),
                Err(p) => refuse_socket(&p),
            },
            _ => problem_response(&Problem::new(ErrorCode::NotFound, "not a shard call")),
        }
    }

    /// The runtime's `DurableObjectState`, for the object's socket events (the tags).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// After every event: starts the up pipe when something waits for it.
    pub fn start_up(&self) {
        start_up(&self.inner);
    }
}

impl ShardObject {
    /// Learns the room from a call, if the name did not say it.
    fn learn(&self, room: &RoomName) {
        let inner = &mut *self.inner.borrow_mut();
        if inner.room.is_none() {
            let name = self.state.id().name().unwrap_or_default();
            if let Some((_, k)) = shard::parse_shard_name(&name) {
                inner.room = Some((room.clone(), k));
            }
        }
    }

    /// Accepts a socket the sequencer placed here: it waits for its welcome, which the sequencer sends
    /// once the join has gone up the pipe.
    fn open_socket(&self, join: Join) -> std::result::Result<Response, Problem> {
        let inner = &mut *self.inner.borrow_mut();
        let user = User::connection(
            hex(&random_bytes::<8>()?),
            join.name.into_string(),
            join.uid,
        );
        let pair = WebSocketPair::new().map_err(internal)?;
        self.state
            .accept_websocket_with_tags(&pair.server, &[user.id.as_str()]);
        let attachment = Attachment::of(&user, join.role, join.expires)
            .framed(join.framing)
            .from_address(join.address);
        let json = serde_json::to_string(&attachment).map_err(internal)?;
        if let Err(e) = write_attachment(&pair.server, &attachment) {
            let _ = pair
                .server
                .close(Some(CLOSE_INTERNAL), Some("could not attach"));
            return Err(internal(e));
        }
        inner.shard.hold(
            user.id.clone(),
            pair.server.clone(),
            join.framing,
            Some((join.after, join.since)),
        );
        inner.queue.push(Queued::Join {
            attachment: json,
            after: join.after,
            since: join.since,
        });
        Response::from_websocket(pair.client).map_err(internal)
    }

    /// A push from the sequencer: checks it follows the last one, then fans it out.
    fn push(
        &self,
        session: Option<String>,
        from: &str,
        n: u64,
        base: u64,
        rev: u64,
        body: &str,
    ) -> Result<Response> {
        let ops = match read_ops(body) {
            Ok(ops) => ops,
            Err(p) => return problem_response(&p),
        };
        let inner = &mut *self.inner.borrow_mut();
        inner.calls_in += 1;
        if session.as_deref() != Some(inner.session.as_str()) {
            inner.sync_wanted = true;
        }
        match inner.continuity.arrive(from, n, base, rev) {
            Arrival::Repeat => return json_response(r#"{"repeat":true}"#.to_string(), 200),
            Arrival::Gap => {
                // Frames went missing: every socket here resumes from the history instead.
                worker::console_log!("shard missed a push; its sockets resume");
                for conn in close_all(inner, "missed frames; resume") {
                    inner.queue.push(Queued::Leave { conn });
                }
            }
            Arrival::Next => {}
        }
        // A frame that goes to many sockets is converted to a JS string once: the last one converted
        // is kept by its address, which stays valid (and unique) while `deliver` runs.
        let mut converted: Option<(*const u8, usize, JsValue)> = None;
        let pushed = inner.shard.deliver(&ops, |ws, frame, shared| {
            if !shared {
                let _ = ws.send_with_str(frame);
                return;
            }
            let key = (frame.as_ptr(), frame.len());
            let value = match &converted {
                Some((p, l, v)) if (*p, *l) == key => v,
                _ => &converted.insert((key.0, key.1, JsValue::from_str(frame))).2,
            };
            let _ = ws.as_ref().unchecked_ref::<Socket>().send(value);
        });
        for (conn, json) in pushed.attachments {
            if let (Some(held), Ok(a)) = (
                inner.shard.get(&conn),
                serde_json::from_str::<Attachment>(&json),
            ) {
                if let Err(e) = write_attachment(&held.socket, &a) {
                    worker::console_error!("could not update the attachment: {e}");
                }
            }
        }
        for (ws, code, reason) in pushed.closes {
            let _ = ws.close(Some(code), Some(reason));
        }
        json_response(format!(r#"{{"session":"{}"}}"#, inner.session), 200)
    }

    /// Starts over, as a crashed object would: every socket is dropped with 1012 (they reconnect and
    /// resume from the history), and a new session forgets the rest. (The runtime's `abort()` would be
    /// the real crash, but it throws through the wasm executor's task queue, which every object of
    /// the isolate shares, and leaves it unusable.)
    fn restart(&self) {
        let inner = &mut *self.inner.borrow_mut();
        close_all(inner, "shard restarting");
        inner.queue.clear();
        inner.continuity = Continuity::default();
        inner.session = random_bytes::<8>()
            .map(|b| hex(&b))
            .unwrap_or_else(|_| format!("t{}", now_ms()));
        inner.sync_wanted = true;
        inner.started_at = now_ms();
    }

    /// A frame from connection `conn`, one of the shard's sockets: up the pipe, as it is.
    pub fn message(&self, conn: String, ws: &WebSocket, message: &JsValue) {
        let inner = &mut *self.inner.borrow_mut();
        if inner.shard.get(&conn).is_none() {
            let _ = ws.close(Some(CLOSE_INTERNAL), Some("unknown connection"));
            return;
        }
        inner.forwarded += 1;
        match message.as_string() {
            Some(text) => inner.queue.push(Queued::Text { conn, text }),
            None => {
                let len = js_sys::Uint8Array::new(message).length() as usize;
                inner.queue.push(Queued::Binary { conn, len });
            }
        }
    }

    /// Connection `conn` closed (the caller completed the closing handshake) or failed: off the
    /// roster, and the sequencer is told.
    pub fn gone(&self, conn: String) {
        let inner = &mut *self.inner.borrow_mut();
        if inner.shard.release(&conn).is_some() {
            inner.queue.push(Queued::Leave { conn });
        }
    }
}

/// Closes every socket of the shard with 1012 (they reconnect and resume) and takes it off the
/// roster; returns their connection ids.
fn close_all(inner: &mut ShardInner, reason: &str) -> Vec<String> {
    inner
        .shard
        .release_all()
        .into_iter()
        .map(|(conn, held)| {
            let _ = held.socket.close(Some(CLOSE_RESUME), Some(reason));
            conn
        })
        .collect()
}

/// Starts the up pipe's task when there is something to send and no request in flight.
fn start_up(shared: &Rc<RefCell<ShardInner>>) {
    {
        let mut inner = shared.borrow_mut();
        if inner.in_flight || inner.room.is_none() || (inner.queue.is_empty() && !inner.sync_wanted)
        {
            return;
        }
        inner.in_flight = true;
    }
    wasm_bindgen_futures::spawn_local(up(Rc::clone(shared)));
}

/// The up pipe: sends what is queued (after the roster, when a sync is wanted), one request at a
/// time, until nothing is left. A refused or failed request is sent again, with what came meanwhile
/// after it, so the order holds.
async fn up(shared: Rc<RefCell<ShardInner>>) {
    let mut delay = 25;
    loop {
        let (url, body, stub, sent, sync) = {
            let inner = &mut *shared.borrow_mut();
            let Some((room, k)) = inner.room.clone() else {
                inner.in_flight = false;
                return;
            };
            if inner.queue.is_empty() && !inner.sync_wanted {
                inner.in_flight = false;
                return;
            }
            let sync = inner.sync_wanted;
            let sent = std::mem::take(&mut inner.queue);
            let mut records = Records::default();
            if sync {
                roster(inner, &mut records);
            }
            for item in &sent {
                match item {
                    // In a sync, the roster has every socket waiting for its welcome already.
                    Queued::Join { .. } if sync => {}
                    Queued::Join {
                        attachment,
                        after,
                        since,
                        ..
                    } => records.up(&Up::Join {
                        attachment,
                        after: *after,
                        since: *since,
                    }),
                    Queued::Text { conn, text } => records.up(&Up::Text { conn, text }),
                    Queued::Binary { conn, len } => records.up(&Up::Binary { conn, len: *len }),
                    Queued::Leave { conn } => records.up(&Up::Leave { conn }),
                }
            }
            let call = ShardCall::Up {
                room: room.clone(),
                shard: k,
                session: inner.session.clone(),
                sync,
            };
            inner.calls_out += 1;
            let stub = hop::stub(&inner.env, "ROOMS", room.as_str());
            (call.url(), records.into_body(), stub, sent, sync)
        };
        let outcome = hop::post(&stub, &url, &body).await;
        let wait = {
            let inner = &mut *shared.borrow_mut();
            match outcome {
                Ok(status) if (200..300).contains(&status) => {
                    if sync {
                        inner.sync_wanted = false;
                    }
                    None
                }
                Ok(404) => {
                    // The room never placed this shard (its object was reached some other way): it
                    // is not one of the room's, so it holds nothing and says nothing more.
                    close_all(inner, "not a shard of this room");
                    inner.queue.clear();
                    inner.sync_wanted = false;
                    inner.in_flight = false;
                    return;
                }
                other => {
                    // Not taken: the same items go again, first, before what came meanwhile. A 409
                    // asks for the roster first, at once; anything else waits a little longer each time.
                    let later = std::mem::replace(&mut inner.queue, sent);
                    inner.queue.extend(later);
                    if matches!(other, Ok(409)) {
                        inner.sync_wanted = true;
                        None
                    } else {
                        worker::console_error!("up pipe failed: {other:?}");
                        Some(delay)
                    }
                }
            }
        };
        match wait {
            Some(ms) => {
                hop::sleep(ms).await;
                delay = (delay * 2).min(UP_RETRY_MAX_MS);
            }
            None => delay = 25,
        }
    }
}

/// The shard's whole roster as records: the welcomed sockets, and the ones waiting for their welcome
/// as joins (the sequencer welcomes them, whether or not an earlier incarnation of it had).
fn roster(inner: &ShardInner, records: &mut Records) {
    for (_, held) in inner.shard.iter() {
        let Some(a) = read_attachment(&held.socket) else {
            continue;
        };
        let Ok(json) = serde_json::to_string(&a) else {
            continue;
        };
        if let Some((after, since)) = held.pending {
            records.up(&Up::Join {
                attachment: &json,
                after,
                since,
            });
        } else {
            records.up(&Up::Member { attachment: &json });
        }
    }
}

#[wasm_bindgen]
extern "C" {
    /// The runtime's `WebSocket`, for `send` with a JS string converted once.
    type Socket;
    #[wasm_bindgen(method, catch)]
    fn send(this: &Socket, data: &JsValue) -> std::result::Result<(), JsValue>;
}
