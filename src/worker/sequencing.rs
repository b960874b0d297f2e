//! The room object as the sequencer of its shards: placing a new socket, taking a shard's up records,
//! and passing an operator's shard call on. What to do is decided by the pure
//! [`Sequencer`](crate::shard::sequencer::Sequencer) (placement, sessions, a sync's roster diff, the
//! repeat-join rule); this carries its steps out on the room and the shards' outboxes
//! ([`super::links`]). See docs/SCALING.md.

use super::hop::RawStub;
use super::json_response;
use super::links::Line;
use super::problem_response;
use super::room_state::{apply, refuse, schedule_alarm, Inner};
use crate::effect::CLOSE_INTERNAL;
use crate::error::Problem;
use crate::room::{Incoming, Joining};
use crate::shard::call::ShardCall;
use crate::shard::records::{read_up, Op};
use crate::shard::sequencer::{Placed, Refused, Step};
use crate::validate::RoomName;
use worker::{Response, Result};

/// Where a new socket goes: this object, or a shard (a shard placement opens is recorded in storage,
/// so that a wake still reaches it).
pub(super) fn place(inner: &mut Inner, room: &RoomName, now: u64) -> Result<Placed, Problem> {
    inner.room.set_name(room.as_str());
    inner.room.admit()?;
    let placed = inner.sequencer.place(
        inner.room.local_count(),
        inner.room.shard_counts(),
        inner.config.limits.shard_sockets,
        now,
    )?;
    if let Placed::Opened(k) = placed {
        inner.links.open(k);
        if let Err(e) = inner.store.set_shards(k) {
            worker::console_error!("could not record shard {k}: {e}");
        }
    }
    Ok(placed)
}

/// The object of the shard an operator's call (diagnostics, restart) is for: only one placement
/// opened (any other is `not_found`, and its object is never created).
pub(super) fn to_shard(
    inner: &Inner,
    call: &ShardCall,
) -> Result<worker::Result<RawStub>, Problem> {
    inner.sequencer.check_placed(call.shard())?;
    Ok(inner.links.stub(call.room(), call.shard()))
}

/// Shard `k`'s up records: its sockets' joins, frames and leaves, in their order (and first, in a
/// `sync`, its whole roster). Refused with 409 when the sequencer does not hold the roster of the
/// shard's incarnation `session`: the shard then sends it.
pub(super) fn up(
    inner: &mut Inner,
    room: &RoomName,
    k: u16,
    session: String,
    sync: bool,
    body: &str,
    now: u64,
) -> Result<Response> {
    let records = match read_up(body) {
        Ok(records) => records,
        Err(p) => return problem_response(&p),
    };
    inner.room.set_name(room.as_str());
    match inner.sequencer.admit_up(k, &session, sync) {
        Ok(()) => {}
        Err(Refused::NotPlaced(p)) => return problem_response(&p),
        Err(Refused::SyncFirst) => return json_response(r#"{"sync":true}"#.to_string(), 409),
    }
    inner.links.frames += records.len() as u64;
    if sync {
        let gone = inner
            .sequencer
            .sync(k, session, &records, inner.room.on_shard(k));
        for conn_id in gone {
            let effects = inner.room.leave(&conn_id, now);
            apply(inner, effects);
        }
    }
    let mut expiry_set = false;
    for record in records {
        let room = &inner.room;
        match inner.sequencer.take(k, record, |id| room.has(id)) {
            Step::Skip => {}
            Step::Restore(a) => {
                let kept = a.joining();
                if let Some(user) = a.into_user() {
                    inner.room.restore([(user, Line::Shard(k), kept)], now);
                    expiry_set |= kept.expires.is_some();
                }
            }
            Step::Join {
                attachment,
                after,
                since,
            } => {
                let joining = Joining {
                    after,
                    since,
                    ..attachment.joining()
                };
                let Some(user) = attachment.into_user() else {
                    continue;
                };
                let id = user.id.clone();
                match inner
                    .room
                    .join(user, Line::Shard(k), joining, &mut inner.store, now)
                {
                    Ok(effects) => {
                        apply(inner, effects);
                        expiry_set |= joining.expires.is_some();
                    }
                    Err(p) => refuse(&mut inner.links, &Line::Shard(k), &id, p.code, &p.message),
                }
            }
            Step::Unknown { conn } => inner.links.queue(
                k,
                &Op::Close {
                    to: conn,
                    code: CLOSE_INTERNAL,
                    reason: "unknown connection",
                },
            ),
            Step::Text { conn, text } => {
                let effects = inner.room.receive(conn, Incoming::Text(text), now);
                apply(inner, effects);
            }
            Step::Binary { conn, len } => {
                let effects = inner.room.receive(conn, Incoming::Binary(len), now);
                apply(inner, effects);
            }
            Step::Leave { conn } => {
                let effects = inner.room.leave(conn, now);
                apply(inner, effects);
            }
        }
    }
    // A member restored or joined with a token: the alarm closes it when the token runs out.
    if expiry_set {
        schedule_alarm(inner);
    }
    json_response(r#"{"ok":true}"#.to_string(), 200)
}
