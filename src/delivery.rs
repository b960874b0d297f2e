//! Batched delivery: how one turn's [`Effect`]s reach the connections that asked for `batch=1`.
//!
//! A turn of the room (a flush of the group commit, a join, a frame read) produces a list of effects:
//! frames for one connection ([`Effect::Send`]) and frames for everyone but one
//! ([`Effect::Broadcast`]). A v1 connection gets each of them as its own WebSocket frame, as before. A
//! batched connection gets everything the turn holds for it as **one** frame,
//! `{"type":"batch","frames":[…]}`, in the order the effects give (a single frame is sent as it is).
//! The runtime's `send` is about half of the room's CPU time at saturation, and most of that is per
//! call, not per byte: a flush of `k` messages costs a batched connection one call instead of `k`.
//!
//! Most batched connections get the very same frames in a turn — every broadcast, and nothing else —
//! so they share one serialized batch (`common`), built once. Only connections that the turn names
//! (the sender of a message gets its `ack` and not its own `message`; an `error`, a `welcome`) get a
//! batch of their own (`own`). The arrangement is per connection on purpose: a later tier that
//! relays a room through several objects can forward the `common` batch once per flush.

use crate::effect::Effect;
use std::collections::HashMap;

/// The opening of a batch frame, up to its first element.
const BATCH_OPEN: &str = r#"{"type":"batch","frames":["#;
const BATCH_CLOSE: &str = "]}";

/// One turn's frames for the batched connections.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Turn<'a> {
    /// For every batched connection not in `own`: the turn's broadcasts, as one frame (`None`: the turn
    /// broadcast nothing).
    pub common: Option<String>,
    /// Batched connections the turn names, each with its whole turn as one frame (`None`: nothing is
    /// left for it, e.g. it was the one a broadcast skipped). They get nothing from `common`.
    pub own: HashMap<&'a str, Option<String>>,
}

/// `frames` as one WebSocket frame: the frame itself when there is one, a batch when there are more.
/// The frames are JSON objects already, so the batch is built by concatenation, without re-encoding.
pub fn pack(frames: &[&str]) -> Option<String> {
    match frames {
        [] => None,
        [one] => Some((*one).to_string()),
        many => {
            let len = many.iter().map(|f| f.len() + 1).sum::<usize>() + BATCH_OPEN.len() + 2;
            let mut out = String::with_capacity(len);
            out.push_str(BATCH_OPEN);
            for (i, frame) in many.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(frame);
            }
            out.push_str(BATCH_CLOSE);
            Some(out)
        }
    }
}

/// Arranges one turn's `effects` for the connections for which `batched` is true. The caller still
/// carries out every effect for the other (v1) connections, and the closes and timers for all.
pub fn arrange<'a>(effects: &'a [Effect], batched: impl Fn(&str) -> bool) -> Turn<'a> {
    arrange_from(effects, batched, |_| false)
}

/// [`arrange`], where the connections for which `fresh` is true hear nothing before the first frame
/// the turn names them in: a shard's socket that is waiting for its `welcome` must not get the
/// broadcasts that come before it in the shard's push (the welcome's history already has them).
/// A fresh connection the turn never names gets nothing, and the caller leaves it out of `common`.
pub fn arrange_from<'a>(
    effects: &'a [Effect],
    batched: impl Fn(&str) -> bool,
    fresh: impl Fn(&str) -> bool,
) -> Turn<'a> {
    // One pass. A connection the turn names gets its own list, which starts with the broadcasts
    // before it was named (none of them skipped it, or it would have been named then).
    let mut broadcasts: Vec<&'a str> = Vec::new();
    let mut own: HashMap<&'a str, Vec<&'a str>> = HashMap::new();
    for effect in effects {
        match effect {
            Effect::Send { to, frame } => {
                if batched(to) {
                    own.entry(to.as_str())
                        .or_insert_with(|| {
                            if fresh(to) {
                                Vec::new()
                            } else {
                                broadcasts.clone()
                            }
                        })
                        .push(frame.as_str());
                }
            }
            Effect::Broadcast { except, frame } => {
                let skipped = except.as_deref().filter(|id| batched(id));
                if let Some(id) = skipped {
                    own.entry(id).or_insert_with(|| broadcasts.clone());
                }
                for (id, frames) in own.iter_mut() {
                    if Some(*id) != skipped {
                        frames.push(frame.as_str());
                    }
                }
                broadcasts.push(frame.as_str());
            }
            Effect::Close { .. }
            | Effect::Wake { .. }
            | Effect::Event { .. }
            | Effect::Authenticate { .. }
            | Effect::Screen { .. }
            | Effect::Reply { .. }
            | Effect::Preview { .. }
            | Effect::DeleteFiles => {}
        }
    }
    Turn {
        common: pack(&broadcasts),
        own: own
            .into_iter()
            .map(|(id, frames)| (id, pack(&frames)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(to: &str, frame: &str) -> Effect {
        Effect::Send {
            to: to.into(),
            frame: frame.into(),
        }
    }

    fn broadcast(except: Option<&str>, frame: &str) -> Effect {
        Effect::Broadcast {
            except: except.map(Into::into),
            frame: frame.into(),
        }
    }

    #[test]
    fn one_frame_goes_as_it_is_more_go_as_one_batch_in_order() {
        assert_eq!(pack(&[]), None);
        assert_eq!(pack(&[r#"{"a":1}"#]).as_deref(), Some(r#"{"a":1}"#));
        let batch = pack(&[r#"{"a":1}"#, r#"{"b":2}"#]).unwrap();
        assert_eq!(batch, r#"{"type":"batch","frames":[{"a":1},{"b":2}]}"#);
        let parsed: serde_json::Value = serde_json::from_str(&batch).unwrap();
        assert_eq!(parsed["frames"][1]["b"], 2);
    }

    #[test]
    fn a_flush_gives_the_bystanders_one_shared_batch_and_each_sender_its_own() {
        // ann and bob each sent a message in this flush; cat and dan only listen. All batched.
        let effects = vec![
            send("ann", "ack1"),
            broadcast(Some("ann"), "m1"),
            send("bob", "ack2"),
            broadcast(Some("bob"), "m2"),
            Effect::Wake { after_ms: 5 },
        ];
        let turn = arrange(&effects, |_| true);
        assert_eq!(
            turn.common.as_deref(),
            Some(r#"{"type":"batch","frames":[m1,m2]}"#)
        );
        assert_eq!(turn.own.len(), 2);
        assert_eq!(
            turn.own["ann"].as_deref(),
            Some(r#"{"type":"batch","frames":[ack1,m2]}"#)
        );
        assert_eq!(
            turn.own["bob"].as_deref(),
            Some(r#"{"type":"batch","frames":[m1,ack2]}"#)
        );
    }

    #[test]
    fn v1_connections_are_left_to_the_caller_and_a_skipped_connection_gets_nothing() {
        let effects = vec![send("v1", "ack"), broadcast(Some("joiner"), "join")];
        let turn = arrange(&effects, |id| id != "v1");
        assert!(!turn.own.contains_key("v1"));
        assert_eq!(turn.own["joiner"], None);
        assert_eq!(turn.common.as_deref(), Some("join"));
    }

    #[test]
    fn a_fresh_connection_hears_nothing_before_it_is_named() {
        let effects = vec![
            broadcast(None, "m1"),
            send("new", "welcome"),
            broadcast(None, "m2"),
        ];
        let turn = arrange_from(&effects, |_| true, |id| id == "new");
        assert_eq!(
            turn.own["new"].as_deref(),
            Some(r#"{"type":"batch","frames":[welcome,m2]}"#)
        );
        assert_eq!(
            turn.common.as_deref(),
            Some(r#"{"type":"batch","frames":[m1,m2]}"#)
        );
        let turn = arrange(&effects, |_| true);
        assert_eq!(
            turn.own["new"].as_deref(),
            Some(r#"{"type":"batch","frames":[m1,welcome,m2]}"#)
        );
    }

    #[test]
    fn a_turn_without_broadcasts_has_no_common_frame() {
        let effects = vec![send("ann", "welcome")];
        let turn = arrange(&effects, |_| true);
        assert_eq!(turn.common, None);
        assert_eq!(turn.own["ann"].as_deref(), Some("welcome"));
    }
}
