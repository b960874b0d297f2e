//! A person's erasure (`DELETE /api/me?confirm=<uid>`): everything they wrote, in every room their
//! inbox knows (direct messages included), made tombstones as their own deletions would leave them
//! (versions gone), their reactions taken off, their read marks forgotten — then their inbox itself,
//! all of its storage.
//!
//! **A durable job, driven by the inbox's alarm.** Asked for, the inbox writes down every room it
//! knows (not done yet) and sets its alarm. Each alarm turn asks up to [`ROOMS_PER_TURN`] rooms not
//! done for the person's erasure there (`RoomCall::ErasePerson`: the room stops telling the inbox,
//! closes the person's sockets, and runs its own durable job, [`crate::erasure`], which walks its log
//! in bounded windows on the room's alarm; each ask runs one step more and reports the room's
//! totals), records what each answered, and sets the alarm again while a room is not done. A restart
//! half-way resumes from that table: a room asked again goes on with its own stored job, and its
//! answer is its total, so nothing is counted twice.
//!
//! When every room is done the inbox's whole storage is deleted (`deleteAll`, so tables added later
//! go too) and only a [`Report`] of counts is written back: asking again answers the same (the job is
//! idempotent), and an update a room sent before it forgot the inbox, arriving late, is older than
//! [`Report::at`] and is not taken (it would bring the erased entry back).
//!
//! Pure; `worker/inbox_data.rs` carries it out.

use serde_json::{json, Value};

use crate::error::{ErrorCode, Problem};
use crate::query::query_value;

/// Rooms one alarm turn asks (each ask is one call, and one bounded step of the room's job).
pub const ROOMS_PER_TURN: usize = 4;

/// How long after a turn the next one comes while rooms are not done (their own alarms work
/// meanwhile).
pub const STEP_MS: u64 = 500;

/// The query parameter that confirms an erasure: it must be the person's own uid, so that a stray
/// `DELETE` (a script, a mistyped path) cannot erase anybody.
pub const CONFIRM: &str = "confirm";

/// Refuses an erasure not confirmed by `confirm=<uid>` (`uid`: the person's own).
pub fn confirmed(uid: &str, query: &[(String, String)]) -> Result<(), Problem> {
    match query_value(query, CONFIRM) {
        Some(given) if given == uid => Ok(()),
        given => Err(Problem::new(
            ErrorCode::BadRequest,
            format!(
                "{} everything you wrote, in every room, is erased for good: to go ahead, ask \
                 again with confirm={uid} (your uid)",
                match given {
                    Some(_) => "confirm= is not your uid;",
                    None => "confirm= is missing;",
                }
            ),
        )),
    }
}

/// Where an erasure stands, as reported (`{"erasure":{…}}`) and, once done, as kept. (`Debug` for
/// the tests only: nothing in the wasm prints one.)
#[derive(Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub struct Report {
    /// Rooms the inbox knew when it was asked, and of those, the ones done.
    pub rooms: u64,
    pub rooms_done: u64,
    /// Messages made tombstones, and reactions taken off others' messages, so far.
    pub messages: u64,
    pub reactions: u64,
    /// When it was asked for (ms); once done, when it ended.
    pub at: u64,
    pub done: bool,
}

impl Report {
    /// The answer's body.
    pub fn to_json(&self, uid: &str) -> String {
        json!({"erasure": {
            "uid": uid,
            "rooms": self.rooms,
            "rooms_done": self.rooms_done,
            "messages": self.messages,
            "reactions": self.reactions,
            "at": self.at,
            "done": self.done,
        }})
        .to_string()
    }

    /// 202 while the job goes on, 200 once it is done.
    pub fn status(&self) -> u16 {
        if self.done {
            200
        } else {
            202
        }
    }

    /// A finished report as the emptied inbox keeps it (counts only: no room names).
    pub fn pack(&self) -> String {
        format!(
            "{} {} {} {}",
            self.at, self.rooms, self.messages, self.reactions
        )
    }

    /// [`Report::pack`] read back.
    pub fn unpack(text: &str) -> Option<Report> {
        let mut n = text.split(' ').map(|n| n.parse::<u64>().ok());
        let (at, rooms, messages, reactions) = (n.next()??, n.next()??, n.next()??, n.next()??);
        Some(Report {
            rooms,
            rooms_done: rooms,
            messages,
            reactions,
            at,
            done: true,
        })
    }
}

/// A room's answer to the person's erasure there (`{"erasure":{"messages","reactions","done",…}}`,
/// [`crate::erasure::Erasure::report`]): its totals so far, and whether it is done. Read by hand.
pub fn room_answer(body: &str) -> Option<(u64, u64, bool)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let e = &v["erasure"];
    Some((
        e["messages"].as_u64()?,
        e["reactions"].as_u64()?,
        e["done"].as_bool()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erasure::Erasure;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_the_persons_own_uid_confirms() {
        assert_eq!(confirmed("u-ann", &q(&[("confirm", "u-ann")])), Ok(()));
        for query in [q(&[]), q(&[("confirm", "u-bob")]), q(&[("confirm", "")])] {
            let refused = confirmed("u-ann", &query).unwrap_err();
            assert_eq!(refused.code, ErrorCode::BadRequest);
            assert!(
                refused.message.contains("confirm=u-ann"),
                "{}",
                refused.message
            );
        }
    }

    #[test]
    fn a_finished_report_is_kept_as_counts_and_read_back() {
        let done = Report {
            rooms: 4,
            rooms_done: 4,
            messages: 1_201,
            reactions: 3,
            at: 1_700_000_000_000,
            done: true,
        };
        assert_eq!(Report::unpack(&done.pack()), Some(done));
        assert_eq!(Report::unpack("1 2 3"), None);
        assert_eq!(Report::unpack("a b c d"), None);
        let v: Value = serde_json::from_str(&done.to_json("u-ann")).unwrap();
        assert_eq!(v["erasure"]["messages"], 1_201);
        assert_eq!(v["erasure"]["done"], true);
        assert_eq!(done.status(), 200);
        assert_eq!(Report::default().status(), 202);
    }

    #[test]
    fn a_rooms_answer_is_its_own_report() {
        let mut job = Erasure::new("u-ann", 1_200, 5);
        job.advance(500, 7, 2);
        let body = json!({ "erasure": job.report() }).to_string();
        assert_eq!(room_answer(&body), Some((7, 2, false)));
        job.advance(1_200, 1, 0);
        let body = json!({ "erasure": job.report() }).to_string();
        assert_eq!(room_answer(&body), Some((8, 2, true)));
        assert_eq!(room_answer("{\"error\":\"x\"}"), None);
        assert_eq!(room_answer("not json"), None);
    }
}
