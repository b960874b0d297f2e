//! The room's tests, one file per concept like the room itself; the fixtures every file shares
//! (a room, its members, delivering a frame, reading the frames sent to one connection) live here.

use super::*;
use crate::effect::Effect;
use crate::effect::CLOSE_FLOODING;
use crate::history::MemoryHistory;
use crate::rate::Rate;
use serde_json::Value;

/// The uids of ann and bob in the moderation tests.
pub(super) const ANN: &str = "u-ann";
pub(super) const BOB: &str = "u-bob";

mod api;
mod blocklist;
mod erase;
mod export;
mod files;
mod frames;
mod inboxes;
mod living;
mod moderation;
mod reads;
mod retain;
mod roster;
mod screen;
mod threads;

pub(super) fn user(id: &str, name: &str) -> User {
    User {
        id: id.into(),
        name: name.into(),
        uid: None,
    }
}

pub(super) fn room() -> Room<()> {
    Room::new("lobby", Limits::default(), 0)
}

/// A socket held here (`None`) or on shard `k`.
#[derive(Debug, Clone, Copy)]
struct At(Option<u16>);

impl Place for At {
    fn shard(&self) -> Option<u16> {
        self.0
    }
}

/// A room where ann (`a`) and bob (`b`) are connected.
pub(super) fn ann_and_bob(h: &mut MemoryHistory) -> Room<()> {
    let mut r = room();
    r.join(user("a", "ann"), (), None, h, 0).unwrap();
    r.join(user("b", "bob"), (), None, h, 0).unwrap();
    r
}

pub(super) fn parse(frame: &str) -> Value {
    serde_json::from_str(frame).expect("frames are JSON")
}

/// The frames sent to `to` (directly or by broadcast), parsed.
pub(super) fn frames_for(effects: &[Effect], to: &str) -> Vec<Value> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to: t, frame } if t == to => Some(parse(frame)),
            Effect::Broadcast { except, frame } if except.as_deref() != Some(to) => {
                Some(parse(frame))
            }
            _ => None,
        })
        .collect()
}

/// A frame received and the queue flushed straight after, as the Durable Object does when no other
/// frame arrives before its flush timer fires.
pub(super) fn deliver(
    r: &mut Room<()>,
    conn_id: &str,
    frame: Incoming<'_>,
    h: &mut MemoryHistory,
    now_ms: u64,
) -> Vec<Effect> {
    let mut effects = r.receive(conn_id, frame, now_ms);
    effects.extend(r.flush(h, now_ms));
    effects
}

pub(super) fn say(id: Option<&str>, text: &str) -> String {
    serde_json::json!({"type": "message", "text": text, "id": id}).to_string()
}

/// The frames in `effects` as (recipient or "all but x", type, seq), in order: enough to read a
/// batch's order at a glance.
pub(super) fn trace(effects: &[Effect]) -> Vec<(String, String, Option<u64>)> {
    effects
        .iter()
        .map(|e| match e {
            Effect::Send { to, frame } => (to.clone(), parse(frame)),
            Effect::Broadcast { except, frame } => (
                format!("all but {}", except.as_deref().unwrap_or("-")),
                parse(frame),
            ),
            Effect::Close { to, code, .. } => (to.clone(), serde_json::json!({"type": code})),
            Effect::Wake { after_ms } => (
                "room".into(),
                serde_json::json!({"type": "wake", "seq": after_ms}),
            ),
            Effect::Event { body } => ("outbox".into(), parse(body)),
            Effect::Authenticate { to, .. } => {
                (to.clone(), serde_json::json!({"type": "authenticate"}))
            }
            Effect::Screen { ticket, .. } => (
                "hook".into(),
                serde_json::json!({"type": "screen", "seq": ticket}),
            ),
            Effect::Reply { call, status, .. } => {
                (format!("call {call}"), serde_json::json!({"type": status}))
            }
            Effect::Preview { seq, .. } => (
                "room".into(),
                serde_json::json!({"type": "preview", "seq": seq}),
            ),
            Effect::DeleteFiles => ("bucket".into(), serde_json::json!({"type": "delete_files"})),
        })
        .map(|(to, v)| {
            (
                to,
                v["type"].to_string().replace('"', ""),
                v["seq"].as_u64(),
            )
        })
        .collect()
}

pub(super) fn t(to: &str, kind: &str, seq: Option<u64>) -> (String, String, Option<u64>) {
    (to.to_string(), kind.to_string(), seq)
}

/// A room where ann (`a`, uid `u-ann`) and bob (`b`, uid `u-bob`) are connected, plus anonymous
/// cy (`c`), and ann has said "hello" (seq 1).
pub(super) fn living(h: &mut MemoryHistory) -> Room<()> {
    let mut r = room();
    for (id, name, uid) in [
        ("a", "ann", Some("u-ann")),
        ("b", "bob", Some("u-bob")),
        ("c", "cy", None),
    ] {
        let u = User {
            uid: uid.map(String::from),
            ..user(id, name)
        };
        r.join(u, (), None, h, 0).unwrap();
    }
    deliver(&mut r, "a", Incoming::Text(&say(Some("m1"), "hello")), h, 1);
    r
}

pub(super) fn send(
    r: &mut Room<()>,
    conn: &str,
    frame: Value,
    h: &mut MemoryHistory,
    now: u64,
) -> Vec<Effect> {
    deliver(r, conn, Incoming::Text(&frame.to_string()), h, now)
}

pub(super) fn results(effects: &[Effect], to: &str) -> (Vec<u64>, Value) {
    let frame = frames_for(effects, to).pop().unwrap();
    let seqs = frame["results"]
        .as_array()
        .map(|r| r.iter().map(|m| m["seq"].as_u64().unwrap()).collect())
        .unwrap_or_default();
    (seqs, frame)
}

pub(super) fn framed(framing: Framing) -> Joining {
    Joining {
        framing,
        ..Joining::default()
    }
}

pub(super) fn crowd_room(threshold: u32) -> Room<()> {
    Room::new(
        "big",
        Limits {
            presence_threshold: threshold,
            ..Limits::default()
        },
        0,
    )
}

/// The webhook events among `effects`, parsed.
pub(super) fn events(effects: &[Effect]) -> Vec<Value> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Event { body } => Some(parse(body)),
            _ => None,
        })
        .collect()
}

/// `living()` with bob made a moderator.
pub(super) fn moderated(h: &mut MemoryHistory) -> Room<()> {
    let mut r = living(h);
    r.set_role("b", Role::Moderator);
    r
}

/// A room open to all (no tokens): ann with a key, bob a moderator, and whoever joins with
/// [`User::connection`] from an address.
pub(super) fn open_join(
    r: &mut Room<()>,
    h: &mut MemoryHistory,
    id: &str,
    uid: Option<&str>,
    address: &str,
    now: u64,
) -> Result<Vec<Effect>, Problem> {
    let user = User::connection(id.into(), format!("p-{id}"), uid.map(String::from));
    let joining = Joining {
        address: AddressTag::of(address),
        ..Joining::default()
    };
    r.join(user, (), joining, h, now)
}

pub(super) fn sayv(id: Option<&str>, text: &str) -> Value {
    serde_json::json!({"type": "message", "text": text, "id": id})
}

pub(super) fn uid_frame(kind: &str, uid: &str) -> Value {
    // uids in these tests are short; moderation frames check the uid's characters only
    serde_json::json!({"type": kind, "uid": uid, "id": kind})
}
