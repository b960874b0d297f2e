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
use super::push_store::PushStore;
use super::webpush;
use super::{hex, internal, json_response, now_ms, problem_response, random_bytes};
use crate::call::RoomCall;
use crate::config::Config;
use crate::error::{ErrorCode, Problem};
use crate::inbox::call::InboxCall;
use crate::inbox::entry::{Entry, Update};
use crate::inbox::frames::{InboxFrame, Snapshot};
use crate::inbox::online::{self, Seen, Step, MAX_PARTNERS};
use crate::inbox::{object_name, MAX_LISTED};
use crate::push::outcome::{judge, Outcome};
use crate::push::payload::{topic, Notification};
use crate::push::policy::{decide, Circumstances, Notify};
use crate::push::settings::PushSettings;
use crate::push::subscription::Subscription;
use crate::push::trigger;
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
    /// Web Push: subscriptions, rooms' settings, the outbox.
    push: PushStore,
    config: Config,
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

    fn wiped(&self) {
        self.store.wiped();
        self.push.wiped();
    }

    fn sockets(&self) -> Vec<WebSocket> {
        Inbox::sockets(self)
    }

    fn ask_room(&self, call: &RoomCall) -> Asked {
        ask_room(&self.env, call)
    }
}

/// Pushes one alarm sends at most: a person with many devices and rooms is served over several
/// alarms, and a slow push service holds one alarm for a bounded time.
const PUSHES_PER_ALARM: usize = 20;

impl InboxObject {
    pub fn new(state: State, env: Env, uid: String) -> Self {
        let store = InboxStore::open(state.storage().sql(), object_name(&uid));
        let push = PushStore::open(state.storage().sql());
        let config = super::load_config(&env).unwrap_or_default();
        let inbox = Rc::new(Inbox {
            state,
            env,
            uid,
            store,
            push,
            config,
        });
        // A push outbox left waiting (its alarm lost with a runtime that died mid-alarm, as the
        // local runtime does): whatever wakes the inbox sets the alarm again.
        if inbox.config.push.is_some() {
            if let Ok(Some(next)) = inbox.push.next_due() {
                inbox.arm(next.max(now_ms()));
            }
        }
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
            InboxCall::Online { .. } => {
                // What the partners were told; a room that said the person is there is asked
                // afterwards whether they still are, and a change is told to every partner.
                check_rooms(Rc::clone(inbox));
                inbox.store.told().map_err(storage).map(|told| {
                    let seen = told.seen(&inbox.uid);
                    (serde_json::to_string(&seen).unwrap_or_default(), 200)
                })
            }
            InboxCall::Subscribe { endpoint, body, .. } => inbox
                .push
                .subscribe(&endpoint, &body, now_ms())
                .map_err(storage)
                .and_then(|()| inbox.push_state(201)),
            InboxCall::Unsubscribe { endpoint, .. } => inbox
                .push
                .unsubscribe(&endpoint)
                .map_err(storage)
                .map(|had| {
                    let body = if had {
                        r#"{"unsubscribed":true}"#
                    } else {
                        r#"{"unsubscribed":false}"#
                    };
                    (body.to_string(), 200)
                }),
            InboxCall::Notify { room, notify, .. } => inbox.notify(&room, notify),
            InboxCall::PushState { .. } => inbox.push_state(200),
            InboxCall::Export { room, after, .. } => {
                return inbox_data::export(&**inbox, room, after).await;
            }
            InboxCall::Erase { .. } => inbox_data::erase(&**inbox)
                .await
                .map(|report| (report.to_json(&inbox.uid), report.status())),
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

    /// The storage alarm: the end of an offline grace, the pushes due, an erasure's next step.
    pub async fn alarm(&self) {
        self.inbox.presence();
        send_pushes(&self.inbox).await;
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
        let known = self.store.entry(&update.room).map_err(storage)?;
        // What the entry said before, for push's comparison (only when push is on).
        let before = self
            .config
            .push
            .as_ref()
            .and(known.as_ref())
            .map(|e| e.update.clone());
        let (entry, changed, new) = match known {
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
        if let Err(e) = self.consider_push(before.as_ref(), &entry) {
            worker::console_error!("push: {e}");
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
        if online {
            // Back: every room may push again, and what was not sent yet is not needed.
            self.push.back()?;
        }
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
            Step::LookAt(at) => self.arm(at),
            Step::Nothing => {}
        }
        Ok(())
    }
}

impl Inbox {
    /// `GET /api/me/push` (and the answer to a subscription): push on or off, the person's devices,
    /// and the rooms whose setting is not the default.
    fn push_state(&self, status: u16) -> std::result::Result<(String, u16), Problem> {
        let devices = self.push.devices().map_err(storage)?;
        // Written by hand: room names are `RoomName`s (A-Z a-z 0-9 _ . -), nothing to escape.
        let mut body = format!(
            r#"{{"enabled":{},"devices":{devices},"notify":{{"#,
            self.config.push.is_some()
        );
        for (i, (room, notify)) in self.push.settings().map_err(storage)?.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push('"');
            body.push_str(room);
            body.push_str("\":\"");
            body.push_str(notify.as_str());
            body.push('"');
        }
        body.push_str("}}");
        Ok((body, status))
    }

    /// `PATCH /api/me/rooms/{room}` `{"notify":…}`: the room must be in the inbox.
    fn notify(
        &self,
        room: &RoomName,
        notify: Notify,
    ) -> std::result::Result<(String, u16), Problem> {
        if self.store.entry(room.as_str()).map_err(storage)?.is_none() {
            return Err(Problem::new(
                ErrorCode::NotFound,
                format!("{} is not in your inbox", room.as_str()),
            ));
        }
        self.push
            .set_notify(room.as_str(), notify)
            .map_err(storage)?;
        let body = format!(
            r#"{{"room":"{}","notify":"{}"}}"#,
            room.as_str(),
            notify.as_str()
        );
        Ok((body, 200))
    }

    /// After a room's update: a read lets the room push again; a message by someone else may be
    /// pushed to every device, when [`decide`] says so (queued, then sent by the alarm).
    fn consider_push(
        &self,
        before: Option<&Update>,
        entry: &Entry,
    ) -> std::result::Result<(), String> {
        let Some(settings) = self.config.push.as_ref() else {
            return Ok(());
        };
        let change = trigger::change(before, &entry.update, &self.uid);
        if change.read {
            self.push.read(entry.room())?;
        }
        if !change.new_message {
            return Ok(());
        }
        let Some(last) = entry.update.last.as_ref() else {
            return Ok(());
        };
        if self.push.devices()? == 0 {
            return Ok(());
        }
        let (notify, pushed) = self.push.room(entry.room())?;
        let direct = entry.update.dm.is_some();
        let circumstances = Circumstances {
            online: !self.sockets().is_empty() || !self.store.present()?.is_empty(),
            own: false,
            left_or_muted: entry.muted,
            pushed_since_back: pushed,
            notify: notify.unwrap_or(Notify::default_for(direct)),
            direct,
            mentions_me: change.mentions_me,
            my_thread: change.my_thread,
        };
        let Some(reason) = decide(circumstances) else {
            return Ok(());
        };
        // A direct message, or any room of a deployment that needs a token to enter, is private:
        // its text leaves the server only when PUSH_PREVIEW allows it.
        let private = direct || self.config.signed_access();
        let payload = Notification::new(
            entry.room(),
            last.seq,
            reason,
            &last.name,
            &last.text,
            entry.update.unread,
            !private || settings.preview_private,
        )
        .to_json();
        let now = now_ms();
        self.push
            .queue(entry.room(), reason.urgency(), &payload, now)?;
        self.arm(now);
        Ok(())
    }

    /// Sets the alarm for `at` unless it is already set sooner (the offline grace shares it), as a
    /// task of its own.
    fn arm(&self, at: u64) {
        wasm_bindgen_futures::spawn_local(wake_by(self.state.storage(), at));
    }
}

/// Sends the pushes that are due (at most [`PUSHES_PER_ALARM`]), each through
/// [`webpush::send`], and does what the service's answer calls for ([`judge`]): done, again later,
/// or the subscription gone. Then sets the alarm for the next one waiting.
async fn send_pushes(inbox: &Rc<Inbox>) {
    let Some(settings) = inbox.config.push.as_ref() else {
        return;
    };
    if let Err(e) = try_send_pushes(inbox, settings).await {
        worker::console_error!("push outbox: {e}");
    }
    // Awaited, not a task: the alarm handler must still be running when it sets the next alarm, or
    // the runtime's clearing of the alarm that just ran may come after it.
    if let Ok(Some(next)) = inbox.push.next_due() {
        wake_by(inbox.state.storage(), next.max(now_ms())).await;
    }
}

async fn try_send_pushes(
    inbox: &Inbox,
    settings: &PushSettings,
) -> std::result::Result<(), String> {
    for pending in inbox.push.due(now_ms(), PUSHES_PER_ALARM)? {
        let stored = inbox.push.subscription(&pending.endpoint)?;
        let Some(subscription) = stored.and_then(|b| Subscription::parse(&b, settings).ok()) else {
            inbox.push.done(pending.id)?;
            continue;
        };
        let topic = topic(&pending.room);
        let push = webpush::Push {
            subscription: &subscription,
            payload: &pending.payload,
            topic: &topic,
            urgency: &pending.urgency,
        };
        let attempt = pending.attempts + 1;
        let outcome = match webpush::send(settings, &push, now_ms() / 1000).await {
            Ok(answer) => judge(Some(answer.status), answer.retry_after.as_deref(), attempt),
            Err(e) => {
                worker::console_error!("push to {} failed: {e}", subscription.origin());
                judge(None, None, attempt)
            }
        };
        match outcome {
            Outcome::Delivered | Outcome::Dropped => inbox.push.done(pending.id)?,
            Outcome::Retry { after_ms } => {
                inbox.push.retry(pending.id, attempt, now_ms() + after_ms)?
            }
            Outcome::Gone => drop(inbox.push.unsubscribe(&pending.endpoint)?),
        }
    }
    Ok(())
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
