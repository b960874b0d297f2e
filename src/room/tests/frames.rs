//! Frames in, group commit, ordering and idempotency.

use super::*;

#[test]
fn a_message_is_stored_acked_to_the_sender_and_broadcast_to_the_others() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    let effects = deliver(
        &mut r,
        "a",
        Incoming::Text(&say(Some("x1"), "hello")),
        &mut h,
        5,
    );
    assert_eq!(h.messages.len(), 1);
    let to_a = frames_for(&effects, "a");
    assert_eq!(to_a.len(), 1);
    assert_eq!(to_a[0]["type"], "ack");
    assert_eq!(to_a[0]["id"], "x1");
    assert_eq!(to_a[0]["seq"], 1);
    let to_b = frames_for(&effects, "b");
    assert_eq!(to_b.len(), 1);
    assert_eq!(to_b[0]["type"], "message");
    assert_eq!(to_b[0]["text"], "hello");
    assert_eq!(to_b[0]["from"]["name"], "ann");
    assert_eq!(to_b[0]["ts"], 5);
}

#[test]
fn seqs_increase_without_gaps_even_when_frames_fail() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    deliver(&mut r, "a", Incoming::Text(&say(None, "one")), &mut h, 0);
    deliver(&mut r, "a", Incoming::Text("not json"), &mut h, 0);
    deliver(&mut r, "a", Incoming::Text(&say(None, "")), &mut h, 0);
    deliver(&mut r, "a", Incoming::Text(&say(None, "two")), &mut h, 0);
    let seqs: Vec<u64> = h.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![1, 2]);
    assert_eq!(r.last_seq(), 2);
}

#[test]
fn a_repeated_id_is_acked_with_the_original_seq_and_not_stored_or_broadcast_again() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    deliver(
        &mut r,
        "a",
        Incoming::Text(&say(Some("k"), "hi")),
        &mut h,
        1,
    );
    deliver(&mut r, "a", Incoming::Text(&say(None, "other")), &mut h, 2);
    // ann reconnects as a new connection and retries
    r.leave("a", 0);
    r.join(user("a2", "ann"), (), Some(2), &mut h, 3).unwrap();
    let effects = deliver(
        &mut r,
        "a2",
        Incoming::Text(&say(Some("k"), "hi")),
        &mut h,
        4,
    );
    assert_eq!(h.messages.len(), 2);
    let ack = &frames_for(&effects, "a2")[0];
    assert_eq!(
        (
            ack["type"].as_str(),
            ack["seq"].as_u64(),
            ack["ts"].as_u64()
        ),
        (Some("ack"), Some(1), Some(1))
    );
    assert!(frames_for(&effects, "b").is_empty());
    // the same id from someone else is a different message
    deliver(
        &mut r,
        "b",
        Incoming::Text(&say(Some("k"), "mine")),
        &mut h,
        5,
    );
    assert_eq!(h.messages.len(), 3);
}

#[test]
fn nothing_is_visible_when_storing_fails() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    h.fail_with = Some("disk on fire".into());
    let effects = deliver(
        &mut r,
        "a",
        Incoming::Text(&say(Some("k"), "hi")),
        &mut h,
        1,
    );
    assert!(frames_for(&effects, "b").is_empty());
    let to_a = frames_for(&effects, "a");
    assert_eq!(to_a[0]["type"], "error");
    assert_eq!(to_a[0]["code"], "internal");
    assert_eq!(to_a[0]["id"], "k");
    assert_eq!(r.last_seq(), 0);
}

#[test]
fn the_rate_limit_drops_messages_but_keeps_the_socket() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    let mut limited = 0;
    for i in 0..25 {
        let effects = deliver(
            &mut r,
            "a",
            Incoming::Text(&say(Some(&format!("i{i}")), "x")),
            &mut h,
            0,
        );
        let f = &frames_for(&effects, "a")[0];
        if f["code"] == "rate_limited" {
            assert_eq!(f["id"], format!("i{i}"));
            limited += 1;
        }
        assert!(!effects.iter().any(|e| matches!(e, Effect::Close { .. })));
    }
    assert_eq!(limited, 5);
    assert_eq!(h.messages.len(), 20);
    // a second later, ten more fit
    let ok = (0..12)
        .filter(|_| {
            let effects = deliver(&mut r, "a", Incoming::Text(&say(None, "x")), &mut h, 1000);
            frames_for(&effects, "a")[0]["type"] == "ack"
        })
        .count();
    assert_eq!(ok, 10);
}

#[test]
fn a_client_that_keeps_flooding_past_the_limit_is_closed_with_1008() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    // burst (20) accepted, then FLOOD_STRIKES refusals with rate_limited, the socket kept
    for i in 0..20 + FLOOD_STRIKES {
        let effects = deliver(&mut r, "a", Incoming::Text(&say(None, "spam")), &mut h, 0);
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::Close { .. })),
            "frame {i}"
        );
    }
    // invalid frames count as well: the next refused frame of any kind closes the socket
    let effects = deliver(&mut r, "a", Incoming::Text("{junk"), &mut h, 0);
    assert!(effects.contains(&Effect::Close {
        to: "a".into(),
        code: CLOSE_FLOODING,
        reason: "flooding: too many frames over the rate limit"
    }));
    assert_eq!(frames_for(&effects, "b")[0]["type"], "leave");
    assert!(!r.has("a"));
    assert_eq!(h.messages.len(), 20);
}

#[test]
fn refusals_are_forgiven_once_a_frame_gets_through() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    // far over the limit for a long time, but every 100 ms one frame gets through (10/s): the
    // refusals in a row never pass FLOOD_STRIKES, so the socket is kept
    for tick in 0..50 {
        for _ in 0..FLOOD_STRIKES / 2 {
            deliver(
                &mut r,
                "a",
                Incoming::Text(&say(None, "x")),
                &mut h,
                tick * 100,
            );
        }
    }
    assert!(r.has("a"));
    assert_eq!(h.messages.len(), 20 + 49);
}

#[test]
fn invalid_frames_take_a_token_too() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    for _ in 0..20 {
        let effects = deliver(&mut r, "a", Incoming::Text("{oops"), &mut h, 0);
        assert_eq!(frames_for(&effects, "a")[0]["code"], "bad_json");
    }
    let effects = deliver(
        &mut r,
        "a",
        Incoming::Text(&say(Some("m"), "hi")),
        &mut h,
        0,
    );
    assert_eq!(frames_for(&effects, "a")[0]["code"], "rate_limited");
}

#[test]
fn error_codes_for_bad_frames() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    let cases: [(Incoming<'_>, &str); 4] = [
        (Incoming::Text("{oops"), "bad_json"),
        (Incoming::Text(r#"{"type":"dance"}"#), "bad_request"),
        (Incoming::Binary(10), "bad_request"),
        (Incoming::Text(&"x".repeat(0)), "bad_json"),
    ];
    for (frame, code) in cases {
        let effects = deliver(&mut r, "a", frame, &mut h, 0);
        assert!(frames_for(&effects, "b").is_empty());
        assert_eq!(frames_for(&effects, "a")[0]["code"], code);
    }
    let long = say(None, &"x".repeat(4001));
    let effects = deliver(&mut r, "a", Incoming::Text(&long), &mut h, 0);
    assert_eq!(frames_for(&effects, "a")[0]["code"], "too_large");
}

#[test]
fn an_oversized_frame_closes_with_1009_and_the_others_hear_the_leave() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    let huge = "x".repeat(64 * 1024 + 1);
    let effects = deliver(&mut r, "a", Incoming::Text(&huge), &mut h, 0);
    assert!(effects.contains(&Effect::Close {
        to: "a".into(),
        code: 1009,
        reason: "frame larger than 64 KiB"
    }));
    assert_eq!(frames_for(&effects, "b")[0]["type"], "leave");
    assert_eq!(r.info().online, 1);
    // the close event that follows is a no-op
    assert!(r.leave("a", 0).is_empty());
}

#[test]
fn typing_goes_to_the_others_and_is_never_stored() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    let effects = deliver(
        &mut r,
        "a",
        Incoming::Text(r#"{"type":"typing"}"#),
        &mut h,
        0,
    );
    assert!(frames_for(&effects, "a").is_empty());
    assert_eq!(frames_for(&effects, "b")[0]["type"], "typing");
    assert_eq!(frames_for(&effects, "b")[0]["user"]["name"], "ann");
    assert!(h.messages.is_empty());
}

#[test]
fn messages_wait_for_the_flush_then_a_batch_is_stored_and_announced_in_arrival_order() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    for (id, name) in [("a", "ann"), ("b", "bob"), ("c", "cy")] {
        r.join(user(id, name), (), None, &mut h, 0).unwrap();
    }
    assert!(!r.has_pending());
    for (conn, text) in [("a", "one"), ("b", "two"), ("a", "three")] {
        assert!(r
            .receive(conn, Incoming::Text(&say(None, text)), 1)
            .is_empty());
    }
    assert!(r.has_pending());
    assert!(h.messages.is_empty(), "nothing is stored before the flush");
    assert_eq!(r.last_seq(), 0);
    let effects = r.flush(&mut h, 7);
    assert!(!r.has_pending());
    let stored: Vec<(u64, &str, u64)> = h
        .messages
        .iter()
        .map(|m| (m.seq, m.text.as_str(), m.ts))
        .collect();
    assert_eq!(stored, vec![(1, "one", 7), (2, "two", 7), (3, "three", 7)]);
    assert_eq!(
        trace(&effects),
        vec![
            t("a", "ack", Some(1)),
            t("all but a", "message", Some(1)),
            t("b", "ack", Some(2)),
            t("all but b", "message", Some(2)),
            t("a", "ack", Some(3)),
            t("all but a", "message", Some(3)),
        ]
    );
    assert!(
        r.flush(&mut h, 8).is_empty(),
        "a second flush has nothing to do"
    );
    assert_eq!(
        r.commits(),
        Commits {
            turns: 1,
            messages: 3
        }
    );
}

#[test]
fn while_a_message_is_queued_later_answers_wait_behind_it() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    // with nothing queued, a bad frame is answered at once
    let now = r.receive("a", Incoming::Text("{junk"), 0);
    assert_eq!(trace(&now), vec![t("a", "error", None)]);
    // behind a queued message, the error and a typing hint wait for the flush, after its ack
    assert!(r
        .receive("a", Incoming::Text(&say(Some("m"), "hi")), 0)
        .is_empty());
    assert!(r.receive("a", Incoming::Text("{junk"), 0).is_empty());
    assert!(r
        .receive("b", Incoming::Text(r#"{"type":"typing"}"#), 0)
        .is_empty());
    assert_eq!(
        trace(&r.flush(&mut h, 0)),
        vec![
            t("a", "ack", Some(1)),
            t("all but a", "message", Some(1)),
            t("a", "error", None),
            t("all but b", "typing", None),
        ]
    );
}

#[test]
fn a_close_happens_at_once_even_behind_a_queued_message() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    r.receive("b", Incoming::Text(&say(None, "hi")), 0);
    let huge = "x".repeat(64 * 1024 + 1);
    assert_eq!(
        trace(&r.receive("a", Incoming::Text(&huge), 0)),
        vec![t("a", "1009", None), t("all but a", "leave", None)]
    );
    assert_eq!(r.info().online, 1);
    assert_eq!(trace(&r.flush(&mut h, 0)).len(), 2, "b's ack and message");
}

#[test]
fn a_flooder_behind_a_queued_message_is_told_rate_limited_before_it_is_closed() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    // everything a floods with arrives before any flush: the first message is queued, and every
    // answer after it is held behind it
    let mut effects = Vec::new();
    for i in 0..20 + FLOOD_STRIKES + 1 {
        effects.extend(r.receive("a", Incoming::Text(&say(Some(&format!("f{i}")), "spam")), 0));
    }
    let to_a: Vec<(String, String)> = trace(&effects)
        .into_iter()
        .filter(|(to, _, _)| to == "a")
        .map(|(to, kind, _)| (to, kind))
        .collect();
    assert_eq!(to_a.len(), FLOOD_STRIKES as usize + 1);
    assert!(to_a[..FLOOD_STRIKES as usize]
        .iter()
        .all(|(_, kind)| kind == "error"));
    assert_eq!(to_a.last().map(|(_, k)| k.as_str()), Some("1008"));
    assert!(frames_for(&effects, "a")
        .iter()
        .all(|f| f["code"] == "rate_limited"));
    // the messages it sent within its limit are still stored at the flush; bob hears them
    let flushed = r.flush(&mut h, 0);
    assert_eq!(h.messages.len(), 20);
    assert_eq!(frames_for(&flushed, "b").len(), 20);
}

#[test]
fn a_repeated_id_within_one_batch_is_stored_once_and_acked_twice_with_one_seq() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    r.receive("a", Incoming::Text(&say(Some("k"), "hi")), 0);
    r.receive("a", Incoming::Text(&say(Some("k"), "hi")), 0);
    r.receive("b", Incoming::Text(&say(Some("k"), "mine")), 0);
    assert_eq!(
        trace(&r.flush(&mut h, 0)),
        vec![
            t("a", "ack", Some(1)),
            t("all but a", "message", Some(1)),
            t("a", "ack", Some(1)),
            t("b", "ack", Some(2)),
            t("all but b", "message", Some(2)),
        ]
    );
    assert_eq!(h.messages.len(), 2);
}

#[test]
fn the_same_name_and_id_with_another_text_is_refused_not_acked_as_the_other_message() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    r.join(user("a", "dan"), (), None, &mut h, 0).unwrap();
    r.join(user("b", "dan"), (), None, &mut h, 0).unwrap();
    deliver(
        &mut r,
        "a",
        Incoming::Text(&say(Some("1"), "mine")),
        &mut h,
        0,
    );
    let effects = deliver(
        &mut r,
        "b",
        Incoming::Text(&say(Some("1"), "his")),
        &mut h,
        0,
    );
    let to_b = frames_for(&effects, "b");
    assert_eq!(to_b.len(), 1);
    assert_eq!(to_b[0]["type"], "error");
    assert_eq!(to_b[0]["code"], "id_conflict");
    assert_eq!(to_b[0]["id"], "1");
    assert!(frames_for(&effects, "a").is_empty(), "nothing was stored");
    assert_eq!(h.messages.len(), 1);
    // a true retry (same text) is still acked with the original seq
    let effects = deliver(
        &mut r,
        "b",
        Incoming::Text(&say(Some("1"), "mine")),
        &mut h,
        0,
    );
    assert_eq!(frames_for(&effects, "b")[0]["seq"], 1);
}

#[test]
fn a_socket_cannot_take_a_bots_ids_by_using_its_name() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    // an anonymous socket calling itself after the bot, sending the bot's next id first
    r.join(user("a", "deploy-bot"), (), None, &mut h, 0)
        .unwrap();
    deliver(
        &mut r,
        "a",
        Incoming::Text(&say(Some("build-42"), "fake: build 42 passed")),
        &mut h,
        0,
    );
    let (res, _) = r.post(
        Draft::new(
            User::api("deploy-bot"),
            "build 42 failed".into(),
            Some("build-42".into()),
        ),
        &mut h,
        1,
    );
    let stored = res.expect("the bot's message is its own");
    assert!(stored.fresh, "stored, not acknowledged as the squatter's");
    assert_eq!(h.messages.len(), 2);
    assert_eq!(h.messages[1].text, "build 42 failed");
    // the bot's own retry is still a duplicate, acknowledged with the same seq
    let (res, effects) = r.post(
        Draft::new(
            User::api("deploy-bot"),
            "build 42 failed".into(),
            Some("build-42".into()),
        ),
        &mut h,
        2,
    );
    let retry = res.unwrap();
    assert_eq!((retry.seq, retry.fresh), (stored.seq, false));
    assert!(effects.is_empty());
    // and a socket can no more collide with the bot than take its ids: its own retry is its own
    let effects = deliver(
        &mut r,
        "a",
        Incoming::Text(&say(Some("build-42"), "fake: build 42 passed")),
        &mut h,
        3,
    );
    assert_eq!(frames_for(&effects, "a")[0]["seq"], 1);
}

#[test]
fn identified_senders_are_deduplicated_by_uid_not_by_name() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    let with_uid = |id: &str, name: &str, uid: &str| User {
        uid: Some(uid.into()),
        ..user(id, name)
    };
    r.join(with_uid("a", "dan", "u-1"), (), None, &mut h, 0)
        .unwrap();
    r.join(with_uid("b", "dan", "u-2"), (), None, &mut h, 0)
        .unwrap();
    r.join(with_uid("c", "daniel", "u-1"), (), None, &mut h, 0)
        .unwrap();
    deliver(
        &mut r,
        "a",
        Incoming::Text(&say(Some("1"), "hi")),
        &mut h,
        0,
    );
    // another person called dan with the same id: their own message, stored
    let effects = deliver(
        &mut r,
        "b",
        Incoming::Text(&say(Some("1"), "hi")),
        &mut h,
        0,
    );
    assert_eq!(frames_for(&effects, "b")[0]["seq"], 2);
    // the first dan under another name (another tab, renamed): a retry of his own message
    let effects = deliver(
        &mut r,
        "c",
        Incoming::Text(&say(Some("1"), "hi")),
        &mut h,
        0,
    );
    assert_eq!(frames_for(&effects, "c")[0]["type"], "ack");
    assert_eq!(frames_for(&effects, "c")[0]["seq"], 1);
    assert_eq!(h.messages.len(), 2);
    assert_eq!(h.messages[0].from.uid.as_deref(), Some("u-1"));
}

#[test]
fn a_message_whose_sender_left_before_the_flush_is_still_stored_and_announced() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    r.receive("a", Incoming::Text(&say(Some("k"), "bye")), 0);
    assert_eq!(trace(&r.leave("a", 0)), vec![t("all but a", "leave", None)]);
    let effects = r.flush(&mut h, 0);
    assert_eq!(h.messages.len(), 1);
    assert_eq!(frames_for(&effects, "b")[0]["text"], "bye");
    // a newcomer during the wait is welcomed up to the stored log, then hears the message
    r.receive("b", Incoming::Text(&say(None, "later")), 0);
    let welcome = r.join(user("c", "cy"), (), None, &mut h, 0).unwrap();
    assert_eq!(frames_for(&welcome, "c")[0]["last_seq"], 1);
    assert_eq!(frames_for(&r.flush(&mut h, 0), "c")[0]["seq"], 2);
}

#[test]
fn when_the_batch_cannot_be_stored_every_message_in_it_gets_internal() {
    let mut h = MemoryHistory::default();
    let mut r = ann_and_bob(&mut h);
    h.fail_with = Some("disk on fire".into());
    r.receive("a", Incoming::Text(&say(Some("1"), "one")), 0);
    r.receive("b", Incoming::Text(&say(Some("2"), "two")), 0);
    let effects = r.flush(&mut h, 0);
    assert_eq!(
        trace(&effects),
        vec![t("a", "error", None), t("b", "error", None)]
    );
    assert!(frames_for(&effects, "a")
        .iter()
        .all(|f| f["code"] == "internal" && f["id"] == "1"));
    assert_eq!(r.last_seq(), 0);
}
