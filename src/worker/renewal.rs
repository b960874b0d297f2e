//! A token renewed on a live socket (`auth`): checked exactly as at the door, for the same author,
//! then the socket's role and expiry moved (memory, attachment, alarm) and `auth_ok` answered — or the
//! error answered and the socket left as it was (its current token still runs until it expires).
//! Verification may fetch the identity provider's keys, so it runs as a task the room object starts
//! after the event that carried the `auth` frame.

use std::cell::RefCell;

use super::keys;
use super::links::Line;
use super::room_state::{schedule_alarm, send_to, Inner};
use super::{now_ms, write_attachment};
use crate::access::{self, Credentials};
use crate::attachment::Attachment;
use crate::domain::Framing;
use crate::error::Problem;
use crate::protocol::ServerFrame;
use crate::session::Session;
use crate::shard::records::Op;
use crate::validate::RoomName;

/// Checks the token connection `conn_id` presented, as at the door, for the author it connected as.
pub(super) async fn check(
    shared: &RefCell<Inner>,
    conn_id: &str,
    token: &str,
) -> Result<Session, Problem> {
    let (config, room, uid) = {
        let inner = shared.borrow();
        let uid = inner.room.user(conn_id).and_then(|u| u.uid.clone());
        (
            std::rc::Rc::clone(&inner.config),
            inner.room.info().room.to_string(),
            uid,
        )
    };
    let room = RoomName::parse(&room)?;
    let credentials = Credentials::token(token);
    let admission = access::may_enter(&config, &room, &credentials, false, now_ms() / 1000)?;
    let entry = keys::settle(&config, admission).await?;
    access::check_renewal(uid.as_deref(), &entry)
}

/// Carries out a renewal's verdict on connection `conn_id`.
pub(super) fn renewed(
    inner: &mut Inner,
    conn_id: &str,
    checked: Result<Session, Problem>,
    id: Option<String>,
) {
    let conn_id = conn_id.to_string();
    let (Some(line), Some(user)) = (
        inner.room.socket(&conn_id).cloned(),
        inner.room.user(&conn_id).cloned(),
    ) else {
        return; // it left meanwhile
    };
    let frame = match checked {
        Ok(session) => {
            inner.room.set_expiry(&conn_id, Some(session.exp));
            inner.room.set_role(&conn_id, session.role);
            let attachment = Attachment::of(&user, session.role, Some(session.exp)).framed(
                if inner.room.is_batched(&conn_id) {
                    Framing::Batch
                } else {
                    Framing::Single
                },
            );
            match &line {
                Line::Local(ws) => {
                    if let Err(e) = write_attachment(ws, &attachment) {
                        worker::console_error!("could not update the attachment: {e}");
                    }
                }
                Line::Shard(k) => {
                    if let Ok(json) = serde_json::to_string(&attachment) {
                        inner.links.queue(
                            *k,
                            &Op::Attach {
                                to: &conn_id,
                                attachment: &json,
                            },
                        );
                    }
                }
            }
            schedule_alarm(inner);
            ServerFrame::AuthOk {
                id: id.as_deref(),
                role: session.role,
                expires: session.exp,
            }
            .to_json()
        }
        Err(p) => ServerFrame::Error {
            code: p.code,
            message: &p.message,
            id: id.as_deref(),
        }
        .to_json(),
    };
    send_to(inner, &conn_id, &frame);
}
