//! A person's data across their rooms, carried out by their inbox (the one object that knows those
//! rooms): the export (`GET /api/me/export`), one bounded page per request, made of the rooms'
//! own pages of the person's words ([`crate::export`]); and the erasure (`DELETE /api/me`), a durable
//! job driven by the inbox's alarm ([`crate::inbox::erasure`]), which ends by deleting all of the
//! inbox's storage.

use std::future::Future;
use std::pin::Pin;

use worker::{Response, Result};

use worker::WebSocket;

use super::inbox_store::{storage, InboxStore};
use super::room_object::ndjson_response;
use super::{now_ms, problem_response};
use crate::call::RoomCall;
use crate::error::{ErrorCode, Problem};
use crate::export::{read_author_tail, PersonCursor, PAGE_BYTES};
use crate::inbox::erasure::{room_answer, Report, ROOMS_PER_TURN, STEP_MS};
use crate::inbox::frames::InboxFrame;
use crate::validate::RoomName;

/// What the export and the erasure need of the inbox object: a trait, so that they live here
/// without this module knowing the inbox object (as `room_inboxes::Rounds` does for a room's).
pub trait Holder {
    /// Whose inbox it is.
    fn uid(&self) -> &str;
    fn store(&self) -> &InboxStore;
    /// The runtime's storage of the object (its alarm, `deleteAll`).
    fn storage(&self) -> worker::Storage;
    /// The runtime deleted all of the object's storage: whatever its stores remember of their
    /// tables goes too.
    fn wiped(&self);
    /// The person's inbox sockets that are open.
    fn sockets(&self) -> Vec<WebSocket>;
    /// Makes `call` of a room: its answer's text, if it answered (200 or 202).
    fn ask_room(&self, call: &RoomCall) -> Asked;
}

/// A call's answer to come.
pub type Asked = Pin<Box<dyn Future<Output = Option<String>>>>;

/// Makes sure the storage alarm fires by `at` (ms): one alarm serves the offline grace, the push
/// outbox and an erasure's steps, so an earlier one set is kept (one already past is the alarm
/// running now, which the runtime clears when it ends). Boxed: in the wasm once for every caller.
pub fn wake_by(storage: worker::Storage, at: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        let set = storage
            .get_alarm()
            .await
            .ok()
            .flatten()
            .map(|t| t.max(0) as u64);
        if set.is_some_and(|t| t <= at && t > now_ms()) {
            return;
        }
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
        if let Err(e) = storage.set_alarm(worker::ScheduledTime::new(date)).await {
            worker::console_error!("could not set the alarm: {e}");
        }
    })
}

/// What an erasure's request answers.
type Answer = std::result::Result<Report, Problem>;

/// Rooms' pages one page of a person's export asks for, at most: with each room's page bounded by
/// the room (`room/export.rs`), a request's work is bounded whatever the number of rooms.
const EXPORT_CALLS: usize = 8;

/// A page of the person's export from `room` (`None`: the first, by name) after `seq` `after`: the
/// head line, the rooms' lines in room then `seq` order, and the cursor to ask with next (or `end`).
/// A room that does not answer ends the page early, with the cursor at that room: asking again
/// goes on there. The rooms are those the inbox knows, also the ones the person left or was banned
/// from: the lines hold only what is theirs (see `crate::export`).
pub fn export<'a, H: Holder>(
    inbox: &'a H,
    room: Option<RoomName>,
    after: u64,
) -> Pin<Box<dyn Future<Output = Result<Response>> + 'a>> {
    Box::pin(async move {
        let asked = PersonCursor { room, after };
        let from = asked.room.as_ref().map_or("", RoomName::as_str);
        let rooms = match inbox.store().known_from(from, EXPORT_CALLS + 1) {
            Ok(rooms) => rooms,
            Err(e) => return problem_response(&storage(e)),
        };
        let mut page = asked.head_line(inbox.uid(), now_ms());
        page.push('\n');
        let mut calls = 0;
        let mut next = None;
        'rooms: for name in rooms.iter().filter_map(|r| RoomName::parse(r).ok()) {
            let mut at = match asked.room.as_ref() == Some(&name) {
                true => asked.after,
                false => 0,
            };
            loop {
                if calls == EXPORT_CALLS || page.len() >= PAGE_BYTES {
                    next = Some(PersonCursor {
                        room: Some(name),
                        after: at,
                    });
                    break 'rooms;
                }
                calls += 1;
                let call = RoomCall::ExportAuthor {
                    room: name.clone(),
                    uid: inbox.uid().to_string(),
                    after: at,
                };
                let answer = inbox.ask_room(&call).await;
                let body = answer.as_deref().unwrap_or("").trim_end_matches('\n');
                let (lines, tail) = body.rsplit_once('\n').unwrap_or(("", body));
                let Some((upto, more)) = read_author_tail(tail) else {
                    next = Some(PersonCursor {
                        room: Some(name),
                        after: at,
                    });
                    break 'rooms;
                };
                if !lines.is_empty() {
                    page.push_str(lines);
                    page.push('\n');
                }
                at = upto;
                if !more {
                    break;
                }
            }
        }
        let tail = match &next {
            Some(cursor) => cursor.tail_line(true),
            None => asked.tail_line(false),
        };
        page.push_str(&tail);
        page.push('\n');
        ndjson_response(page)
    })
}

/// `DELETE /api/me` (confirmed): where the erasure stands. Asked for the first time, it writes down
/// every room the inbox knows, closes the person's inbox sockets and sets the alarm for the first
/// step (202); while it runs, its progress (202); once done, the report kept (200). An inbox that
/// knows no room is emptied at once.
pub fn erase<'a, H: Holder>(inbox: &'a H) -> Pin<Box<dyn Future<Output = Answer> + 'a>> {
    Box::pin(async move {
        let store = inbox.store();
        let now = now_ms();
        if let Some(running) = store.erasure().map_err(storage)? {
            // Its alarm may have been lost with a crash between the job's write and the alarm's.
            wake_by(inbox.storage(), now).await;
            return Ok(running);
        }
        if store.known_from("", 1).map_err(storage)?.is_empty() {
            let done = store.erased().map_err(storage)?;
            return match (done, store.is_blank()) {
                (Some(done), _) => Ok(done),
                (None, true) => Ok(Report {
                    at: now,
                    done: true,
                    ..Report::default()
                }),
                (None, false) => {
                    empty(
                        inbox,
                        Report {
                            at: now,
                            done: true,
                            ..Report::default()
                        },
                    )
                    .await
                }
            };
        }
        let rooms = store.start_erasure(now).map_err(storage)?;
        close_sockets(inbox);
        wake_by(inbox.storage(), now).await;
        Ok(Report {
            rooms,
            at: now,
            ..Report::default()
        })
    })
}

/// One turn of the erasure under way (the inbox's alarm): asks up to [`ROOMS_PER_TURN`] rooms not
/// done, records their answers (a room that does not answer is asked again next turn), and either
/// sets the alarm for the next turn or, every room done, empties the inbox.
pub fn erase_some<'a, H: Holder>(inbox: &'a H) -> Pin<Box<dyn Future<Output = ()> + 'a>> {
    Box::pin(async move {
        let store = inbox.store();
        if !matches!(store.erasure(), Ok(Some(_))) {
            return;
        }
        for room in store.to_erase(ROOMS_PER_TURN).unwrap_or_default() {
            let Ok(name) = RoomName::parse(&room) else {
                // Not a room's name (it could not have told the inbox): nothing there to erase.
                let _ = store.erased_in(&room, 0, 0, true);
                continue;
            };
            let call = RoomCall::ErasePerson {
                room: name,
                uid: inbox.uid().to_string(),
            };
            let answer = inbox.ask_room(&call).await;
            if let Some((messages, reactions, done)) = answer.as_deref().and_then(room_answer) {
                if let Err(e) = store.erased_in(&room, messages, reactions, done) {
                    worker::console_error!("could not record an erasure's step: {e}");
                }
            }
        }
        let left = store.to_erase(1);
        if matches!(&left, Ok(left) if left.is_empty()) {
            if let Ok(Some(report)) = store.erasure() {
                let done = Report {
                    rooms_done: report.rooms,
                    at: now_ms(),
                    done: true,
                    ..report
                };
                close_sockets(inbox);
                if let Err(p) = empty(inbox, done).await {
                    worker::console_error!("could not empty the inbox: {}", p.message);
                }
            }
            return;
        }
        wake_by(inbox.storage(), now_ms() + STEP_MS).await;
    })
}

/// After a wake: an erasure under way goes on (its alarm may have been lost with a crash between
/// the job's write and the alarm's). A read of one value when none is.
pub fn resume<H: Holder>(inbox: &H) {
    if matches!(inbox.store().erasure(), Ok(Some(_))) {
        wasm_bindgen_futures::spawn_local(wake_by(inbox.storage(), now_ms()));
    }
}

/// Deletes all of the inbox's storage — every table (those added later too) and, with the
/// compatibility date in `wrangler.toml` (2026-02-24 or later: `delete_all_deletes_alarm`), its alarm —
/// and keeps only `report`. Boxed: in the wasm once for its two callers.
fn empty<'a, H: Holder>(
    inbox: &'a H,
    report: Report,
) -> Pin<Box<dyn Future<Output = Answer> + 'a>> {
    Box::pin(async move {
        inbox
            .storage()
            .delete_all()
            .await
            .map_err(|e| storage(format!("deleting all failed: {e}")))?;
        inbox.wiped();
        inbox.store().keep_erased(&report).map_err(storage)?;
        Ok(report)
    })
}

/// Closes the person's inbox sockets, after an `error` frame that says why (`forbidden`, 4403: a
/// client does not come back by itself to an inbox being erased).
fn close_sockets<H: Holder>(inbox: &H) {
    let code = ErrorCode::Forbidden;
    let frame = InboxFrame::Error {
        code,
        message: "your inbox and everything you wrote are being erased, as you asked",
    }
    .to_json();
    for ws in inbox.sockets() {
        let _ = ws.send_with_str(&frame);
        let _ = ws.close(Some(code.close_code()), Some(code.as_str()));
    }
}
