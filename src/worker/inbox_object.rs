//! A person's inbox: the `ChatRoom` kind ([`super::object`]) named `@<uid>`. It keeps the person's
//! entries ([`InboxStore`]), takes the rooms' updates, and tells the person's sockets (`/ws/me`) of
//! each change: first the whole inbox, then one frame per change ([`InboxFrame`]). It knows whether the
//! person is online (its own sockets, and the rooms that say the person has one there) and tells the
//! people they have direct messages with ([`crate::inbox::online`]); it keeps theirs in turn.
//!
//! Its sockets hibernate like a room's: nothing about them lives only in memory (a socket is known by
//! its tag; the entries and the online state are in SQLite), so the object may be evicted between any
//! two events. The calls it makes (to rooms, to partners' inboxes) run as tasks after the event, never
//! awaited by it, except where an answer needs them (`GET /api/me` reads the big rooms first).
//! The person's export and erasure, which go through every room the inbox knows, are
//! [`super::inbox_data`]'s.

use std::rc::Rc;

use serde_json::json;
use worker::{Env, Method, Request, Response, Result, State, WebSocket, WebSocketPair};

use super::hop;
use super::inbox_data::{self, wake_by, Asked, Holder};
use super::inbox_store::{storage, InboxStore};
use super::{hex, internal, json_response, now_ms, problem_response, random_bytes};
use crate::call::RoomCall;
use crate::error::{ErrorCode, Problem};
use crate::inbox::call::InboxCall;
use crate::inbox::entry::{Entry, Update};
use crate::inbox::frames::{InboxFrame, Snapshot};
use crate::inbox::online::{self, Seen, Step, MAX_PARTNERS};
use crate::inbox::{object_name, MAX_LISTED};
use crate::routes::Target;
use crate::validate::RoomName;

/// Most rooms an inbox reads on open because they do not tell it every change (`INBOX_PUSH_MAX`), and
/// most rooms it asks whether the person is still there: the work one open can cause is bounded.
const MAX_READS: usize = 50;

/// The inbox kind of `ChatRoom` object.
pub struct InboxObject {
    inbox: Rc<Inbox>,
}

/// What the handlers and the tasks share.
struct Inbox {
    state: State,
    env: Env,
    uid: String,
    store: InboxStore,
}

impl Holder for Inbox {
    fn uid(&self) -> &str {
        &self.uid
    }

    fn store(&self) -> &InboxStore {
        &self.store
    }

    fn storage(&self) -> worker::Storage {
        self.state.storage()
    }

    fn sockets(&self) -> Vec<WebSocket> {
        Inbox::sockets(self)
    }

    fn ask_room(&self, call: &RoomCall) -> Asked {
        ask_room(&self.env, call)
    }
}

impl InboxObject {
    pub fn new(state: State, env: Env, uid: String) -> Self {
        let store = InboxStore::open(state.storage().sql(), object_name(&uid));
        let inbox = Rc::new(Inbox {
            state,
            env,
            uid,
            store,
        });
        inbox_data::resume(&*inbox);
        InboxObject { inbox }
    }

    pub fn state(&self) -> &State {
        &self.inbox.state
    }

    /// A call from the Worker, a room or another inbox.
    pub async fn request(&self, mut req: Request) -> Result<Response> {
        let url = req.inner().url();
        let target = Target::split(&url);
        let body = match req.method() {
            Method::Post => Some(req.text().await?),
            _ => None,
        };
        let call = match InboxCall::parse(
            req.method().as_ref(),
            target.path,
            target.query,
            body.as_deref(),
        ) {
            Ok(call) if call.uid() == self.inbox.uid => call,
            Ok(_) => return problem_response(&internal("a call for another inbox")),
            Err(p) => return problem_response(&p),
        };
        let inbox = &self.inbox;
        let done = match call {
            InboxCall::Connect { name, .. } => {
                inbox.keep_name(name.as_deref());
                return inbox.connect();
            }
            InboxCall::Read { name, .. } => {
                inbox.keep_name(name.as_deref());
                read_big_rooms(Rc::clone(inbox)).await;
                inbox.snapshot().map(|s| (s.to_json_body(), 200))
            }
            InboxCall::Leave { room, .. } => inbox.leave(&room),
            InboxCall::Mute { room, muted, .. } => inbox.mute(&room, muted),
            InboxCall::Update { update, .. } => inbox.take(&update).and_then(|()| {
                let name = inbox.store.name().map_err(storage)?;
                Ok((json!({ "name": name }).to_string(), 200))
            }),
            InboxCall::Here {
                room, here, name, ..
            } => {
                // The name the person came into a room with is the one their partners see.
                inbox.keep_name(name.as_deref());
                inbox
                    .store
                    .set_present(room.as_str(), here)
                    .map_err(storage)
                    .map(|()| {
                        inbox.presence();
                        ("{}".to_string(), 200)
                    })
            }
            InboxCall::Partner { seen, .. } => inbox.partner(&seen).map(|()| ("{}".into(), 200)),
            InboxCall::Export { room, after, .. } => {
                return inbox_data::export(&**inbox, room, after).await;
            }
            InboxCall::Erase { .. } => inbox_data::erase(&**inbox)
                .await
                .map(|report| (report.to_json(&inbox.uid), report.status())),
            InboxCall::Online { .. } => {
                // What the partners were told; a room that said the person is there is asked
                // afterwards whether they still are, and a change is told to every partner.
                check_rooms(Rc::clone(inbox));
                inbox.store.told().map_err(storage).map(|told| {
                    let seen = told.seen(&inbox.uid);
                    (serde_json::to_string(&seen).unwrap_or_default(), 200)
                })
            }
        };
        match done {
            Ok((body, status)) => json_response(body, status),
            Err(p) => problem_response(&p),
        }
    }

    /// A frame on an inbox socket: it takes none (the runtime answers `ping` by itself).
    pub fn message(&self, ws: &WebSocket) {
        let frame = InboxFrame::Error {
            code: ErrorCode::BadRequest,
            message: "the inbox socket takes no frames; it only tells",
        };
        let _ = ws.send_with_str(frame.to_json());
    }

    /// One of the person's sockets closed: maybe they went offline.
    pub fn gone(&self) {
        self.inbox.presence();
    }

    /// The storage alarm: the end of an offline grace, or an erasure's next step.
    pub async fn alarm(&self) {
        self.inbox.presence();
        inbox_data::erase_some(&*self.inbox).await;
    }
}

/// The snapshot's parts, owned (the frame and the body borrow them).
struct Owned {
    uid: String,
    name: Option<String>,
    entries: Vec<Entry>,
    online: Vec<Seen>,
}

impl Owned {
    fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            uid: &self.uid,
            name: self.name.as_deref(),
            rooms: self.entries.iter().map(Entry::view).collect(),
            online: &self.online,
        }
    }

    /// `GET /api/me`'s body: the `inbox` frame (its `type` one more field than the API needs).
    fn to_json_body(&self) -> String {
        InboxFrame::Inbox(self.snapshot()).to_json()
    }
}

impl Inbox {
    fn keep_name(&self, name: Option<&str>) {
        if let Some(name) = name {
            if let Err(e) = self.store.set_name(name) {
                worker::console_error!("could not keep the name: {e}");
            }
        }
    }

    /// The person's sockets that are open (a closing one is on its way out).
    fn sockets(&self) -> Vec<WebSocket> {
        self.state
            .get_websockets()
            .into_iter()
            .filter(|ws| ws.as_ref().ready_state() == worker::web_sys::WebSocket::OPEN)
            .collect()
    }

    /// Sends `frame` to every socket of the person's.
    fn tell(&self, frame: &InboxFrame<'_>) {
        let sockets = self.sockets();
        if sockets.is_empty() {
            return;
        }
        let text = frame.to_json();
        for ws in sockets {
            let _ = ws.send_with_str(&text);
        }
    }

    /// The direct-message partners of the most recent entries (at most [`MAX_PARTNERS`]).
    fn partners(&self, entries: &[Entry]) -> Vec<String> {
        let mut partners: Vec<String> = Vec::new();
        for uid in entries.iter().flat_map(Entry::partners) {
            if !partners.iter().any(|p| p == uid) && partners.len() < MAX_PARTNERS {
                partners.push(uid.to_string());
            }
        }
        partners
    }

    fn snapshot(&self) -> std::result::Result<Owned, Problem> {
        let entries = self.store.entries(MAX_LISTED).map_err(storage)?;
        let mut online = Vec::new();
        for uid in self.partners(&entries) {
            let seen = self.store.partner(&uid).map_err(storage)?;
            online.push(seen.unwrap_or(Seen {
                uid,
                online: false,
                last_seen: None,
            }));
        }
        Ok(Owned {
            uid: self.uid.clone(),
            name: self.store.name().map_err(storage)?,
            entries,
            online,
        })
    }

    /// `Connect`: accept the socket, send the whole inbox on it, then (tasks) read the big rooms and
    /// ask the partners' inboxes how they are, telling what changed.
    fn connect(self: &Rc<Self>) -> Result<Response> {
        let snapshot = match self.snapshot() {
            Ok(s) => s,
            Err(p) => return problem_response(&p),
        };
        let id = match random_bytes::<8>() {
            Ok(b) => hex(&b),
            Err(p) => return problem_response(&p),
        };
        let pair = WebSocketPair::new()?;
        self.state.accept_websocket_with_tags(&pair.server, &[&id]);
        let _ = pair
            .server
            .send_with_str(InboxFrame::Inbox(snapshot.snapshot()).to_json());
        self.presence();
        let inbox = Rc::clone(self);
        let partners = self.partners(&snapshot.entries);
        wasm_bindgen_futures::spawn_local(read_big_rooms(Rc::clone(&inbox)));
        ask_partners(inbox, partners);
        Response::from_websocket(pair.client)
    }

    /// A room's update: the entry is made, changed or (for a member no more) dropped, and the
    /// person's sockets hear of it.
    fn take(self: &Rc<Self>, update: &Update) -> std::result::Result<(), Problem> {
        // An update a room sent before it forgot an erased inbox must not bring the entry back.
        if let Some(erased) = self.store.erased().map_err(storage)? {
            if update.stamp <= erased.at {
                return Ok(());
            }
        }
        if update.gone {
            if self.store.remove(&update.room).map_err(storage)? {
                self.tell(&InboxFrame::Removed { room: &update.room });
            }
            return Ok(());
        }
        let (entry, changed, new) = match self.store.entry(&update.room).map_err(storage)? {
            None => (Entry::new(update, now_ms()), true, true),
            Some(mut entry) => {
                let stamp = entry.update.stamp;
                let changed = entry.apply(update);
                if !changed && entry.update.stamp == stamp {
                    return Ok(());
                }
                (entry, changed, false)
            }
        };
        self.store.put(&entry).map_err(storage)?;
        if new {
            self.store.know(entry.room()).map_err(storage)?;
        }
        if changed {
            self.tell(&InboxFrame::Entry {
                entry: entry.view(),
            });
        }
        // A new direct message: how are its people? (Their inboxes ask ours likewise.)
        if new && entry.update.dm.is_some() {
            let inbox = Rc::clone(self);
            let partners: Vec<String> = entry.partners().map(str::to_string).collect();
            ask_partners(inbox, partners);
        }
        Ok(())
    }

    /// `DELETE /api/me/rooms/{room}`: the entry goes, and the room is told to stop telling this
    /// inbox (a task; a room that cannot be told now is told again when the person leaves it again,
    /// and its next update finds no entry to change but makes one: see `take`).
    fn leave(self: &Rc<Self>, room: &RoomName) -> std::result::Result<(String, u16), Problem> {
        if self.store.remove(room.as_str()).map_err(storage)? {
            self.tell(&InboxFrame::Removed {
                room: room.as_str(),
            });
        }
        let call = RoomCall::Forget {
            room: room.clone(),
            uid: self.uid.clone(),
        };
        let told = ask_room(&self.env, &call);
        wasm_bindgen_futures::spawn_local(async move {
            let _ = told.await;
        });
        Ok((
            json!({"room": room.as_str(), "left": true}).to_string(),
            200,
        ))
    }

    /// `PATCH /api/me/rooms/{room}`: muted or not (the inbox's own; the room is not told).
    fn mute(&self, room: &RoomName, muted: bool) -> std::result::Result<(String, u16), Problem> {
        let Some(mut entry) = self.store.entry(room.as_str()).map_err(storage)? else {
            return Err(Problem::new(
                ErrorCode::NotFound,
                format!("{} is not in your inbox", room.as_str()),
            ));
        };
        if entry.mute(muted) {
            self.store.put(&entry).map_err(storage)?;
            self.tell(&InboxFrame::Entry {
                entry: entry.view(),
            });
        }
        Ok((
            serde_json::to_string(&entry.view()).unwrap_or_default(),
            200,
        ))
    }

    /// A partner's state, told by their inbox.
    fn partner(&self, seen: &Seen) -> std::result::Result<(), Problem> {
        // An inbox with no entry has no direct message to show it in (an erased one stays empty).
        if !self.store.has_entries().map_err(storage)? {
            return Ok(());
        }
        if self.store.set_partner(seen).map_err(storage)? {
            self.tell(&InboxFrame::Online(seen));
        }
        Ok(())
    }

    /// Whether the person's state changed enough to tell their partners (see [`online::step`]), and
    /// if so tells them (tasks); an offline grace sets the alarm for its end.
    fn presence(self: &Rc<Self>) {
        if let Err(e) = self.try_presence() {
            worker::console_error!("presence failed: {e}");
        }
    }

    fn try_presence(self: &Rc<Self>) -> std::result::Result<(), String> {
        let now = now_ms();
        let sockets = self.sockets().len();
        let rooms = self.store.present()?.len();
        let online = sockets > 0 || rooms > 0;
        let mut since = self.store.offline_since()?;
        if online == since.is_some() {
            since = (!online).then_some(now);
            self.store.set_offline_since(since)?;
        }
        let told = self.store.told()?;
        match online::step(told, sockets, rooms, since, now) {
            Step::Tell(told) => {
                self.store.set_told(told)?;
                let seen = told.seen(&self.uid);
                let partners = self.partners(&self.store.entries(MAX_LISTED)?);
                for uid in partners {
                    let env = self.env.clone();
                    let call = InboxCall::Partner {
                        uid,
                        seen: seen.clone(),
                    };
                    wasm_bindgen_futures::spawn_local(async move {
                        let _ = ask_inbox(&env, &call).await;
                    });
                }
            }
            Step::LookAt(at) => {
                let storage = self.state.storage();
                wasm_bindgen_futures::spawn_local(wake_by(storage, at));
            }
            Step::Nothing => {}
        }
        Ok(())
    }
}

/// Makes a call of the object named `object` (a room, another inbox): its answer's text, when it
/// answered 200 (or 202: a job under way; else logged). Boxed, so the exchange's code is in the wasm once for every caller.
fn ask(
    env: &Env,
    object: String,
    method: &'static str,
    url: String,
    body: Option<String>,
) -> Asked {
    let env = env.clone();
    Box::pin(async move {
        let stub = hop::stub(&env, "ROOMS", &object).ok()?;
        match hop::exchange(&stub, method, &url, body.as_deref()).await {
            Ok((200 | 202, answer)) => Some(answer),
            Ok((status, answer)) => {
                worker::console_error!("{object} answered {status}: {answer}");
                None
            }
            Err(e) => {
                worker::console_error!("{object} unreachable: {e}");
                None
            }
        }
    })
}

/// Makes `call` of another inbox.
fn ask_inbox(env: &Env, call: &InboxCall) -> Asked {
    let r = call.to_request();
    ask(env, object_name(call.uid()), r.method, r.url, r.body)
}

/// Makes `call` of a room.
fn ask_room(env: &Env, call: &RoomCall) -> Asked {
    let r = call.to_request();
    ask(
        env,
        call.room().as_str().to_string(),
        r.method,
        r.url,
        r.body,
    )
}

/// Reads the entries of the rooms that do not tell this inbox every change (`big`), the most recent
/// [`MAX_READS`]: their counts are exact from here on. Boxed: awaited by `GET /api/me`, started by a
/// socket's connect, and in the wasm once.
fn read_big_rooms(inbox: Rc<Inbox>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    Box::pin(async move {
        let big: Vec<String> = match inbox.store.entries(MAX_LISTED) {
            Ok(entries) => entries
                .into_iter()
                .filter(|e| e.update.big)
                .take(MAX_READS)
                .map(|e| e.update.room)
                .collect(),
            Err(e) => {
                worker::console_error!("could not list the entries: {e}");
                return;
            }
        };
        for room in big {
            let Ok(room) = RoomName::parse(&room) else {
                continue;
            };
            let call = RoomCall::Entry {
                room,
                uid: inbox.uid.clone(),
            };
            let update = ask_room(&inbox.env, &call)
                .await
                .and_then(|body| Update::parse(&body));
            if let Some(update) = update {
                if let Err(p) = inbox.take(&update) {
                    worker::console_error!("could not take a room's entry: {}", p.message);
                }
            }
        }
    })
}

/// Asks each partner's inbox how they are, and tells the person's sockets what changed (a task).
fn ask_partners(inbox: Rc<Inbox>, partners: Vec<String>) {
    if partners.is_empty() {
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        for uid in partners {
            let call = InboxCall::Online { uid };
            let seen = ask_inbox(&inbox.env, &call)
                .await
                .and_then(|body| Seen::parse(&body));
            if let Some(seen) = seen.filter(|s| s.uid == call.uid()) {
                if let Err(p) = inbox.partner(&seen) {
                    worker::console_error!("could not keep a partner's state: {}", p.message);
                }
            }
        }
    });
}

/// Asks the rooms that said the person is there whether they still are (a room restarted since
/// has lost their socket without a word), at most [`MAX_READS`] of them, while the person has no
/// inbox socket open; a change of their state is then told to their partners (`presence`). A task:
/// a partner's question is answered with what was told, at once.
fn check_rooms(inbox: Rc<Inbox>) {
    if !inbox.sockets().is_empty() {
        return;
    }
    let rooms = inbox.store.present().unwrap_or_default();
    if rooms.is_empty() {
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        for room in rooms.into_iter().take(MAX_READS) {
            let Ok(name) = RoomName::parse(&room) else {
                continue;
            };
            let call = RoomCall::Here {
                room: name,
                uid: inbox.uid.clone(),
            };
            let here = ask_room(&inbox.env, &call)
                .await
                .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
                .map(|v| v["here"] == true);
            if here == Some(false) {
                let _ = inbox.store.set_present(&room, false);
            }
        }
        inbox.presence();
    });
}
