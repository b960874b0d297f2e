//! The room's side of its members' inboxes, carried out: who the members are (`inbox_members`, the
//! identities that joined and did not leave; a direct message's fixed `dm_members`), the rounds the
//! room's [`crate::inbox::notify::Notifier`] decides on (each member's entry counted by
//! [`Room::entry_for`] and sent to their inbox object), the person's presence here, and the calls
//! inboxes and the Worker make of a room about them (open a direct message, forget an inbox, read an
//! entry, is this person here).
//!
//! Counting: a round's entries are counted a slice of [`SLICE`] members per turn, the room's sockets
//! served in between, so a round of `INBOX_PUSH_MAX` members never holds a message up for long.
//!
//! Sending: each update is one call to an inbox object, started after the turn that decided it, never
//! awaited by it. The runtime's output gate holds a call made after a write until that write is
//! durable, so no inbox hears of a message that could still be lost. An inbox that could not be
//! reached is tried again in the next round. After an eviction, a room whose rounds fell behind its
//! revision (`meta.inbox_rev`) sends one when it wakes ([`woke`]).

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::json;
use worker::{Env, Response, Result};

use super::hop;
use super::links::Line;
use super::store::int;
use super::store::Store;
use super::{json_response, now_ms, problem_response};
use crate::call::RoomCall;
use crate::error::{ErrorCode, Problem};
use crate::inbox::call::InboxCall;
use crate::inbox::dm;
use crate::inbox::entry::{Person, Update};
use crate::inbox::notify::{Here, Members, Note};
use crate::inbox::object_name;
use crate::room::Room;
use crate::validate::RoomName;

/// What the room keeps for its inboxes besides its notifier.
pub struct Inboxes {
    env: Env,
    /// `INBOX_PUSH_MAX`.
    max: u64,
    /// The stamp of the last update (the room's clock, made strictly increasing).
    stamp: u64,
    /// How many members the room tells (read once, then kept in step).
    count: Option<u64>,
    /// A direct message's members (`Some(None)`: not one, or never opened), read once.
    dm: Option<Option<Vec<Person>>>,
    /// Updates sent (a diagnostic: `GET /api/rooms/{room}`'s `inboxes.told`).
    told: u64,
    /// The round under way: the members whose entries are still to count (a slice per turn), with
    /// its stamp and whether the room was past `INBOX_PUSH_MAX` when it began.
    round: Vec<String>,
    round_stamp: u64,
    round_big: bool,
    /// Updates in a row an inbox failed to take (it is tried again up to [`RETRIES`] times).
    failures: std::collections::HashMap<String, u32>,
}

/// How many members' entries one turn counts for a round: a round of 500 is spread over turns, so
/// messages keep flowing while it is counted.
const SLICE: usize = 20;

/// How many rounds in a row an update that did not arrive is tried again: an inbox that keeps failing
/// must not keep the room awake; its entry is read again when it opens anyway.
const RETRIES: u32 = 3;

/// What the rounds need of the room object's state: its room, store and [`Inboxes`], and its timer. A
/// trait, so the tasks live here without this module knowing the room object's state.
pub trait Rounds {
    fn parts(&mut self) -> (&mut Room<Line>, &Store, &mut Inboxes);
    /// Calls the room's events' steps again after `after_ms` (the room's tick timer).
    fn wake(&mut self, after_ms: u64);
}

impl Inboxes {
    pub fn new(env: Env, max: u32) -> Inboxes {
        Inboxes {
            env,
            max: max.into(),
            stamp: 0,
            count: None,
            dm: None,
            failures: std::collections::HashMap::new(),
            told: 0,
            round: Vec::new(),
            round_stamp: 0,
            round_big: false,
        }
    }

    /// `GET /api/rooms/{room}`'s `inboxes`: how many members the room tells, whether it tells them
    /// every change, and how many updates it has sent since it woke.
    pub fn figures(&mut self, store: &Store) -> serde_json::Value {
        let members = self.count(store).unwrap_or(0);
        json!({"members": members, "every_change": members <= self.max, "told": self.told})
    }

    fn count(&mut self, store: &Store) -> std::result::Result<u64, String> {
        match self.count {
            Some(n) => Ok(n),
            None => {
                let n = store.number("SELECT COUNT(*) FROM inbox_members", vec![])?;
                self.count = Some(n);
                Ok(n)
            }
        }
    }

    /// The direct message's members with their names, if the room is an opened direct message.
    fn people(&mut self, store: &Store) -> Option<&[Person]> {
        if self.dm.is_none() {
            let people = store
                .query("SELECT uid, name FROM dm_members ORDER BY uid", vec![])
                .map(|rows| {
                    rows.into_iter()
                        .map(|mut row| Person {
                            uid: row.text(),
                            name: row.opt_text(),
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_else(|e| {
                    worker::console_error!("could not read the direct message's members: {e}");
                    Vec::new()
                });
            self.dm = Some((!people.is_empty()).then_some(people));
        }
        self.dm.as_ref().and_then(|dm| dm.as_deref())
    }

    fn next_stamp(&mut self, now: u64) -> u64 {
        self.stamp = now.max(self.stamp + 1);
        self.stamp
    }
}

impl Store {
    /// The name member `uid` came with last, if the room tells their inbox.
    fn member_name(&self, uid: &str) -> std::result::Result<Option<String>, String> {
        Ok(self
            .query(
                "SELECT name FROM inbox_members WHERE uid = ?",
                vec![uid.into()],
            )?
            .into_iter()
            .next()
            .map(|mut row| row.text()))
    }

    fn set_member(&self, uid: &str, name: &str, now: u64) -> std::result::Result<(), String> {
        self.run(
            "INSERT INTO inbox_members (uid, name, at) VALUES (?, ?, ?) ON CONFLICT (uid) DO UPDATE SET name = excluded.name",
            vec![uid.into(), name.into(), int(now)],
        )
        .map(drop)
    }

    fn remove_member(&self, uid: &str) -> std::result::Result<bool, String> {
        if self.member_name(uid)?.is_none() {
            return Ok(false);
        }
        self.run("DELETE FROM inbox_members WHERE uid = ?", vec![uid.into()])
            .map(|_| true)
    }

    /// Up to `limit` members, by uid.
    fn members(&self, limit: u64) -> std::result::Result<Vec<String>, String> {
        Ok(self
            .query(
                "SELECT uid FROM inbox_members ORDER BY uid LIMIT ?",
                vec![int(limit)],
            )?
            .into_iter()
            .map(|mut row| row.text())
            .collect())
    }

    /// The room's revision up to which its rounds have gone.
    fn inbox_rev(&self) -> std::result::Result<u64, String> {
        self.number(
            "SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'inbox_rev'",
            vec![],
        )
    }

    fn set_inbox_rev(&self, rev: u64) -> std::result::Result<(), String> {
        self.run(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('inbox_rev', ?)",
            vec![int(rev)],
        )
        .map(drop)
    }
}

/// After a wake: a room whose last changes may not have reached its members' inboxes (the object was
/// evicted before its round went) sends a round to everyone.
pub fn woke(room: &mut Room<Line>, store: &Store, rev: u64) {
    match store.inbox_rev() {
        Ok(told) if told < rev => room.inboxes().note(Note::Room { concerned: vec![] }),
        Ok(_) => {}
        Err(e) => worker::console_error!("could not read how far the inboxes were told: {e}"),
    }
}

/// Whether a direct message lets `call` through (`reader`: who reads over HTTP); any other room does.
pub fn admit<T: Rounds>(t: &mut T, call: &RoomCall, reader: Option<&str>) -> Result<(), Problem> {
    if !dm::is_dm(call.room()) {
        return Ok(());
    }
    let (_, store, inboxes) = t.parts();
    let members: Option<Vec<String>> = inboxes
        .people(store)
        .map(|people| people.iter().map(|p| p.uid.clone()).collect());
    dm::lets(members.as_deref(), call.asker(reader))
}

/// The room's answer to one of the inbox calls (`OpenDm`, `Forget`, `Entry`, `Here`); `None` for any
/// other call.
pub fn answer<T: Rounds>(t: &mut T, call: &RoomCall, now: u64) -> Option<Result<Response>> {
    let answer = match call {
        RoomCall::OpenDm {
            room,
            members,
            by,
            name,
        } => open_dm(t, room, members, by, name.as_deref(), now),
        RoomCall::Forget { uid, .. } => {
            let (_, store, inboxes) = t.parts();
            store.remove_member(uid).map(|left| {
                if left {
                    inboxes.count = inboxes.count.map(|n| n.saturating_sub(1));
                }
                (json!({ "left": left }), 200)
            })
        }
        RoomCall::Entry { uid, .. } => {
            let (room, store, inboxes) = t.parts();
            entry(room, store, inboxes, uid, now).map(|u| (json!(u), 200))
        }
        RoomCall::Here { uid, .. } => {
            let (room, _, _) = t.parts();
            Ok((json!({ "here": room.is_here(uid) }), 200))
        }
        _ => return None,
    };
    Some(match answer {
        Ok((body, status)) => json_response(body.to_string(), status),
        Err(e) => problem_response(&Problem::new(ErrorCode::Internal, e)),
    })
}

/// A person's own erasure here (`RoomCall::ErasePerson`): the room stops telling their inbox (it is
/// being emptied, and must not be filled again), and a direct message forgets the name it knew them
/// by (their partners' entries show them nameless from the next round).
pub fn forget_person<T: Rounds>(t: &mut T, uid: &str) -> std::result::Result<(), String> {
    let (room, store, inboxes) = t.parts();
    if store.remove_member(uid)? {
        inboxes.count = inboxes.count.map(|n| n.saturating_sub(1));
    }
    let named = inboxes
        .people(store)
        .is_some_and(|people| people.iter().any(|p| p.uid == uid && p.name.is_some()));
    if named {
        store.run(
            "UPDATE dm_members SET name = NULL WHERE uid = ?",
            vec![uid.into()],
        )?;
        inboxes.dm = None;
        room.inboxes().note(Note::Room { concerned: vec![] });
    }
    Ok(())
}

/// `uid`'s entry now, or that they are a member no more.
fn entry(
    room: &mut Room<Line>,
    store: &Store,
    inboxes: &mut Inboxes,
    uid: &str,
    now: u64,
) -> std::result::Result<Update, String> {
    let stamp = inboxes.next_stamp(now);
    if store.member_name(uid)?.is_none() {
        return Ok(gone(room, stamp));
    }
    let big = inboxes.count(store)? > inboxes.max;
    let preview = room.last_message(store).map_err(|p| p.message)?;
    let mut update = room
        .entry_for(store, uid, preview.as_ref(), stamp, big)
        .map_err(|p| p.message)?;
    update.dm = partners(inboxes.people(store), uid);
    Ok(update)
}

/// The update that tells an inbox to drop the room.
fn gone(room: &mut Room<Line>, stamp: u64) -> Update {
    Update {
        room: room.info().room.to_string(),
        stamp,
        last_seq: 0,
        read_seq: 0,
        unread: 0,
        mentions: 0,
        threads: 0,
        last: None,
        big: false,
        dm: None,
        gone: true,
    }
}

/// A direct message's other members, as `uid`'s entry shows them.
fn partners(people: Option<&[Person]>, uid: &str) -> Option<Vec<Person>> {
    people.map(|people| people.iter().filter(|p| p.uid != uid).cloned().collect())
}

/// `OpenDm`: the first opening fixes the members and makes each one a member the room tells (so the
/// direct message appears in every one of their inboxes); a later one makes its opener one again (it
/// may have left the entry).
fn open_dm<T: Rounds>(
    t: &mut T,
    room: &RoomName,
    members: &[String],
    by: &str,
    name: Option<&str>,
    now: u64,
) -> std::result::Result<(serde_json::Value, u16), String> {
    if !dm::names(room, members) || !members.iter().any(|m| m == by) {
        return Err("a direct message opened with members that do not make it".into());
    }
    let (room_, store, inboxes) = t.parts();
    let first = inboxes.people(store).is_none();
    if first {
        for uid in members {
            let named = (uid == by).then_some(name).flatten();
            store.run(
                "INSERT OR IGNORE INTO dm_members (uid, name) VALUES (?, ?)",
                vec![
                    uid.as_str().into(),
                    named.map_or(worker::SqlStorageValue::Null, Into::into),
                ],
            )?;
        }
        inboxes.dm = None;
    }
    let tell: Vec<&String> = match first {
        true => members.iter().collect(),
        false => members.iter().filter(|m| *m == by).collect(),
    };
    for uid in tell {
        if store.member_name(uid)?.is_none() {
            let named = (uid == by).then_some(name).flatten().unwrap_or("");
            store.set_member(uid, named, now)?;
            inboxes.count = inboxes.count.map(|n| n + 1);
        }
        room_.inboxes().note(Note::Own(uid.clone()));
    }
    Ok((
        json!({ "room": room.as_str(), "members": members }),
        if first { 201 } else { 200 },
    ))
}

/// A call the room makes to an inbox after a turn.
enum Tell {
    Update(String, Update),
    /// The person came (under this name) or went.
    Here(String, Option<String>),
}

/// After every event: the inbox work it left — the members it banned, the people who came or went
/// (someone's first socket makes them a member), and a round when one is due (or the timer for it).
pub fn start<T: Rounds + 'static>(shared: &Rc<RefCell<T>>) {
    let now = now_ms();
    let (tells, env) = {
        let t = &mut *shared.borrow_mut();
        let (tells, wait) = prepare(t, now).unwrap_or_else(|e| {
            worker::console_error!("inbox round failed: {e}");
            (Vec::new(), None)
        });
        if let Some(ms) = wait {
            t.wake(ms);
        }
        let (_, _, inboxes) = t.parts();
        (tells, inboxes.env.clone())
    };
    for tell in tells {
        let shared = Rc::clone(shared);
        let env = env.clone();
        wasm_bindgen_futures::spawn_local(async move { send(&shared, &env, tell).await });
    }
}

/// The calls this turn leaves, and how long until a waiting round is due.
#[allow(clippy::type_complexity)]
fn prepare<T: Rounds>(
    t: &mut T,
    now: u64,
) -> std::result::Result<(Vec<Tell>, Option<u64>), String> {
    let (room, store, inboxes) = t.parts();
    let mut tells = Vec::new();
    for uid in room.inboxes().take_gone() {
        if store.remove_member(&uid)? {
            inboxes.count = inboxes.count.map(|n| n.saturating_sub(1));
        }
        let stamp = inboxes.next_stamp(now);
        tells.push(Tell::Update(uid, gone(room, stamp)));
    }
    for (uid, here) in room.inboxes().take_here() {
        match here {
            Here::Came(person) => {
                match store.member_name(&uid)? {
                    None => {
                        // A direct message's members are made members when it is opened: one who
                        // left the entry comes back by opening it again, not by a socket.
                        if inboxes.people(store).is_none() {
                            let count = inboxes.count(store)?;
                            store.set_member(&uid, &person, now)?;
                            inboxes.count = Some(count + 1);
                            room.inboxes().note(Note::Own(uid.clone()));
                            if count == inboxes.max {
                                room.inboxes().note(Note::Grew);
                            }
                        }
                    }
                    Some(old) if old != person => store.set_member(&uid, &person, now)?,
                    Some(_) => {}
                }
                if let Some(people) = inboxes.people(store) {
                    let known = people
                        .iter()
                        .any(|p| p.uid == uid && p.name.as_deref() == Some(&person));
                    if !known {
                        store.run(
                            "UPDATE dm_members SET name = ? WHERE uid = ?",
                            vec![person.as_str().into(), uid.as_str().into()],
                        )?;
                        inboxes.dm = None;
                    }
                }
                tells.push(Tell::Here(uid, Some(person)));
            }
            Here::Went => tells.push(Tell::Here(uid, None)),
        }
    }
    // A round under way: its next slice (the room's sockets were served since the last one).
    if !inboxes.round.is_empty() {
        let wait = slice(room, store, inboxes, &mut tells)?;
        return Ok((tells, wait));
    }
    if !room.inboxes().waiting() {
        return Ok((tells, None));
    }
    let count = inboxes.count(store)?;
    if count == 0 {
        // Nobody to tell (an anonymous crowd's room): no round, and no timer kept for one.
        room.inboxes().take(now, Members::Few(&[]));
        return Ok((tells, None));
    }
    if let Err(ms) = room.inboxes().due(now) {
        return Ok((tells, Some(ms)));
    }
    inboxes.round_big = count > inboxes.max;
    let to = if !inboxes.round_big || room.inboxes().wants_everyone() {
        let all = store.members(inboxes.max + 1)?;
        room.inboxes().take(now, Members::Few(&all))
    } else {
        let is_member = |uid: &str| matches!(store.member_name(uid), Ok(Some(_)));
        room.inboxes().take(now, Members::Many(&is_member))
    };
    store.set_inbox_rev(room.rev())?;
    if to.is_empty() {
        return Ok((tells, None));
    }
    inboxes.round = to;
    inboxes.round_stamp = inboxes.next_stamp(now);
    let wait = slice(room, store, inboxes, &mut tells)?;
    Ok((tells, wait))
}

/// Counts the next [`SLICE`] members' entries of the round under way into `tells`; a wait of 0 when
/// more remain, so that the room's sockets are served between slices (each entry is a few reads).
fn slice(
    room: &mut Room<Line>,
    store: &Store,
    inboxes: &mut Inboxes,
    tells: &mut Vec<Tell>,
) -> std::result::Result<Option<u64>, String> {
    let last = room.last_message(store).map_err(|p| p.message)?;
    let take = inboxes.round.len().min(SLICE);
    for uid in inboxes.round.drain(..take).collect::<Vec<_>>() {
        let mut update = room
            .entry_for(
                store,
                &uid,
                last.as_ref(),
                inboxes.round_stamp,
                inboxes.round_big,
            )
            .map_err(|p| p.message)?;
        update.dm = partners(inboxes.people(store), &uid);
        tells.push(Tell::Update(uid, update));
        inboxes.told += 1;
    }
    Ok((!inboxes.round.is_empty()).then_some(0))
}

/// Makes one call to an inbox; an update that did not arrive is tried again in the next round, and
/// the name a direct message's member goes by (their inbox's answer) is kept for the others' entries.
async fn send<T: Rounds + 'static>(shared: &Rc<RefCell<T>>, env: &Env, tell: Tell) {
    let (uid, call) = match tell {
        Tell::Update(uid, update) => (
            uid.clone(),
            InboxCall::Update {
                uid: uid.clone(),
                update,
            },
        ),
        Tell::Here(uid, name) => {
            let room = {
                let t = &mut *shared.borrow_mut();
                let (room, _, _) = t.parts();
                room.info().room.to_string()
            };
            let Ok(room) = RoomName::parse(&room) else {
                return;
            };
            let here = name.is_some();
            (
                uid.clone(),
                InboxCall::Here {
                    uid,
                    room,
                    here,
                    name,
                },
            )
        }
    };
    let request = call.to_request();
    let outcome = match hop::stub(env, "ROOMS", &object_name(&uid)) {
        Ok(stub) => {
            hop::exchange(&stub, request.method, &request.url, request.body.as_deref()).await
        }
        Err(e) => Err(e.to_string()),
    };
    let is_update = matches!(call, InboxCall::Update { .. });
    match outcome {
        Ok((200, body)) if is_update => {
            let t = &mut *shared.borrow_mut();
            t.parts().2.failures.remove(&uid);
            named(t, &uid, &body);
        }
        Ok((200, _)) => {}
        Ok((status, body)) => {
            worker::console_error!("inbox of {uid} answered {status}: {body}");
            if is_update && status >= 500 {
                retry(shared, uid);
            }
        }
        Err(e) => {
            worker::console_error!("inbox of {uid} unreachable: {e}");
            if is_update {
                retry(shared, uid);
            }
        }
    }
}

/// Tries `uid`'s update again in the next round, up to [`RETRIES`] times in a row.
fn retry<T: Rounds + 'static>(shared: &Rc<RefCell<T>>, uid: String) {
    {
        let t = &mut *shared.borrow_mut();
        let (room, _, inboxes) = t.parts();
        let failures = inboxes.failures.get(&uid).copied().unwrap_or(0) + 1;
        inboxes.failures.insert(uid.clone(), failures);
        if failures > RETRIES {
            inboxes.failures.remove(&uid);
            return;
        }
        room.inboxes().retry(uid);
    }
    start(shared);
}

/// An inbox answers an update with the name its person goes by: a direct message keeps it for the
/// others' entries (a partner who never joined is named so too).
fn named<T: Rounds>(t: &mut T, uid: &str, body: &str) {
    let Some(name) = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["name"].as_str().map(str::to_string))
    else {
        return;
    };
    let (room, store, inboxes) = t.parts();
    let Some(people) = inboxes.people(store) else {
        return;
    };
    let known = people
        .iter()
        .any(|p| p.uid == uid && p.name.as_deref() == Some(name.as_str()));
    let member = people.iter().any(|p| p.uid == uid);
    if known || !member {
        return;
    }
    let saved = store.run(
        "UPDATE dm_members SET name = ? WHERE uid = ?",
        vec![name.as_str().into(), uid.into()],
    );
    if let Err(e) = saved {
        worker::console_error!("could not keep a member's name: {e}");
        return;
    }
    inboxes.dm = None;
    // The others' entries show the name from the next round.
    room.inboxes().note(Note::Room { concerned: vec![] });
}
