//! Erasing one author from the room: tombstones for their messages, their reactions gone, their read
//! mark forgotten, in bounded steps that a stored job resumes; the counts reported.

use super::*;
use crate::erasure::WINDOW;

/// ann (`a`, `u-ann`) and bob (`b`, `u-bob`) with a rate limit that lets them talk a lot.
fn chatty(h: &mut MemoryHistory, last_seq: u64) -> Room<()> {
    let mut r = Room::new(
        "lobby",
        Limits {
            rate: Rate {
                burst: 100_000.0,
                per_sec: 100_000.0,
            },
            ..Limits::default()
        },
        last_seq,
    );
    for (id, name, uid) in [("a", "ann", "u-ann"), ("b", "bob", "u-bob")] {
        let u = User {
            uid: Some(uid.into()),
            ..user(id, name)
        };
        r.join(u, (), None, h, 0).unwrap();
    }
    r
}

#[test]
fn an_author_is_erased_in_bounded_steps_and_the_counts_are_exact() {
    let mut h = MemoryHistory::default();
    let mut r = chatty(&mut h, 0);
    let n = 2 * WINDOW + 100;
    for i in 0..n {
        let (who, text) = if i % 3 == 0 {
            ("b", "bob's")
        } else {
            ("a", "ann's")
        };
        send(&mut r, who, sayv(Some(&format!("m{i}")), text), &mut h, i);
    }
    // Ann reacts to two of bob's messages (seq 1 and one past the first window), bob to one of hers.
    let far = 3 * (WINDOW / 3) + 1;
    for (who, seq) in [("a", 1), ("a", far), ("b", 2)] {
        send(
            &mut r,
            who,
            serde_json::json!({"type": "react", "seq": seq, "emoji": "👍", "id": format!("r{who}{seq}")}),
            &mut h,
            5_000,
        );
    }
    send(
        &mut r,
        "a",
        serde_json::json!({"type": "read", "seq": 10}),
        &mut h,
        5_001,
    );
    let anns = h
        .messages
        .iter()
        .filter(|m| m.from.uid.as_deref() == Some("u-ann"))
        .count() as u64;

    let rev = r.rev();
    let (job, effects) = r.erase_author("u-ann", &mut h, 6_000);
    let job = job.unwrap();
    assert!(!job.done(), "one window at once, the rest later");
    assert_eq!(job.cursor, WINDOW);
    assert!(r.erasing());
    let told: Vec<Value> = frames_for(&effects, "b");
    assert!(told.iter().all(|f| f["type"] == "message_updated"));
    assert!(told.iter().any(|f| f["message"]["seq"] == 1 && f["message"]["reactions"] == serde_json::json!({})), "bob's message lost ann's reaction");
    assert!(
        r.rev() > rev,
        "every change under a new rev, so a resume sees it"
    );
    // The stored job survives a restart: a new incarnation picks it up.
    let mut again = chatty(&mut h, r.last_seq());
    again.set_rev(r.rev());
    again.restore_erasures(h.erasures.clone());
    assert!(again.erasing());
    while again.erasing() {
        again.erase_some(&mut h, 7_000).unwrap();
    }
    assert!(h
        .messages
        .iter()
        .filter(|m| m.from.uid.as_deref() == Some("u-ann"))
        .all(|m| m.deleted && m.text.is_empty()));
    assert!(h
        .messages
        .iter()
        .filter(|m| m.from.uid.as_deref() == Some("u-bob"))
        .all(|m| !m.deleted));
    assert!(h.reactions.iter().all(|(_, _, uid, _)| uid != "u-ann"));
    assert!(
        h.reads.iter().all(|(uid, _)| uid != "u-ann"),
        "the read mark is forgotten"
    );
    let done = h.erasure("u-ann").unwrap().unwrap();
    assert!(done.done());
    assert_eq!((done.messages, done.reactions), (anns, 2));
    // Asked again: nothing left, the counts stay; what ann wrote since is erased by the new pass.
    send(
        &mut again,
        "a",
        sayv(Some("late"), "still here"),
        &mut h,
        8_000,
    );
    let (report, _) = again.erase_author("u-ann", &mut h, 8_001);
    assert!(
        report.unwrap().done(),
        "the new pass covers what was written since: one step"
    );
    while again.erasing() {
        again.erase_some(&mut h, 8_002).unwrap();
    }
    let report = h.erasure("u-ann").unwrap().unwrap();
    assert!(report.done());
    assert_eq!((report.messages, report.reactions), (anns + 1, 2));
    assert!(h.messages.last().unwrap().deleted);
}

#[test]
fn a_persons_own_erasure_closes_their_sockets_first_and_nobody_elses() {
    let mut h = MemoryHistory::default();
    let mut r = chatty(&mut h, 0);
    send(&mut r, "a", sayv(Some("m1"), "ann's"), &mut h, 1);
    send(&mut r, "b", sayv(Some("m2"), "bob's"), &mut h, 2);
    let (job, effects) = r.erase_person("u-ann", &mut h, 3);
    assert!(job.unwrap().done(), "a short room is done in one step");
    let to_ann = frames_for(&effects, "a");
    assert_eq!(to_ann[0]["type"], "error");
    assert_eq!(to_ann[0]["code"], "forbidden");
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Close { to, code: 4403, .. } if to == "a"
    )));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Close { to, .. } if to == "b")),
        "bob stays"
    );
    assert!(!r.has("a") && r.has("b"));
    assert!(h.messages[0].deleted && !h.messages[1].deleted);
}
