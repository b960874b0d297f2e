//! Retention: the sweep erases the oldest messages past the policy (text, versions, reactions) as a
//! prefix of tombstones, in bounded batches; the policy is the room's within the deployment's bounds.

use super::*;
use crate::moderation::Action;
use crate::retention::{Retention, SWEEP_BATCH};

/// A room whose "day" is one second, keeping messages `days` by default (at most `max_days`), where
/// ann (`a`, `u-ann`) and moderator bob (`b`, `u-bob`) are connected; everything is fast.
fn retaining(h: &mut MemoryHistory, days: Option<u64>, max_days: Option<u64>) -> Room<()> {
    let mut r = Room::new(
        "lobby",
        Limits {
            rate: Rate {
                burst: 10_000.0,
                per_sec: 10_000.0,
            },
            retention: Retention {
                default_days: days,
                max_days,
                day_secs: 1,
            },
            ..Limits::default()
        },
        0,
    );
    for (id, name, uid) in [("a", "ann", "u-ann"), ("b", "bob", "u-bob")] {
        let u = User {
            uid: Some(uid.into()),
            ..user(id, name)
        };
        r.join(u, (), None, h, 0).unwrap();
    }
    r.set_role("b", Role::Moderator);
    r
}

/// Ann says `n` messages, one every 100 ms from `from_ms`.
fn chat(r: &mut Room<()>, h: &mut MemoryHistory, n: usize, from_ms: u64) {
    for i in 0..n {
        let at = from_ms + 100 * i as u64;
        let text = format!("message {}", r.last_seq() + 1);
        send(r, "a", sayv(Some(&format!("m{at}")), &text), h, at);
    }
}

#[test]
fn a_sweep_erases_what_is_past_the_policy_and_keeps_the_seqs() {
    let mut h = MemoryHistory::default();
    let mut r = retaining(&mut h, Some(1), None);
    chat(&mut r, &mut h, 5, 0); // seqs 1..=5 at 0, 100, …, 400 ms
    send(
        &mut r,
        "a",
        serde_json::json!({"type": "edit", "seq": 1, "text": "edited", "id": "e"}),
        &mut h,
        450,
    );
    send(
        &mut r,
        "b",
        serde_json::json!({"type": "react", "seq": 2, "emoji": "👍", "id": "r"}),
        &mut h,
        460,
    );
    assert_eq!((h.versions.len(), h.reactions.len()), (1, 1));
    assert_eq!(
        r.retention_sweep_at(),
        Some(1_001),
        "due when the first passes a day"
    );
    assert!(!r.retention_due(1_000));
    assert!(r.retention_due(1_001));
    // At 1,150 ms the messages of 0 and 100 ms are more than a day old.
    let effects = r.sweep_expired(&mut h, 1_150).unwrap();
    assert_eq!(trace(&effects), vec![t("all but -", "expired", None)]);
    assert_eq!(
        parse(match &effects[0] {
            Effect::Broadcast { frame, .. } => frame,
            _ => unreachable!(),
        })["upto"],
        2
    );
    assert_eq!(r.expired_upto(), 2);
    for m in &h.messages[..2] {
        assert!(
            m.deleted && m.text.is_empty() && m.reactions.is_empty(),
            "{m:?}"
        );
    }
    assert!(h.versions.is_empty() && h.reactions.is_empty());
    assert_eq!(h.messages[2].text, "message 3");
    assert_eq!(
        r.retention_sweep_at(),
        Some(1_201),
        "next when message 3 passes"
    );
    // Tombstones under a resume: every seq is there, and the welcome says what is gone.
    let welcome = r.join(user("c", "cy"), (), Some(0), &mut h, 1_200).unwrap();
    let w = &frames_for(&welcome, "c")[0];
    let seqs: Vec<u64> = w["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(w["history"][0]["deleted"], true);
    assert_eq!(w["history"][0]["text"], "");
    assert_eq!(w["retention"], serde_json::json!({"days": 1, "upto": 2}));
    assert_eq!(w["last_seq"], 5);
    // The erased ones can no longer be edited, reacted to or replied to.
    let effects = send(
        &mut r,
        "a",
        serde_json::json!({"type": "edit", "seq": 1, "text": "back", "id": "e2"}),
        &mut h,
        1_210,
    );
    assert_eq!(frames_for(&effects, "a")[0]["code"], "not_found");
}

#[test]
fn a_sweep_is_bounded_and_comes_back_at_once_for_the_rest() {
    let mut h = MemoryHistory::default();
    let mut r = retaining(&mut h, Some(1), None);
    let total = 2 * SWEEP_BATCH + 20;
    chat(&mut r, &mut h, total, 0);
    let now = 1_000_000;
    let mut sweeps = 0;
    while r.retention_due(now) {
        r.sweep_expired(&mut h, now).unwrap();
        sweeps += 1;
        assert!(sweeps <= 3, "bounded batches, but no more than needed");
    }
    assert_eq!(sweeps, 3);
    assert_eq!(r.expired_upto(), total as u64);
    assert!(h.messages.iter().all(|m| m.deleted));
    assert_eq!(r.retention_sweep_at(), None, "nothing left to erase");
    // A new message makes the next sweep due when it passes the policy.
    chat(&mut r, &mut h, 1, now);
    assert_eq!(r.retention_sweep_at(), Some(now + 1_001));
}

#[test]
fn without_a_policy_nothing_is_ever_swept() {
    let mut h = MemoryHistory::default();
    let mut r = retaining(&mut h, None, None);
    chat(&mut r, &mut h, 3, 0);
    assert_eq!(r.retention_sweep_at(), None);
    assert!(r.sweep_expired(&mut h, u64::MAX / 2).unwrap().is_empty());
    assert!(h.messages.iter().all(|m| !m.deleted));
    let welcome = r.join(user("c", "cy"), (), None, &mut h, 1).unwrap();
    assert!(frames_for(&welcome, "c")[0].get("retention").is_none());
}

#[test]
fn a_moderator_sets_the_rooms_policy_within_the_ceiling() {
    let mut h = MemoryHistory::default();
    let mut r = retaining(&mut h, Some(30), Some(90));
    chat(&mut r, &mut h, 2, 0);
    let too_long = serde_json::json!({"type": "retention", "days": 91, "id": "t0"});
    let refused = send(&mut r, "b", too_long, &mut h, 10);
    assert_eq!(frames_for(&refused, "b")[0]["code"], "bad_request");
    assert!(h.moderation.is_empty(), "a refused setting is not logged");
    let forever = serde_json::json!({"type": "retention", "days": 0, "id": "t1"});
    assert_eq!(
        frames_for(&send(&mut r, "b", forever, &mut h, 11), "b")[0]["code"],
        "bad_request"
    );
    let member = serde_json::json!({"type": "retention", "days": 1, "id": "t2"});
    assert_eq!(
        frames_for(&send(&mut r, "a", member, &mut h, 12), "a")[0]["code"],
        "forbidden"
    );
    // A stricter policy: stored, logged, told, and the next sweep comes sooner.
    assert_eq!(r.retention_sweep_at(), Some(30_001));
    let week = serde_json::json!({"type": "retention", "days": 7, "id": "t3"});
    let done = send(&mut r, "b", week, &mut h, 13);
    let told = frames_for(&done, "a");
    assert_eq!(told[0]["type"], "moderation");
    assert_eq!(
        (told[0]["action"].as_str(), told[0]["days"].as_u64()),
        (Some("retention"), Some(7))
    );
    assert_eq!(h.retention_days, Some(7));
    assert_eq!(r.retention().days, Some(7));
    assert_eq!(r.retention_sweep_at(), Some(7_001));
    // The API goes back to the deployment's default.
    let (record, _) = r.moderate_api(
        User::api("ops"),
        Action::Retention { days: None },
        &mut h,
        20,
    );
    assert_eq!(record.unwrap().days, None);
    assert_eq!(h.retention_days, None);
    assert_eq!(r.retention().days, Some(30));
    let welcome = r.join(user("c", "cy"), (), None, &mut h, 21).unwrap();
    assert_eq!(frames_for(&welcome, "c")[0]["retention"]["days"], 30);
}
