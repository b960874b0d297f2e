//! The moderation hook before the ack: nothing is stored or seen before its verdict, order is arrival
//! order, a silence ends at the deadline, a retry is never asked about twice.

use super::*;
use crate::screening::{Fail, Failure, Verdict, MAX_IN_FLIGHT};

const TIMEOUT: u64 = 1_500;

/// `living()` (ann, bob, anonymous cy; "hello" stored as seq 1) with a hook failing `fail`.
fn hooked(h: &mut MemoryHistory, fail: Fail) -> Room<()> {
    let mut r = living(h);
    r.set_hook(Some(Hook {
        timeout_ms: TIMEOUT,
        fail,
    }));
    r
}

/// A frame arriving as the Durable Object takes it: received, then looked at for the hook (no flush).
fn arrive(r: &mut Room<()>, conn: &str, frame: Value, h: &MemoryHistory, now: u64) -> Vec<Effect> {
    let mut effects = r.receive(conn, Incoming::Text(&frame.to_string()), now);
    effects.extend(r.screen(h, now));
    effects
}

/// The questions among `effects`: (ticket, body).
fn questions(effects: &[Effect]) -> Vec<(u64, Value)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Screen { ticket, body, .. } => Some((*ticket, parse(body))),
            _ => None,
        })
        .collect()
}

fn allow() -> Result<Verdict, Failure> {
    Ok(Verdict::Allow)
}

#[test]
fn a_message_is_stored_and_seen_only_after_its_verdict() {
    let mut h = MemoryHistory::default();
    let mut r = hooked(&mut h, Fail::Closed);
    let asked = arrive(&mut r, "a", sayv(Some("m2"), "hi all"), &h, 10);
    let q = questions(&asked);
    assert_eq!(q.len(), 1);
    let (ticket, body) = &q[0];
    assert_eq!(body["type"], "message");
    assert_eq!(body["text"], "hi all");
    assert_eq!(body["from"]["uid"], "u-ann");
    assert_eq!(body["id"], "m2");
    assert!(
        asked
            .iter()
            .any(|e| matches!(e, Effect::Wake { after_ms } if *after_ms == TIMEOUT)),
        "a wake for the deadline"
    );
    assert!(r.flush(&mut h, 11).is_empty(), "nothing before the verdict");
    assert_eq!(h.messages.len(), 1);
    assert!(r.verdict(*ticket, allow(), 12).is_empty());
    let done = r.flush(&mut h, 13);
    assert_eq!(h.messages.len(), 2);
    assert_eq!(
        trace(&done),
        vec![t("a", "ack", Some(2)), t("all but a", "message", Some(2))]
    );
    assert!(
        frames_for(&done, "a")[0].get("text").is_none(),
        "an ack tells no text when nothing altered it"
    );
}

#[test]
fn nothing_overtakes_a_message_waiting_for_its_verdict() {
    let mut h = MemoryHistory::default();
    let mut r = hooked(&mut h, Fail::Closed);
    let first = questions(&arrive(&mut r, "a", sayv(Some("m2"), "first"), &h, 10))[0].0;
    let second = questions(&arrive(&mut r, "b", sayv(Some("b1"), "second"), &h, 11))[0].0;
    // Bob's other frames (a page of history, a typing hint) wait behind, too.
    let later = arrive(
        &mut r,
        "b",
        serde_json::json!({"type": "history", "limit": 5, "id": "h"}),
        &h,
        12,
    );
    assert!(questions(&later).is_empty(), "a read is not asked about");
    assert!(arrive(&mut r, "b", serde_json::json!({"type": "typing"}), &h, 12).is_empty());
    // Bob's verdict comes first: still nothing, ann's message arrived before.
    r.verdict(second, allow(), 20);
    assert!(r.flush(&mut h, 21).is_empty());
    r.verdict(first, allow(), 30);
    let done = r.flush(&mut h, 31);
    assert_eq!(
        trace(&done),
        vec![
            t("a", "ack", Some(2)),
            t("all but a", "message", Some(2)),
            t("b", "ack", Some(3)),
            t("all but b", "message", Some(3)),
            t("b", "history", None),
            t("all but b", "typing", None),
        ],
        "seq order is arrival order, and each connection's answers stay in order"
    );
}

#[test]
fn a_slow_verdict_holds_the_others_no_longer_than_its_deadline() {
    let mut h = MemoryHistory::default();
    let mut r = hooked(&mut h, Fail::Closed);
    arrive(&mut r, "a", sayv(Some("slow"), "are you there"), &h, 0);
    let quick = questions(&arrive(&mut r, "b", sayv(Some("b1"), "yes"), &h, 100))[0].0;
    r.verdict(quick, allow(), 105);
    assert!(r.flush(&mut h, 106).is_empty(), "held behind ann's");
    // Ann's deadline (arrival + timeout) passes: decided by the policy, bob's goes on.
    r.tick(TIMEOUT - 1);
    assert!(
        r.flush(&mut h, TIMEOUT - 1).is_empty(),
        "not before the deadline"
    );
    r.tick(TIMEOUT);
    let done = r.flush(&mut h, TIMEOUT + 1);
    let to_ann = frames_for(&done, "a");
    assert_eq!(to_ann[0]["type"], "error");
    assert_eq!(to_ann[0]["code"], "moderation_unavailable");
    assert_eq!(to_ann[0]["id"], "slow");
    assert_eq!(h.messages.len(), 2, "only bob's was stored");
    assert_eq!(h.messages[1].text, "yes");
    assert_eq!(h.messages[1].seq, 2, "no hole where ann's would have been");
    let info = r.screening_info().unwrap();
    assert_eq!(info["failures"], 1);
    assert_eq!(info["last_failure"], "no answer in time");
}

#[test]
fn failing_open_stores_what_could_not_be_checked() {
    let mut h = MemoryHistory::default();
    let mut r = hooked(&mut h, Fail::Open);
    let q = questions(&arrive(&mut r, "a", sayv(Some("m2"), "hi"), &h, 0))[0].0;
    r.verdict(q, Err(Failure::Status(500)), 5);
    let done = r.flush(&mut h, 6);
    assert_eq!(trace(&done)[0], t("a", "ack", Some(2)));
    // A timeout too, and the late answer changes nothing.
    let q = questions(&arrive(&mut r, "a", sayv(Some("m3"), "again"), &h, 10))[0].0;
    r.tick(10 + TIMEOUT);
    assert_eq!(
        trace(&r.flush(&mut h, 10 + TIMEOUT))[0],
        t("a", "ack", Some(3))
    );
    assert!(r
        .verdict(
            q,
            Ok(Verdict::Reject {
                reason: "late".into()
            }),
            2_000
        )
        .is_empty());
    assert!(r.flush(&mut h, 2_001).is_empty());
    assert_eq!(h.messages.len(), 3);
}

#[test]
fn a_rejected_message_is_neither_stored_nor_seen() {
    let mut h = MemoryHistory::default();
    let mut r = hooked(&mut h, Fail::Closed);
    let q = questions(&arrive(&mut r, "a", sayv(Some("m2"), "buy now"), &h, 0))[0].0;
    r.verdict(
        q,
        Ok(Verdict::Reject {
            reason: "no ads".into(),
        }),
        5,
    );
    let done = r.flush(&mut h, 6);
    assert_eq!(trace(&done), vec![t("a", "error", None)]);
    let refusal = &frames_for(&done, "a")[0];
    assert_eq!(refusal["code"], "rejected");
    assert_eq!(refusal["message"], "no ads");
    assert_eq!(refusal["id"], "m2");
    assert_eq!(h.messages.len(), 1);
    assert!(frames_for(&done, "b").is_empty());
}

#[test]
fn a_replacement_is_stored_its_sender_told_and_a_retry_known() {
    let mut h = MemoryHistory::default();
    let mut r = hooked(&mut h, Fail::Closed);
    let q = questions(&arrive(&mut r, "a", sayv(Some("m2"), "darn it"), &h, 0))[0].0;
    r.verdict(
        q,
        Ok(Verdict::Replace {
            text: "d*** it".into(),
        }),
        5,
    );
    let done = r.flush(&mut h, 6);
    let ack = &frames_for(&done, "a")[0];
    assert_eq!(
        (ack["type"].as_str(), ack["seq"].as_u64()),
        (Some("ack"), Some(2))
    );
    assert_eq!(ack["text"], "d*** it", "the sender learns what was stored");
    assert_eq!(frames_for(&done, "b")[0]["text"], "d*** it");
    assert_eq!(h.messages[1].text, "d*** it");
    assert!(
        !h.screened[0].1.contains("darn"),
        "only a fingerprint of the text as sent is kept"
    );
    // The sender retries the text as sent (its ack was lost): known, not asked again, not stored again.
    let again = arrive(&mut r, "a", sayv(Some("m2"), "darn it"), &h, 10);
    assert!(questions(&again).is_empty());
    let done = r.flush(&mut h, 11);
    let ack = &frames_for(&done, "a")[0];
    assert_eq!(
        (ack["type"].as_str(), ack["seq"].as_u64()),
        (Some("ack"), Some(2))
    );
    assert_eq!(ack["text"], "d*** it");
    assert_eq!(h.messages.len(), 2);
    // Another text under the same id is still a conflict.
    arrive(&mut r, "a", sayv(Some("m2"), "something else"), &h, 12);
    assert_eq!(
        frames_for(&r.flush(&mut h, 13), "a")[0]["code"],
        "id_conflict"
    );
}

#[test]
fn a_retry_of_a_stored_message_is_answered_without_asking() {
    let mut h = MemoryHistory::default();
    let mut r = hooked(&mut h, Fail::Closed);
    // "hello" (m1) was stored before the hook: its retry is acked as it was.
    let again = arrive(&mut r, "a", sayv(Some("m1"), "hello"), &h, 10);
    assert!(questions(&again).is_empty());
    let done = r.flush(&mut h, 11);
    assert_eq!(trace(&done), vec![t("a", "ack", Some(1))]);
}

#[test]
fn edits_are_asked_about_unless_they_change_nothing() {
    let mut h = MemoryHistory::default();
    let mut r = hooked(&mut h, Fail::Closed);
    let same = serde_json::json!({"type": "edit", "seq": 1, "text": "hello", "id": "e0"});
    assert!(questions(&arrive(&mut r, "a", same, &h, 1)).is_empty());
    assert_eq!(frames_for(&r.flush(&mut h, 2), "a")[0]["type"], "ack");
    let not_hers = serde_json::json!({"type": "edit", "seq": 1, "text": "x", "id": "e1"});
    assert!(questions(&arrive(&mut r, "b", not_hers, &h, 3)).is_empty());
    assert_eq!(frames_for(&r.flush(&mut h, 4), "b")[0]["code"], "forbidden");
    let edit = serde_json::json!({"type": "edit", "seq": 1, "text": "hello, darn", "id": "e2"});
    let q = questions(&arrive(&mut r, "a", edit, &h, 5));
    assert_eq!(q[0].1["type"], "edit");
    assert_eq!(q[0].1["seq"], 1);
    r.verdict(
        q[0].0,
        Ok(Verdict::Replace {
            text: "hello, d***".into(),
        }),
        6,
    );
    let done = r.flush(&mut h, 7);
    let updated = frames_for(&done, "a")
        .into_iter()
        .find(|f| f["type"] == "message_updated")
        .unwrap();
    assert_eq!(updated["message"]["text"], "hello, d***");
    assert_eq!(h.messages[0].text, "hello, d***");
}

#[test]
fn questions_are_asked_concurrently_but_bounded() {
    let mut h = MemoryHistory::default();
    let mut r = Room::new(
        "lobby",
        Limits {
            rate: Rate {
                burst: 1000.0,
                per_sec: 1000.0,
            },
            ..Limits::default()
        },
        0,
    );
    r.set_hook(Some(Hook {
        timeout_ms: TIMEOUT,
        fail: Fail::Closed,
    }));
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    let mut asked = Vec::new();
    for i in 0..MAX_IN_FLIGHT + 5 {
        let frame = sayv(Some(&format!("m{i}")), &format!("message {i}"));
        asked.extend(questions(&arrive(&mut r, "a", frame, &h, 1)));
    }
    assert_eq!(asked.len(), MAX_IN_FLIGHT, "the rest wait for a free slot");
    let more = questions(&r.verdict(asked[3].0, allow(), 2));
    assert_eq!(more.len(), 1);
    assert_eq!(more[0].1["id"], format!("m{MAX_IN_FLIGHT}"), "oldest first");
    // Each answer frees a slot; when all are in, they are stored in arrival order.
    let mut open: Vec<u64> = asked.iter().chain(&more).map(|(t, _)| *t).collect();
    open.retain(|&t| t != asked[3].0);
    while let Some(ticket) = open.pop() {
        open.extend(
            questions(&r.verdict(ticket, allow(), 3))
                .iter()
                .map(|(t, _)| *t),
        );
    }
    r.flush(&mut h, 4);
    let texts: Vec<String> = h.messages.iter().map(|m| m.text.clone()).collect();
    let expected: Vec<String> = (0..MAX_IN_FLIGHT + 5)
        .map(|i| format!("message {i}"))
        .collect();
    assert_eq!(texts, expected);
}

#[test]
fn a_bots_post_waits_for_its_verdict_and_its_call_is_answered() {
    let mut h = MemoryHistory::default();
    let mut r = hooked(&mut h, Fail::Closed);
    assert!(r
        .hold_post(
            7,
            Draft::new(User::api("bot"), "deploy done".into(), Some("d1".into())),
            0
        )
        .is_empty());
    let q = questions(&r.screen(&h, 0));
    assert_eq!(q[0].1["from"]["name"], "bot");
    r.verdict(q[0].0, allow(), 1);
    let done = r.flush(&mut h, 2);
    let reply = done
        .iter()
        .find_map(|e| match e {
            Effect::Reply { call, status, body } => Some((*call, *status, parse(body))),
            _ => None,
        })
        .unwrap();
    assert_eq!((reply.0, reply.1), (7, 201));
    assert_eq!(reply.2["seq"], 2);
    // A refused post is answered with the refusal.
    r.hold_post(8, Draft::new(User::api("bot"), "spam".into(), None), 3);
    let q = questions(&r.screen(&h, 3));
    r.verdict(
        q[0].0,
        Ok(Verdict::Reject {
            reason: "no".into(),
        }),
        4,
    );
    let done = r.flush(&mut h, 5);
    assert!(done.iter().any(
        |e| matches!(e, Effect::Reply { call: 8, status: 422, body } if body.contains("rejected"))
    ));
    // A text no room takes is answered at once, without asking.
    let now = r.hold_post(9, Draft::new(User::api("bot"), " ".into(), None), 6);
    assert!(matches!(
        &now[..],
        [Effect::Reply {
            call: 9,
            status: 400,
            ..
        }]
    ));
}

#[test]
fn a_connection_closed_while_held_takes_its_answers_along() {
    let mut h = MemoryHistory::default();
    let mut r = hooked(&mut h, Fail::Closed);
    arrive(&mut r, "a", sayv(Some("m2"), "held"), &h, 0);
    // Bob's refused frame waits behind ann's message; bob then floods and is closed.
    let mut closed = Vec::new();
    for _ in 0..200 {
        closed = r.receive("b", Incoming::Text("not json"), 1);
        if closed.iter().any(|e| matches!(e, Effect::Close { .. })) {
            break;
        }
    }
    assert!(closed
        .iter()
        .any(|e| matches!(e, Effect::Close { to, .. } if to == "b")));
    assert!(
        trace(&closed)
            .iter()
            .filter(|(to, kind, _)| to == "b" && kind == "error")
            .count()
            > 0,
        "the held refusals go out before the close"
    );
}
